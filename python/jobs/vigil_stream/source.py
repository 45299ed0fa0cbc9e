"""The job's Kafka source: a Spark Python streaming data source over the C++ range reader.

    spark.dataSource.register(KafkaRangeSource)
    df = spark.readStream.format(KafkaRangeSource.name()).options(**source_options(cfg)).load()

It yields transform.PACKED_SCHEMA rows directly, so the JVM never builds a row per
event. Spark's own Kafka source builds one, converts it to Arrow for Python, and
route_batches then packs it again; on two cores that was most of a micro-batch
(bench/RESULTS.md).

Offsets are Spark's, as with its Kafka source: the driver plans each micro-batch as
one [start, end) range per partition ({"topic": {"0": end0, "1": end1}}), the
offset log in the checkpoint records it before the batch runs, and a replayed
batch reads exactly those ranges again (vigil/kafka/range_reader.h). Each task
reads one range with a librdkafka consumer kept by its Python worker. With routing
"partition" it yields one row for the range (the max event time of its newest
WATERMARK_TAIL events, found in C++: transform.range_row) and the stateful task reads the range again (read_pieces);
with routing "device" it decodes and routes the events in C++
(transform.route_columns). Nothing here runs per event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator, Optional

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.types import StructType

from .transform import PACKED_SCHEMA, route_columns

# A task reads its range in pieces of at most this many messages / value bytes; a piece
# stays under glibc's mmap threshold so that its memory is reused (worker.tune_malloc).
READ_MESSAGES = 200_000
READ_BYTES = 8 << 20
# With routing "partition" the watermark's input from a range is the max event time of
# its newest WATERMARK_TAIL events, not of all of them: the read task then reads ~240 KB
# instead of the whole range, which the stateful task reads anyway (reading every range
# twice was ~22% of the Python workers' busy time, py-spy, bench/RESULTS.md "Pipeline").
# A partition's events arrive in about event-time order, so the newest ones hold its max
# but for events from a clock ahead of the rest, which this keeps out of the watermark.
WATERMARK_TAIL = 1_000
# Kafka metadata queries on the driver, and a range read without any progress.
METADATA_TIMEOUT_MS = 30_000
DEFAULT_POLL_TIMEOUT_MS = 120_000   # Spark's kafkaConsumer.pollTimeoutMs


class SourceError(ValueError):
    """Bad source options or offsets; the message names the option or partition."""


@dataclass(frozen=True)
class KafkaRange(InputPartition):
    """One task's input: the offsets [start, end) of one topic partition."""
    topic: str
    partition: int
    start: int
    end: int


def _settings(options: dict) -> list[tuple[str, str]]:
    raw = json.loads(options.get("kafka_settings", "{}"))
    return [("bootstrap.servers", options["bootstrap"])] + [(str(k), str(v)) for k, v in raw.items()]


def parse_starting_offsets(text: str, topic: str) -> Optional[dict[int, int]]:
    """'earliest' / 'latest' -> None (resolved against the broker), or a JSON offsets object
    {"topic": {"0": 23, "1": -2}} -> {0: 23, 1: -2} (-2 = earliest, -1 = latest, as in Spark)."""
    if text in ("earliest", "latest"):
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise SourceError(f"starting_offsets: not JSON: {e}") from e
    if not isinstance(obj, dict) or set(obj) != {topic} or not isinstance(obj[topic], dict):
        raise SourceError(f"starting_offsets: expected {{\"{topic}\": {{\"<partition>\": <offset>}}}}, got {text}")
    out = {}
    for p, off in obj[topic].items():
        if not str(p).isdigit() or not isinstance(off, int) or isinstance(off, bool) or off < -2:
            raise SourceError(f"starting_offsets: partition {p!r}: expected an offset >= -2, got {off!r}")
        out[int(p)] = off
    return out


class KafkaRangeStreamReader(DataSourceStreamReader):
    """Plans micro-batches on the driver; reads one KafkaRange per task on the executors."""

    def __init__(self, options: dict):
        self.options = dict(options)
        self.topic = self.options["topic"]
        self.max_offsets = int(self.options.get("max_offsets_per_trigger", 0)) or None
        self.num_buckets = int(self.options["num_buckets"])
        self.routing = self.options.get("routing", "partition")
        self._client = None      # driver only, created on first use
        self._position = None    # the end of the last planned batch: {partition: offset}

    def __getstate__(self):  # shipped to executors for read(): without the driver's client
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    # -- planning, on the driver ------------------------------------------------------
    def _watermarks(self) -> tuple[list[int], list[int], list[int]]:
        from vigil import KafkaOffsetClient
        if self._client is None:
            self._client = KafkaOffsetClient(_settings(self.options))
        parts = self._client.partitions(self.topic, METADATA_TIMEOUT_MS)
        low, high = self._client.watermarks(self.topic, parts, METADATA_TIMEOUT_MS)
        return parts, low, high

    def _as_offset(self, offsets: dict[int, int]) -> dict:
        return {self.topic: {str(p): int(o) for p, o in sorted(offsets.items())}}

    def _from_offset(self, offset: dict) -> dict[int, int]:
        if set(offset) != {self.topic}:
            raise SourceError(f"the checkpoint's offsets are for topic(s) {sorted(offset)}, not "
                              f"{self.topic}: use a new checkpoint_location for a new topic")
        return {int(p): int(o) for p, o in offset[self.topic].items()}

    def initialOffset(self) -> dict:
        parts, low, high = self._watermarks()
        start = self.options.get("starting_offsets", "earliest")
        given = parse_starting_offsets(start, self.topic)
        offsets = {}
        for p, lo, hi in zip(parts, low, high):
            if given is None:
                offsets[p] = lo if start == "earliest" else hi
            else:
                off = given.get(p, -2)   # a partition not named starts at its earliest
                offsets[p] = lo if off == -2 else hi if off == -1 else off
        unknown = sorted(set(given or {}) - set(parts))
        if unknown:
            raise SourceError(f"starting_offsets: topic {self.topic} has no partition(s) {unknown}")
        self._position = offsets
        return self._as_offset(offsets)

    def latestOffset(self) -> dict:
        from vigil import cap_end_offsets
        parts, low, high = self._watermarks()
        if self._position is None:   # neither initialOffset nor a restored batch: start now
            self.initialOffset()
        position = self._position
        # A partition added to the topic first appears at its earliest offset, with no data:
        # the batch's start offsets then name every partition its end offsets do.
        start = [position.get(p, lo) for p, lo in zip(parts, low)]
        for p, s, hi in zip(parts, start, high):
            if s > hi:
                raise SourceError(f"Kafka topic {self.topic} partition {p}: the query is at offset {s} but the "
                                  f"partition ends at {hi} (topic deleted and re-created?): data loss; "
                                  "use a new checkpoint_location")
        latest = high if self.max_offsets is None else cap_end_offsets(start, high, self.max_offsets)
        new = {p: (lo if p not in position else e) for p, lo, e in zip(parts, low, latest)}
        return self._as_offset(new)

    def partitions(self, start: dict, end: dict) -> list[KafkaRange]:
        s, e = self._from_offset(start), self._from_offset(end)
        self._position = e   # also how a restarted query learns where it is (setLatestSeenOffset)
        return [KafkaRange(self.topic, p, s[p], e[p]) for p in sorted(e) if p in s and e[p] > s[p]]

    def commit(self, end: dict) -> None:
        pass  # offsets live in the checkpoint; nothing is committed to Kafka

    def stop(self) -> None:
        self._client = None

    # -- reading, on the executors ----------------------------------------------------
    def read(self, partition: KafkaRange) -> Iterator:
        if self.routing == "partition":
            yield self._range_row(partition)
            return
        for cols in read_pieces(self.options, partition.topic, partition.partition, partition.start,
                                partition.end):
            yield route_piece(partition, *cols, self.num_buckets)

    def _range_row(self, rng: KafkaRange):
        """Routing by partition: the range as one row (transform.range_row), with the max event
        time of its newest WATERMARK_TAIL events, found in C++: only those are read here."""
        from .transform import event_times, piece_values, range_row
        max_ms = None
        for data, value_offsets, validity, offsets, _ in read_pieces(self.options, rng.topic, rng.partition,
                                                                     max(rng.start, rng.end - WATERMARK_TAIL),
                                                                     rng.end):
            ev_ms, rejected = event_times(piece_values(data, value_offsets, validity, len(offsets)),
                                          self.num_buckets)
            valid = ev_ms[~rejected]
            if len(valid):
                m = int(valid.max())
                max_ms = m if max_ms is None else max(max_ms, m)
        return range_row(rng.topic, rng.partition, rng.start, rng.end, rng.end - rng.start, max_ms,
                         self.num_buckets)


def read_pieces(options: dict, topic: str, partition: int, start: int, end: int) -> Iterator[tuple]:
    """The reader's columns of [start, end), piece by piece, from this worker's consumer."""
    key = _reader_key(options, topic, partition)
    timeout_ms = int(options.get("poll_timeout_ms", DEFAULT_POLL_TIMEOUT_MS))
    try:
        reader = _partition_reader(key, options)
        reader.seek(start, end)
        while True:
            cols = reader.next(READ_MESSAGES, READ_BYTES, timeout_ms)
            if len(cols[3]) == 0:
                return
            yield cols
    except BaseException:   # an error, or the caller stopped reading: the consumer's position is unknown
        _READERS.pop(key, None)
        raise


def piece_reader(options: dict):
    """read_pieces bound to the source options: the stateful step's range reader."""
    def read(topic: str, partition: int, start: int, end: int):
        return read_pieces(options, topic, partition, start, end)
    return read


class KafkaRangeSource(DataSource):
    """format("vigil-kafka"): options bootstrap, topic, num_buckets, starting_offsets,
    max_offsets_per_trigger, kafka_settings (JSON object of librdkafka settings), poll_timeout_ms."""

    @classmethod
    def name(cls) -> str:
        return "vigil-kafka"

    def schema(self) -> StructType:
        return PACKED_SCHEMA

    def streamReader(self, schema: StructType) -> KafkaRangeStreamReader:
        for key in ("bootstrap", "topic", "num_buckets"):
            if not self.options.get(key):
                raise SourceError(f"vigil-kafka source: option '{key}' is required")
        return KafkaRangeStreamReader(self.options)


# One librdkafka consumer per (settings, topic, partition) in each Python worker
# (workers are reused): a batch's read skips the consumer's set-up (connection, metadata).
_READERS: dict = {}


def _reader_key(options: dict, topic: str, partition: int) -> tuple:
    return (json.dumps(_settings(options)), topic, partition)


def _partition_reader(key: tuple, options: dict):
    from vigil import KafkaPartitionReader
    r = _READERS.get(key)
    if r is None:
        r = _READERS[key] = KafkaPartitionReader(_settings(options), key[1], key[2])
    return r


def route_piece(rng: KafkaRange, data, value_offsets, validity, offsets, ts_ms, num_buckets: int):
    """A piece of a range (the reader's columns, zero-copy) -> PACKED_SCHEMA rows (transform.route_columns)."""
    from .transform import piece_columns
    return route_columns(*piece_columns(rng.topic, rng.partition, data, value_offsets, validity, offsets, ts_ms),
                         num_buckets)
