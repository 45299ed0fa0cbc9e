"""The sink's ClaimStore against DynamoDB Local: grouped claims in one binary attribute per
batch, the parallel path, and the version conditions that keep racing writers apart (moto
covers the rest)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "jobs"))

from vigil_stream.claims import ClaimStore, claim_key, decode_item, ensure_table


def _groups(n: int) -> tuple[list[str], list[str]]:
    ids = [f"{i:032x}" for i in range(n)]
    keys = [claim_key(f"dev-{i % 7}", 1_700_000_000_000 + i * 1000, 60_000, 4) for i in range(n)]
    return ids, keys


def test_grouped_claims_split_mine_dropped_and_replayed(dynamodb, ddb_table):
    table = ddb_table("claim_key")
    ensure_table(dynamodb, table)
    ids, keys = _groups(600)  # 7 devices in 4 shards, 600 s of event time
    store = ClaimStore(dynamodb, table)
    first = store.claim(ids[:300], "q:0", 1000, keys=keys[:300])
    assert first.mine == {i: 1000 for i in ids[:300]} and not first.dropped

    # The next batch overlaps the first in the same items.
    second = store.claim(ids, "q:1", 2000, keys=keys)
    assert second.mine == {i: 2000 for i in ids[300:]} and second.dropped == set(ids[:300])

    # Batch 1 replayed after a crash: its own ids with their first detected_at.
    replay = ClaimStore(dynamodb, table).claim(ids, "q:1", 3000, keys=keys)
    assert replay.mine == {i: 2000 for i in ids[300:]} and replay.replayed == 300
    assert replay.dropped == set(ids[:300])
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    claims = [decode_item(item)[1] for item in items]
    assert sum(len(c) for c in claims) == 600
    assert {aid: stored for c in claims for aid, stored in c.items()} == {
        **{i: "q:0|1000" for i in ids[:300]}, **{i: "q:1|2000" for i in ids[300:]}}
    assert {name for item in items for name in item if name.startswith("o:")} <= {"o:q:0", "o:q:1"}
    assert len(items) == len(set(keys)) <= 4 * 11  # 4 shards x the 10-11 windows 600 s touch


def test_racing_owners_split_a_group_without_overlap(dynamodb, ddb_table):
    """Two checkpoints claiming the same anomalies at once: each id goes to exactly one."""
    table = ddb_table("claim_key")
    ensure_table(dynamodb, table)
    ids, keys = _groups(400)
    results = {}

    def run(owner: str) -> None:
        results[owner] = ClaimStore(dynamodb, table, seed=hash(owner) & 0xFFFF).claim(
            ids, f"{owner}:0", 1, keys=keys)

    threads = [threading.Thread(target=run, args=(o,)) for o in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = results["a"], results["b"]
    assert set(a.mine) | set(b.mine) == set(ids)
    assert not set(a.mine) & set(b.mine)
    assert a.dropped == set(b.mine) and b.dropped == set(a.mine)
