"""The supervisor's signals and verdict: progress lookup, checkpoint offsets, lag, liveness."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import subprocess

import pytest

from vigil_airflow import stream
from vigil_airflow.settings import Settings

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.timezone.utc)


def _settings(tmp_path, **kw) -> Settings:
    return Settings(env="test", kafka_bootstrap="127.0.0.1:9092", kafka_topic="events", s3_bucket="b",
                    ddb_table="t", vigil_home=str(tmp_path), checkpoint_location=str(tmp_path / "ckpt"),
                    **kw)


class FakeS3:
    """list_objects_v2 (Prefix, StartAfter, MaxKeys) and head_object over sorted keys; counts calls."""

    def __init__(self, keys: dict[str, dt.datetime]):
        self.keys = dict(keys)
        self.sorted = sorted(keys)
        self.calls = 0

    def list_objects_v2(self, Bucket, Prefix, StartAfter="", MaxKeys=1000):  # noqa: N803
        self.calls += 1
        i = bisect.bisect_right(self.sorted, StartAfter)
        out = [k for k in self.sorted[i:] if k.startswith(Prefix)][:MaxKeys]
        return {"Contents": [{"Key": k} for k in out]} if out else {}

    def head_object(self, Bucket, Key):  # noqa: N803
        return {"LastModified": self.keys[Key]}


@pytest.mark.parametrize("batches", [[0], [0, 1, 2], list(range(5, 1000)), [3, 17, 18, 250, 4097]])
def test_latest_progress_finds_the_newest_batch_in_few_calls(tmp_path, batches):
    s = _settings(tmp_path)
    keys = {f"_vigil/progress/batch-{b:08d}.json": NOW - dt.timedelta(seconds=5000 - i)
            for i, b in enumerate(batches)}
    keys["_vigil/progress/latest.json"] = NOW
    keys["_vigil/zzz"] = NOW
    fake = FakeS3(keys)
    batch, when = stream.latest_progress(fake, s)
    assert batch == max(batches)
    assert when == keys[f"_vigil/progress/batch-{max(batches):08d}.json"]
    assert fake.calls <= 4 * max(1, max(batches)).bit_length() + 2


def test_latest_progress_none_without_progress(tmp_path):
    assert stream.latest_progress(FakeS3({"_vigil/hours.json": NOW}), _settings(tmp_path)) is None


def _write_checkpoint(root, batch, offsets, committed=True):
    (root / "offsets").mkdir(parents=True, exist_ok=True)
    (root / "commits").mkdir(parents=True, exist_ok=True)
    (root / "offsets" / str(batch)).write_text(
        "v1\n" + json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 1}) + "\n" + json.dumps(offsets) + "\n")
    if committed:
        (root / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}\n')


def test_checkpoint_offsets_of_the_newest_committed_batch(tmp_path):
    s = _settings(tmp_path)
    assert stream.checkpoint_offsets(s) is None
    root = tmp_path / "ckpt"
    _write_checkpoint(root, 9, {"events": {"0": 10, "1": 20}})
    _write_checkpoint(root, 10, {"events": {"0": 15, "1": 26}})
    _write_checkpoint(root, 11, {"events": {"0": 99, "1": 99}}, committed=False)  # running batch
    (root / "commits" / ".10.crc").write_text("x")
    assert stream.checkpoint_offsets(s) == {"events": {0: 15, 1: 26}}


def test_consumer_lag_sums_partitions_and_counts_unread_partitions():
    assert stream.consumer_lag({0: 20, 1: 30}, {0: 15, 1: 30}) == 5
    assert stream.consumer_lag({0: 20, 1: 30, 2: 7}, {0: 25, 1: 30}) == 7
    assert stream.consumer_lag({0: 20}, None) == 20


@pytest.mark.parametrize("last, lag, local, pid, started, alive, reason", [
    (NOW - dt.timedelta(seconds=30), 500, True, 42, None, True, "progress 30s ago"),
    (NOW - dt.timedelta(seconds=900), 500, True, 42, None, False, "stalled: no progress for 900s"),
    (NOW - dt.timedelta(seconds=900), 0, True, 42, None, True, "idle"),
    (None, 10, True, 42, None, False, "never made progress"),
    (None, 10, True, 42, NOW - dt.timedelta(seconds=60), True, "starting"),
    (NOW - dt.timedelta(seconds=30), 0, True, None, None, False, "no running stream process"),
    (NOW - dt.timedelta(seconds=900), None, False, None, None, False, "unknown number"),
    (NOW - dt.timedelta(seconds=10), None, False, None, None, True, "progress 10s ago"),
])
def test_assess(last, lag, local, pid, started, alive, reason):
    health = stream.assess(NOW, 300, last, lag, local, pid, started, start_grace_s=240)
    assert health.alive is alive
    assert reason in health.reason


def test_pid_file_round_trip_sees_live_dead_and_recycled_processes(tmp_path):
    s = _settings(tmp_path)
    assert stream.read_pid(s) is None
    child = subprocess.Popen(["sleep", "30"])
    try:
        stream.write_pid(s, child.pid, ["sleep", "30"])
        record = json.loads(stream.pid_file(s).read_text())
        assert record["pid"] == child.pid and record["start_ticks"] > 0
        assert stream.read_pid(s) == child.pid
        assert stream.started_at(s) is not None
        record["start_ticks"] += 1  # same pid, another process: not ours
        stream.pid_file(s).write_text(json.dumps(record))
        assert stream.read_pid(s) is None
        stream.write_pid(s, child.pid, ["sleep", "30"])
    finally:
        child.kill()
        child.wait()
    assert stream.read_pid(s) is None
    stream.pid_file(s).write_text("garbage\n")
    assert stream.read_pid(s) is None
