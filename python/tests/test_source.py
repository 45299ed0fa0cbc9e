"""vigil_stream.source: micro-batch planning of the job's Kafka source, with a fake broker.

Reading real ranges is tested against Kafka in tests/e2e/test_kafka_source.py.
"""

import json
import pickle

import pytest

from vigil_stream.source import (KafkaRange, KafkaRangeSource, KafkaRangeStreamReader, SourceError,
                                 parse_starting_offsets)


class FakeBroker:
    """The watermarks the reader's offset client would report."""

    def __init__(self, low, high):
        self.low, self.high = list(low), list(high)

    def __call__(self):
        return list(range(len(self.high))), list(self.low), list(self.high)


def reader(broker, **options):
    opts = {"bootstrap": "127.0.0.1:9092", "topic": "t", "num_buckets": "2", **options}
    r = KafkaRangeStreamReader(opts)
    r._watermarks = broker
    return r


def test_starting_offsets():
    assert parse_starting_offsets("earliest", "t") is None
    assert parse_starting_offsets("latest", "t") is None
    assert parse_starting_offsets('{"t": {"0": 5, "1": -2, "2": -1}}', "t") == {0: 5, 1: -2, 2: -1}
    with pytest.raises(SourceError, match="not JSON"):
        parse_starting_offsets("{", "t")
    with pytest.raises(SourceError, match="expected"):
        parse_starting_offsets('{"other": {"0": 1}}', "t")
    with pytest.raises(SourceError, match="partition '0'"):
        parse_starting_offsets('{"t": {"0": -3}}', "t")


def test_initial_offsets_earliest_latest_and_json():
    broker = FakeBroker([10, 0], [100, 50])
    assert reader(broker).initialOffset() == {"t": {"0": 10, "1": 0}}
    assert reader(broker, starting_offsets="latest").initialOffset() == {"t": {"0": 100, "1": 50}}
    given = reader(broker, starting_offsets='{"t": {"0": 42, "1": -1}}')
    assert given.initialOffset() == {"t": {"0": 42, "1": 50}}
    assert reader(broker, starting_offsets='{"t": {"1": 7}}').initialOffset() == {"t": {"0": 10, "1": 7}}
    with pytest.raises(SourceError, match=r"no partition\(s\) \[5\]"):
        reader(broker, starting_offsets='{"t": {"5": 1}}').initialOffset()


def test_batches_are_capped_and_consecutive():
    broker = FakeBroker([0, 0], [300, 100])
    r = reader(broker, max_offsets_per_trigger="200")
    start = r.initialOffset()
    end = r.latestOffset()
    assert end == {"t": {"0": 150, "1": 50}}            # 200 shared by backlog 3:1
    assert r.partitions(start, end) == [KafkaRange("t", 0, 0, 150), KafkaRange("t", 1, 0, 50)]
    end2 = r.latestOffset()
    assert end2 == {"t": {"0": 300, "1": 100}}          # the rest fits under the cap
    assert r.partitions(end, end2) == [KafkaRange("t", 0, 150, 300), KafkaRange("t", 1, 50, 100)]
    assert r.latestOffset() == end2                      # nothing new: same offsets, no batch
    assert r.partitions(end2, end2) == []


def test_a_restarted_query_caps_from_its_checkpointed_position():
    """Spark restores the last offsets through partitions(last, last) (setLatestSeenOffset)."""
    broker = FakeBroker([0], [1_000_000])
    r = reader(broker, max_offsets_per_trigger="1000")
    r.partitions({"t": {"0": 5000}}, {"t": {"0": 5000}})
    assert r.latestOffset() == {"t": {"0": 6000}}


def test_a_new_partition_joins_at_its_earliest_offset_without_data():
    broker = FakeBroker([0], [10])
    r = reader(broker)
    r.partitions(r.initialOffset(), r.latestOffset())
    broker.low, broker.high = [0, 3], [10, 20]
    end = r.latestOffset()
    assert end == {"t": {"0": 10, "1": 3}}
    assert r.partitions({"t": {"0": 10}}, end) == []     # partition 1 is not in the start yet
    assert r.latestOffset() == {"t": {"0": 10, "1": 20}}
    assert r.partitions(end, {"t": {"0": 10, "1": 20}}) == [KafkaRange("t", 1, 3, 20)]


def test_a_partition_behind_the_query_is_data_loss():
    broker = FakeBroker([0], [10])
    r = reader(broker)
    r.partitions({"t": {"0": 50}}, {"t": {"0": 50}})
    with pytest.raises(SourceError, match="partition 0: the query is at offset 50 but the partition ends at 10"):
        r.latestOffset()


def test_a_checkpoint_of_another_topic_is_refused():
    r = reader(FakeBroker([0], [10]))
    with pytest.raises(SourceError, match="new checkpoint_location"):
        r.partitions({"other": {"0": 1}}, {"other": {"0": 2}})


def test_the_reader_ships_without_its_driver_client():
    r = reader(FakeBroker([0], [10]))
    r._client = object()   # unpicklable, like the binding's client
    del r._watermarks      # the fake is not part of the reader
    clone = pickle.loads(pickle.dumps(r))
    assert clone._client is None and clone.options == r.options


def test_the_source_requires_its_options():
    with pytest.raises(SourceError, match="'bootstrap' is required"):
        KafkaRangeSource({"topic": "t", "num_buckets": "2"}).streamReader(None)
    src = KafkaRangeSource({"bootstrap": "b:1", "topic": "t", "num_buckets": "2",
                            "kafka_settings": json.dumps({"security.protocol": "SSL"})})
    assert isinstance(src.streamReader(None), KafkaRangeStreamReader)
