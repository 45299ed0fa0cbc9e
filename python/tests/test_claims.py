"""ClaimStore against moto's DynamoDB: ownership, replay, duplicates, retries."""

# moto is not thread-safe: the stores here claim chunk by chunk (parallel=1); the
# parallel path runs against DynamoDB Local in tests/e2e.

from __future__ import annotations

import pytest

from vigil_stream.claims import ClaimError, ClaimStore


def test_first_claim_is_mine_and_other_owner_is_dropped(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    r1 = store.claim(["a", "b", "c"], owner="q1:0", batch_id=0, now_ms=1000)
    assert r1.mine == {"a": 1000, "b": 1000, "c": 1000} and not r1.dropped

    r2 = store.claim(["b", "d"], owner="q1:1", batch_id=1, now_ms=2000)
    assert r2.mine == {"d": 2000}
    assert r2.dropped == {"b"}


def test_replay_of_same_batch_gets_its_own_ids_with_original_time(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    store.claim(["a", "b"], owner="q1:5", batch_id=5, now_ms=1000)
    again = store.claim(["a", "b"], owner="q1:5", batch_id=5, now_ms=9999)
    assert again.mine == {"a": 1000, "b": 1000}
    assert again.replayed == 2 and not again.dropped


def test_without_check_existing_only_the_conditional_writes_decide(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    store.claim(["a"], owner="q1:0", batch_id=0, now_ms=1000)
    r = store.claim(["a", "b"], owner="q1:1", batch_id=1, now_ms=2000, check_existing=False)
    assert r.mine == {"b": 2000} and r.dropped == {"a"}
    assert r.calls == 2  # one cancelled transaction, one retry of "b"; no BatchGetItem
    checked = store.claim(["c"], owner="q1:2", batch_id=2, now_ms=3000)
    assert checked.calls == 2  # BatchGetItem + TransactWriteItems


def test_new_checkpoint_is_another_owner(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    store.claim(["a"], owner="q1:0", batch_id=0, now_ms=1)
    r = store.claim(["a"], owner="q2:0", batch_id=0, now_ms=2)
    assert r.dropped == {"a"} and not r.mine


def test_many_ids_span_several_requests(aws):
    _, ddb = aws
    store = ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1)
    ids = [f"id-{i:04d}" for i in range(250)]
    r = store.claim(ids[:120], owner="q:0", batch_id=0, now_ms=1)
    assert len(r.mine) == 120
    r = store.claim(ids, owner="q:1", batch_id=1, now_ms=2)
    assert len(r.mine) == 130 and len(r.dropped) == 120
    item = ddb.get_item(TableName="claims", Key={"anomaly_id": {"S": "id-0200"}})["Item"]
    assert item["claimed_by"]["S"] == "q:1"
    assert int(item["expires_at"]["N"]) == 2 // 1000 + 30 * 86400


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
    slept = []
    store = ClaimStore(ddb, "claims", sleep=slept.append)
    assert store.claim(["x"], owner="q:0", batch_id=0, now_ms=1).mine == {"x": 1}
    assert len(slept) == 2 and slept[1] > slept[0] * 1.0 - 1e-9

    def always(**kw):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"},
                           "ResponseMetadata": {"HTTPStatusCode": 500}}, "BatchGetItem")

    ddb.batch_get_item = always
    with pytest.raises(ClaimError, match="BatchGetItem on table 'claims' still failing after 3 attempts"):
        ClaimStore(ddb, "claims", max_attempts=3, sleep=lambda s: None).claim(["y"], "q:1", 1, 2)
