"""Operators for the streaming job: check it, and (re)submit it through spark-submit.

:class:`StreamSubmitOperator` is the apache-spark provider's ``SparkSubmitOperator``
for a job that never ends. The provider's hook builds the spark-submit command from the
``vigil_spark`` connection (master, deploy mode) and the job's spec; then:

- on a cluster master (YARN, Kubernetes, standalone cluster mode) the hook submits as
  usual and spark-submit returns once the driver is accepted;
- on a local master the driver *is* the spark-submit process, so it is started detached
  (own session, log and pid file in ``$VIGIL_HOME/stream/``, as ``./vigil stream start``) and the task
  returns once the query makes progress, or fails with the tail of the driver's log if
  the process dies or stays silent past ``stream_start_timeout_s``.

Before submitting, a driver that is still running but judged dead (stalled) is stopped
(SIGTERM, then SIGKILL), so there is never more than one query on the checkpoint.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import signal
import subprocess
import time
from typing import Any

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

POLL_S = 3.0
STOP_GRACE_S = 30.0
IDLE_AFTER_S = 45.0
LOG_TAIL_LINES = 40


class StreamStartError(RuntimeError):
    """The streaming job did not start or did not make progress; the message has its log tail."""


def _tail(path: pathlib.Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return "\n".join(text)


def stop_process(pid: int, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group of `pid`, SIGKILL it after `grace_s` if still there."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class DetachedSparkSubmitHook(SparkSubmitHook):
    """``SparkSubmitHook`` that can start a local-master driver in the background."""

    def submit_detached(self, application: str, log_path: pathlib.Path, settings: Any,
                        cwd: str | None = None) -> subprocess.Popen:
        from vigil_airflow import stream

        command = self._build_spark_submit_command(application)
        env = os.environ.copy()
        env.update(self._env or {})
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            log.write(f"\n--- started by Airflow at {dt.datetime.now(dt.timezone.utc).isoformat()}: "
                      f"{self._mask_cmd(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                       start_new_session=True)
        stream.write_pid(settings, process.pid, command)
        self.log.info("streaming driver started: pid %d, log %s", process.pid, log_path)
        return process


class StreamSubmitOperator(SparkSubmitOperator):
    """Stop a dead streaming query if it still runs, submit it again, wait for progress."""

    def __init__(self, *, spec_provider: str = "vigil_airflow.submit:submit_spec", **kwargs: Any) -> None:
        kwargs.setdefault("application", "")
        kwargs.setdefault("name", "vigil-stream")
        super().__init__(**kwargs)
        self.spec_provider = spec_provider

    def _load_spec(self, settings: Any) -> dict[str, Any]:
        import importlib

        module, _, name = self.spec_provider.partition(":")
        return getattr(importlib.import_module(module), name)(settings)

    def execute(self, context: Any) -> dict[str, Any]:
        from vigil_airflow import stream
        from vigil_airflow.tasks import _settings

        settings = _settings()
        spec = self._load_spec(settings)
        hook = DetachedSparkSubmitHook(
            conn_id=self._conn_id, conf=spec.get("conf"), jars=spec.get("jars"),
            py_files=spec.get("py_files"), files=spec.get("files"), name=self.name,
            application_args=spec.get("application_args"), env_vars=spec.get("env"),
            driver_memory=spec.get("driver_memory"), verbose=False)
        self._hook = hook
        if not stream.is_local_master(hook._connection["master"]):
            hook.submit(spec["application"])
            return {"submitted": spec["application"], "master": hook._connection["master"]}

        old = stream.read_pid(settings)
        if old is not None:
            self.log.warning("stopping the stalled streaming driver pid %d", old)
            stop_process(old)
        s3 = self._s3_client()
        before = stream.latest_progress(s3, settings)
        log_path = pathlib.Path(spec.get("job_dir") or stream.pid_file(settings).parent) / "log"
        process = hook.submit_detached(spec["application"], log_path, settings, cwd=spec.get("cwd"))
        return self._await_progress(settings, process, before, log_path, s3)

    def _s3_client(self) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from vigil_airflow import AWS_CONN_ID

        return S3Hook(aws_conn_id=AWS_CONN_ID).get_conn()

    def _lag(self, settings: Any, s3: Any) -> int | None:
        from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

        from vigil_airflow import KAFKA_CONN_ID, stream

        processed = stream.checkpoint_offsets(settings, s3)
        if processed is None:
            return None
        end = stream.kafka_end_offsets(KafkaAdminClientHook(KAFKA_CONN_ID).get_conn, settings.kafka_topic)
        return stream.consumer_lag(end, processed.get(settings.kafka_topic))

    def _await_progress(self, settings: Any, process: subprocess.Popen,
                        before: tuple[int, dt.datetime] | None, log_path: pathlib.Path,
                        s3: Any) -> dict[str, Any]:
        from vigil_airflow import stream

        started = time.monotonic()
        deadline = started + settings.stream_start_timeout_s
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise StreamStartError(f"the streaming driver exited with code {code} before making "
                                       f"progress; end of {log_path}:\n{_tail(log_path)}")
            latest = stream.latest_progress(s3, settings)
            if latest is not None and (before is None or latest[0] > before[0]):
                self.log.info("streaming query made progress: batch %d at %s", *latest)
                return {"pid": process.pid, "batch": latest[0], "at": latest[1].isoformat()}
            if time.monotonic() - started >= IDLE_AFTER_S and self._lag(settings, s3) == 0:
                self.log.info("streaming query is up and idle: no records waiting in Kafka")
                return {"pid": process.pid, "batch": latest[0] if latest else None, "idle": True}
            time.sleep(POLL_S)
        raise StreamStartError(f"the streaming driver (pid {process.pid}) made no progress within "
                               f"{settings.stream_start_timeout_s}s; end of {log_path}:\n{_tail(log_path)}")
