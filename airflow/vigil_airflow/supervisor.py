"""The supervisor's check: gather the streaming query's signals, decide, pick the branch.

This is the one task that reads the wall clock: "no progress for N seconds" is about
now, not about a data interval. It changes nothing; the restart is the next task's.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from vigil_airflow import AWS_CONN_ID, KAFKA_CONN_ID

log = logging.getLogger(__name__)

HEALTHY_TASK = "stream_healthy"
RESTART_TASK = "restart_stream"


def gather(settings: Any, s3: Any, admin: Any, now: dt.datetime) -> "Any":
    """Read every signal and return the :class:`vigil_airflow.stream.Health` verdict."""
    from vigil_airflow import stream

    latest = stream.latest_progress(s3, settings)
    try:
        processed = stream.checkpoint_offsets(settings, s3)
        lag = None if processed is None else stream.consumer_lag(
            stream.kafka_end_offsets(admin, settings.kafka_topic), processed.get(settings.kafka_topic))
    except (OSError, RuntimeError, ValueError) as e:
        log.warning("cannot measure the consumer lag: %s", e)
        lag = None
    local = stream.is_local_master(settings.spark_master)
    return stream.assess(now, settings.stream_stale_after_s, latest[1] if latest else None, lag,
                         local, stream.read_pid(settings) if local else None,
                         stream.started_at(settings) if local else None,
                         settings.stream_start_timeout_s)


def check_stream(ti: Any = None) -> str:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

    from vigil_airflow.tasks import _settings

    settings = _settings()
    health = gather(settings, S3Hook(aws_conn_id=AWS_CONN_ID).get_conn(),
                    KafkaAdminClientHook(KAFKA_CONN_ID).get_conn, dt.datetime.now(dt.timezone.utc))
    if ti is not None:
        ti.xcom_push(key="health", value=health.as_dict())
    if health.alive:
        log.info("streaming query is alive: %s", health.reason)
        return HEALTHY_TASK
    log.warning("streaming query is dead: %s; restarting it", health.reason)
    return RESTART_TASK
