"""Test set-up: an isolated AIRFLOW_HOME (set before Airflow is imported), the package
on sys.path, and fixtures for tests that need the local stack (skipped when it is down).
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

AIRFLOW_DIR = pathlib.Path(__file__).resolve().parents[1]
REPO = AIRFLOW_DIR.parent
DAGS = AIRFLOW_DIR / "dags"

_HOME = pathlib.Path(os.environ.get("VIGIL_AIRFLOW_TEST_HOME") or tempfile.mkdtemp(prefix="vigil-airflow-test-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
for path in (AIRFLOW_DIR, REPO / "infra", pathlib.Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


# --- the local stack ---------------------------------------------------------------------------

import datetime as dt  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import urllib.parse  # noqa: E402

import pytest  # noqa: E402


def _reachable(url_or_hostport: str) -> bool:
    parsed = urllib.parse.urlsplit(url_or_hostport if "://" in url_or_hostport else f"x://{url_or_hostport}")
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata database in the test AIRFLOW_HOME (dag.test() needs one)."""
    run = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


@pytest.fixture(scope="session")
def stack_config():
    """The Vigil configuration of the running local stack; skip (or fail under CI) if it is down."""
    from vigil_ops import config as vconfig

    cfg = vconfig.load()
    endpoints = [cfg.kafka.bootstrap.split(",")[0]] + [e for e in (cfg.s3.endpoint, cfg.dynamodb.endpoint) if e]
    down = [e for e in endpoints if not _reachable(e)]
    if down:
        message = f"the local stack is not running ({', '.join(down)} unreachable): ./vigil stack up"
        if os.environ.get("CI") or os.environ.get("VIGIL_REQUIRE_STACK"):
            pytest.fail(message)
        pytest.skip(message)
    return cfg


@pytest.fixture
def deployment(stack_config, monkeypatch, tmp_path):
    """Fresh topic, table, bucket and checkpoint names for one test, wired through the same
    environment overrides and AIRFLOW_CONN_* variables a real deployment uses."""
    from vigil_airflow import connections
    from vigil_airflow.settings import load

    suffix = secrets.token_hex(4)
    monkeypatch.setenv("KAFKA_TOPIC", f"vigil-test-{suffix}")
    monkeypatch.setenv("S3_OUTPUT_BUCKET", f"vigil-test-{suffix}")
    monkeypatch.setenv("DDB_TABLE", f"vigil-test-{suffix}")
    monkeypatch.setenv("SPARK_CHECKPOINT_LOCATION", str(tmp_path / "checkpoint"))
    settings = load()
    for name, value in connections.airflow_env(settings).items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
def s3(stack_config):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(s3={"addressing_style": "path"}),
                        **stack_config.s3_client_kwargs())


def run_dag(dag_id: str, logical_date: dt.datetime):
    """dag.test() one run of `dag_id` from the repository's DAG folder; return the DagRun."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags[dag_id].test(logical_date=logical_date)


def task_states(dag_run) -> dict[str, str]:
    from airflow.utils.session import create_session

    from airflow.models.taskinstance import TaskInstance

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.state).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id).all()
    return {task_id: str(getattr(state, "value", state)) for task_id, state in rows}


def put_objects(s3_client, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=body)
