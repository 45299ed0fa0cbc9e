"""Failure callbacks: every alert goes to the task log and, when configured, to a webhook.

``on_failure_callback=alert_on_failure`` is set on every task through the DAGs'
``default_args``; Airflow calls it once a task has failed its last retry, so an alert
means "repeated failures", never a transient blip. The webhook receives one JSON
object (see :func:`alert_payload`); a webhook that is down is logged, never raised,
so an alert can never hide the failure that caused it.

The webhook URL is ``airflow.alert_webhook`` in the Vigil configuration or the
``VIGIL_ALERT_WEBHOOK`` environment variable.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any, Mapping

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 5.0


def alert_payload(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the alert as a JSON-able dict from an Airflow callback context."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    exception = context.get("exception")
    interval_start = context.get("data_interval_start")
    return {
        "source": "vigil-airflow",
        "severity": "error",
        "dag_id": getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "data_interval_start": interval_start.isoformat() if interval_start is not None else None,
        "error": f"{type(exception).__name__}: {exception}" if exception is not None else None,
    }


def _webhook_url() -> str | None:
    url = os.environ.get("VIGIL_ALERT_WEBHOOK")
    if url:
        return url
    try:
        from vigil_airflow.settings import load

        return load().alert_webhook
    except Exception as e:  # noqa: BLE001 - an alert must not fail on configuration
        log.warning("vigil alert: cannot resolve the webhook from the configuration: %s", e)
        return None


def post_webhook(url: str, payload: Mapping[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> bool:
    """POST `payload` as JSON to `url`; return whether it was accepted (2xx). Never raises."""
    try:
        request = urllib.request.Request(
            url, data=json.dumps(payload, sort_keys=True).encode(), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "vigil-airflow"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            ok = 200 <= response.status < 300
            if not ok:
                log.error("vigil alert: webhook %s answered HTTP %s", url, response.status)
            return ok
    except (urllib.error.URLError, OSError, ValueError) as e:
        log.error("vigil alert: webhook %s failed: %s", url, e)
        return False


def alert_on_failure(context: Mapping[str, Any]) -> None:
    """The ``on_failure_callback`` of every Vigil task: log the alert, then post it."""
    payload = alert_payload(context)
    log.error("VIGIL ALERT %s", json.dumps(payload, sort_keys=True))
    url = _webhook_url()
    if url:
        post_webhook(url, payload)
