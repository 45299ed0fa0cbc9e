"""Anomaly claims in DynamoDB: who wrote which anomaly, so each is written once.

One item per anomaly_id:

    anomaly_id (hash key) | claimed_by "<query id>:<batch id>" | detected_at (ms)
    | batch_id | expires_at (epoch s, the table's TTL attribute)

`ClaimStore.claim(ids)` sorts ids into:
  * mine: not claimed before, or claimed by this very batch (a replay after a
    crash); the caller writes these to S3, with the stored detected_at;
  * dropped: claimed by another batch or checkpoint (a duplicate event, a
    reprocessing from old offsets, a new checkpoint); the caller counts them.

Read first: one BatchGetItem per 100 ids (strongly consistent; up to `parallel` at once). New ids are then
claimed with TransactWriteItems (up to 100 conditional updates per call, up to
`parallel` calls at once, condition
`attribute_not_exists(anomaly_id) OR claimed_by = :owner`); when the transaction
is cancelled, the reasons say which ids lost the race, and the rest are retried.
Throttling, 5xx and transaction conflicts back off exponentially (seeded jitter).
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

BATCH_GET_LIMIT = 100
TRANSACT_LIMIT = 100
_RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
              "TransactionInProgressException"}


class ClaimError(RuntimeError):
    """DynamoDB kept failing after every retry; the batch must not commit."""


@dataclass
class ClaimResult:
    mine: dict[str, int] = field(default_factory=dict)  # anomaly_id -> detected_at ms
    dropped: set[str] = field(default_factory=set)
    replayed: int = 0      # ids this batch had claimed in an earlier attempt
    calls: int = 0         # DynamoDB requests made


def ensure_table(client, table: str, wait_s: float = 30.0) -> None:
    """Create the claims table with TTL on `expires_at` if it does not exist."""
    try:
        client.describe_table(TableName=table)
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": "anomaly_id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "anomaly_id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST")
        except client.exceptions.ResourceInUseException:
            pass
        client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": max(1, int(wait_s))})
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})


class ClaimStore:
    def __init__(self, client, table: str, ttl_days: int = 30, max_attempts: int = 8,
                 base_delay_s: float = 0.05, seed: int = 0,
                 sleep: Callable[[float], None] = time.sleep, parallel: int = 8):
        self._client = client
        self._table = table
        self._ttl_s = ttl_days * 86400
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._parallel = parallel
        # Kept for the store's life: a pool per call started its threads every batch, and
        # on two busy cores Thread.start() waited ~40 ms per batch to be scheduled.
        self._pool: ThreadPoolExecutor | None = None

    def claim(self, ids: Iterable[str], owner: str, batch_id: int, now_ms: int,
              check_existing: bool = True) -> ClaimResult:
        """Claim `ids` for `owner` (query id + batch id); see the module doc.

        check_existing=False skips the BatchGetItem pass, for a caller that knows this
        owner cannot have claimed anything yet (the sink: every batch after the first
        one of a process; only that first one can be a replay). The conditional writes
        decide alone then; an id claimed elsewhere is dropped just the same.
        """
        unique = sorted(set(ids))
        result = ClaimResult()
        existing = self._batch_get(unique, result) if check_existing else {}
        todo: list[str] = []
        for aid in unique:
            item = existing.get(aid)
            if item is None:
                todo.append(aid)
            elif item["claimed_by"] == owner:
                result.mine[aid] = item["detected_at"]
                result.replayed += 1
            else:
                result.dropped.add(aid)
        parts = self._each_chunk(lambda c: self._claim_chunk(c, owner, batch_id, now_ms), todo,
                                 TRANSACT_LIMIT)
        for part in parts:
            result.mine.update(part.mine)
            result.dropped |= part.dropped
            result.calls += part.calls
        return result

    def _claim_chunk(self, ids: list[str], owner: str, batch_id: int, now_ms: int) -> ClaimResult:
        part = ClaimResult()
        self._transact_claim(ids, owner, batch_id, now_ms, part)
        return part

    # -- internals ---------------------------------------------------------

    def _each_chunk(self, fn, ids: Sequence[str], size: int) -> list:
        """fn over ids in chunks of `size`, up to `parallel` chunks at once (independent
        requests side by side; boto3 clients are thread-safe); results in chunk order."""
        chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
        if len(chunks) <= 1 or self._parallel <= 1:
            return [fn(c) for c in chunks]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._parallel, thread_name_prefix="vigil-claims")
        return list(self._pool.map(fn, chunks))

    def _backoff(self, attempt: int, what: str, err: Exception | str) -> None:
        if attempt + 1 >= self._max_attempts:
            raise ClaimError(f"DynamoDB {what} on table '{self._table}' still failing after "
                             f"{self._max_attempts} attempts: {err}")
        delay = self._base_delay_s * (2 ** attempt)
        self._sleep(delay * (0.5 + self._rng.random() / 2))

    def _call(self, what: str, fn, result: ClaimResult, **kwargs):
        for attempt in range(self._max_attempts):
            try:
                result.calls += 1
                return fn(**kwargs)
            except self._client.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in _RETRYABLE or status >= 500:
                    self._backoff(attempt, what, e)
                    continue
                raise
        raise AssertionError("unreachable")

    def _batch_get(self, ids: Sequence[str], result: ClaimResult) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for part_found, part in self._each_chunk(self._batch_get_chunk, ids, BATCH_GET_LIMIT):
            found.update(part_found)
            result.calls += part.calls
        return found

    def _batch_get_chunk(self, ids: Sequence[str]) -> tuple[dict[str, dict], ClaimResult]:
        part = ClaimResult()
        found: dict[str, dict] = {}
        keys = [{"anomaly_id": {"S": aid}} for aid in ids]
        attempt = 0
        while keys:
            resp = self._call("BatchGetItem", self._client.batch_get_item, part, RequestItems={
                self._table: {"Keys": keys, "ConsistentRead": True,
                              "ProjectionExpression": "anomaly_id, claimed_by, detected_at"}})
            for item in resp.get("Responses", {}).get(self._table, []):
                found[item["anomaly_id"]["S"]] = {
                    "claimed_by": item["claimed_by"]["S"],
                    "detected_at": int(item["detected_at"]["N"])}
            keys = resp.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if keys:
                self._backoff(attempt, "BatchGetItem (unprocessed keys)", f"{len(keys)} keys left")
                attempt += 1
        return found, part

    def _transact_claim(self, ids: list[str], owner: str, batch_id: int, now_ms: int,
                        result: ClaimResult) -> None:
        expires = now_ms // 1000 + self._ttl_s
        pending = list(ids)
        attempt = 0
        while pending:
            items = [{"Update": {
                "TableName": self._table,
                "Key": {"anomaly_id": {"S": aid}},
                "UpdateExpression": "SET claimed_by = :owner, batch_id = :batch, "
                                    "detected_at = if_not_exists(detected_at, :now), expires_at = :exp",
                "ConditionExpression": "attribute_not_exists(anomaly_id) OR claimed_by = :owner",
                "ExpressionAttributeValues": {":owner": {"S": owner}, ":batch": {"N": str(batch_id)},
                                              ":now": {"N": str(now_ms)}, ":exp": {"N": str(expires)}},
            }} for aid in pending]
            try:
                self._call("TransactWriteItems", self._client.transact_write_items, result,
                           TransactItems=items)
            except self._client.exceptions.TransactionCanceledException as e:
                reasons = e.response.get("CancellationReasons", [])
                retry: list[str] = []
                for aid, reason in zip(pending, reasons):
                    code = reason.get("Code", "None")
                    if code == "ConditionalCheckFailed":
                        result.dropped.add(aid)
                    else:  # "None" (cancelled with the others), TransactionConflict, throttling
                        retry.append(aid)
                if len(reasons) != len(pending):
                    retry = [a for a in pending if a not in result.dropped]
                if retry and any(r.get("Code") not in ("None", "ConditionalCheckFailed") for r in reasons):
                    self._backoff(attempt, "TransactWriteItems", e)
                    attempt += 1
                pending = retry
                continue
            for aid in pending:
                result.mine[aid] = now_ms
            pending = []
