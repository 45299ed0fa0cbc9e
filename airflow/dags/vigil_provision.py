"""vigil_provision: create or converge the Kafka topic, the DynamoDB claims table and the S3 bucket.

Manual (no schedule) and idempotent: run it before the first stream start and after
changing partitions, retention, TTL or lifecycle settings in config/<env>.yaml.
"""

import pathlib
import sys

_PACKAGE_ROOT = str(pathlib.Path(__file__).resolve().parents[1])  # holds vigil_airflow/
if _PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, _PACKAGE_ROOT)

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from vigil_airflow import tasks
from vigil_airflow.callbacks import alert_on_failure
from vigil_airflow.defaults import DEFAULT_ARGS, START_DATE, tags

with DAG(
    dag_id="vigil_provision",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    tags=tags("provision"),
    default_args=DEFAULT_ARGS,
    on_failure_callback=alert_on_failure,
    doc_md=__doc__,
) as dag:
    PythonOperator(task_id="kafka_topic", python_callable=tasks.provision_topic)
    PythonOperator(task_id="dynamodb_table", python_callable=tasks.provision_table)
    PythonOperator(task_id="s3_bucket", python_callable=tasks.provision_bucket)
