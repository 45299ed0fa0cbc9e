"""vigil_stream_supervisor: keep the streaming query alive and making progress.

Every 5 minutes: read the query's signals (driver process, newest progress object,
Kafka lag from its checkpoint). A query with no progress past the threshold while
records wait, or whose driver is gone, is stopped and submitted again through
spark-submit (retried with backoff); when the last retry fails, the failure callback
alerts (task log + webhook).
"""

import datetime as dt
import pathlib
import sys

_PACKAGE_ROOT = str(pathlib.Path(__file__).resolve().parents[1])  # holds vigil_airflow/
if _PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, _PACKAGE_ROOT)

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow.sdk import DAG

from vigil_airflow import SPARK_CONN_ID, supervisor
from vigil_airflow.callbacks import alert_on_failure
from vigil_airflow.defaults import DEFAULT_ARGS, START_DATE, tags
from vigil_airflow.operators import StreamSubmitOperator

with DAG(
    dag_id="vigil_stream_supervisor",
    schedule="*/5 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=30),
    tags=tags("stream", "supervisor"),
    default_args=DEFAULT_ARGS,
    on_failure_callback=alert_on_failure,
    doc_md=__doc__,
) as dag:
    check = BranchPythonOperator(task_id="check_stream", python_callable=supervisor.check_stream)
    healthy = EmptyOperator(task_id="stream_healthy")
    restart = StreamSubmitOperator(
        task_id="restart_stream",
        conn_id=SPARK_CONN_ID,
        retries=3,
        retry_delay=dt.timedelta(seconds=30),
        retry_exponential_backoff=False,
        execution_timeout=dt.timedelta(minutes=15),
    )
    check >> [healthy, restart]
