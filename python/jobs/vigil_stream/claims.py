"""Anomaly claims in DynamoDB: who wrote which anomaly, so each is written once.

One item per claim group: the anomalies whose event times fall in the same window of
`window_ms` and whose devices hash to the same one of `shards` shards (`claim_key`):

    claim_key (hash key) "<window_ms>:<shards>:<window index>:<shard>"
    | o:<query id>:<batch id>  binary, one attribute per batch that claimed in the group:
    |                          its detected_at (8 bytes, little-endian epoch ms), then the
    |                          16 bytes of each anomaly id it claimed (the id's 32 hex
    |                          digits as bytes), sorted
    | v  version: +1 by every write, the condition of the next (optimistic locking)
    | expires_at (epoch s, the table's TTL attribute; renewed by every claim)
    | c  (items of an older Vigil: a string set "<anomaly_id>|<owner>|<detected_at ms>";
    |     read and honoured, never written)

A duplicate event, a reprocessing from old offsets and a new checkpoint all produce
the same anomaly id with the same device and event time, so they land in the same
item. Few items, each written once per batch with one binary value, are what make
claims cheap: DynamoDB Local's cost is mostly per item written and per set element
(bench/RESULTS.md, "Pipeline"), and the default mix flags ~4% of the events. An item
stays under DynamoDB's 400 KB while a shard has fewer than ~24,000 anomalies in a
window (16 bytes each, plus ~60 per batch that claimed there); a larger one fails the
batch with a message to raise claim_shards or lower the window.

`ClaimStore.claim(ids, keys)` sorts ids into:
  * mine: not claimed before, or claimed by this very batch (a replay after a
    crash); the caller writes these to S3, with the stored detected_at;
  * dropped: claimed by another batch or checkpoint (a duplicate event, a
    reprocessing from old offsets, a new checkpoint); the caller counts them.

Write first, read what changed: a claim decides each group by what this store last
wrote to or read of it (its version and claims, kept for the newest KNOWN_GROUPS
groups); a group it does not know is taken to be new. Ids stored there are mine or
dropped, the rest are new. New ids are written with TransactWriteItems, per group one
update `SET #owner = :ids, expires_at = :exp ADD v :one` under `v = <the version
known>` (or `attribute_not_exists(claim_key)` for a group taken to be new), up to 100
groups per call and `parallel` calls at once. A transaction cancelled by a condition
(another writer, or an earlier run of this query, got there first) has its groups read
(one strongly consistent BatchGetItem per 100 groups, up to `parallel` at once) and
decided again. Only the version condition makes a decision final, so what a store
remembers can be stale but never wrong: a group with nothing to add is decided by
stored claims, which are never taken back. In a steady stream a batch's claims are its
writes alone; a restarted query reads its groups once, on its first cancelled
transaction. Throttling, 5xx and transaction conflicts back off exponentially (seeded
jitter).
"""

from __future__ import annotations

import random
import time
import zlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

HASH_KEY = "claim_key"
BATCH_GET_LIMIT = 100
TRANSACT_LIMIT = 100
TRANSACT_BYTES = 2 << 20   # id bytes per TransactWriteItems (DynamoDB: 4 MB per request)
DEFAULT_WINDOW_MS = 60_000
DEFAULT_SHARDS = 16
OWNER_PREFIX = "o:"   # an owner's attribute: OWNER_PREFIX + "<query id>:<batch id>"
ID_BYTES = 16        # an anomaly id: 32 hex digits
KNOWN_GROUPS = 512    # groups a store remembers (ClaimStore._known): ~16 default batches' worth
_RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
              "TransactionInProgressException"}


def shard_of(device_id: str, shards: int) -> int:
    """The claim shard of a device: CRC-32 of its id, mod shards (stable across processes)."""
    return zlib.crc32(device_id.encode("utf-8")) % shards


def claim_key(device_id: str, event_time_ms: int, window_ms: int = DEFAULT_WINDOW_MS,
              shards: int = DEFAULT_SHARDS) -> str:
    """The claim group of an anomaly: its event-time window and its device's shard. The
    window and shard count are part of the key: another setting never meets these items."""
    return f"{window_ms}:{shards}:{event_time_ms // window_ms}:{shard_of(device_id, shards)}"


def claim_keys(device_ids, event_times_ms: np.ndarray, window_ms: int = DEFAULT_WINDOW_MS,
               shards: int = DEFAULT_SHARDS) -> list[str]:
    """claim_key of each (device, event time): device_ids a pyarrow string array, computed
    per distinct device and group rather than per anomaly (a batch's ~20,000 anomalies
    fall in ~100 groups)."""
    if len(device_ids) == 0:
        return []
    import pyarrow.compute as pc
    enc = pc.dictionary_encode(device_ids)
    if hasattr(enc, "combine_chunks"):
        enc = enc.combine_chunks()
    per_device = np.array([shard_of(d, shards) for d in enc.dictionary.to_pylist()], np.int64)
    shard = per_device[enc.indices.to_numpy(zero_copy_only=False)]
    groups, where = np.unique(np.asarray(event_times_ms, np.int64) // window_ms * shards + shard,
                              return_inverse=True)
    names = np.array([f"{window_ms}:{shards}:{g // shards}:{g % shards}" for g in groups.tolist()], dtype=object)
    return names[where].tolist()


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
        # What this store last wrote to or read of a group: key -> (version, claims), the
        # newest KNOWN_GROUPS groups (see _read).
        self._known: OrderedDict[str, tuple[int, dict[str, str]]] = OrderedDict()

    def claim(self, ids: Sequence[str], owner: str, now_ms: int,
              keys: Optional[Sequence[str]] = None) -> ClaimResult:
        """Claim `ids` for `owner` (query id + batch id); see the module doc.

        keys[i] is the claim group of ids[i] (`claim_key`); without keys every id is its
        own group."""
        keys = list(ids) if keys is None else list(keys)
        if len(keys) != len(ids):
            raise ValueError(f"claim: {len(ids)} ids but {len(keys)} keys")
        check_ids(ids)
        groups: dict[str, set[str]] = {}
        for aid, key in zip(ids, keys):
            groups.setdefault(key, set()).add(aid)
        result = ClaimResult()
        prefix = owner + "|"
        pending = sorted(groups)
        attempt = 0
        while pending:
            stored = self._read(pending, result, optimistic=attempt == 0)
            ops: list[_Op] = []
            for key in pending:
                version, claims = stored.get(key, (None, {}))
                new = self._decide(claims, groups[key], prefix, result)
                if new:
                    ops.append(_Op.of(key, version, claims, new, prefix, now_ms))
            conflicted: list[str] = []
            chunks = self._chunks(ops)
            for chunk, (done, failed) in zip(chunks, self._each_chunk(
                    lambda c: self._transact(c, owner, now_ms), chunks)):
                result.calls += done.calls
                result.mine.update(done.mine)
                conflicted += failed
                for op in ([] if failed else chunk):
                    claims = dict(stored.get(op.key, (None, {}))[1])
                    claims.update(dict.fromkeys(op.new, f"{prefix}{op.detected_at}"))
                    self._remember(op.key, ((op.version or 0) + 1, claims))
            for key in conflicted:
                self._known.pop(key, None)
            pending = sorted(conflicted)
            if pending:  # another writer changed these groups since the read: read them again
                self._backoff(attempt, "TransactWriteItems", f"{len(pending)} claim groups changed meanwhile")
                attempt += 1
        return result

    @staticmethod
    def _decide(claims: dict[str, str], ids: set[str], prefix: str, result: ClaimResult) -> list[str]:
        """Sort `ids` of one group by its stored claims into mine / dropped; return the new ones."""
        known = ids & claims.keys()
        for aid in known:
            stored = claims[aid]
            if stored.startswith(prefix):
                result.mine[aid] = int(stored[len(prefix):])
                result.replayed += 1
            else:
                result.dropped.add(aid)
        return sorted(ids - known if known else ids)

    # -- internals ---------------------------------------------------------

    def _read(self, keys: Sequence[str], result: ClaimResult,
              optimistic: bool) -> dict[str, tuple[int, dict[str, str]]]:
        """Each group's (version, claims) as far as this store can tell. Optimistic (a
        claim's first attempt): what it wrote or read last, and a group it does not know
        is taken to be new; either is checked by the write's condition. Otherwise read
        (BatchGetItem), and remembered."""
        if optimistic:
            return {k: self._known[k] for k in keys if k in self._known}
        stored = self._batch_get(keys, result)
        for key in keys:
            if key in stored:
                self._remember(key, stored[key])
        return stored

    def _remember(self, key: str, state: tuple[int, dict[str, str]]) -> None:
        self._known[key] = state
        self._known.move_to_end(key)
        while len(self._known) > KNOWN_GROUPS:
            self._known.popitem(last=False)

    @staticmethod
    def _chunks(ops: list) -> list[list]:
        """Transactions of at most TRANSACT_LIMIT groups and ~TRANSACT_BYTES of new elements."""
        chunks: list[list] = []
        size = 0
        for op in ops:
            n = ID_BYTES * (len(op.new) + len(op.kept)) + 256
            if not chunks or len(chunks[-1]) == TRANSACT_LIMIT or size + n > TRANSACT_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(op)
            size += n
        return chunks

    def _each_chunk(self, fn, chunks: list) -> list:
        """fn over each chunk, up to `parallel` at once (independent requests side by side;
        boto3 clients are thread-safe); results in chunk order."""
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

    def _too_large(self, what: str, detail: str) -> ClaimError:
        return ClaimError(f"DynamoDB {what} on table '{self._table}': {detail}; a claim group (one "
                          "shard's anomalies in one event-time window) outgrew DynamoDB's 400 KB item: "
                          "raise claim_shards or lower claim_window_ms")

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
                    raise self._too_large(what, str(e)) from e
                raise
        raise AssertionError("unreachable")

    def _batch_get(self, keys: Sequence[str], result: ClaimResult) -> dict[str, tuple[int, dict[str, str]]]:
        """key -> (version, {anomaly id: "<owner>|<detected_at>"}) of the groups that exist."""
        found: dict[str, tuple[int, dict[str, str]]] = {}
        chunks = [keys[i:i + BATCH_GET_LIMIT] for i in range(0, len(keys), BATCH_GET_LIMIT)]
        for part_found, part in self._each_chunk(self._batch_get_chunk, chunks):
            found.update(part_found)
            result.calls += part.calls
        return found

    def _batch_get_chunk(self, keys: Sequence[str]) -> tuple[dict, ClaimResult]:
        part = ClaimResult()
        found: dict[str, tuple[int, dict[str, str]]] = {}
        request = [{HASH_KEY: {"S": k}} for k in keys]
        attempt = 0
        while request:
            resp = self._call("BatchGetItem", self._client.batch_get_item, part, RequestItems={
                self._table: {"Keys": request, "ConsistentRead": True}})
            for item in resp.get("Responses", {}).get(self._table, []):
                found[item[HASH_KEY]["S"]] = decode_item(item)
            request = resp.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if request:
                self._backoff(attempt, "BatchGetItem (unprocessed keys)", f"{len(request)} keys left")
                attempt += 1
        return found, part

    def _update(self, op: "_Op", owner: str, now_ms: int) -> dict:
        values = {":ids": {"B": encode_claims(op.detected_at, [*op.kept, *op.new])},
                  ":one": {"N": "1"}, ":exp": {"N": str(now_ms // 1000 + self._ttl_s)}}
        update = {"TableName": self._table, "Key": {HASH_KEY: {"S": op.key}},
                  "UpdateExpression": "SET #owner = :ids, expires_at = :exp ADD v :one",
                  "ExpressionAttributeNames": {"#owner": OWNER_PREFIX + owner},
                  "ExpressionAttributeValues": values}
        if op.version is None:
            update["ConditionExpression"] = "attribute_not_exists(claim_key)"
        else:
            update["ConditionExpression"] = "v = :v"
            values[":v"] = {"N": str(op.version)}
        return {"Update": update}

    def _transact(self, ops: list["_Op"], owner: str, now_ms: int) -> tuple[ClaimResult, list[str]]:
        """Add each op's new ids to its group; return them as mine, or the groups whose
        version moved (the whole transaction is then cancelled and must be decided again)."""
        part = ClaimResult()
        attempt = 0
        while True:
            try:
                self._call("TransactWriteItems", self._client.transact_write_items, part,
                           TransactItems=[self._update(op, owner, now_ms) for op in ops])
            except self._client.exceptions.TransactionCanceledException as e:
                reasons = e.response.get("CancellationReasons", [])
                codes = [r.get("Code", "None") for r in reasons]
                invalid = [r for r in reasons if r.get("Code") == "ValidationError"]
                if invalid:  # e.g. the item would outgrow 400 KB: retrying cannot help
                    raise self._too_large("TransactWriteItems", invalid[0].get("Message", "ValidationError")) from e
                if "ConditionalCheckFailed" in codes:
                    return part, [op.key for op in ops]
                self._backoff(attempt, "TransactWriteItems", e)   # a conflict with another transaction
                attempt += 1
                continue
            for op in ops:
                part.mine.update(dict.fromkeys(op.new, op.detected_at))
            return part, []


@dataclass
class _Op:
    """One group's update: its new ids, and the ids this owner already holds there (kept in
    its attribute, which the update rewrites whole) with their detected_at."""
    key: str
    version: Optional[int]
    new: list[str]
    kept: list[str]
    detected_at: int

    @staticmethod
    def of(key: str, version: Optional[int], claims: dict[str, str], new: list[str], prefix: str,
           now_ms: int) -> "_Op":
        # Claims share one value string per owner and time, so the owners of a group are few
        # distinct values: the ids are scanned only when this owner is among them.
        values = sorted(v for v in set(claims.values()) if v.startswith(prefix))
        kept = [aid for aid, stored in claims.items() if stored in values] if values else []
        detected_at = int(values[0][len(prefix):]) if values else now_ms
        return _Op(key, version, new, kept, detected_at)


def check_ids(ids: Sequence[str]) -> None:
    """Anomaly ids are 32 lowercase hex digits (the engine's); anything else is refused."""
    joined = "".join(ids)
    try:
        ok = len(joined) == 2 * ID_BYTES * len(ids) and bytes.fromhex(joined).hex() == joined
    except ValueError:
        ok = False
    if not ok:
        bad = next(a for a in ids if len(a) != 2 * ID_BYTES or not all(ch in "0123456789abcdef" for ch in a))
        raise ValueError(f"claim: anomaly id {bad!r} is not {2 * ID_BYTES} lowercase hex digits")


def encode_claims(detected_at: int, ids: Sequence[str]) -> bytes:
    """An owner's attribute: detected_at (8 bytes, little-endian), then each id's 16 bytes, sorted."""
    return detected_at.to_bytes(8, "little", signed=True) + bytes.fromhex("".join(sorted(ids)))


def decode_item(item: dict) -> tuple[int, dict[str, str]]:
    """A claim item (DynamoDB's attribute-value map) -> (version, {anomaly id: "<owner>|<detected_at>"})."""
    claims: dict[str, str] = {}
    for element in item.get("c", {}).get("SS", []):   # an older Vigil's string set
        aid, _, rest = element.partition("|")
        claims[aid] = rest
    for name, value in item.items():
        if not name.startswith(OWNER_PREFIX):
            continue
        blob = value["B"]
        stored = f"{name[len(OWNER_PREFIX):]}|{int.from_bytes(blob[:8], 'little', signed=True)}"
        digits = blob[8:].hex()
        step = 2 * ID_BYTES
        claims.update(dict.fromkeys((digits[i:i + step] for i in range(0, len(digits), step)), stored))
    return int(item.get("v", {}).get("N", "0")), claims
