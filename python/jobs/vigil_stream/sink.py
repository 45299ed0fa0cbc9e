"""The exactly-once sink: one call per micro-batch (foreachBatch).

`write_batch(ctx, table, batch_id)` takes the stateful step's output (rows of kind
"anomaly", "dead" and "stats", see transform.OUTPUT_SCHEMA) and, in this order:

  1. writes every dead letter (rejects and late events) to
     dead-letter/dt=../hr=../part-<batch>-<n>.json (deterministic, so a replay
     overwrites the same objects with the same bytes), on a second thread while
     steps 2-4 run;
  2. drops anomalies repeated inside the batch, then claims the rest in
     DynamoDB for owner "<query id>:<batch id>" (claims.ClaimStore; one item per
     claim_window_ms of event time and device shard, claims.claim_keys); ids owned by
     another batch or checkpoint are dropped and counted;
  3. writes the anomalies it owns, sorted, to dt=../hr=../part-<batch>-<n>.json,
     with detected_at taken from the claim, so a replay writes identical bytes;
  4. closes every hour the watermark has passed: _manifest.json, then _SUCCESS (on
     the side thread during steps 2-3: the batch writes nothing into those hours);
  5. writes the batch's progress record.

Spark commits the batch only after this returns. A crash anywhere before that
replays the same batch (same offsets, same state) with the same owner, so the
claims come back as "mine" and every object is rewritten identically: nothing
lost, nothing twice. VIGIL_FAULT=<point>:batch=<n> kills the process at a point
(after_claim, mid_write, after_write) to prove it.
"""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .claims import ClaimStore, claim_keys
from .config import JobConfig
from .layout import HOUR_MS, format_ts_ms, hour_of, hour_prefix, hours_key, part_key, progress_key

ANOMALY_FIELDS = ["anomaly_id", "event_id", "device_id", "metric", "event_time", "event_time_ms",
                  "value", "expected_low", "expected_high", "score", "severity", "detectors",
                  "explanation", "kafka_topic", "kafka_partition", "kafka_offset",
                  "kafka_timestamp_ms", "pipeline_version", "detector_version", "detected_at"]
FAULT_POINTS = ("after_claim", "mid_write", "after_write")


@dataclass(frozen=True)
class Fault:
    point: str
    batch_id: int

    @staticmethod
    def parse(spec: Optional[str]) -> Optional["Fault"]:
        """Parse VIGIL_FAULT, e.g. "after_claim:batch=3"; None or "" means no fault."""
        if not spec:
            return None
        point, _, rest = spec.partition(":")
        if point not in FAULT_POINTS or not rest.startswith("batch="):
            raise ValueError(f"VIGIL_FAULT: expected <point>:batch=<n> with point in "
                             f"{', '.join(FAULT_POINTS)}, got {spec!r}")
        try:
            return Fault(point, int(rest[len("batch="):]))
        except ValueError:
            raise ValueError(f"VIGIL_FAULT: batch must be an integer, got {spec!r}") from None

    def maybe_fire(self, point: str, batch_id: int) -> None:
        if point == self.point and batch_id == self.batch_id:
            print(f"vigil: VIGIL_FAULT {point} at batch {batch_id}: SIGKILL", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class SinkContext:
    cfg: JobConfig
    s3: Any                      # boto3 S3 client
    claims: ClaimStore
    owner: str                   # the query id; a batch's owner is "<owner>:<batch id>"
    detector_version: str
    fault: Optional[Fault] = None
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    dlq: Any = None              # optional confluent_kafka Producer for dlq_topic
    # The threads that write dead letters and close hours beside the anomalies, and the
    # ones that read the closing hours' files; for the process (starting a thread per
    # batch cost ~10-40 ms on two busy cores).
    side: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="vigil-sink-side"))
    io: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="vigil-sink-io"))
    # Record counts of the anomaly files this process wrote, by key, until their hour
    # closes: the manifest takes them from here instead of a HEAD per file (an hour of
    # ~200 files cost ~350-450 ms of HEADs, in the batch that closed it). Files of earlier
    # processes are still read from their metadata.
    written: dict[str, int] = field(default_factory=dict)


def _fire(ctx: SinkContext, point: str, batch_id: int) -> None:
    if ctx.fault is not None:
        ctx.fault.maybe_fire(point, batch_id)


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _kind(table: pa.Table, kind: str) -> pa.Table:
    return table.filter(pc.equal(table["kind"], kind))


def _put_lines(ctx: SinkContext, key: str, body: bytes, records: int) -> None:
    ctx.s3.put_object(Bucket=ctx.cfg.s3_bucket, Key=key, Body=body,
                      ContentType="application/x-ndjson", Metadata={"records": str(records)})


def _json_lines(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"
                   for r in rows).encode()


def write_dead_letters(ctx: SinkContext, dead: pa.Table, batch_id: int) -> tuple[int, dict[str, int]]:
    """Write rejects and late events; return (count, count per reason)."""
    if dead.num_rows == 0:
        return 0, {}
    dead = dead.sort_by([("kafka_partition", "ascending"), ("kafka_offset", "ascending")])
    cols = {name: dead[name].to_pylist() for name in
            ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp_ms", "reason",
             "detail", "raw", "event_time_ms")}
    by_hour: dict[int, list[dict]] = {}
    reasons: dict[str, int] = {}
    for i in range(dead.num_rows):
        raw = cols["raw"][i] or b""
        rec = {"reason": cols["reason"][i], "detail": cols["detail"][i] or "",
               "kafka_topic": cols["kafka_topic"][i], "kafka_partition": cols["kafka_partition"][i],
               "kafka_offset": cols["kafka_offset"][i],
               "kafka_timestamp_ms": cols["kafka_timestamp_ms"][i],
               "event_time_ms": cols["event_time_ms"][i],
               "raw_base64": base64.b64encode(raw).decode("ascii"),
               "pipeline_version": ctx.cfg.pipeline_version}
        reasons[rec["reason"]] = reasons.get(rec["reason"], 0) + 1
        by_hour.setdefault(hour_of(rec["kafka_timestamp_ms"]), []).append(rec)
    per_file = ctx.cfg.records_per_file
    for hour, rows in sorted(by_hour.items()):
        for n, start in enumerate(range(0, len(rows), per_file)):
            chunk = rows[start:start + per_file]
            _put_lines(ctx, part_key(ctx.cfg.dead_letter_prefix, hour, batch_id, n),
                       _json_lines(chunk), len(chunk))
    if ctx.dlq is not None and ctx.cfg.dlq_topic:
        for rows in by_hour.values():
            for rec in rows:
                ctx.dlq.produce(ctx.cfg.dlq_topic, json.dumps(rec).encode())
        ctx.dlq.flush(30)
    return dead.num_rows, reasons


def dedupe_in_batch(anomalies: pa.Table) -> tuple[pa.Array, int]:
    """Indices (into `anomalies`) of the first occurrence (lowest Kafka partition/offset) of
    each anomaly_id, and how many repeats were dropped. Only the key columns are sorted."""
    if anomalies.num_rows == 0:
        return pa.array([], pa.int64()), 0
    order = pc.sort_indices(anomalies.select(["anomaly_id", "kafka_partition", "kafka_offset"]),
                            sort_keys=[("anomaly_id", "ascending"), ("kafka_partition", "ascending"),
                                       ("kafka_offset", "ascending")])
    ids = pc.take(anomalies["anomaly_id"], order).combine_chunks()
    if len(ids) > 1:
        prev = pa.concat_arrays([pa.array([None], pa.string()), ids.slice(0, len(ids) - 1)])
        order = order.filter(pc.fill_null(pc.not_equal(ids, prev), True))
    return order, anomalies.num_rows - len(order)


_STRING_COLUMNS = ("anomaly_id", "event_id", "device_id", "metric", "detectors", "explanation", "kafka_topic")
_NUMBER_COLUMNS = {"event_time_ms": np.int64, "value": np.float64, "expected_low": np.float64,
                   "expected_high": np.float64, "score": np.float64, "severity": np.int32,
                   "kafka_partition": np.int32, "kafka_offset": np.int64, "kafka_timestamp_ms": np.int64}


def anomaly_lines(ctx: SinkContext, anomalies: pa.Table, rows: pa.Array,
                  detected: Union[dict[str, int], int]) -> tuple[pa.Table, bytes, np.ndarray]:
    """The owned anomaly rows (`rows`: indices into `anomalies`) -> (those rows sorted by
    event time, device, metric and id; their records as JSON lines, formatted in C++
    (vigil/record/anomaly_json.h, keys in ANOMALY_FIELDS order); the end offset of each
    line). detected_at is the claim's: by anomaly id, or one time for all. The whole table
    is copied once, in the final order."""
    from vigil import anomaly_json_lines
    from vigil.arrow import binary_buffers
    keys = anomalies.select(["event_time_ms", "device_id", "metric", "anomaly_id"]).take(rows)
    order = pc.take(rows, pc.sort_indices(keys, sort_keys=[
        ("event_time_ms", "ascending"), ("device_id", "ascending"), ("metric", "ascending"),
        ("anomaly_id", "ascending")]))
    t = anomalies.take(order).combine_chunks()
    numbers = {name: np.ascontiguousarray(
                   pc.fill_null(t[name], math.nan if dtype is np.float64 else 0).to_numpy(), dtype=dtype)
               for name, dtype in _NUMBER_COLUMNS.items()}
    if isinstance(detected, dict):
        ids = pa.array(list(detected), pa.string())
        times = pa.array(list(detected.values()), pa.int64())
        numbers["detected_at_ms"] = np.ascontiguousarray(
            pc.take(times, pc.index_in(t["anomaly_id"], value_set=ids)).to_numpy(), dtype=np.int64)
    else:
        numbers["detected_at_ms"] = np.full(t.num_rows, detected, np.int64)
    strings = {name: binary_buffers(t[name]) for name in _STRING_COLUMNS}
    blob, ends = anomaly_json_lines(strings, numbers, ctx.cfg.pipeline_version, ctx.detector_version)
    return t, blob, ends


def write_anomalies(ctx: SinkContext, rows: pa.Table, blob: bytes, ends: np.ndarray, batch_id: int) -> list[dict]:
    """Write the lines of anomaly_lines grouped by event hour; return the files written.

    The rows are in event-time order, so each hour is one run of lines."""
    files: list[dict] = []
    if rows.num_rows == 0:
        return files
    hours = rows["event_time_ms"].to_numpy() // HOUR_MS
    cuts = [0, *(np.flatnonzero(np.diff(hours)) + 1).tolist(), rows.num_rows]
    per_file = ctx.cfg.records_per_file
    for a, b in zip(cuts, cuts[1:]):
        hour = int(hours[a])
        for n, start in enumerate(range(a, b, per_file)):
            stop = min(b, start + per_file)
            body = blob[(int(ends[start - 1]) if start else 0):int(ends[stop - 1])]
            key = part_key(ctx.cfg.s3_prefix, hour, batch_id, n)
            _put_lines(ctx, key, body, stop - start)
            ctx.written[key] = stop - start
            files.append({"key": key, "records": stop - start, "hour": hour})
            _fire(ctx, "mid_write", batch_id)
    return files


def _get_json(ctx: SinkContext, key: str) -> Optional[dict]:
    try:
        body = ctx.s3.get_object(Bucket=ctx.cfg.s3_bucket, Key=key)["Body"].read()
    except ctx.s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def _put_json(ctx: SinkContext, key: str, doc: dict) -> None:
    ctx.s3.put_object(Bucket=ctx.cfg.s3_bucket, Key=key, ContentType="application/json",
                      Body=(json.dumps(doc, sort_keys=True, indent=1) + "\n").encode())


def last_closable_hour(watermark_ms: int) -> int:
    """The last hour whose end is at or before the watermark (it can get no more records)."""
    return hour_of(watermark_ms) - 1


def close_hours(ctx: SinkContext, batch_id: int, watermark_ms: Optional[int],
                min_event_ms: Optional[int]) -> list[int]:
    """Write _manifest.json and _SUCCESS for each hour whose end the watermark has passed."""
    key = hours_key(ctx.cfg.meta_prefix)
    ledger = _get_json(ctx, key) or {"first_open_hour": None, "closed_through": None}
    first = ledger["first_open_hour"]
    if min_event_ms is not None:
        h = hour_of(min_event_ms)
        closed = ledger["closed_through"]
        if (first is None or h < first) and (closed is None or h > closed):
            first = h
    closed_now: list[int] = []
    if first is not None and watermark_ms is not None and watermark_ms > 0:
        last_closable = last_closable_hour(watermark_ms)
        start = max(first, (ledger["closed_through"] or first - 1) + 1)
        for hour in range(start, last_closable + 1):
            prefix = hour_prefix(ctx.cfg.s3_prefix, hour)
            parts = [obj for page in ctx.s3.get_paginator("list_objects_v2").paginate(
                         Bucket=ctx.cfg.s3_bucket, Prefix=prefix)
                     for obj in page.get("Contents", []) if obj["Key"][len(prefix):].startswith("part-")]

            def describe(obj: dict) -> dict:  # the record count is in each file's metadata
                records = ctx.written.get(obj["Key"])
                if records is None:
                    head = ctx.s3.head_object(Bucket=ctx.cfg.s3_bucket, Key=obj["Key"])
                    records = int(head["Metadata"].get("records", "0"))
                return {"key": obj["Key"], "bytes": obj["Size"], "records": records}
            files = sorted(ctx.io.map(describe, parts), key=lambda f: f["key"])
            for f in files:
                ctx.written.pop(f["key"], None)
            manifest = {"hour_start": format_ts_ms(hour * HOUR_MS), "files": files,
                        "records": sum(f["records"] for f in files), "closed_by_batch": batch_id,
                        "watermark": format_ts_ms(watermark_ms)}
            _put_json(ctx, prefix + "_manifest.json", manifest)
            ctx.s3.put_object(Bucket=ctx.cfg.s3_bucket, Key=prefix + "_SUCCESS", Body=b"")
            closed_now.append(hour)
        if closed_now:
            ledger["closed_through"] = closed_now[-1]
            first = closed_now[-1] + 1 if first <= closed_now[-1] else first
    if first != ledger["first_open_hour"] or closed_now:
        ledger["first_open_hour"] = first
        _put_json(ctx, key, ledger)
    return closed_now


def _stat_sum(stats: pa.Table, name: str) -> int:
    if stats.num_rows == 0:
        return 0
    v = pc.sum(stats[name]).as_py()
    return int(v or 0)


def write_batch(ctx: SinkContext, table: pa.Table, batch_id: int) -> dict:
    """Write one micro-batch exactly once; return its progress record.

    The dead letters and the hour closes go to S3 on side threads while the anomalies are
    claimed and written: they share no object and no ordering (a replay rewrites them all
    the same).
    """
    t0 = time.monotonic()
    stats = _kind(table, "stats")
    def dead_letters() -> tuple[int, dict[str, int], int]:
        n, reasons = write_dead_letters(ctx, _kind(table, "dead"), batch_id)
        return n, reasons, _wall_ms()

    dead_future = ctx.side.submit(dead_letters)
    found = _kind(table, "anomaly")
    wm = pc.max(stats["watermark_ms"]).as_py() if stats.num_rows else None
    min_ev = pc.min(stats["min_event_ms"]).as_py() if stats.num_rows else None
    # The hours this batch closes end at or before its watermark, and its anomalies are at
    # or after it (older events are late): it writes nothing into them, so they close on
    # the side thread while the anomalies are claimed and written (an hour close lists
    # and reads the hour's files: ~300 ms, which delayed the next batch). Should an
    # anomaly ever fall into a closable hour, the close waits for the writes instead.
    beside = not wm or found.num_rows == 0 or \
        hour_of(pc.min(found["event_time_ms"]).as_py()) > last_closable_hour(wm)
    hours_future = ctx.side.submit(close_hours, ctx, batch_id, wm, min_ev) if beside else None
    try:
        first, dup_in_batch = dedupe_in_batch(found)
        owner = f"{ctx.owner}:{batch_id}"
        unique_ids = pc.take(found["anomaly_id"], first)
        keys = claim_keys(pc.take(found["device_id"], first),
                          pc.take(found["event_time_ms"], first).to_numpy(),
                          ctx.cfg.claim_window_ms, ctx.cfg.claim_shards)
        t_claim = time.monotonic()
        detected_at = ctx.clock_ms()
        # The lines of every unique anomaly, formatted (in C++, without the GIL) while
        # DynamoDB decides the claims: in a steady stream each one is new, so mine and
        # detected now, and these lines are the batch's. Otherwise (a replay, a repeat of an
        # earlier batch's anomaly) they are formatted again for what the claims decided.
        ahead = ctx.io.submit(anomaly_lines, ctx, found, first, detected_at) if len(first) else None
        try:
            result = ctx.claims.claim(unique_ids.to_numpy(zero_copy_only=False).tolist(), owner, detected_at,
                                      keys=keys)
        except BaseException:
            wait([ahead] if ahead is not None else [])
            raise
        t_claimed = time.monotonic()
        claim_ms = (t_claimed - t0) * 1000
        lines_ahead = ahead.result() if ahead is not None else None
        _fire(ctx, "after_claim", batch_id)
        all_new = not result.dropped and not result.replayed and len(result.mine) == len(unique_ids)
        if all_new and lines_ahead is not None:
            owned, blob, ends = lines_ahead
        else:
            mine = first.filter(pc.is_in(unique_ids, pa.array(list(result.mine), pa.string())))
            owned, blob, ends = anomaly_lines(ctx, found, mine, result.mine)
        t_lines = time.monotonic()
        files = write_anomalies(ctx, owned, blob, ends, batch_id)
        anomalies_visible_ms = _wall_ms()
        steps = {"prepare_ms": round((t_claim - t0) * 1000, 3), "ddb_ms": round((t_claimed - t_claim) * 1000, 3),
                 "lines_ms": round((t_lines - t_claimed) * 1000, 3),
                 "s3_ms": round((time.monotonic() - t_lines) * 1000, 3)}
        if hours_future is None:
            hours_future = ctx.side.submit(close_hours, ctx, batch_id, wm, min_ev)
    finally:
        # An error above still waits for the side work, so a failed batch never leaves a
        # write running into the next attempt.
        wait([f for f in (dead_future, hours_future) if f is not None])
    n_dead, reasons, dead_visible_ms = dead_future.result()
    closed = hours_future.result()

    late = _stat_sum(stats, "n_late")
    progress = {
        "batch_id": batch_id, "owner": owner,
        "input": _stat_sum(stats, "n_input"), "valid": _stat_sum(stats, "n_valid"),
        "invalid": _stat_sum(stats, "n_invalid"), "late": late, "dead_letters": n_dead,
        "reasons": dict(sorted(reasons.items())),
        "anomalies_found": found.num_rows, "anomalies_written": owned.num_rows,
        "duplicates_dropped": dup_in_batch + len(result.dropped), "replayed_claims": result.replayed,
        "ddb_calls": result.calls, "files": len(files),
        "hours_closed": [format_ts_ms(h * HOUR_MS) for h in closed],
        "watermark": format_ts_ms(wm) if wm else None,
        "devices": _stat_sum(stats, "devices"), "state_bytes": _stat_sum(stats, "state_bytes"),
        "detect_ms": round(_stat_sum(stats, "process_ns") / 1e6, 3),
        "claim_ms": round(claim_ms, 3), "sink_steps": steps,
        # wall clock (epoch ms) when this batch's anomaly / dead-letter objects were in S3
        "anomalies_visible_ms": anomalies_visible_ms, "dead_letters_visible_ms": dead_visible_ms,
        "sink_ms": round((time.monotonic() - t0) * 1000, 3),
    }
    _put_json(ctx, progress_key(ctx.cfg.meta_prefix, batch_id), progress)
    _fire(ctx, "after_write", batch_id)
    return progress
