"""vigil-produce against the shared local Kafka: everything produced comes back,
and the counts by kind (normal, anomalous, duplicate, malformed and each malformed
kind, late) read off the consumed messages equal the producer's stats and labels.

Each message is classified independently of the producer, in partition order
(key = device_id, so a device's messages keep their order):
  malformed   oversized, not JSON (or only JSON with NaN/Infinity), a required
              field missing, a field of the wrong type, an impossible timestamp;
  duplicate   an event_id already consumed;
  late        event time before the latest already consumed for that device;
  anomalous   an event_id listed in the labels file;
  normal      the rest.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from binaries import produce_binary

REPO = Path(__file__).resolve().parents[2]
OVERSIZE = 4096
REQUIRED = ("event_id", "device_id", "ts", "metrics")


def _reject_constant(token: str):
    raise ValueError(f"non-finite constant {token}")


def _bad_ts(ts) -> bool:
    if isinstance(ts, int):
        return ts < 0 or ts > 4102444800000
    try:
        parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return True
    return not 1970 <= parsed.year <= 2100


def malformed_kind(value: bytes) -> str | None:
    """The malformed kind of a message, or None for a well-formed event."""
    if len(value) >= OVERSIZE:
        return "oversized"
    text = value.decode("utf-8")
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        try:
            json.loads(text)  # Python's json accepts NaN / Infinity
        except ValueError:
            return "invalid_json"
        return "non_finite"
    if not isinstance(doc, dict) or any(f not in doc for f in REQUIRED):
        return "missing_field"
    ts, metrics = doc["ts"], doc["metrics"]
    if (not isinstance(doc["device_id"], str) or isinstance(ts, bool) or not isinstance(ts, (str, int))
            or not isinstance(metrics, dict)
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in metrics.values())):
        return "wrong_type"
    if any(not math.isfinite(v) for v in metrics.values()):
        return "non_finite"
    if _bad_ts(ts):
        return "bad_timestamp"
    return None


def ts_ms(ts) -> int:
    if isinstance(ts, int):
        return ts
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 90.0) -> list:
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-check",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        messages = []
        deadline = time.monotonic() + timeout_s
        quiet_until = None
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=10000, timeout=1.0)
            for m in batch:
                if m.error():
                    raise KafkaException(m.error())
                messages.append(m)
            if len(messages) >= expected:
                # Keep reading briefly: anything beyond `expected` is a bug too.
                quiet_until = quiet_until or time.monotonic() + 3.0
                if time.monotonic() >= quiet_until:
                    break
        return messages
    finally:
        consumer.close()


def classify(messages, labelled: set[str]):
    kinds: Counter = Counter()
    malformed: Counter = Counter()
    seen_ids: set[str] = set()
    latest: dict[str, int] = {}
    by_partition: dict[int, list] = {}
    for m in messages:
        by_partition.setdefault(m.partition(), []).append(m)
    for part in by_partition.values():
        part.sort(key=lambda m: m.offset())
        for m in part:
            value = m.value()
            bad = malformed_kind(value)
            if bad:
                kinds["malformed"] += 1
                malformed[bad] += 1
                continue
            doc = json.loads(value)
            assert m.key().decode() == doc["device_id"], "the Kafka key is the device_id"
            event_id, device, t = doc["event_id"], doc["device_id"], ts_ms(doc["ts"])
            if event_id in seen_ids:
                kinds["duplicate"] += 1
            elif t < latest.get(device, t):
                kinds["late"] += 1
            elif event_id in labelled:
                kinds["anomalous"] += 1
            else:
                kinds["normal"] += 1
            seen_ids.add(event_id)
            latest[device] = max(t, latest.get(device, t))
    return kinds, malformed


def test_produce_consume_back_counts_by_kind(stack, kafka_topic, tmp_path):
    topic = kafka_topic(partitions=3)
    labels_topic = kafka_topic(partitions=1)
    labels_path, stats_path = tmp_path / "labels.jsonl", tmp_path / "stats.json"
    cmd = [str(produce_binary()), "--bootstrap", stack.kafka.bootstrap, "--topic", topic,
           "--labels-topic", labels_topic, "--events", "30000", "--devices", "20", "--metrics", "3",
           "--seed", "7", "--anomaly-rate", "0.01", "--anomaly-warmup", "100", "--anomaly-gap", "50",
           "--duplicate-rate", "0.02", "--malformed-rate", "0.02", "--late-rate", "0.03",
           "--max-lateness", "10s", "--oversize-bytes", str(OVERSIZE), "--compression", "zstd",
           "--labels", str(labels_path), "--stats", str(stats_path), "--progress", "0"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, f"vigil-produce failed ({run.returncode}):\n{run.stderr}"
    assert "sent 30000  failed 0" in run.stderr, run.stderr
    stats = json.loads(stats_path.read_text())
    assert stats["delivered"] == 30000 and stats["failed"] == 0 and stats["unsent"] == 0
    assert all(stats["kinds"][k] > 0 for k in ("normal", "anomalous", "duplicate", "malformed", "late")), stats

    labels = [json.loads(line) for line in labels_path.read_text().splitlines()]
    assert len(labels) == stats["episodes"]["total"] > 0
    assert stats["labels_delivered"] == len(labels)
    labelled = {eid for ep in labels for eid in ep["event_ids"]}

    messages = consume_all(stack.kafka.bootstrap, topic, 30000)
    assert len(messages) == 30000, f"consumed {len(messages)} of 30000"
    kinds, malformed = classify(messages, labelled)
    assert dict(kinds) == {k: v for k, v in stats["kinds"].items() if v}, (dict(kinds), stats["kinds"])
    assert dict(malformed) == {k: v for k, v in stats["malformed"].items() if v}, (dict(malformed), stats["malformed"])
    assert kinds["anomalous"] == len(labelled), "each labelled event arrives once (besides duplicates)"

    label_messages = consume_all(stack.kafka.bootstrap, labels_topic, len(labels), timeout_s=30)
    assert sorted(json.loads(m.value()) ["episode_id"] for m in label_messages) == sorted(
        ep["episode_id"] for ep in labels)
    for m in label_messages:
        assert m.key().decode() == json.loads(m.value())["device_id"]


def test_bad_flags_and_unreachable_broker_fail_clearly(tmp_path):
    binary = str(produce_binary())
    bad = subprocess.run([binary, "--devices", "many", "--dry-run"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--devices" in bad.stderr
    missing = subprocess.run([binary, "--replay", str(tmp_path / "nope.csv"), "--dry-run"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "nope.csv" in missing.stderr
    # Nothing listens on port 1: every message stays unsent, and the exit code says so.
    down = subprocess.run([binary, "--bootstrap", "127.0.0.1:1", "--topic", "t", "--events", "10",
                           "--flush-timeout", "3s", "--quiet",
                           "--kafka-config", "message.timeout.ms=2000"],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 1, down.stderr
    assert "failed" in down.stderr or "unsent" in down.stderr


def test_replay_skab_style_csv_into_kafka(stack, kafka_topic, tmp_path):
    topic = kafka_topic(partitions=2)
    rows = ["datetime;Current;Pressure;anomaly;changepoint"]
    for i in range(300):
        anomalous = 100 <= i < 140 or 250 <= i < 260
        rows.append(f"2020-03-09 10:{i // 60:02d}:{i % 60:02d};{1.2 + (0.5 if anomalous else 0):.3f};"
                    f"{0.05 + i * 1e-4:.4f};{1.0 if anomalous else 0.0};0.0")
    csv = tmp_path / "valve.csv"
    csv.write_text("\n".join(rows) + "\n")
    labels_path, stats_path = tmp_path / "labels.jsonl", tmp_path / "stats.json"
    run = subprocess.run([str(produce_binary()), "--bootstrap", stack.kafka.bootstrap, "--topic", topic,
                          "--replay", str(csv), "--device-id", "valve-7", "--speedup", "600",
                          "--labels", str(labels_path), "--stats", str(stats_path), "--progress", "0"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    stats = json.loads(stats_path.read_text())
    # 300 rows, one second apart, at 600x real time: about half a second of pacing.
    assert stats["delivered"] == 300 and stats["kinds"]["anomalous"] == 50 and stats["elapsed_s"] >= 0.4
    labels = [json.loads(line) for line in labels_path.read_text().splitlines()]
    assert [len(ep["event_ids"]) for ep in labels] == [40, 10]
    messages = consume_all(stack.kafka.bootstrap, topic, 300, timeout_s=60)
    assert len(messages) == 300
    assert {m.key() for m in messages} == {b"valve-7"}, "one device: one key, one partition"
    docs = [json.loads(m.value()) for m in sorted(messages, key=lambda m: m.offset())]
    assert [d["event_id"] for d in docs] == [f"valve-7-{i:012d}" for i in range(300)]
    assert docs[0]["ts"] == "2020-03-09T10:00:00.000Z" and set(docs[0]["metrics"]) == {"Current", "Pressure"}
    assert labels[0]["event_ids"][0] == "valve-7-000000000100"
