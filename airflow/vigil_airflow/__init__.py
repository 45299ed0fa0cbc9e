"""Operators, hooks, callbacks, checks and report rendering for Vigil's Airflow DAGs.

The DAG files under ``airflow/dags/`` only declare; every piece of work lives here,
is imported inside the task that needs it, and reads its settings from the Vigil
configuration (``vigil_ops.config``) through :mod:`vigil_airflow.settings`.

Connection ids used by every DAG (defined by ``AIRFLOW_CONN_*`` variables that
:mod:`vigil_airflow.connections` derives from the Vigil configuration):
"""

AWS_CONN_ID = "vigil_aws"
KAFKA_CONN_ID = "vigil_kafka"
SPARK_CONN_ID = "vigil_spark"

__all__ = ["AWS_CONN_ID", "KAFKA_CONN_ID", "SPARK_CONN_ID"]
