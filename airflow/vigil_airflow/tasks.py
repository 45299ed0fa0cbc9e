"""The task callables of the Vigil DAGs. Importing this module is cheap: heavy imports,
settings and connections are resolved inside each callable, at run time.

Every callable that produces data takes the run's ``data_interval_start`` and writes
objects whose keys and bytes depend only on it and on the input, so a rerun (retry,
backfill, clear) overwrites the same objects with the same content.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from vigil_airflow import AWS_CONN_ID, KAFKA_CONN_ID

log = logging.getLogger(__name__)


class CheckFailed(RuntimeError):
    """A data check is past its threshold; the message says which, by how much, and where."""


def _settings():
    from vigil_airflow.connections import ensure_env
    from vigil_airflow.settings import load

    settings = load()
    ensure_env(settings)
    return settings


def _s3_hook():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=AWS_CONN_ID)


def _kafka_admin():
    from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

    return KafkaAdminClientHook(kafka_config_id=KAFKA_CONN_ID)


def _utc(t: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(t.timestamp(), tz=dt.timezone.utc)


# --- templates (rendered by the sensors at run time) ------------------------------------------


def success_url(hour_start: Any) -> str:
    """``s3://bucket/<prefix>dt=../hr=../_SUCCESS`` of the hour starting at `hour_start`."""
    s = _settings()
    return f"s3://{s.s3_bucket}/{s.hour_prefix(_utc(hour_start))}_SUCCESS"


def last_hour_success_url(day_start: Any) -> str:
    return success_url(_utc(day_start) + dt.timedelta(hours=23))


USER_MACROS = {"vigil_success_url": success_url, "vigil_last_hour_success_url": last_hour_success_url}


# --- vigil_provision ---------------------------------------------------------------------------


def provision_topic() -> dict[str, Any]:
    from vigil_airflow.provision import ensure_topic

    s = _settings()
    return ensure_topic(_kafka_admin(), s.kafka_topic, s.kafka_partitions, s.kafka_replication,
                        s.kafka_retention_ms)


def provision_table() -> dict[str, Any]:
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook

    from vigil_airflow.provision import ensure_table

    s = _settings()
    return ensure_table(DynamoDBHook(aws_conn_id=AWS_CONN_ID).client, s.ddb_table, s.ddb_ttl_attribute)


def provision_bucket() -> dict[str, Any]:
    from vigil_airflow.provision import ensure_bucket

    return ensure_bucket(_s3_hook(), _settings())


# --- vigil_hourly ------------------------------------------------------------------------------


def compact_hour(data_interval_start: Any) -> dict[str, Any]:
    from vigil_airflow import hourly

    return hourly.compact_hour(_s3_hook(), _settings(), _utc(data_interval_start))


def check_hour(data_interval_start: Any) -> dict[str, Any]:
    from vigil_airflow import hourly

    return hourly.verify_hour(_s3_hook(), _settings(), _utc(data_interval_start))


def summarize_hour(data_interval_start: Any) -> dict[str, Any]:
    from vigil_airflow import hourly

    return hourly.write_summary(_s3_hook(), _settings(), _utc(data_interval_start))


# --- vigil_daily -------------------------------------------------------------------------------


def freshness(s3_hook: Any, settings: Any, day_start: dt.datetime) -> dict[str, Any]:
    """How long after each hour of the day ended was it closed (its ``_SUCCESS`` written)?

    Fails (``ok`` False) if an hour is not closed or one closed later than
    ``max_output_age_h`` after its end. Depends only on the day and the bucket.
    """
    client = s3_hook.get_conn()
    worst, missing = 0.0, []
    for h in range(24):
        hour_start = day_start + dt.timedelta(hours=h)
        key = settings.hour_prefix(hour_start) + "_SUCCESS"
        head = s3_hook.head_object(key, settings.s3_bucket)
        if head is None:
            missing.append(f"{h:02d}")
            continue
        delay = (head["LastModified"] - (hour_start + dt.timedelta(hours=1))).total_seconds()
        worst = max(worst, delay)
    limit = settings.max_output_age_h * 3600
    ok = not missing and worst <= limit
    detail = (f"hours not closed: {', '.join(missing)}; " if missing else "") + (
        f"latest close {worst / 60:.1f} min after its hour ended (limit {limit / 60:.0f} min)")
    return {"ok": ok, "detail": detail, "worst_delay_s": round(worst, 1), "missing_hours": missing}


def consumer_lag_result(settings: Any) -> dict[str, Any]:
    """Kafka's latest offsets minus those of the query's newest committed batch."""
    from vigil_airflow import stream

    admin = _kafka_admin().get_conn
    end = stream.kafka_end_offsets(admin, settings.kafka_topic)
    processed = stream.checkpoint_offsets(settings, _s3_hook().get_conn())
    if processed is None:
        return {"ok": False, "lag": None, "detail": f"no committed batch in the checkpoint "
                f"{settings.checkpoint_location}: the stream never ran"}
    lag = stream.consumer_lag(end, processed.get(settings.kafka_topic))
    ok = lag <= settings.max_consumer_lag
    return {"ok": ok, "lag": lag, "detail": f"{lag} records behind on {settings.kafka_topic} "
            f"(limit {settings.max_consumer_lag})"}


def check_freshness(data_interval_start: Any) -> dict[str, Any]:
    s = _settings()
    result = freshness(_s3_hook(), s, _utc(data_interval_start))
    if not result["ok"]:
        raise CheckFailed(f"output freshness: s3://{s.s3_bucket}/{s.s3_prefix}dt="
                          f"{_utc(data_interval_start):%Y-%m-%d}: {result['detail']}")
    return result


def check_consumer_lag() -> dict[str, Any]:
    s = _settings()
    result = consumer_lag_result(s)
    if not result["ok"]:
        raise CheckFailed(f"consumer lag: {result['detail']}")
    return result


def daily_report(data_interval_start: Any) -> dict[str, Any]:
    from vigil_airflow import report

    s = _settings()
    hook = _s3_hook()
    day_start = _utc(data_interval_start)
    day = report.collect_day(hook, s, day_start)
    checks = {"output freshness": freshness(hook, s, day_start)}
    html = report.render(day, s, checks)
    key = s.report_key(day_start)
    hook.load_bytes(html.encode(), key=key, bucket_name=s.s3_bucket, replace=True)
    log.info("daily report: s3://%s/%s (%d anomalies, %d bytes)", s.s3_bucket, key,
             day.table.num_rows, len(html))
    return {"report": f"s3://{s.s3_bucket}/{key}", "anomalies": day.table.num_rows,
            "hours_closed": len(day.hours_closed)}
