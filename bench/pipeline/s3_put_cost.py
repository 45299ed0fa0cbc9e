"""What one anomaly object costs to put in S3, with the job's S3 client settings and without.

    ./vigil stack up minio
    $VIGIL_HOME/venv/bin/python bench/pipeline/s3_put_cost.py [--mb 6.4] [--repeats 15]

Puts a body of JSON lines of about --mb megabytes into a scratch bucket --repeats times
with each client, alternating: "job" is the job's S3 client config (writer.client_config: the
body's CRC32 checksum, no SHA-256 hash of the payload), "default" botocore's defaults
(over plain HTTP it hashes the whole body to sign it). Prints per client the median wall
time of a put, the client's CPU time and, on the local stack, MinIO's CPU time per put
(from /proc, the process listening on the configured port). The bucket is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra"))
sys.path.insert(0, str(REPO / "python" / "jobs"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims_cost import local_pid, server_cpu_ms  # noqa: E402


def body(megabytes: float) -> bytes:
    """Anomaly-like JSON lines (~700 bytes each, the size of the job's records) of about `megabytes`."""
    line = json.dumps({"anomaly_id": "0" * 32, "device_id": "dev-000123", "metric": "temperature",
                       "explanation": {"note": "x" * 480}}, separators=(",", ":")).encode() + b"\n"
    return line * max(1, int(megabytes * 1e6 / len(line)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=6.4, help="object size, megabytes")
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    import boto3
    from botocore.config import Config
    from vigil_ops import config as vconfig
    from vigil_stream.writer import client_config
    cfg = vconfig.load()
    kwargs = cfg.s3_client_kwargs()
    job = client_config("s3")
    clients = {"job": boto3.client("s3", config=job, **kwargs),
               "default": boto3.client("s3", config=Config(retries=job.retries, max_pool_connections=32,
                                                           s3={"addressing_style": "path"}), **kwargs)}
    bucket = f"vigil-bench-s3put-{uuid.uuid4().hex[:8]}"
    clients["job"].create_bucket(Bucket=bucket)
    port = int(cfg.s3.endpoint.rsplit(":", 1)[1].split("/")[0]) if cfg.s3.endpoint else None
    server = local_pid(port) if port else None
    data = body(args.mb)
    wall: dict[str, list[float]] = {k: [] for k in clients}
    cpu: dict[str, list[float]] = {k: [] for k in clients}
    srv: dict[str, list[float]] = {k: [] for k in clients}
    try:
        for i in range(args.repeats + 1):
            for name, s3 in clients.items():
                s0, c0, t0 = server_cpu_ms(server), time.process_time(), time.perf_counter()
                s3.put_object(Bucket=bucket, Key=f"{name}-{i}", Body=data, ContentType="application/x-ndjson")
                t1, c1, s1 = time.perf_counter(), time.process_time(), server_cpu_ms(server)
                if i == 0:
                    continue  # connection set-up
                wall[name].append((t1 - t0) * 1000)
                cpu[name].append((c1 - c0) * 1000)
                if s0 is not None and s1 is not None:
                    srv[name].append(s1 - s0)
    finally:
        s3 = clients["job"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=o["Key"])
        s3.delete_bucket(Bucket=bucket)
    out = {"object_bytes": len(data), "repeats": args.repeats}
    for name in clients:
        out[name] = {"put_ms_median": round(statistics.median(wall[name]), 1),
                     "client_cpu_ms_median": round(statistics.median(cpu[name]), 1),
                     "server_cpu_ms_median": round(statistics.median(srv[name]), 1) if srv[name] else None}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
