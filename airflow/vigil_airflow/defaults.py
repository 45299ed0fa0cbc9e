"""Arguments every Vigil DAG and task shares: owner, retries with backoff, failure alerts."""

from __future__ import annotations

import datetime as dt

from vigil_airflow.callbacks import alert_on_failure

START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
TAGS = ("vigil",)

DEFAULT_ARGS = {
    "owner": "vigil",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=10),
    "on_failure_callback": alert_on_failure,
}


def tags(*extra: str) -> list[str]:
    return [*TAGS, *extra]
