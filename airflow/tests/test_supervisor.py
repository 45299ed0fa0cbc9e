"""The supervisor against the real streaming job: start it when absent, restart it after a kill.

Runs spark-submit of python/jobs/stream_job.py on a local master against the local
stack, in a private stream directory (its own pid file, log and checkpoint), so it never
touches a stream someone else runs on the same stack.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

from conftest import run_dag, task_states

UTC = dt.timezone.utc


@pytest.fixture
def private_home(stack_config, tmp_path, monkeypatch):
    """A VIGIL_HOME whose venv, jars and secrets are the real ones but whose stream/ is private."""
    real = pathlib.Path(stack_config.home)
    home = tmp_path / "home"
    home.mkdir()
    for name in ("venv", "jars", "bin", "lib", "secrets.env"):
        if (real / name).exists():
            (home / name).symlink_to(real / name)
    probe = subprocess.run([str(real / "venv" / "bin" / "python"), "-c", "import pyspark, vigil._core"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        message = f"{real}/venv cannot run the job (pyspark and the vigil binding): ./vigil setup core"
        if os.environ.get("CI") or os.environ.get("VIGIL_REQUIRE_STACK"):
            pytest.fail(message + "\n" + probe.stderr[-1000:])
        pytest.skip(message)
    monkeypatch.setenv("VIGIL_HOME", str(home))
    return home


def _produce(settings, devices: int, per_device: int, start_ms: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    for i in range(per_device):
        for d in range(devices):
            t = start_ms + i * 1000
            device = f"dev-{d:05d}"
            event = {"schema_version": 1, "event_id": f"{device}-{t}", "device_id": device,
                     "ts": t, "metrics": {"temperature": 20.0 + (i % 7) * 0.1, "vibration": 0.02},
                     "tags": {"device_class": "pump", "site": "plant-1"}}
            producer.produce(settings.kafka_topic, key=device.encode(), value=json.dumps(event).encode())
        producer.poll(0)
    assert producer.flush(60) == 0


def _supervise(now: dt.datetime) -> dict[str, str]:
    run = run_dag("vigil_stream_supervisor", now)
    return task_states(run)


def test_supervisor_starts_and_restarts_the_stream(private_home, deployment, airflow_db, monkeypatch):
    from vigil_airflow import stream, tasks
    from vigil_airflow.operators import stop_process

    # the first micro-batch of a cold Spark takes minutes on 2 busy cores
    monkeypatch.setenv("VIGIL_STREAM_START_TIMEOUT_S", "600")
    tasks.provision_topic()
    tasks.provision_table()
    tasks.provision_bucket()
    s = tasks._settings()
    assert pathlib.Path(s.vigil_home) == private_home
    start_ms = int(dt.datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp() * 1000)
    _produce(s, devices=20, per_device=30, start_ms=start_ms)
    s3 = tasks._s3_hook().get_conn()
    try:
        # 1. nothing runs: the supervisor starts the job and returns once it made progress
        states = _supervise(dt.datetime.now(UTC))
        assert states["check_stream"] == "success" and states["restart_stream"] == "success", states
        assert states["stream_healthy"] == "skipped", states
        first_pid = stream.read_pid(s)
        assert first_pid is not None
        first = stream.latest_progress(s3, s)
        assert first is not None

        # 2. a healthy job is left alone
        states = _supervise(dt.datetime.now(UTC) + dt.timedelta(minutes=5))
        assert states["stream_healthy"] == "success" and states["restart_stream"] == "skipped", states
        assert stream.read_pid(s) == first_pid

        # 3. kill it; new events wait in Kafka; the supervisor brings it back and it makes progress
        os.killpg(os.getpgid(first_pid), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while stream.read_pid(s) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert stream.read_pid(s) is None
        _produce(s, devices=20, per_device=30, start_ms=start_ms + 30_000)
        states = _supervise(dt.datetime.now(UTC) + dt.timedelta(minutes=10))
        assert states["restart_stream"] == "success", states
        second_pid = stream.read_pid(s)
        assert second_pid is not None and second_pid != first_pid
        latest = stream.latest_progress(s3, s)
        assert latest[0] > first[0], (first, latest)
        assert stream.checkpoint_offsets(s, s3) is not None
    finally:
        pid = stream.read_pid(s)
        if pid is not None:
            stop_process(pid, grace_s=20)


def test_repeated_restart_failures_fire_the_alert(stack_config, deployment, airflow_db, tmp_path,
                                                  monkeypatch):
    """A job that cannot be submitted fails every retry; then the webhook gets the alert."""
    import test_callbacks
    from vigil_airflow import tasks

    tasks.provision_bucket()

    # a VIGIL_HOME with the real secrets but no venv: the submit spec fails at once
    home = tmp_path / "broken-home"
    home.mkdir()
    (home / "secrets.env").symlink_to(pathlib.Path(stack_config.home) / "secrets.env")
    monkeypatch.setenv("VIGIL_HOME", str(home))
    with test_callbacks.webhook_server() as (url, received):
        monkeypatch.setenv("VIGIL_ALERT_WEBHOOK", url)
        states = _supervise(dt.datetime.now(UTC))
    assert states["check_stream"] == "success" and states["restart_stream"] == "failed", states
    restart_alerts = [p for _, p in received if p["task_id"] == "restart_stream" and p["error"]]
    assert len(restart_alerts) == 1, received
    assert restart_alerts[0]["try_number"] == 4  # the first try and its 3 retries
    assert "spark-submit: not found" in restart_alerts[0]["error"]
