"""Per-batch progress: a JSON-lines file read by `vigil stream status`.

Two kinds of line, joined on batch_id by the reader:
  {"kind": "sink", ...}   counts from the sink (sink.write_batch's record)
  {"kind": "spark", ...}  from Spark's StreamingQueryProgress: rates, durations,
                          watermark and Kafka lag (offsets behind latest)
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Optional

from pyspark.sql.streaming import StreamingQueryListener

_LOCK = threading.Lock()


def append(path: str, record: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
    with _LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(line)


def spark_record(p) -> dict:
    """The fields of a StreamingQueryProgress that status and monitoring use."""
    lag = {}
    for src in p.sources or []:
        for k in ("avgOffsetsBehindLatest", "maxOffsetsBehindLatest", "minOffsetsBehindLatest"):
            if src.metrics and k in src.metrics:
                lag[k] = float(src.metrics[k])
    return {"kind": "spark", "batch_id": p.batchId, "query_id": str(p.id), "run_id": str(p.runId),
            "timestamp": p.timestamp, "input_rows": p.numInputRows,
            "input_rows_per_s": p.inputRowsPerSecond, "processed_rows_per_s": p.processedRowsPerSecond,
            "duration_ms": dict(p.durationMs or {}), "watermark": (p.eventTime or {}).get("watermark"),
            "kafka_lag": lag,
            "state_rows": sum(op.numRowsTotal for op in (p.stateOperators or [])),
            "state_memory_bytes": sum(op.memoryUsedBytes for op in (p.stateOperators or []))}


class ProgressListener(StreamingQueryListener):
    def __init__(self, path: str):
        self._path = path

    def onQueryStarted(self, event) -> None:
        append(self._path, {"kind": "started", "query_id": str(event.id), "run_id": str(event.runId),
                            "time_ms": int(time.time() * 1000)})

    def onQueryProgress(self, event) -> None:
        append(self._path, spark_record(event.progress))

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        append(self._path, {"kind": "terminated", "query_id": str(event.id),
                            "exception": event.exception, "time_ms": int(time.time() * 1000)})


def read(path: str) -> list[dict]:
    """Return every record of a progress file (a torn last line is skipped)."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        pass
    return out


def latest_batches(records: list[dict], n: int = 10) -> list[dict]:
    """Join sink and spark records by batch id; return the last n batches, oldest first."""
    by_batch: dict[int, dict] = {}
    run_start: Optional[int] = None
    for r in records:
        if r.get("kind") == "started":
            run_start = r.get("time_ms")
        if r.get("kind") in ("sink", "spark"):
            by_batch.setdefault(r["batch_id"], {}).update({k: v for k, v in r.items() if k != "kind"})
    return [by_batch[b] for b in sorted(by_batch)[-n:]]
