"""The local stack, over the real protocols, and the `vigil stack` CLI itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


# --- the services, over their own protocols ---------------------------------------------------


def test_kafka_produce_consume(stack, kafka_topic):
    from confluent_kafka import Consumer, Producer
    topic = kafka_topic(partitions=2)
    producer = Producer({"bootstrap.servers": stack.kafka.bootstrap, "enable.idempotence": True, "acks": "all"})
    sent = {f"dev-{i:03d}": f'{{"n": {i}}}' for i in range(20)}
    errors = []
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value, on_delivery=lambda err, msg: err and errors.append(err))
    assert producer.flush(30) == 0
    assert errors == []

    consumer = Consumer({"bootstrap.servers": stack.kafka.bootstrap, "group.id": f"{topic}-g",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    got: dict[str, str] = {}
    deadline = time.monotonic() + 60
    try:
        while len(got) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got[msg.key().decode()] = msg.value().decode()
    finally:
        consumer.close()
    assert got == sent


def test_s3_put_list_get(s3, s3_bucket):
    bucket = s3_bucket()
    keys = ["dt=2026-11-23/hr=10/part-1-0.json", "dt=2026-11-23/hr=10/part-1-1.json", "dt=2026-11-23/hr=11/x.json"]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=f'{{"i": {i}}}\n'.encode(), ContentType="application/json")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dt=2026-11-23/hr=10/")
    assert [o["Key"] for o in listed["Contents"]] == keys[:2]
    body = s3.get_object(Bucket=bucket, Key=keys[1])["Body"].read()
    assert json.loads(body) == {"i": 1}
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="dt=2026-11-23/hr=12/missing.json")


def test_dynamodb_conditional_put_and_get(dynamodb, ddb_table):
    table = ddb_table("anomaly_id")
    item = {"anomaly_id": {"S": "a-1"}, "batch_id": {"N": "7"}, "expires_at": {"N": "1900000000"}}
    dynamodb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(anomaly_id)")
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName=table, Item={**item, "batch_id": {"N": "8"}},
                          ConditionExpression="attribute_not_exists(anomaly_id)")
    # The owner may write again (a replayed batch), nobody else.
    dynamodb.put_item(TableName=table, Item=item, ConditionExpression="batch_id = :b",
                      ExpressionAttributeValues={":b": {"N": "7"}})
    got = dynamodb.get_item(TableName=table, Key={"anomaly_id": {"S": "a-1"}}, ConsistentRead=True)["Item"]
    assert got["batch_id"] == {"N": "7"}
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"anomaly_id": {"S": "a-2"}})


def test_spark_structured_streaming_reads_kafka(stack, kafka_topic, spark_session, tmp_path):
    from confluent_kafka import Producer
    topic = kafka_topic(partitions=2)
    producer = Producer({"bootstrap.servers": stack.kafka.bootstrap})
    events = [{"event_id": f"e-{i}", "device_id": f"dev-{i % 3}", "value": i * 1.5} for i in range(12)]
    for e in events:
        producer.produce(topic, key=e["device_id"], value=json.dumps(e))
    assert producer.flush(30) == 0

    spark = spark_session()
    stream = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", stack.kafka.bootstrap)
              .option("subscribe", topic)
              .option("startingOffsets", "earliest")
              .load()
              .selectExpr("CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value", "partition", "offset"))
    query = (stream.writeStream.format("memory").queryName(topic.replace("-", "_"))
             .option("checkpointLocation", str(tmp_path / "checkpoint"))
             .trigger(availableNow=True).start())
    assert query.awaitTermination(180), "the availableNow query did not finish in 180 s"
    assert query.exception() is None
    rows = spark.table(topic.replace("-", "_")).collect()
    assert sorted(json.loads(r.value)["event_id"] for r in rows) == sorted(e["event_id"] for e in events)
    assert all(r.key == json.loads(r.value)["device_id"] for r in rows)
    assert {r.partition for r in rows} <= {0, 1}
    by_part: dict[int, list[int]] = {}
    for r in rows:
        by_part.setdefault(r.partition, []).append(r.offset)
    for offsets in by_part.values():
        assert sorted(offsets) == list(range(len(offsets)))


# --- the `vigil stack` command ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_stack(tmp_path):
    """Env for a second, private stack: own state dir and free ports, same artifacts."""
    env = dict(os.environ)
    env.update({
        "VIGIL_STACK_DIR": str(tmp_path / "services"),
        "VIGIL_KAFKA_PORT": str(_free_port()), "VIGIL_KAFKA_CONTROLLER_PORT": str(_free_port()),
        "VIGIL_DYNAMODB_PORT": str(_free_port()),
        "VIGIL_MINIO_PORT": str(_free_port()), "VIGIL_MINIO_CONSOLE_PORT": str(_free_port()),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "infra"), env.get("PYTHONPATH")) if p),
    })
    yield env
    _vigil_stack(env, "down", "--purge")


def _vigil_stack(env: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vigil_ops.stack", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _pids(stack_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in stack_dir.glob("*/pid")}


def _group_alive(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def test_stack_cli_up_twice_status_down(private_stack):
    env = private_stack
    services = ("kafka", "dynamodb", "minio")
    first = _vigil_stack(env, "up", *services)
    assert first.returncode == 0, first.stdout + first.stderr
    for name in services:
        assert f"{name:9} healthy" in first.stdout
    pids = _pids(Path(env["VIGIL_STACK_DIR"]))
    assert set(pids) == set(services)

    second = _vigil_stack(env, "up", *services)
    assert second.returncode == 0, second.stdout + second.stderr
    for name in services:
        assert f"{name:9} already running (pid {pids[name]['pid']})" in second.stdout
    assert _pids(Path(env["VIGIL_STACK_DIR"])) == pids

    status = _vigil_stack(env, "status", *services)
    assert status.returncode == 0, status.stdout + status.stderr
    for name in services:
        line = next(x for x in status.stdout.splitlines() if x.startswith(name))
        assert line.split()[1:3] == ["healthy", str(pids[name]["pid"])]
    assert f"127.0.0.1:{env['VIGIL_KAFKA_PORT']}" in status.stdout

    down = _vigil_stack(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    for name, rec in pids.items():
        assert not _group_alive(rec["pgid"]), f"{name}: a process of group {rec['pgid']} still runs"
    assert _pids(Path(env["VIGIL_STACK_DIR"])) == {}
    after = _vigil_stack(env, "status", *services)
    assert after.returncode != 0
    assert all(f"{name:9} stopped" in after.stdout for name in services)
    # Data is kept without --purge.
    assert (Path(env["VIGIL_STACK_DIR"]) / "kafka" / "data" / "meta.properties").is_file()


def test_stack_cli_taken_port_is_a_clear_error(private_stack):
    env = private_stack
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["VIGIL_DYNAMODB_PORT"])))
        squatter.listen(1)
        r = _vigil_stack(env, "up", "dynamodb", "minio", timeout=60)
    assert r.returncode != 0
    assert f"dynamodb: port {env['VIGIL_DYNAMODB_PORT']} on 127.0.0.1 is taken by" in r.stderr
    assert "VIGIL_DYNAMODB_PORT" in r.stderr
    # Nothing was started: the check runs before any service starts.
    assert _pids(Path(env["VIGIL_STACK_DIR"])) == {}


def test_stack_cli_bad_config_names_the_key(private_stack):
    env = {**private_stack, "VIGIL_KAFKA_PORT": "not-a-port"}
    r = _vigil_stack(env, "status")
    assert r.returncode == 2
    assert "stack.kafka.port: must be an integer, got 'not-a-port'" in r.stderr
    assert "config/local.yaml" in r.stderr


def test_stack_cli_service_dying_at_start_shows_its_log(private_stack):
    # The JVM reads JAVA_TOOL_OPTIONS: an unknown option makes DynamoDB Local die at once.
    env = {**private_stack, "JAVA_TOOL_OPTIONS": "-XX:+VigilNoSuchOption"}
    r = _vigil_stack(env, "up", "dynamodb", timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "stack: dynamodb failed to start: the process exited during start" in r.stderr
    assert "--- last lines of" in r.stderr and "VigilNoSuchOption" in r.stderr
    assert _pids(Path(env["VIGIL_STACK_DIR"])) == {}
