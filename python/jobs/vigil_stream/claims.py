"""Anomaly claims in DynamoDB: who wrote which anomaly, so each is written once.

One item per claim group: a device's anomalies whose event times fall in the same
window of `window_ms` (`claim_key`); in it, one attribute per anomaly:

    claim_key (hash key) "<window_ms>:<window index>:<device_id>"
    | <anomaly_id> "<query id>:<batch id>|<detected_at ms>"  (one per anomaly)
    | expires_at (epoch s, the table's TTL attribute; renewed by every claim)

A duplicate event, a reprocessing from old offsets and a new checkpoint all produce
the same anomaly id with the same device and event time, so they land in the same
group. Grouping is what makes claims cheap: the default mix flags ~4% of the events,
in runs of one device's readings, and DynamoDB Local spent ~0.2 ms of CPU per item
written and ~0.025 per anomaly in items of 20 (bench/RESULTS.md, "Pipeline"). An item
stays under DynamoDB's 400 KB while a device has fewer than ~4,000 anomalies in a
window; a larger one fails the batch with a message to lower the window.

`ClaimStore.claim(ids, keys)` sorts ids into:
  * mine: not claimed before, or claimed by this very batch (a replay after a
    crash); the caller writes these to S3, with the stored detected_at;
  * dropped: claimed by another batch or checkpoint (a duplicate event, a
    reprocessing from old offsets, a new checkpoint); the caller counts them.

Read first: one BatchGetItem per 100 groups (strongly consistent; up to `parallel` at
once). New ids are then claimed with TransactWriteItems: per group one conditional
update of up to 50 ids (`SET <id> = if_not_exists(<id>, :mine)` for each, under
`(attribute_not_exists(<id>) OR begins_with(<id>, "<owner>|"))` for each), up to 100
groups per call and `parallel` calls at once. When the transaction is cancelled, the
failed groups' old items (ReturnValuesOnConditionCheckFailure) say which ids another
owner holds; the rest are retried. Throttling, 5xx and transaction conflicts back off
exponentially (seeded jitter).
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

HASH_KEY = "claim_key"
BATCH_GET_LIMIT = 100
TRANSACT_LIMIT = 100
IDS_PER_UPDATE = 50   # keeps the condition expression under DynamoDB's 4 KB
DEFAULT_WINDOW_MS = 60_000
_RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
              "TransactionInProgressException"}


def claim_key(device_id: str, event_time_ms: int, window_ms: int = DEFAULT_WINDOW_MS) -> str:
    """The claim group of an anomaly: its device and event-time window (device last, so
    that any device id is unambiguous)."""
    return f"{window_ms}:{event_time_ms // window_ms}:{device_id}"


class ClaimError(RuntimeError):
    """DynamoDB kept failing after every retry; the batch must not commit."""


@dataclass
class ClaimResult:
    mine: dict[str, int] = field(default_factory=dict)  # anomaly_id -> detected_at ms
    dropped: set[str] = field(default_factory=set)
    replayed: int = 0      # ids this batch had claimed in an earlier attempt
    calls: int = 0         # DynamoDB requests made


def ensure_table(client, table: str, wait_s: float = 30.0) -> None:
    """Create the claims table with TTL on `expires_at` if it does not exist; fail clearly
    if it exists with another key."""
    try:
        keys = client.describe_table(TableName=table)["Table"]["KeySchema"]
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST")
        except client.exceptions.ResourceInUseException:
            pass
        client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": max(1, int(wait_s))})
        keys = client.describe_table(TableName=table)["Table"]["KeySchema"]
    if keys != [{"AttributeName": HASH_KEY, "KeyType": "HASH"}]:
        raise ClaimError(f"DynamoDB table '{table}' has the key schema {keys}; the claims table "
                         f"needs a single string hash key '{HASH_KEY}' (a table of an older Vigil "
                         "keyed by anomaly_id cannot be reused: give the job a new DDB_TABLE)")
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})


def _strings(item: Optional[dict]) -> dict[str, str]:
    """A DynamoDB item's string attributes, as plain strings."""
    return {k: v["S"] for k, v in (item or {}).items() if "S" in v}


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

    def claim(self, ids: Sequence[str], owner: str, now_ms: int,
              check_existing: bool = True, keys: Optional[Sequence[str]] = None) -> ClaimResult:
        """Claim `ids` for `owner` (query id + batch id); see the module doc.

        keys[i] is the claim group of ids[i] (`claim_key`); without keys every id is its
        own group. check_existing=False skips the BatchGetItem pass, for a caller that
        knows this owner cannot have claimed anything yet (the sink: every batch after the
        first one of a process; only that first one can be a replay). The conditional
        writes decide alone then; an id claimed elsewhere is dropped just the same.
        """
        keys = list(ids) if keys is None else list(keys)
        if len(keys) != len(ids):
            raise ValueError(f"claim: {len(ids)} ids but {len(keys)} keys")
        groups: dict[str, set[str]] = {}
        for aid, key in zip(ids, keys):
            groups.setdefault(key, set()).add(aid)
        result = ClaimResult()
        prefix = owner + "|"
        if check_existing:
            for key, item in self._batch_get(sorted(groups), result).items():
                self._decide(item, groups[key], prefix, result)
        # One update per group and 50 ids; a group with more ids gets one update per round
        # (a transaction may not touch an item twice).
        rounds: list[list[tuple[str, list[str]]]] = []
        for key in sorted(groups):
            todo = sorted(groups[key])
            for r, start in enumerate(range(0, len(todo), IDS_PER_UPDATE)):
                if r == len(rounds):
                    rounds.append([])
                rounds[r].append((key, todo[start:start + IDS_PER_UPDATE]))
        for ops in rounds:
            for part in self._each_chunk(lambda c: self._transact(c, prefix, now_ms), ops, TRANSACT_LIMIT):
                result.mine.update(part.mine)
                result.dropped |= part.dropped
                result.replayed += part.replayed
                result.calls += part.calls
        return result

    @staticmethod
    def _decide(item: dict[str, str], pending: set[str], prefix: str, result: ClaimResult) -> None:
        """Sort the ids of `pending` that `item` (a group's stored claims) holds into mine
        or dropped, and remove them from `pending`."""
        for aid in sorted(pending):
            stored = item.get(aid)
            if stored is None:
                continue
            if stored.startswith(prefix):
                result.mine[aid] = int(stored[len(prefix):])
                result.replayed += 1
            else:
                result.dropped.add(aid)
            pending.discard(aid)

    # -- internals ---------------------------------------------------------

    def _each_chunk(self, fn, ids: Sequence, size: int) -> list:
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
                if code == "ValidationException" and "size" in str(e).lower():
                    raise ClaimError(f"DynamoDB {what} on table '{self._table}': {e}; a claim group "
                                     "(one device's anomalies in one event-time window) outgrew "
                                     "DynamoDB's item size: lower claim_window_ms") from e
                raise
        raise AssertionError("unreachable")

    def _batch_get(self, keys: Sequence[str], result: ClaimResult) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for part_found, part in self._each_chunk(self._batch_get_chunk, keys, BATCH_GET_LIMIT):
            found.update(part_found)
            result.calls += part.calls
        return found

    def _batch_get_chunk(self, keys: Sequence[str]) -> tuple[dict[str, dict[str, str]], ClaimResult]:
        part = ClaimResult()
        found: dict[str, dict[str, str]] = {}
        request = [{HASH_KEY: {"S": k}} for k in keys]
        attempt = 0
        while request:
            resp = self._call("BatchGetItem", self._client.batch_get_item, part, RequestItems={
                self._table: {"Keys": request, "ConsistentRead": True}})
            for item in resp.get("Responses", {}).get(self._table, []):
                found[item[HASH_KEY]["S"]] = _strings(item)
            request = resp.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if request:
                self._backoff(attempt, "BatchGetItem (unprocessed keys)", f"{len(request)} keys left")
                attempt += 1
        return found, part

    def _update(self, key: str, ids: Sequence[str], prefix: str, now_ms: int) -> dict:
        names = {f"#{i}": aid for i, aid in enumerate(ids)}
        return {"Update": {
            "TableName": self._table,
            "Key": {HASH_KEY: {"S": key}},
            "UpdateExpression": "SET " + ", ".join(f"{n} = if_not_exists({n}, :mine)" for n in names)
                                + ", expires_at = :exp",
            "ConditionExpression": " AND ".join(f"(attribute_not_exists({n}) OR begins_with({n}, :owner))"
                                                for n in names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":owner": {"S": prefix}, ":mine": {"S": f"{prefix}{now_ms}"},
                                          ":exp": {"N": str(now_ms // 1000 + self._ttl_s)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}

    def _stored(self, key: str, part: ClaimResult) -> dict[str, str]:
        resp = self._call("GetItem", self._client.get_item, part, TableName=self._table,
                          Key={HASH_KEY: {"S": key}}, ConsistentRead=True)
        return _strings(resp.get("Item"))

    def _transact(self, ops: list[tuple[str, list[str]]], prefix: str, now_ms: int) -> ClaimResult:
        """Claim each op's ids (one group per op); ids another owner holds are dropped."""
        part = ClaimResult()
        pending = list(ops)
        attempt = 0
        while pending:
            try:
                self._call("TransactWriteItems", self._client.transact_write_items, part,
                           TransactItems=[self._update(k, ids, prefix, now_ms) for k, ids in pending])
            except self._client.exceptions.TransactionCanceledException as e:
                reasons = e.response.get("CancellationReasons", [])
                if len(reasons) != len(pending):
                    reasons = [{"Code": "Unknown"}] * len(pending)
                invalid = [r for r in reasons if r.get("Code") == "ValidationError"]
                if invalid:  # e.g. the item would outgrow 400 KB: retrying cannot help
                    raise ClaimError(f"DynamoDB TransactWriteItems on table '{self._table}': "
                                     f"{invalid[0].get('Message', 'ValidationError')}; a claim group "
                                     "(one device's anomalies in one event-time window) may have "
                                     "outgrown DynamoDB's item size: lower claim_window_ms") from e
                retry: list[tuple[str, list[str]]] = []
                decided = False
                for (key, ids), reason in zip(pending, reasons):
                    code = reason.get("Code", "None")
                    if code != "ConditionalCheckFailed":  # "None": cancelled with the others
                        retry.append((key, ids))
                        continue
                    # Another owner holds some of these ids: the old item says which (DynamoDB
                    # Local and AWS return it; read it where a store does not).
                    item = _strings(reason["Item"]) if "Item" in reason else self._stored(key, part)
                    left = set(ids)
                    self._decide(item, left, prefix, part)
                    decided |= len(left) < len(ids)
                    if left:
                        retry.append((key, sorted(left)))
                if not decided or any(r.get("Code") not in ("None", "ConditionalCheckFailed") for r in reasons):
                    self._backoff(attempt, "TransactWriteItems", e)
                    attempt += 1
                pending = retry
                continue
            for _, ids in pending:
                for aid in ids:
                    part.mine[aid] = now_ms
            pending = []
        return part
