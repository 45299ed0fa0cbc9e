"""vigil_hourly: compact each closed hour of anomalies into Parquet, check it, summarise it.

Driven by the data interval [H, H+1): wait for the hour's _SUCCESS marker written by
the stream, compact its JSON lines into curated/anomalies/dt=/hr=/anomalies.parquet,
check that the record counts match the manifest and that no anomaly_id appears twice,
then write curated/summaries/dt=/hr=/summary.json.
"""

import datetime as dt
import pathlib
import sys

_PACKAGE_ROOT = str(pathlib.Path(__file__).resolve().parents[1])  # holds vigil_airflow/
if _PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, _PACKAGE_ROOT)

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from vigil_airflow import AWS_CONN_ID, tasks
from vigil_airflow.callbacks import alert_on_failure
from vigil_airflow.defaults import DEFAULT_ARGS, START_DATE, tags

with DAG(
    dag_id="vigil_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    tags=tags("hourly", "compaction"),
    default_args=DEFAULT_ARGS,
    on_failure_callback=alert_on_failure,
    user_defined_macros=tasks.USER_MACROS,
    doc_md=__doc__,
) as dag:
    wait = S3KeySensor(
        task_id="wait_for_hour",
        bucket_key="{{ vigil_success_url(data_interval_start) }}",
        aws_conn_id=AWS_CONN_ID,
        mode="reschedule",
        poke_interval=120,
        timeout=dt.timedelta(hours=6).total_seconds(),
    )
    compact = PythonOperator(task_id="compact_to_parquet", python_callable=tasks.compact_hour)
    quality = PythonOperator(task_id="quality_checks", python_callable=tasks.check_hour)
    summary = PythonOperator(task_id="hourly_summary", python_callable=tasks.summarize_hour)
    wait >> compact >> quality >> summary
