"""foreachBatch glue: collect the micro-batch as Arrow once, unpack it, then sink.write_batch.

The owner of a batch's claims is the streaming query id, which is stable across
restarts from the same checkpoint and new for a new checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from typing import Optional

from .claims import ClaimStore, ensure_table
from .config import JobConfig
from .progress import append
from .sink import Fault, SinkContext, write_batch


# Every S3 body carries its CRC32 checksum (botocore's default), which the server checks.
# Without this, botocore also SHA-256-signs the whole body of a request over plain HTTP
# (the local stack's loopback endpoint; over HTTPS it does not anyway), and the server
# hashes it again: a 6.4 MB object took 43-45 ms to put, 30-32 ms without, with a third less
# CPU on both sides (bench/pipeline/s3_put_cost.py; bench/RESULTS.md, "Pipeline"). The
# request itself is still signed.
S3_CONFIG = {"addressing_style": "path", "payload_signing_enabled": False}


def client_config(service: str):
    """The botocore Config of the job's client for `service` ("s3" or "dynamodb")."""
    from botocore.config import Config
    extra = {"s3": S3_CONFIG} if service == "s3" else {}
    return Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32, **extra)


def aws_clients(cfg: JobConfig):
    import boto3
    s3 = boto3.client("s3", endpoint_url=cfg.s3_endpoint, region_name=cfg.region, config=client_config("s3"))
    ddb = boto3.client("dynamodb", endpoint_url=cfg.ddb_endpoint, region_name=cfg.region,
                       config=client_config("dynamodb"))
    return s3, ddb


def ensure_bucket(s3, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


def query_id_of(df, cfg: JobConfig) -> str:
    """The id of the running query (Spark sets it as a local property of the batch thread)."""
    qid = df.sparkSession.sparkContext.getLocalProperty("sql.streaming.queryId")
    if qid:
        return qid
    meta = os.path.join(cfg.checkpoint_location.removeprefix("file:"), "metadata")
    with open(meta, encoding="utf-8") as f:
        return json.loads(f.readline())["id"]


class BatchWriter:
    """The foreachBatch function; holds the AWS clients across batches."""

    def __init__(self, cfg: JobConfig, detector_yaml: str):
        self._cfg = cfg
        self._detector_yaml = detector_yaml
        self._ctx: Optional[SinkContext] = None
        self._fault = Fault.parse(os.environ.get("VIGIL_FAULT"))

    def _context(self, df) -> SinkContext:
        if self._ctx is None:
            from .transform import engine_for
            s3, ddb = aws_clients(self._cfg)
            ensure_bucket(s3, self._cfg.s3_bucket)
            ensure_table(ddb, self._cfg.ddb_table)
            dlq = None
            if self._cfg.dlq_topic:
                from confluent_kafka import Producer
                dlq = Producer({"bootstrap.servers": self._cfg.kafka_bootstrap, "enable.idempotence": True})
            self._ctx = SinkContext(
                cfg=self._cfg, s3=s3, claims=ClaimStore(ddb, self._cfg.ddb_table, self._cfg.claim_ttl_days),
                owner=query_id_of(df, self._cfg),
                detector_version=engine_for(self._detector_yaml).detector_version,
                fault=self._fault, dlq=dlq)
            from .worker import freeze_heap, tune_malloc
            tune_malloc()  # the sink's tables and record buffers are tens of MB per batch
            freeze_heap()  # the clients and their service models are loaded by now
        return self._ctx

    def __call__(self, df, batch_id: int) -> None:
        t0 = time.monotonic()
        ctx = self._context(df)
        from .transform import unpack
        table = unpack(df.toArrow())
        collect_ms = (time.monotonic() - t0) * 1000
        progress = write_batch(ctx, table, batch_id)
        progress.update({"kind": "sink", "collect_ms": round(collect_ms, 3),
                         "batch_ms": round((time.monotonic() - t0) * 1000, 3),
                         "time_ms": int(time.time() * 1000)})
        if self._cfg.progress_file:
            append(self._cfg.progress_file, progress)
