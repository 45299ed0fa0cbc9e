"""The local stack behind `vigil stack`: Kafka, DynamoDB Local, MinIO, Airflow."""
