"""Where everything lives in the output bucket. Keys are pure functions of the data.

    <s3_prefix>dt=YYYY-MM-DD/hr=HH/part-<batch:08d>-<n:04d>.json   anomalies, JSON lines
    <s3_prefix>dt=YYYY-MM-DD/hr=HH/_manifest.json                  files + record counts
    <s3_prefix>dt=YYYY-MM-DD/hr=HH/_SUCCESS                         hour complete
    <dead_letter_prefix>dt=YYYY-MM-DD/hr=HH/part-<batch:08d>-<n:04d>.json   rejects and late events
    <meta_prefix>progress/batch-<batch:08d>.json                    per-batch progress
    <meta_prefix>hours.json                                         hour ledger (first open hour, closed)

The hour of an anomaly is its event time (UTC); the hour of a dead letter is its
Kafka timestamp, because a rejected event may have no usable event time.
"""

from __future__ import annotations

import datetime as _dt

HOUR_MS = 3_600_000


def hour_of(ts_ms: int) -> int:
    """Return the hour number (ms since epoch // 1h) of `ts_ms`."""
    return ts_ms // HOUR_MS


def hour_prefix(prefix: str, hour: int) -> str:
    t = _dt.datetime.fromtimestamp(hour * 3600, tz=_dt.timezone.utc)
    return f"{prefix}dt={t:%Y-%m-%d}/hr={t:%H}/"


def part_key(prefix: str, hour: int, batch_id: int, n: int) -> str:
    return f"{hour_prefix(prefix, hour)}part-{batch_id:08d}-{n:04d}.json"


def progress_key(meta_prefix: str, batch_id: int) -> str:
    return f"{meta_prefix}progress/batch-{batch_id:08d}.json"


def hours_key(meta_prefix: str) -> str:
    return f"{meta_prefix}hours.json"


def format_ts_ms(ts_ms: int) -> str:
    t = _dt.datetime.fromtimestamp(ts_ms / 1000, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"
