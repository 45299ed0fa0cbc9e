"""The C++ Kafka range reader (vigil.KafkaPartitionReader / KafkaOffsetClient) against the real broker.

The streaming job's source (python/jobs/vigil_stream/source.py) plans offset ranges and
reads them with these; the crash tests in test_pipeline.py depend on a range reading
exactly the same messages every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import vigil
from vigil import errors

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "jobs"))

pytestmark = pytest.mark.usefixtures("stack")

N = 1000
NULLS = {17, 400, 401}   # offsets produced with a null value (Kafka tombstones)


@pytest.fixture(scope="module")
def topic(stack, request):
    """A 2-partition topic: N messages in partition 0 (value b"m<i>", some null), none in 1."""
    import uuid
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    name = f"vigil-t-src-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": stack.kafka.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])[name].result(30)
    p = Producer({"bootstrap.servers": stack.kafka.bootstrap, "enable.idempotence": True})
    for i in range(N):
        p.produce(name, value=None if i in NULLS else b"m%d" % i, partition=0, timestamp=1_700_000_000_000 + i)
    assert p.flush(30) == 0
    yield name
    admin.delete_topics([name])[name].result(30)


def settings(stack):
    return [("bootstrap.servers", stack.kafka.bootstrap)]


def read_all(reader, start, end, max_messages=10_000):
    reader.seek(start, end)
    pieces = []
    while True:
        data, voff, validity, offsets, ts = reader.next(max_messages, 1 << 20, 10_000)
        if len(offsets) == 0:
            return pieces
        assert len(voff) == len(offsets) + 1 and len(ts) == len(offsets)
        values = [None if validity is not None and not (validity[i // 8] >> (i % 8)) & 1
                  else bytes(data[voff[i]:voff[i + 1]]) for i in range(len(offsets))]
        pieces.append((offsets.tolist(), values, ts.tolist()))


def expected(start, end):
    return [None if i in NULLS else b"m%d" % i for i in range(start, end)]


def test_offset_client_lists_partitions_and_watermarks(stack, topic):
    c = vigil.KafkaOffsetClient(settings(stack))
    assert c.partitions(topic, 10_000) == [0, 1]
    low, high = c.watermarks(topic, [0, 1], 10_000)
    assert (low, high) == ([0, 0], [N, 0])
    with pytest.raises(errors.VigilNotFound, match="does-not-exist"):
        c.partitions(f"{topic}-does-not-exist", 10_000)


def test_a_range_reads_exactly_its_messages_in_pieces(stack, topic):
    r = vigil.KafkaPartitionReader(settings(stack), topic, 0)
    pieces = read_all(r, 100, 450, max_messages=64)
    assert [len(o) for o, _, _ in pieces] == [64] * 5 + [30]
    offsets = [o for p in pieces for o in p[0]]
    values = [v for p in pieces for v in p[1]]
    stamps = [t for p in pieces for t in p[2]]
    assert offsets == list(range(100, 450))
    assert values == expected(100, 450)          # null values stay null
    assert stamps == [1_700_000_000_000 + i for i in range(100, 450)]


def test_consecutive_and_backward_ranges(stack, topic):
    r = vigil.KafkaPartitionReader(settings(stack), topic, 0)
    for start, end in [(0, 10), (10, 500), (500, 500), (500, N), (3, 7), (990, N)]:
        pieces = read_all(r, start, end)
        assert [o for p in pieces for o in p[0]] == list(range(start, end)), (start, end)
        assert [v for p in pieces for v in p[1]] == expected(start, end)


def test_a_range_past_the_end_of_the_log_times_out_naming_the_offset(stack, topic):
    r = vigil.KafkaPartitionReader(settings(stack), topic, 0)
    r.seek(N - 5, N + 5)
    data, voff, validity, offsets, ts = r.next(100, 1 << 20, 5_000)
    assert offsets.tolist() == list(range(N - 5, N))
    with pytest.raises(errors.VigilIOError, match=rf"partition 0: no message at offset {N} within 500 ms"):
        r.next(100, 1 << 20, 500)


def test_an_empty_partition_reads_nothing(stack, topic):
    r = vigil.KafkaPartitionReader(settings(stack), topic, 1)
    assert read_all(r, 0, 0) == []


def test_bad_settings_name_the_setting(stack):
    with pytest.raises(errors.VigilInvalid, match="no.such.setting"):
        vigil.KafkaPartitionReader(settings(stack) + [("no.such.setting", "1")], "t", 0)


def test_the_source_routes_a_range_like_the_spark_kafka_path(stack, topic):
    """source.route_piece on the reader's columns == transform.route_batch on Spark-shaped Kafka rows."""
    import pyarrow as pa
    from vigil_stream.source import KafkaRange, route_piece
    from vigil_stream.transform import route_batch
    r = vigil.KafkaPartitionReader(settings(stack), topic, 0)
    r.seek(0, N)
    data, voff, validity, offsets, ts = r.next(N, 1 << 20, 10_000)
    ours = route_piece(KafkaRange(topic, 0, 0, N), data, voff, validity, offsets, ts, 4)
    rows = pa.RecordBatch.from_arrays(
        [pa.array(expected(0, N), pa.binary()), pa.array([topic] * N), pa.array(np.zeros(N, np.int32)),
         pa.array(np.arange(N, dtype=np.int64)),
         pa.array(1_700_000_000_000 + np.arange(N, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC"))],
        names=["value", "topic", "partition", "offset", "timestamp"])
    theirs = route_batch(rows, 4)
    assert ours.num_rows >= 1
    assert ours.equals(theirs)


def test_ranges_that_end_in_the_middle_of_a_fetch(stack, kafka_topic):
    """A range's end drops the assignment while the fetcher is mid-way through the log: the
    messages already taken past the end are not returned, and the next range (consecutive,
    backward, or ahead of where the fetcher stopped) reads exactly its messages."""
    import time
    from confluent_kafka import Producer
    name = kafka_topic()
    n = 60_000      # ~12 MB of values: many fetches, not one
    p = Producer({"bootstrap.servers": stack.kafka.bootstrap, "linger.ms": 20, "compression.type": "lz4"})
    for i in range(n):
        p.produce(name, value=b"%08d" % i + b"x" * 192, partition=0)
        if i % 10_000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    r = vigil.KafkaPartitionReader(settings(stack), name, 0)
    for start, end, piece in [(0, 20_000, 3_000), (20_000, 20_001, 10), (20_001, 45_000, 50_000),
                              (7, 9, 1), (45_000, n, 1_000), (30_000, 30_500, 100)]:
        r.seek(start, end)
        got = []
        while True:
            data, voff, validity, offsets, ts = r.next(piece, 1 << 24, 10_000)
            if len(offsets) == 0:
                break
            assert len(offsets) <= piece
            got += [(int(o), bytes(data[voff[i]:voff[i] + 8])) for i, o in enumerate(offsets)]
            time.sleep(0.005)   # a slow reader: the fetcher runs ahead of it
        assert got == [(i, b"%08d" % i) for i in range(start, end)], (start, end)


def test_routing_by_partition_reads_a_range_twice_the_same(stack, kafka_topic):
    """routing: partition. The read task yields one row for its range (count, max event time
    of the valid events among its newest WATERMARK_TAIL); the stateful task's read of the
    same range gives exactly the events and coordinates route_piece would have shipped."""
    import json
    import pyarrow as pa
    from confluent_kafka import Producer
    from vigil_stream.source import WATERMARK_TAIL, KafkaRange, KafkaRangeStreamReader, piece_reader, route_piece
    from vigil_stream.transform import ROUTED_ARROW, from_ipc, read_ranges
    name = kafka_topic()
    t0 = 1_795_428_000_000
    p = Producer({"bootstrap.servers": stack.kafka.bootstrap, "linger.ms": 5})
    for i in range(3000):
        ts = t0 + (i * 7919) % 3000 * 1000   # event times out of order
        value = b"{broken" if i % 500 == 3 else json.dumps(
            {"event_id": f"e{i}", "device_id": f"d{i % 9}", "ts": ts, "metrics": {"x": 1.0}}).encode()
        p.produce(name, value=value, key=f"d{i % 9}".encode(), partition=0)
    assert p.flush(30) == 0
    options = {"bootstrap": stack.kafka.bootstrap, "topic": name, "num_buckets": "2", "routing": "partition"}
    reader = KafkaRangeStreamReader(options)
    rng = KafkaRange(name, 0, 100, 2900)
    [row] = list(reader.read(rng))
    assert row.column("rows").to_pylist() == [2800]
    # The watermark's input: the max event time of the range's newest WATERMARK_TAIL events.
    assert WATERMARK_TAIL == 1000
    tail_ts = [t0 + (i * 7919) % 3000 * 1000 for i in range(1900, 2900) if i % 500 != 3]
    assert row.column("event_time").cast(pa.int64()).to_pylist() == [max(tail_ts) * 1000]
    [short] = list(reader.read(KafkaRange(name, 0, 2, 50)))   # shorter than the tail: all of it
    assert short.column("event_time").cast(pa.int64()).to_pylist() == [
        max(t0 + (i * 7919) % 3000 * 1000 for i in range(2, 50) if i % 500 != 3) * 1000]
    ref = json.loads(row.column("payload")[0].as_py())
    got = read_ranges([ref], piece_reader(options))
    r = vigil.KafkaPartitionReader(settings(stack), name, 0)
    r.seek(100, 2900)
    shipped = []
    while True:
        cols = r.next(1000, 1 << 24, 10_000)
        if len(cols[3]) == 0:
            break
        shipped += route_piece(rng, *cols, 2).column("payload").to_pylist()
    want = from_ipc(shipped, ROUTED_ARROW).sort_by("kafka_offset").drop_columns(["event_time"]).combine_chunks()
    assert got.drop_columns(["event_time"]).combine_chunks().equals(want)
