"""vigil_daily: the day's HTML report in S3, plus the output-freshness and consumer-lag checks.

Driven by the data interval [D, D+1): once the day's last hour is closed, render
reports/daily/dt=D/report.html (anomalies per device, metric and kind, top devices,
series plots) from the curated Parquet. The checks fail loudly past their thresholds
(airflow.max_output_age_h, airflow.max_consumer_lag): freshness is how long after
each hour ended the stream closed it; lag is what Kafka holds that the query has not read.
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
    dag_id="vigil_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=tags("daily", "report", "checks"),
    default_args=DEFAULT_ARGS,
    on_failure_callback=alert_on_failure,
    user_defined_macros=tasks.USER_MACROS,
    doc_md=__doc__,
) as dag:
    wait = S3KeySensor(
        task_id="wait_for_day",
        bucket_key="{{ vigil_last_hour_success_url(data_interval_start) }}",
        aws_conn_id=AWS_CONN_ID,
        mode="reschedule",
        poke_interval=300,
        timeout=dt.timedelta(hours=6).total_seconds(),
    )
    report = PythonOperator(task_id="daily_report", python_callable=tasks.daily_report)
    freshness = PythonOperator(task_id="check_output_freshness", python_callable=tasks.check_freshness)
    lag = PythonOperator(task_id="check_consumer_lag", python_callable=tasks.check_consumer_lag)
    wait >> [report, freshness]
