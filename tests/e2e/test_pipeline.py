"""The whole pipeline on the real local stack: vigil-produce -> Kafka -> Spark job
(spark-submit, C++ decode + detection) -> DynamoDB claims + S3 records.

- end to end on the default simulator mix: counts reconcile exactly
  (produced = valid + invalid + late), every malformed event is dead-lettered with
  its reason, every duplicate gives one record, and detections meet recall >= 0.9 and
  precision >= 0.8 event-wise against the simulator's labels;
- crash safety: the job SIGKILLed after the claim, in the middle of the S3 writes
  and after the writes (before Spark's commit), restarted each time from its
  checkpoint, ends with exactly the records of an uninterrupted run.

Each test uses its own topic, bucket, table and checkpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "jobs"))

from vigil_ops import stream  # noqa: E402
from vigil_ops.demo import event_wise  # noqa: E402
from vigil_ops.stack import process  # noqa: E402
from binaries import produce_binary  # noqa: E402


def produce(cfg, topic: str, tmp: Path, *args: str) -> dict:
    stats, labels = tmp / "stats.json", tmp / "labels.jsonl"
    run = subprocess.run([str(produce_binary()), "--bootstrap", cfg.kafka.bootstrap, "--topic", topic,
                          "--rate", "0", "--quiet", "--stats", str(stats), "--labels", str(labels), *args],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"vigil-produce failed ({run.returncode}):\n{run.stderr[-3000:]}"
    return {"stats": json.loads(stats.read_text()),
            "labels": [json.loads(x) for x in labels.read_text().splitlines() if x.strip()]}


class Job:
    """One spark-submit of the job on its own topic/bucket/table/checkpoint."""

    def __init__(self, cfg, tmp: Path, topic: str, bucket: str, table: str, name: str, **overrides):
        self.cfg, self.name = cfg, name
        self.progress = tmp / f"{name}-progress.jsonl"
        self.overrides = {"kafka_topic": topic, "s3_bucket": bucket, "ddb_table": table,
                          "checkpoint_location": str(tmp / f"{name}-checkpoint"),
                          "progress_file": str(self.progress), "dlq_topic": None,
                          "trigger_interval_ms": 500, **overrides}
        self.rec = None

    def start(self, fault: str | None = None) -> None:
        env = {"VIGIL_FAULT": fault} if fault else {"VIGIL_FAULT": ""}
        self.rec = stream.start(self.cfg, overrides=self.overrides, env=env, name=self.name, wait_s=300)

    def sink_batches(self) -> list[dict]:
        from vigil_stream.progress import read
        return [r for r in read(str(self.progress)) if r.get("kind") == "sink"]

    def consumed(self) -> int:
        # A replayed batch is logged twice; count each batch id once (its last record).
        return sum(b["input"] for b in {b["batch_id"]: b for b in self.sink_batches()}.values())

    def wait_consumed(self, total: int, timeout_s: float = 600) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.consumed() >= total:
                return
            if not process.is_ours(self.rec):
                pytest.fail(f"job {self.name} died:\n{process.tail(self.cfg.home / self.name / 'log', 60)}")
            time.sleep(1)
        pytest.fail(f"job {self.name} consumed {self.consumed()} of {total} in {timeout_s}s:\n"
                    f"{process.tail(self.cfg.home / self.name / 'log', 40)}")

    def wait_killed(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not process.is_ours(self.rec):
                # the spark-submit JVM follows its killed Python driver; make sure it is gone
                process.stop(self.rec, 10)
                return
            time.sleep(0.5)
        pytest.fail(f"job {self.name}: the fault did not fire within {timeout_s}s")

    def stop(self) -> None:
        if self.rec is not None:
            process.stop(self.rec, 30)


def read_records(s3, bucket: str, prefix: str) -> dict[str, list[dict]]:
    """key -> parsed JSON lines of every part file under prefix."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            if o["Key"].rsplit("/", 1)[-1].startswith("part-"):
                body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
                out[o["Key"]] = [json.loads(line) for line in body.splitlines()]
    return out


@pytest.fixture
def names(kafka_topic, s3_bucket, unique_name, dynamodb):
    tables: list[str] = []

    def make(partitions: int = 2):
        table = unique_name("claims")
        tables.append(table)
        return kafka_topic(partitions), s3_bucket(), table

    yield make
    for t in tables:
        try:
            dynamodb.delete_table(TableName=t)
        except dynamodb.exceptions.ResourceNotFoundException:
            pass


def test_end_to_end_counts_dead_letters_duplicates_and_quality(stack, s3, dynamodb, names, tmp_path):
    topic, bucket, table = names(2)
    made = produce(stack, topic, tmp_path, "--devices", "40", "--metrics", "3", "--events", "60000",
                   "--seed", "11", "--duplicate-rate", "0.01", "--malformed-rate", "0.01",
                   "--late-rate", "0.005", "--max-lateness", "20s")
    st = made["stats"]
    sent = st["delivered"]
    job = Job(stack, tmp_path, topic, bucket, table, "stream-e2e", max_offsets_per_trigger=20000)
    try:
        job.start()
        job.wait_consumed(sent)
    finally:
        job.stop()
    batches = list({b["batch_id"]: b for b in job.sink_batches()}.values())
    total = {k: sum(b[k] for b in batches) for k in ("input", "valid", "invalid", "late",
                                                        "anomalies_written", "duplicates_dropped")}
    # Exact reconciliation.
    assert total["input"] == sent
    assert total["valid"] + total["invalid"] + total["late"] == sent
    assert total["invalid"] == st["kinds"]["malformed"]

    # Every malformed event is in the dead-letter place with a reason.
    dead = [r for rs in read_records(s3, bucket, stack.s3.dead_letter_prefix).values() for r in rs]
    assert len(dead) == total["invalid"] + total["late"]
    assert all(r["reason"] and r["raw_base64"] is not None for r in dead)
    assert len({(r["kafka_partition"], r["kafka_offset"]) for r in dead}) == len(dead)
    assert {r["reason"] for r in dead} - {"late"} <= {
        "malformed_json", "missing_field", "wrong_type", "non_finite", "timestamp_out_of_range",
        "payload_too_large", "bad_timestamp", "invalid_id", "empty_metrics"}

    # One record per anomaly id, with the record's fields.
    files = read_records(s3, bucket, stack.s3.prefix)
    records = [r for rs in files.values() for r in rs]
    ids = [r["anomaly_id"] for r in records]
    assert len(ids) == len(set(ids)) == total["anomalies_written"]
    for key in ("anomaly_id", "event_id", "device_id", "metric", "event_time", "value", "score", "severity",
                "detectors", "explanation", "kafka_topic", "kafka_partition", "kafka_offset",
                "pipeline_version", "detector_version", "detected_at"):
        assert all(key in r for r in records), key
    # Every anomaly names the detectors behind it, in the record and in its explanation.
    assert all(r["detectors"] and json.loads(r["explanation"])["detectors"] for r in records)
    # One claim item per event-time window and device shard; each anomaly in it once.
    items = [i for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
             for i in page["Items"]]
    # (each owner's attribute: detected_at, then 16 bytes per anomaly id)
    claimed = [v["B"][k:k + 16].hex() for i in items for name, v in i.items() if name.startswith("o:")
               for k in range(8, len(v["B"]), 16)]
    assert sorted(claimed) == sorted(ids)
    assert len(items) < len(ids) / 10  # grouped: many anomalies per item

    recall, precision, kinds = event_wise(records, made["labels"])
    print(f"\nevent-wise recall {recall:.3f} precision {precision:.3f}; per kind (hit, total): {kinds}")
    assert recall >= 0.9, kinds
    assert precision >= 0.8


def test_duplicate_event_gives_one_record(stack, s3, names, tmp_path):
    """The same event twice (as the producer's retry would): one claim, one S3 record."""
    from confluent_kafka import Producer
    topic, bucket, table = names(1)
    t0 = 1795428000000
    p = Producer({"bootstrap.servers": stack.kafka.bootstrap})
    for i in range(400):
        v = 200.0 if i == 350 else 20.0 + (i % 5) * 0.1
        p.produce(topic, json.dumps({"event_id": f"d1-{i}", "device_id": "d1", "ts": t0 + i * 1000,
                                     "metrics": {"temperature": v}}).encode(), key=b"d1")
    spike = json.dumps({"event_id": "d1-350", "device_id": "d1", "ts": t0 + 350_000,
                        "metrics": {"temperature": 200.0}}).encode()
    p.produce(topic, spike, key=b"d1")  # the duplicate, in a later batch
    assert p.flush(30) == 0
    job = Job(stack, tmp_path, topic, bucket, table, "stream-dup", max_offsets_per_trigger=200)
    try:
        job.start()
        job.wait_consumed(401)
    finally:
        job.stop()
    records = [r for rs in read_records(s3, bucket, stack.s3.prefix).values() for r in rs]
    assert [r["event_id"] for r in records if r["event_id"] == "d1-350"] == ["d1-350"]
    assert sum(b["duplicates_dropped"] for b in job.sink_batches()) >= 1


def _content(records):
    return sorted((json.dumps({k: v for k, v in r.items() if k != "detected_at"}, sort_keys=True)
                   for r in records))


def test_crash_at_each_point_then_restart_matches_uninterrupted_run(stack, s3, names, tmp_path):
    topic, bucket_ref, table_ref = names(1)
    _, bucket, table = names(1)
    made = produce(stack, topic, tmp_path, "--devices", "20", "--metrics", "2", "--events", "14000",
                   "--seed", "5", "--duplicate-rate", "0.01", "--malformed-rate", "0.005")
    sent = made["stats"]["delivered"]
    common = {"max_offsets_per_trigger": 2000}

    ref = Job(stack, tmp_path, topic, bucket_ref, table_ref, "stream-ref", **common)
    try:
        ref.start()
        ref.wait_consumed(sent)
    finally:
        ref.stop()
    expected = read_records(s3, bucket_ref, stack.s3.prefix)
    # Kill in batches that write anomalies (mid_write fires after a batch's first object).
    with_anomalies = [b["batch_id"] for b in sorted(ref.sink_batches(), key=lambda b: b["batch_id"])
                      if b["anomalies_written"] > 0]
    assert len(with_anomalies) >= 3, with_anomalies
    faults = [f"after_claim:batch={with_anomalies[0]}", f"mid_write:batch={with_anomalies[1]}",
              f"after_write:batch={with_anomalies[2]}"]

    job = Job(stack, tmp_path, topic, bucket, table, "stream-crash", **common)
    try:
        for fault in faults:
            job.start(fault)
            job.wait_killed()
            log = (stack.home / "stream-crash" / "log").read_text()
            assert f"VIGIL_FAULT {fault.split(':')[0]} at batch {fault.split('=')[1]}" in log
        job.start()
        job.wait_consumed(sent)
    finally:
        job.stop()
    got = read_records(s3, bucket, stack.s3.prefix)
    assert sorted(got) == sorted(expected)  # same files (batch numbering included)
    got_recs = [r for rs in got.values() for r in rs]
    exp_recs = [r for rs in expected.values() for r in rs]
    (tmp_path / "records-ref.json").write_text(json.dumps(expected, indent=1, sort_keys=True))
    (tmp_path / "records-crash.json").write_text(json.dumps(got, indent=1, sort_keys=True))
    assert len(got_recs) == len({r["anomaly_id"] for r in got_recs})  # nothing twice
    assert _content(got_recs) == _content(exp_recs)                   # nothing lost or changed
    assert len(exp_recs) > 0
    replays = sum(b["replayed_claims"] for b in job.sink_batches())
    assert replays > 0  # the after_claim / after_write kills really forced a replay of owned claims
