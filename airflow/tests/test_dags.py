"""Every DAG imports cleanly, declares only, and carries tags, retries and failure callbacks."""

from __future__ import annotations

import socket
import time

import pytest

from conftest import DAGS

EXPECTED = {"vigil_provision", "vigil_stream_supervisor", "vigil_hourly", "vigil_daily"}


@pytest.fixture(scope="module")
def dagbag(monkeypatch_module):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Parse the DAGs with the network forbidden: a DAG file that connects anywhere fails."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network use at DAG import time: {args}")

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket, "create_connection", refuse)
    yield mp
    mp.undo()


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


def test_import_is_fast():
    from airflow.dag_processing.dagbag import DagBag

    start = time.monotonic()
    DagBag(dag_folder=str(DAGS))
    assert time.monotonic() - start < 10, "parsing the DAG folder must stay cheap"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_tags_catchup_and_docs(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "vigil" in dag.tags and len(dag.tags) >= 2
    assert dag.catchup is False
    assert dag.doc_md and dag_id in dag.doc_md
    assert dag.on_failure_callback, f"{dag_id} has no DAG-level failure callback"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_every_task_retries_and_alerts(dagbag, dag_id):
    from vigil_airflow.callbacks import alert_on_failure

    for task in dagbag.dags[dag_id].tasks:
        if task.task_type == "EmptyOperator":
            continue
        assert task.retries >= 2, f"{dag_id}.{task.task_id} retries={task.retries}"
        callbacks = task.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert alert_on_failure in callbacks, f"{dag_id}.{task.task_id} has no alert callback"


def test_schedules_are_data_interval_driven(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    assert dagbag.dags["vigil_provision"].schedule is None
    for dag_id in ("vigil_hourly", "vigil_daily"):
        assert isinstance(dagbag.dags[dag_id].timetable, CronDataIntervalTimetable), dag_id
    assert dagbag.dags["vigil_stream_supervisor"].max_active_runs == 1


def test_supervisor_branches_to_restart_or_healthy(dagbag):
    from vigil_airflow import supervisor

    dag = dagbag.dags["vigil_stream_supervisor"]
    check = dag.get_task("check_stream")
    assert check.downstream_task_ids == {supervisor.HEALTHY_TASK, supervisor.RESTART_TASK}
    restart = dag.get_task(supervisor.RESTART_TASK)
    assert restart.task_type == "StreamSubmitOperator" and restart.retries >= 3


def test_hourly_and_daily_wait_for_success_markers(dagbag):
    for dag_id, task_id in (("vigil_hourly", "wait_for_hour"), ("vigil_daily", "wait_for_day")):
        sensor = dagbag.dags[dag_id].get_task(task_id)
        assert sensor.task_type == "S3KeySensor"
        assert sensor.mode == "reschedule"
        assert "data_interval_start" in sensor.bucket_key
