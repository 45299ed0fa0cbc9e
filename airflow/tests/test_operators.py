"""StreamSubmitOperator: the provider's hook builds the command; cluster masters submit as usual."""

from __future__ import annotations

import json
import sys
import types

from vigil_airflow import SPARK_CONN_ID, operators
from vigil_airflow.settings import Settings

SPEC = {"application": "/repo/python/jobs/stream_job.py", "application_args": ["--config", "/x/job.json"],
        "conf": {"spark.driver.memory": "2g"}, "jars": "/j/a.jar,/j/b.jar", "py_files": "/x/vigil_stream.zip",
        "env": {"PYSPARK_PYTHON": "/v/bin/python"}}


def _install_spec(monkeypatch, tmp_path):
    module = types.ModuleType("vigil_test_spec")
    module.spec = lambda settings: dict(SPEC)
    monkeypatch.setitem(sys.modules, "vigil_test_spec", module)
    settings = Settings(env="test", kafka_bootstrap="127.0.0.1:9092", kafka_topic="t", s3_bucket="b",
                        ddb_table="d", vigil_home=str(tmp_path))
    monkeypatch.setattr("vigil_airflow.tasks._settings", lambda: settings)


def test_cluster_master_submits_through_the_provider_hook(monkeypatch, tmp_path):
    _install_spec(monkeypatch, tmp_path)
    monkeypatch.setenv(f"AIRFLOW_CONN_{SPARK_CONN_ID.upper()}", json.dumps(
        {"conn_type": "spark", "host": "yarn", "extra": {"deploy-mode": "cluster"}}))
    submitted = []

    def fake_submit(self, application="", **kwargs):
        submitted.append(self._build_spark_submit_command(application))

    monkeypatch.setattr(operators.DetachedSparkSubmitHook, "submit", fake_submit)
    op = operators.StreamSubmitOperator(task_id="restart_stream", conn_id=SPARK_CONN_ID,
                                        spec_provider="vigil_test_spec:spec")
    result = op.execute({})
    assert result == {"submitted": SPEC["application"], "master": "yarn"}
    (command,) = submitted
    assert command[:3] == ["spark-submit", "--master", "yarn"]
    assert ["--deploy-mode", "cluster"] == command[command.index("--deploy-mode"):][:2]
    assert command[command.index("--jars") + 1] == SPEC["jars"]
    assert command[command.index("--py-files") + 1] == SPEC["py_files"]
    assert "spark.yarn.appMasterEnv.PYSPARK_PYTHON=/v/bin/python" in command
    assert command[-3:] == [SPEC["application"], "--config", "/x/job.json"]


def test_local_start_failure_reports_the_log_tail(monkeypatch, tmp_path):
    """A driver that exits at once fails the task with the end of its log."""
    _install_spec(monkeypatch, tmp_path)
    monkeypatch.setenv(f"AIRFLOW_CONN_{SPARK_CONN_ID.upper()}", json.dumps(
        {"conn_type": "spark", "host": "local[2]", "extra": {}}))
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "spark-submit").write_text("#!/bin/sh\necho 'Error: no such jar /j/a.jar' >&2\nexit 3\n")
    (fake_bin / "spark-submit").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:/usr/bin:/bin")
    monkeypatch.setattr(operators.StreamSubmitOperator, "_s3_client", lambda self: None)
    monkeypatch.setattr("vigil_airflow.stream.latest_progress", lambda s3, settings: None)
    op = operators.StreamSubmitOperator(task_id="restart_stream", conn_id=SPARK_CONN_ID,
                                        spec_provider="vigil_test_spec:spec")
    try:
        op.execute({})
    except operators.StreamStartError as e:
        message = str(e)
    else:
        raise AssertionError("a driver that exits must fail the task")
    assert "exited with code 3" in message and "no such jar /j/a.jar" in message
    assert (tmp_path / "stream" / "pid").exists()
