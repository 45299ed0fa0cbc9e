"""ClaimStore against moto's DynamoDB: ownership, replay, duplicates, retries."""

# moto is not thread-safe: the stores here claim chunk by chunk (parallel=1); the
# parallel path runs against DynamoDB Local in tests/e2e.

from __future__ import annotations

import re
import zlib

import pytest

from vigil_stream.claims import (ClaimError, ClaimStore, claim_key, claim_keys, decode_item, encode_claims,
                                 ensure_table, shard_of)


def h(name: str) -> str:
    """A test anomaly id: 32 hex digits that still read as the name ("a" -> "0...061")."""
    return name.encode().hex().rjust(32, "0")


a, b, c, d, w, x, y, z = map(h, "abcdwxyz")


def claims_of(ddb, key: str) -> tuple[int, dict[str, str]]:
    return decode_item(ddb.get_item(TableName="claims", Key={"claim_key": {"S": key}})["Item"])


def test_first_claim_is_mine_and_other_owner_is_dropped(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    r1 = store.claim([a, b, c], owner="q1:0", now_ms=1000)
    assert r1.mine == {a: 1000, b: 1000, c: 1000} and not r1.dropped

    r2 = store.claim([b, d], owner="q1:1", now_ms=2000)
    assert r2.mine == {d: 2000}
    assert r2.dropped == {b}


def test_replay_of_same_batch_gets_its_own_ids_with_original_time(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    store.claim([a, b], owner="q1:5", now_ms=1000)
    again = store.claim([a, b], owner="q1:5", now_ms=9999)
    assert again.mine == {a: 1000, b: 1000}
    assert again.replayed == 2 and not again.dropped


def test_a_write_lost_to_another_writer_is_read_and_decided_again(aws):
    # Between this store's read and its write, another owner claims "a" in the same group:
    # the version condition cancels the write, the group is read again, "a" is dropped.
    _, ddb = aws
    ClaimStore(ddb, "claims", parallel=1).claim([z], owner="first:0", now_ms=1, keys=["g"])
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    real = store._batch_get
    raced = []

    def read_then_race(keys, result):
        found = real(keys, result)
        if not raced:
            raced.append(True)
            ClaimStore(ddb, "claims", parallel=1).claim([a], owner="other:0", now_ms=5, keys=["g"])
        return found
    store._batch_get = read_then_race
    r = store.claim([a, b], owner="q1:1", now_ms=2000, keys=["g", "g"])
    assert r.mine == {b: 2000} and r.dropped == {a}
    # write taken to be new (cancelled: "g" exists), read, cancelled write, read again, write
    assert r.calls == 5


def test_a_group_changed_since_this_store_wrote_it_is_read_again(aws):
    # What a store remembers of a group goes stale when another writer adds to it; the
    # version condition catches that and the group is read and decided again.
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    assert store.claim([a], owner="q:0", now_ms=1, keys=["g"]).calls == 1
    ClaimStore(ddb, "claims", parallel=1).claim([b], owner="other:0", now_ms=2, keys=["g"])
    r = store.claim([b, c], owner="q:1", now_ms=3, keys=["g", "g"])
    assert r.mine == {c: 3} and r.dropped == {b} and r.calls == 3  # cancelled write, read, write
    assert claims_of(ddb, "g") == (3, {a: "q:0|1", b: "other:0|2", c: "q:1|3"})
    # Nothing to add: decided from memory, no call at all; a replay of q:1 gets "c" back.
    r = store.claim([a, c], owner="q:1", now_ms=9, keys=["g", "g"])
    assert r.mine == {c: 3} and r.dropped == {a} and r.calls == 0


def test_new_checkpoint_is_another_owner(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    store.claim([a], owner="q1:0", now_ms=1)
    r = store.claim([a], owner="q2:0", now_ms=2)
    assert r.dropped == {a} and not r.mine


def test_many_ids_span_several_requests(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    ids = [h(f"id-{i:04d}") for i in range(250)]
    r = store.claim(ids[:120], owner="q:0", now_ms=1)
    assert len(r.mine) == 120 and r.calls == 2  # 120 new groups: 2 TransactWriteItems, no read
    r = store.claim(ids, owner="q:1", now_ms=2)
    assert len(r.mine) == 130 and len(r.dropped) == 120 and r.calls == 2  # the 120 decided from memory
    # Another store (a restarted query) knows none of them: its first write is cancelled,
    # then it reads the 250 groups (3 BatchGetItem) and has nothing to add.
    r = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1).claim(ids, owner="q2:0", now_ms=3)
    assert len(r.dropped) == 250 and not r.mine and r.calls == 3 + 3
    item = ddb.get_item(TableName="claims", Key={"claim_key": {"S": h("id-0200")}})["Item"]
    # one binary attribute per owner "<query>:<batch>": detected_at, then the ids' bytes
    assert item["o:q:1"]["B"] == (2).to_bytes(8, "little") + bytes.fromhex(h("id-0200"))
    assert item["v"]["N"] == "1" and set(item) == {"claim_key", "o:q:1", "v", "expires_at"}
    assert int(item["expires_at"]["N"]) == 2 // 1000 + 30 * 86400


def test_claim_keys_equal_claim_key_of_each_anomaly():
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng(5)
    devices = [f"dev-{i}" for i in rng.integers(0, 300, 2000)] + ["dev|7", d, d]
    times = np.concatenate([rng.integers(-200_000, 10_000_000, 2000), [125_000, 119_999, 120_000]])
    for window, shards in ((60_000, 64), (1_000, 3), (3_600_000, 1)):
        assert claim_keys(pa.array(devices), times, window, shards) == [
            claim_key(d, int(t), window, shards) for d, t in zip(devices, times)]
    chunked = pa.chunked_array([pa.array(devices[:7]), pa.array(devices[7:])])
    assert claim_keys(chunked, times) == [claim_key(d, int(t)) for d, t in zip(devices, times)]
    assert claim_keys(pa.array([], pa.string()), np.zeros(0, np.int64)) == []


def test_claim_key_is_event_time_window_and_device_shard():
    assert claim_key("dev|7", 125_000, 60_000, 64) == f"60000:64:2:{shard_of('dev|7', 64)}"
    assert claim_key(d, 119_999, 60_000) == claim_key(d, 60_000, 60_000) != claim_key(d, 120_000, 60_000)
    assert shard_of("dev-1", 64) == zlib.crc32(b"dev-1") % 64   # the same in every process and language
    shards = {shard_of(f"dev-{i}", 64) for i in range(1000)}
    assert len(shards) == 64


def test_a_group_holds_its_ids_in_one_item_and_each_id_keeps_its_owner(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    r1 = store.claim([a, b, c], owner="q1:0", now_ms=1000, keys=["g1", "g1", "g2"])
    assert r1.mine == {a: 1000, b: 1000, c: 1000}
    assert r1.calls == 1  # one TransactWriteItems of two updates; new groups are not read
    assert claims_of(ddb, "g1") == (1, {a: "q1:0|1000", b: "q1:0|1000"})
    # A later batch: "b" is another owner's (dropped), "d" is new in the same group.
    r2 = store.claim([b, d], owner="q1:1", now_ms=2000, keys=["g1", "g1"])
    assert r2.mine == {d: 2000} and r2.dropped == {b}
    assert claims_of(ddb, "g1") == (2, {a: "q1:0|1000", b: "q1:0|1000", d: "q1:1|2000"})
    # The first batch replayed (a crash after its claims): its ids again, with their time.
    r3 = store.claim([a, b, c], owner="q1:0", now_ms=9999, keys=["g1", "g1", "g2"])
    assert r3.mine == {a: 1000, b: 1000, c: 1000} and r3.replayed == 3 and not r3.dropped
    assert r3.calls == 0  # all decided by what the store wrote: nothing to write
    # A new checkpoint sees every one of them as taken.
    r4 = store.claim([a, b, c, d], owner="q2:0", now_ms=5, keys=["g1", "g1", "g2", "g1"])
    assert r4.dropped == {a, b, c, d} and not r4.mine


def test_an_item_that_would_outgrow_400_kb_fails_naming_the_settings(aws):
    _, ddb = aws
    from botocore.exceptions import ClientError

    def too_big(**kw):
        raise ClientError({"Error": {"Code": "ValidationException",
                                     "Message": "Item size has exceeded the maximum allowed size"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "TransactWriteItems")
    ddb.transact_write_items = too_big
    with pytest.raises(ClaimError, match="raise claim_shards or lower claim_window_ms"):
        ClaimStore(ddb, "claims", parallel=1).claim([a], owner="q:0", now_ms=1, keys=["g"])


def test_ids_that_are_not_32_lowercase_hex_digits_are_refused():
    for bad in ("a|b", "A" * 32, "0" * 31, "0" * 33, "g" * 32):
        with pytest.raises(ValueError, match=f"anomaly id '{re.escape(bad)}' is not 32 lowercase hex digits"):
            ClaimStore(None, "claims").claim([a, bad], owner="q:0", now_ms=1)


def test_an_owner_attribute_holds_its_time_and_sorted_ids():
    blob = encode_claims(1_700_000_000_123, [c, a, b])
    assert blob == (1_700_000_000_123).to_bytes(8, "little") + bytes.fromhex(a + b + c)
    assert decode_item({"claim_key": {"S": "g"}, "v": {"N": "4"}, "o:q:7": {"B": blob}}) == (
        4, {a: "q:7|1700000000123", b: "q:7|1700000000123", c: "q:7|1700000000123"})


def test_claims_of_an_older_vigil_in_a_string_set_are_honoured(aws):
    # Items written before the binary attributes hold "<id>|<owner>|<detected_at>" in `c`:
    # their owner's replay gets them back, anyone else's claim is dropped, and new ids
    # join the item beside them.
    _, ddb = aws
    ddb.put_item(TableName="claims", Item={"claim_key": {"S": "g"}, "v": {"N": "1"},
                                           "c": {"SS": [f"{a}|old:3|500", f"{b}|old:3|500"]}})
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    r = store.claim([a, b], owner="old:3", now_ms=900, keys=["g", "g"])   # a replay: read on the cancelled write
    assert r.mine == {a: 500, b: 500} and r.replayed == 2
    r = store.claim([a, c], owner="new:0", now_ms=1000, keys=["g", "g"])
    assert r.mine == {c: 1000} and r.dropped == {a}
    assert claims_of(ddb, "g") == (2, {a: "old:3|500", b: "old:3|500", c: "new:0|1000"})


def test_an_owner_adding_to_its_own_attribute_keeps_its_ids_and_time(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    store.claim([a], owner="q:0", now_ms=100, keys=["g"])
    r = store.claim([a, b], owner="q:0", now_ms=200, keys=["g", "g"])
    assert r.mine == {a: 100, b: 100} and r.replayed == 1
    assert claims_of(ddb, "g") == (2, {a: "q:0|100", b: "q:0|100"})


def test_a_table_with_another_key_is_refused_clearly(aws):
    _, ddb = aws
    ddb.create_table(TableName="old", AttributeDefinitions=[{"AttributeName": "anomaly_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "anomaly_id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    with pytest.raises(ClaimError, match="table 'old' has the key schema .*needs a single string hash key 'claim_key'"):
        ensure_table(ddb, "old")


def test_throttling_is_retried_then_fails_clearly(aws):
    _, ddb = aws
    from botocore.exceptions import ClientError
    calls = {"n": 0}
    real = ddb.batch_get_item

    def flaky(**kw):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "BatchGetItem")
        return real(**kw)

    ddb.batch_get_item = flaky
    ClaimStore(ddb, "claims").claim([w], owner="q:0", now_ms=1, keys=[x])  # the group exists: read
    slept = []
    store = ClaimStore(ddb, "claims", sleep=slept.append)
    assert store.claim([x], owner="q:0", now_ms=1).mine == {x: 1}
    assert len(slept) == 3 and slept[2] > slept[1] * 1.0 - 1e-9  # the cancelled write, 2 throttled reads

    def always(**kw):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"},
                           "ResponseMetadata": {"HTTPStatusCode": 500}}, "BatchGetItem")

    ddb.batch_get_item = always
    with pytest.raises(ClaimError, match="BatchGetItem on table 'claims' still failing after 3 attempts"):
        ClaimStore(ddb, "claims", max_attempts=3, sleep=lambda s: None).claim([y], "q:1", 2, keys=[x])
