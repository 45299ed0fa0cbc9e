"""Is the streaming query alive and making progress? Its signals, read where the job leaves them.

- progress: the job writes ``<meta_prefix>progress/batch-<n:08d>.json`` to the output
  bucket after every micro-batch; the newest one's LastModified is the last progress.
  It is found in O(log n) S3 calls (zero-padded keys sort by batch number).
- offsets: the query's checkpoint (``spark.checkpoint_location``, local path or
  ``s3://``/``s3a://``) holds ``offsets/<n>`` (per-partition Kafka offsets the batch read
  up to) and ``commits/<n>`` (batch n done). Kafka's latest offsets minus those of the
  newest committed batch is the consumer lag; Spark commits no consumer-group offsets.
- the process: on a local master, the pid file of the driver (``$VIGIL_HOME/stream/pid``, shared with ``./vigil stream``).

:func:`assess` combines them: a query is dead when its process is gone, or when it has
made no progress for longer than the threshold while records wait in Kafka. An idle
query (no lag) is healthy however old its last batch is.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pathlib
from dataclasses import dataclass
from typing import Any

from vigil_airflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    alive: bool
    reason: str
    last_progress: dt.datetime | None
    lag: int | None
    pid: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"alive": self.alive, "reason": self.reason, "lag": self.lag, "pid": self.pid,
                "last_progress": self.last_progress.isoformat() if self.last_progress else None}


# --- progress in S3 -------------------------------------------------------------------


def _batch_key(settings: Settings, n: int) -> str:
    return f"{settings.progress_prefix}batch-{n:08d}.json"


def latest_progress(s3_client: Any, settings: Settings) -> tuple[int, dt.datetime] | None:
    """Return (batch id, LastModified) of the newest progress object, or None if there is none."""
    bucket, prefix = settings.s3_bucket, settings.progress_prefix

    def first_after(n: int) -> dict | None:
        start = _batch_key(settings, n) if n >= 0 else prefix
        page = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix + "batch-", StartAfter=start,
                                         MaxKeys=1)
        contents = page.get("Contents") or []
        return contents[0] if contents else None

    def batch_of(obj: dict) -> int:
        name = obj["Key"][len(prefix):]
        try:
            return int(name[len("batch-"):-len(".json")])
        except ValueError:
            raise ValueError(f"unexpected progress object s3://{bucket}/{obj['Key']}") from None

    first = first_after(-1)
    if first is None:
        return None
    lo = batch_of(first)          # exists
    step = 1
    while first_after(lo + step - 1) is not None:   # gallop: is there a batch >= lo + step?
        lo = batch_of(first_after(lo + step - 1))
        step *= 2
    hi = lo + step                # no batch >= hi; binary search the last one in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        obj = first_after(mid - 1)
        if obj is not None and batch_of(obj) < hi:
            lo = batch_of(obj)
        else:
            hi = mid
    head = s3_client.head_object(Bucket=bucket, Key=_batch_key(settings, lo))
    return lo, head["LastModified"].astimezone(dt.timezone.utc)


# --- checkpoint -------------------------------------------------------------------------


def _split_s3(uri: str) -> tuple[str, str]:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key.rstrip("/") + "/" if key else ""


def checkpoint_offsets(settings: Settings, s3_client: Any = None) -> dict[str, dict[int, int]] | None:
    """Return ``{topic: {partition: next offset}}`` of the newest committed batch, or None."""
    location = settings.checkpoint_location
    if not location:
        return None

    def numbered(names: list[str]) -> list[int]:
        return sorted(int(n) for n in names if n.isdigit())

    if location.startswith(("s3://", "s3a://")):
        if s3_client is None:
            raise ValueError(f"checkpoint {location} is in S3 but no S3 client was given")
        bucket, prefix = _split_s3(location)

        def listing(sub: str) -> list[str]:
            names = []
            for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                            Prefix=prefix + sub):
                names += [o["Key"][len(prefix + sub):] for o in page.get("Contents", [])]
            return names

        def read(sub: str) -> str:
            return s3_client.get_object(Bucket=bucket, Key=prefix + sub)["Body"].read().decode()
    else:
        root = pathlib.Path(location.removeprefix("file://"))

        def listing(sub: str) -> list[str]:
            d = root / sub
            return os.listdir(d) if d.is_dir() else []

        def read(sub: str) -> str:
            return (root / sub).read_text()

    commits = numbered(listing("commits/"))
    if not commits:
        return None
    lines = read(f"offsets/{commits[-1]}").splitlines()
    # v1 / batch metadata JSON / one line per source: {"topic": {"0": 12, ...}}
    offsets: dict[str, dict[int, int]] = {}
    for line in lines[2:]:
        line = line.strip()
        if not line.startswith("{"):
            continue
        for topic, parts in json.loads(line).items():
            offsets[topic] = {int(p): int(o) for p, o in parts.items()}
    return offsets


def kafka_end_offsets(admin: Any, topic: str, timeout: float = 30.0) -> dict[int, int]:
    """Return the latest offset (high watermark) of every partition of `topic`."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    metadata = admin.list_topics(topic=topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise RuntimeError(f"Kafka topic {topic!r} is not available: "
                           f"{getattr(metadata, 'error', 'missing')}")
    request = {TopicPartition(topic, p): OffsetSpec.latest() for p in metadata.partitions}
    result = {}
    for tp, future in admin.list_offsets(request, request_timeout=timeout).items():
        result[tp.partition] = future.result().offset
    return result


def consumer_lag(end: dict[int, int], processed: dict[int, int] | None) -> int:
    """Records in Kafka the query has not read: the sum over partitions, never negative."""
    processed = processed or {}
    return sum(max(0, high - processed.get(p, 0)) for p, high in end.items())


# --- the local driver process ---------------------------------------------------------------


def pid_file(settings: Settings) -> pathlib.Path:
    """The driver's pid file, shared with ``./vigil stream`` (vigil_ops.stack.process format)."""
    return pathlib.Path(settings.vigil_home) / "stream" / "pid"


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), None if gone or a zombie."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def read_pid(settings: Settings) -> int | None:
    """Return the driver's pid if the process recorded in the pid file is still that process.

    The file is JSON ``{"pid", "pgid", "start_ticks", "cmd"}``; a recycled pid (another
    process, other start time) counts as gone.
    """
    try:
        record = json.loads(pid_file(settings).read_text())
        pid, ticks = int(record["pid"]), int(record.get("start_ticks", -1))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    actual = _start_ticks(pid)
    if actual is None or (ticks >= 0 and actual != ticks):
        return None
    return pid


def write_pid(settings: Settings, pid: int, cmd: list[str]) -> None:
    """Record a driver we started, in the same format as ``./vigil stream start``."""
    path = pid_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "pgid": os.getpgid(pid), "start_ticks": _start_ticks(pid) or -1,
                               "cmd": cmd}))
    os.replace(tmp, path)


def is_local_master(master: str) -> bool:
    return master.startswith("local")


# --- the verdict -------------------------------------------------------------------------------


def started_at(settings: Settings) -> dt.datetime | None:
    """When the local driver was started: the pid file's modification time."""
    try:
        return dt.datetime.fromtimestamp(pid_file(settings).stat().st_mtime, tz=dt.timezone.utc)
    except OSError:
        return None


def assess(now: dt.datetime, stale_after_s: int, last_progress: dt.datetime | None,
           lag: int | None, local: bool, pid: int | None, started: dt.datetime | None = None,
           start_grace_s: int = 0) -> Health:
    """Decide whether the query is alive from its signals (pure; see the module docstring)."""
    if local and pid is None:
        return Health(False, "no running stream process (pid file missing or process gone)",
                      last_progress, lag, pid)
    if started is not None and (now - started).total_seconds() <= start_grace_s and (
            last_progress is None or last_progress < started):
        return Health(True, f"starting: process up for {(now - started).total_seconds():.0f}s",
                      last_progress, lag, pid)
    age = (now - last_progress).total_seconds() if last_progress else None
    if age is not None and age <= stale_after_s:
        return Health(True, f"progress {age:.0f}s ago", last_progress, lag, pid)
    if lag == 0:
        return Health(True, "idle: no records waiting in Kafka", last_progress, lag, pid)
    waiting = "an unknown number of" if lag is None else str(lag)
    since = "never made progress" if age is None else f"no progress for {age:.0f}s"
    return Health(False, f"stalled: {since} (threshold {stale_after_s}s) with {waiting} records "
                         "waiting", last_progress, lag, pid)
