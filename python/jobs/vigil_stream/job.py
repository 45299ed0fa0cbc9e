"""The Vigil streaming job: Kafka -> C++ decode/detect -> exactly-once S3 + DynamoDB.

    spark-submit --py-files vigil_stream.zip python/jobs/stream_job.py --config job.json

main() reads the resolved config (config.JobConfig), builds the session, and
wires readStream -> transform(df) -> writeStream.foreachBatch(BatchWriter).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Optional

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from .config import ConfigError, JobConfig
from .transform import (KAFKA_COLUMNS, PACKED_OUTPUT_SCHEMA, PACKED_SCHEMA, STATE_SCHEMA, detect_bucket,
                        route_batches)

ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
QUERY_NAME = "vigil"
FS_CHECKPOINT_MANAGER = ("org.apache.spark.sql.execution.streaming.checkpointing."
                         "FileSystemBasedCheckpointFileManager")


def is_local_path(location: str) -> bool:
    """A checkpoint on this machine's disk: a plain path or a file: URI."""
    scheme, sep, _ = location.partition(":")
    return not sep or scheme == "file" or len(scheme) == 1  # C:\... on Windows


def session_conf(cfg: JobConfig) -> dict[str, str]:
    """Spark settings the job needs; cfg.spark_conf may add or override any."""
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.streaming.stateStore.providerClass": ROCKSDB_PROVIDER,
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
        # One shuffle partition per bucket: a bucket is a task. Fixed by the checkpoint.
        "spark.sql.shuffle.partitions": str(cfg.num_buckets),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
        "spark.python.worker.reuse": "true",
        # The JVM talks to its Python workers over a Unix domain socket instead of loopback
        # TCP. Spark sets no TCP_NODELAY on those sockets, and a task's small writes waited
        # on Linux's delayed ACK: the Python data source's read() started ~41 ms after its
        # task (bench/RESULTS.md, "Pipeline"), twice per micro-batch.
        "spark.python.unix.domain.socket.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        # The only shuffled rows are routed chunks whose payloads are zstd-compressed Arrow
        # IPC already (transform.route_columns): compressing them again is CPU for nothing
        # (bench/RESULTS.md, "Pipeline": +3-4% events/s in two alternating pairs).
        "spark.shuffle.compress": "false",
    }
    if cfg.kafka_source != "spark":
        # With the job's own source every Spark row is a ~384 KB chunk of events, a few
        # rows per task, so Spark's generated code only ever costs: each task of each
        # micro-batch generated its projections again, and the stateful operator's
        # watermark predicate, which holds the batch's watermark as a literal, was
        # compiled anew every batch (JFR: ~26% of the task threads' CPU at 10,000
        # events/s). Interpreted expressions (an internal setting, the one Spark's own
        # tests use for that path) cut batches from 484-550 to 269-344 ms there
        # (bench/RESULTS.md, "Pipeline"). Spark's Kafka source has a row per event: not there.
        conf["spark.sql.codegen.factoryMode"] = "NO_CODEGEN"
    if is_local_path(cfg.checkpoint_location):
        # Without Hadoop's native library, the local FileContext resolves links by
        # running `readlink` in a child process (~20 per micro-batch: offsets, commits,
        # state changelogs and their checksums); the FileSystem API does not. Renames
        # on a local disk are atomic either way. Measured: state commit 260 -> 17 ms per
        # batch (bench/RESULTS.md, "Pipeline").
        conf["spark.sql.streaming.checkpointFileManagerClass"] = FS_CHECKPOINT_MANAGER
    conf.update({str(k): str(v) for k, v in cfg.spark_conf.items()})
    return conf


def build_session(cfg: JobConfig, master: Optional[str] = None) -> SparkSession:
    builder = SparkSession.builder.appName("vigil-stream")
    if master:
        builder = builder.master(master)
    for k, v in session_conf(cfg).items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


# Consumer settings the job changes; kafka_options may override them.
KAFKA_DEFAULTS = {
    # A task's cached consumer seeks to the batch's first offset while the fetch it
    # sent past the previous batch's end may still wait on the broker for new data
    # (default up to 500 ms): bound that wait, a task's Kafka read is ~tens of ms.
    "fetch.max.wait.ms": "100",
}


def kafka_reader_options(cfg: JobConfig) -> dict[str, str]:
    opts = {"kafka.bootstrap.servers": cfg.kafka_bootstrap, "subscribe": cfg.kafka_topic,
            "startingOffsets": cfg.starting_offsets,
            "maxOffsetsPerTrigger": str(cfg.max_offsets_per_trigger)}
    for k, v in {**KAFKA_DEFAULTS, **cfg.kafka_options}.items():
        opts[k if k.startswith("kafka.") else f"kafka.{k}"] = str(v)
    return opts


def source_options(cfg: JobConfig) -> dict[str, str]:
    """Options of the job's own source (source.KafkaRangeSource); kafka_options are librdkafka settings."""
    return {"bootstrap": cfg.kafka_bootstrap, "topic": cfg.kafka_topic, "num_buckets": str(cfg.num_buckets),
            "starting_offsets": cfg.starting_offsets, "routing": cfg.routing,
            "max_offsets_per_trigger": str(cfg.max_offsets_per_trigger),
            "kafka_settings": json.dumps({str(k): str(v) for k, v in cfg.kafka_options.items()})}


def _include_py_files_in_planner_path(spark: SparkSession) -> None:
    """Let the driver's Python planner processes import vigil_stream from --py-files.

    Spark 4.1.1 starts a Python data source's planner (initialOffset, latestOffset,
    partitions) with the --py-files zip missing from its sys.path, so unpickling the
    source fails with "No module named 'vigil_stream'". Python workers take PYTHONPATH
    from the environment of the functions wrapped after this (sc.environment): add the
    driver's copies of the --py-files. Executors ignore paths they do not have.
    """
    from pyspark import SparkFiles
    sc = spark.sparkContext
    root = SparkFiles.getRootDirectory()
    paths = [os.path.join(root, f) for f in (sc._python_includes or [])]
    old = sc.environment.get("PYTHONPATH")
    sc.environment["PYTHONPATH"] = os.pathsep.join([p for p in paths if os.path.exists(p)] + ([old] if old else []))


def read_kafka(spark: SparkSession, cfg: JobConfig) -> DataFrame:
    """The input stream: routed chunks (transform.PACKED_SCHEMA) from the job's own source,
    or Kafka rows from Spark's Kafka source (kafka_source: spark), routed by transform()."""
    if cfg.kafka_source == "spark":
        return spark.readStream.format("kafka").options(**kafka_reader_options(cfg)).load()
    from .source import KafkaRangeSource
    _include_py_files_in_planner_path(spark)
    spark.dataSource.register(KafkaRangeSource)
    return spark.readStream.format(KafkaRangeSource.name()).options(**source_options(cfg)).load()


def read_detector_config(cfg: JobConfig) -> str:
    """The detector YAML text ("" = the engine's built-in defaults), read once on the driver."""
    if not cfg.detector_config:
        return ""
    try:
        with open(cfg.detector_config, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"job config: 'detector_config' {cfg.detector_config}: {e.strerror}") from e


def transform(df: DataFrame, cfg: JobConfig, detector_yaml: str) -> DataFrame:
    """The input stream -> one packed row per bucket (transform.PACKED_OUTPUT_SCHEMA; transform.unpack
    gives the anomalies, dead letters and per-bucket stats of transform.OUTPUT_SCHEMA)."""
    routed = df
    if cfg.kafka_source == "spark":  # Spark's Kafka rows, routed here; the job's own source routes as it reads
        routed = df.select(*KAFKA_COLUMNS).mapInArrow(route_batches(cfg.num_buckets), PACKED_SCHEMA)
    detect = detect_bucket(detector_yaml)
    if cfg.kafka_source != "spark" and cfg.routing == "partition":
        from .source import piece_reader
        detect = detect_bucket(detector_yaml, piece_reader(source_options(cfg)))
    return (routed.withWatermark("event_time", f"{cfg.allowed_lateness_ms} milliseconds")
            .groupBy("bucket")
            .applyInPandasWithState(detect, PACKED_OUTPUT_SCHEMA, STATE_SCHEMA, "append", "NoTimeout"))


def start(spark: SparkSession, cfg: JobConfig) -> StreamingQuery:
    from .writer import BatchWriter
    detector_yaml = read_detector_config(cfg)
    writer = BatchWriter(cfg, detector_yaml)
    return (transform(read_kafka(spark, cfg), cfg, detector_yaml).writeStream
            .queryName(QUERY_NAME)
            .foreachBatch(writer)
            .option("checkpointLocation", cfg.checkpoint_location)
            .trigger(processingTime=f"{cfg.trigger_interval_ms} milliseconds")
            .start())


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil-stream", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="resolved job config (JSON)")
    parser.add_argument("--master", help="Spark master when not run by spark-submit")
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="stop after this many seconds (0 = run until stopped)")
    args = parser.parse_args(argv)
    try:
        cfg = JobConfig.load(args.config)
    except ConfigError as e:
        print(f"vigil-stream: {e}", file=sys.stderr)
        return 2
    from .progress import ProgressListener
    spark = build_session(cfg, args.master)
    spark.sparkContext.setLogLevel(os.environ.get("VIGIL_SPARK_LOG_LEVEL", "WARN"))
    if cfg.progress_file:
        spark.streams.addListener(ProgressListener(cfg.progress_file))
    deadline = time.monotonic() + args.max_seconds if args.max_seconds > 0 else None
    restarts = 0
    while True:
        query = start(spark, cfg)
        print(f"vigil-stream: query {query.id} started; checkpoint {cfg.checkpoint_location}", flush=True)
        try:
            if deadline is not None:
                if not query.awaitTermination(max(0.0, deadline - time.monotonic())):
                    query.stop()
            else:
                query.awaitTermination()
        except KeyboardInterrupt:
            query.stop()
        except Exception as e:  # StreamingQueryException
            if is_spark_55271(e) and restarts < MAX_55271_RESTARTS:
                restarts += 1
                print("vigil-stream: Spark 4.1.1 failed reporting Kafka metrics after a replayed batch "
                      "(SPARK-55271; the batch itself committed); restarting the query", flush=True)
                continue
            print(f"vigil-stream: query failed: {e}", file=sys.stderr)
            return 1
        return 0


# Spark 4.1.1's Kafka source throws a NullPointerException from its progress metrics when
# the first batch of a run is a replay from the offset log (latestOffset() never ran):
# SPARK-55271 / SPARK-57438. The replayed batch has committed by then, so starting the
# query again from the checkpoint continues correctly.
MAX_55271_RESTARTS = 5


def is_spark_55271(exc: BaseException) -> bool:
    text = str(exc)
    return ('Cannot invoke "scala.collection.IterableOps.map(scala.Function1)" because the return '
            'value of "scala.Option.get()" is null') in text
