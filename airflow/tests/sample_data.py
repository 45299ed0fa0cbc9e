"""Seeded anomaly records and S3 layouts shaped like the streaming job's output.

The fields and keys follow python/jobs/vigil_stream/sink.py and layout.py, so the
hourly and daily tasks are tested on what the job writes, without running it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

METRICS = ("temperature", "vibration", "pressure")
DETECTORS = ("rules", "ewma", "mad", "rcf", "cusum")


def _ts(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def anomaly_records(hour_start: dt.datetime, count: int, seed: int, devices: int = 8) -> list[dict[str, Any]]:
    """Return `count` distinct anomaly records in the hour at `hour_start`, sorted by event time."""
    rng = random.Random(seed)
    start_ms = int(hour_start.timestamp() * 1000)
    out = []
    for i in range(count):
        t = start_ms + rng.randrange(3_600_000)
        device = f"dev-{rng.randrange(devices):05d}"
        metric = rng.choice(METRICS)
        base = {"temperature": 21.0, "vibration": 0.02, "pressure": 101.3}[metric]
        low, high = base * 0.8, base * 1.2
        value = round(base * rng.choice((0.3, 1.9, 2.6)) + rng.random(), 4)
        out.append({
            "anomaly_id": f"{seed:04d}{i:06d}{rng.randrange(16**8):08x}",
            "event_id": f"{device}-{t:015d}", "device_id": device, "metric": metric,
            "event_time": _ts(t), "event_time_ms": t, "value": value,
            "expected_low": round(low, 4), "expected_high": round(high, 4),
            "score": round(rng.uniform(0.8, 1.0), 4), "severity": rng.randrange(40, 100),
            "detectors": sorted(rng.sample(DETECTORS, rng.randrange(1, 3))),
            "explanation": f"{metric}={value} outside [{low:.3g}, {high:.3g}]",
            "kafka_topic": "vigil-events", "kafka_partition": rng.randrange(3),
            "kafka_offset": 1000 + i, "kafka_timestamp_ms": t + 5,
            "pipeline_version": "0.1.0", "detector_version": "1", "detected_at": _ts(t + 900),
        })
    out.sort(key=lambda r: (r["event_time_ms"], r["device_id"], r["metric"], r["anomaly_id"]))
    return out


def json_lines(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()


def hour_objects(prefix: str, hour_start: dt.datetime, records: list[dict[str, Any]],
                 per_file: int = 40, close: bool = True) -> dict[str, bytes]:
    """Return {key: body} for the hour as the job writes it: part files, manifest, _SUCCESS."""
    hp = f"{prefix}dt={hour_start:%Y-%m-%d}/hr={hour_start:%H}/"
    objects: dict[str, bytes] = {}
    files = []
    for n, start in enumerate(range(0, len(records), per_file)):
        chunk = records[start:start + per_file]
        key = f"{hp}part-{7 + n:08d}-{0:04d}.json"
        objects[key] = json_lines(chunk)
        files.append({"key": key, "bytes": len(objects[key]), "records": len(chunk)})
    if close:
        objects[hp + "_manifest.json"] = json.dumps(
            {"hour_start": _ts(int(hour_start.timestamp() * 1000)), "files": files,
             "records": len(records), "closed_by_batch": 9, "watermark": "x"}).encode()
        objects[hp + "_SUCCESS"] = b""
    return objects
