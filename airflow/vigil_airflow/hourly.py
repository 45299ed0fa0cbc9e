"""The hourly work: compact an hour's JSON-lines anomalies into Parquet, check it, summarise it.

Input (written by the streaming job, see python/jobs/vigil_stream/layout.py):

    <s3_prefix>dt=YYYY-MM-DD/hr=HH/part-<batch>-<n>.json   anomalies, JSON lines
    <s3_prefix>dt=YYYY-MM-DD/hr=HH/_manifest.json          {"files": [{"key", "records"}], "records"}
    <s3_prefix>dt=YYYY-MM-DD/hr=HH/_SUCCESS                the hour is complete

Output (a pure function of the input, so a rerun overwrites identical objects):

    <curated_prefix>anomalies/dt=YYYY-MM-DD/hr=HH/anomalies.parquet
    <curated_prefix>summaries/dt=YYYY-MM-DD/hr=HH/summary.json

JSON is parsed by Arrow's C++ reader on the concatenated files; rows keep the order of
the files (by name) and of the lines in each file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from vigil_airflow.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
PARQUET_NAME = "anomalies.parquet"

# The anomaly record (python/jobs/vigil_stream/sink.py ANOMALY_FIELDS). Fields not listed
# here are kept with an inferred type; listed ones always get these types, so that every
# hour's Parquet has the same schema whatever its values look like.
ANOMALY_SCHEMA = pa.schema([
    ("anomaly_id", pa.string()), ("event_id", pa.string()), ("device_id", pa.string()),
    ("metric", pa.string()), ("event_time", pa.string()), ("event_time_ms", pa.int64()),
    ("value", pa.float64()), ("expected_low", pa.float64()), ("expected_high", pa.float64()),
    ("score", pa.float64()), ("severity", pa.int64()), ("detectors", pa.list_(pa.string())),
    ("explanation", pa.string()), ("kafka_topic", pa.string()), ("kafka_partition", pa.int64()),
    ("kafka_offset", pa.int64()), ("kafka_timestamp_ms", pa.int64()),
    ("pipeline_version", pa.string()), ("detector_version", pa.string()),
    ("detected_at", pa.string()),
])


class QualityError(RuntimeError):
    """The hour's output fails a quality check; the message lists every problem found."""


@dataclass(frozen=True)
class HourInput:
    hour_start: dt.datetime
    prefix: str
    manifest: dict[str, Any]
    parts: list[str]          # part-*.json keys found, sorted


def read_hour_input(s3_hook: Any, settings: Settings, hour_start: dt.datetime) -> HourInput:
    """List the hour's part files and read its manifest (the hour must be complete)."""
    bucket = settings.s3_bucket
    prefix = settings.hour_prefix(hour_start)
    if not s3_hook.check_for_key(prefix + SUCCESS, bucket_name=bucket):
        raise FileNotFoundError(f"s3://{bucket}/{prefix}{SUCCESS} does not exist: the hour is not closed")
    try:
        manifest = json.loads(s3_hook.read_key(prefix + MANIFEST, bucket_name=bucket))
    except Exception as e:  # noqa: BLE001 - name the object whatever the hook raised
        raise QualityError(f"s3://{bucket}/{prefix}{MANIFEST}: unreadable manifest: {e}") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise QualityError(f"s3://{bucket}/{prefix}{MANIFEST}: expected an object with a 'files' list")
    keys = s3_hook.list_keys(bucket_name=bucket, prefix=prefix) or []
    parts = sorted(k for k in keys if k[len(prefix):].startswith("part-"))
    return HourInput(hour_start, prefix, manifest, parts)


def parse_json_lines(blobs: list[bytes]) -> pa.Table:
    """Parse JSON-lines blobs (in order) into one table with :data:`ANOMALY_SCHEMA` first."""
    import pyarrow.json as pj

    body = b"".join(b if b.endswith(b"\n") or not b else b + b"\n" for b in blobs)
    if not body.strip():
        return ANOMALY_SCHEMA.empty_table()
    table = pj.read_json(
        io.BytesIO(body),
        read_options=pj.ReadOptions(block_size=max(1 << 20, len(body) + 1)),
        parse_options=pj.ParseOptions(explicit_schema=ANOMALY_SCHEMA,
                                      unexpected_field_behavior="infer"))
    # Missing optional columns still appear, null-filled, so every hour has the full schema.
    for i, f in enumerate(ANOMALY_SCHEMA):
        if f.name not in table.column_names:
            table = table.add_column(i, f, pa.nulls(table.num_rows, f.type))
    return table


def parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return sink.getvalue()


def read_parquet(data: bytes) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


def compact_hour(s3_hook: Any, settings: Settings, hour_start: dt.datetime) -> dict[str, Any]:
    """Compact the hour into one Parquet object; return what was written."""
    hour = read_hour_input(s3_hook, settings, hour_start)
    client = s3_hook.get_conn()
    blobs = [client.get_object(Bucket=settings.s3_bucket, Key=k)["Body"].read() for k in hour.parts]
    table = parse_json_lines(blobs)
    key = settings.curated_hour_prefix(hour_start) + PARQUET_NAME
    s3_hook.load_bytes(parquet_bytes(table), key=key, bucket_name=settings.s3_bucket, replace=True)
    log.info("compacted %d records from %d files of %s into s3://%s/%s", table.num_rows,
             len(hour.parts), hour.prefix, settings.s3_bucket, key)
    return {"hour": hour.prefix, "files": len(hour.parts), "records": table.num_rows, "parquet": key}


def check_quality(table: pa.Table, hour: HourInput, part_counts: dict[str, int]) -> dict[str, Any]:
    """Check the compacted table against the manifest; raise :class:`QualityError` listing problems.

    `part_counts` is the number of lines actually found in each part file.
    """
    import pyarrow.compute as pc

    problems: list[str] = []
    listed = {f.get("key"): int(f.get("records", -1)) for f in hour.manifest["files"]}
    expected_total = hour.manifest.get("records", sum(listed.values()))
    if set(listed) != set(part_counts):
        missing = sorted(set(listed) - set(part_counts))
        extra = sorted(set(part_counts) - set(listed))
        if missing:
            problems.append(f"files in the manifest but not in S3: {missing}")
        if extra:
            problems.append(f"part files in S3 but not in the manifest: {extra}")
    for key in sorted(set(listed) & set(part_counts)):
        if listed[key] != part_counts[key]:
            problems.append(f"{key}: manifest says {listed[key]} records, the file has {part_counts[key]}")
    if table.num_rows != expected_total:
        problems.append(f"Parquet has {table.num_rows} records, the manifest says {expected_total}")
    if table.num_rows:
        ids = table["anomaly_id"]
        if ids.null_count:
            problems.append(f"{ids.null_count} records have no anomaly_id")
        counts = pc.value_counts(ids.combine_chunks())
        repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
        if len(repeated):
            sample = [v["values"] for v in repeated.to_pylist()[:10]]
            problems.append(f"{len(repeated)} anomaly_id values appear more than once, e.g. {sample}")
        start_ms = int(hour.hour_start.timestamp() * 1000)
        times = table["event_time_ms"]
        outside = pc.sum(pc.or_(pc.less(times, start_ms), pc.greater_equal(times, start_ms + 3_600_000)))
        if outside.as_py():
            problems.append(f"{outside.as_py()} records have an event time outside {hour.prefix}")
    if problems:
        raise QualityError(f"{hour.prefix}: " + "; ".join(problems))
    return {"hour": hour.prefix, "records": table.num_rows, "files": len(part_counts), "ok": True}


def verify_hour(s3_hook: Any, settings: Settings, hour_start: dt.datetime) -> dict[str, Any]:
    """Read back the hour's Parquet and its JSON inputs, and run :func:`check_quality`."""
    hour = read_hour_input(s3_hook, settings, hour_start)
    client = s3_hook.get_conn()
    part_counts = {}
    for key in hour.parts:
        body = client.get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read()
        part_counts[key] = body.count(b"\n") + (0 if not body or body.endswith(b"\n") else 1)
    key = settings.curated_hour_prefix(hour_start) + PARQUET_NAME
    table = read_parquet(client.get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read())
    return check_quality(table, hour, part_counts)


def summarize(table: pa.Table, hour_start: dt.datetime) -> dict[str, Any]:
    """Return the hour's summary: counts per device, metric and detector, severity spread."""
    import pyarrow.compute as pc

    def counts(column: pa.ChunkedArray | pa.Array) -> dict[str, int]:
        if len(column) == 0:
            return {}
        pairs = pc.value_counts(column).to_pylist()
        ranked = sorted(pairs, key=lambda p: (-p["counts"], str(p["values"])))
        return {str(p["values"]): int(p["counts"]) for p in ranked}

    n = table.num_rows
    detectors = pc.list_flatten(table["detectors"]) if n else pa.array([], pa.string())
    severity = table["severity"] if n else pa.array([], pa.int64())
    return {
        "hour_start": hour_start.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "anomalies": n,
        "devices": len(pc.unique(table["device_id"])) if n else 0,
        "by_device": counts(table["device_id"]),
        "by_metric": counts(table["metric"]),
        "by_detector": counts(detectors),
        "severity": {
            "max": pc.max(severity).as_py() if n else None,
            "mean": round(pc.mean(severity).as_py(), 3) if n else None,
            "high": int(pc.sum(pc.greater_equal(severity, 70)).as_py() or 0) if n else 0,
        },
    }


def write_summary(s3_hook: Any, settings: Settings, hour_start: dt.datetime) -> dict[str, Any]:
    """Summarise the hour's Parquet and store it as JSON next to the curated data."""
    client = s3_hook.get_conn()
    key = settings.curated_hour_prefix(hour_start) + PARQUET_NAME
    table = read_parquet(client.get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read())
    summary = summarize(table, hour_start)
    s3_hook.load_string(json.dumps(summary, indent=1, sort_keys=True) + "\n",
                        key=settings.summary_key(hour_start), bucket_name=settings.s3_bucket,
                        replace=True)
    return summary
