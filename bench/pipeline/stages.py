"""Where a micro-batch's time goes: the job's plan cut after each step, same topic.

    ./vigil stack up kafka
    $VIGIL_HOME/venv/bin/python bench/pipeline/stages.py --topic TOPIC [--max-offsets 500000]

Runs one query per step over the same Kafka topic (earliest offsets, back-to-back batches, a
fresh checkpoint each), each cut at a different step:

  read     Kafka rows, counted in foreachBatch (Spark's Kafka source alone)
  handoff  + mapInArrow with a function that only counts (JVM rows -> Arrow -> Python)
  route    + the route step (C++ decode, split by bucket, IPC packing)
  source   the job's own source instead (C++ read + route in the Python data source), counted
  full     the whole job minus the sink: source, watermark, shuffle, applyInPandasWithState
           detection, unpack in foreachBatch (--kafka-source picks the source; default: the job's)

and prints, per query, the wall time of each batch after the first (JVM, JIT and Python
worker warm-up) with its median. The difference between neighbours is the cost of a step.
Fill the topic first, e.g. with vigil-produce --rate 0 --events 2000000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra"))
sys.path.insert(0, str(REPO / "python" / "jobs"))

STEPS = ("read", "handoff", "route", "source", "full")


def plan(step: str, df, cfg):
    import pyarrow as pa
    from vigil_stream import job
    from vigil_stream.transform import KAFKA_COLUMNS, PACKED_SCHEMA, route_batches
    if step == "read":
        return df.select("offset")
    if step == "handoff":
        def count(batches):
            n = sum(b.num_rows for b in batches)
            yield pa.RecordBatch.from_pydict({
                "bucket": pa.array([0], pa.int32()), "event_time": pa.array([None], pa.timestamp("us", tz="UTC")),
                "rows": pa.array([n], pa.int64()), "payload": pa.array([b""], pa.binary())})
        return df.select(*KAFKA_COLUMNS).mapInArrow(count, PACKED_SCHEMA)
    if step == "route":
        return df.select(*KAFKA_COLUMNS).mapInArrow(route_batches(cfg.num_buckets), PACKED_SCHEMA)
    if step == "source":
        return df.select("rows")
    return job.transform(df, cfg, "")


def run(spark, step: str, cfg, batches: int) -> list[float]:
    from vigil_stream import job
    from vigil_stream.transform import unpack
    times: list[float] = []

    def sink(d, batch_id):
        t = time.monotonic()
        if step == "read":
            d.count()
        elif step == "full":
            unpack(d.toArrow())
        elif step == "source":
            d.selectExpr("sum(rows)").collect()
        else:
            d.selectExpr("sum(rows)").collect()
        times.append(time.monotonic() - t)

    q = (plan(step, job.read_kafka(spark, cfg), cfg).writeStream.foreachBatch(sink)
         .option("checkpointLocation", cfg.checkpoint_location).trigger(processingTime="0 seconds").start())
    while q.isActive and len(times) < batches:
        time.sleep(0.2)
    q.stop()
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--topic", required=True)
    p.add_argument("--max-offsets", type=int, default=500_000, help="maxOffsetsPerTrigger")
    p.add_argument("--batches", type=int, default=4, help="batches per query (the first is warm-up)")
    p.add_argument("--buckets", type=int, default=4)
    p.add_argument("--steps", default=",".join(STEPS))
    p.add_argument("--kafka-source", choices=("vigil", "spark"), default="vigil",
                   help="the source of the full step (read, handoff and route use Spark's; source the job's)")
    p.add_argument("--routing", choices=("partition", "device"), default="partition",
                   help="the job's routing (config routing) for the source and full steps")
    p.add_argument("--kafka-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Kafka consumer option (repeatable), as run.py")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Spark setting (repeatable), as run.py")
    args = p.parse_args()
    from pyspark.sql import SparkSession
    from vigil_ops import config as vconfig
    from vigil_stream import job
    from vigil_stream.config import JobConfig
    vc = vconfig.load()
    # Python workers are started by the JVM with this environment (local master).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "python" / "jobs")] + [x for x in os.environ.get("PYTHONPATH", "").split(os.pathsep) if x])
    out = {}
    with tempfile.TemporaryDirectory(prefix="vigil-stages-") as tmp:
        base = {"kafka_bootstrap": vc.kafka.bootstrap, "kafka_topic": args.topic, "s3_bucket": "unused",
                "ddb_table": "unused", "num_buckets": args.buckets,
                "max_offsets_per_trigger": args.max_offsets,
                "kafka_options": dict(kv.split("=", 1) for kv in args.kafka_option),
                "spark_conf": dict(kv.split("=", 1) for kv in args.spark_conf)}
        cfg0 = JobConfig.from_dict({**base, "checkpoint_location": f"{tmp}/cp"})
        builder = (SparkSession.builder.master(vc.spark.master).appName("vigil-stages")
                   .config("spark.jars", ",".join(vc.spark_kafka_jars()))
                   .config("spark.driver.memory", "2g").config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
        for k, v in job.session_conf(cfg0).items():
            builder = builder.config(k, v)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        for step in args.steps.split(","):
            if step not in STEPS:
                p.error(f"--steps: unknown step {step!r} (one of {', '.join(STEPS)})")
            source = {"source": "vigil", "full": args.kafka_source}.get(step, "spark")
            cfg = JobConfig.from_dict({**base, "checkpoint_location": f"{tmp}/cp-{step}",
                                       "kafka_source": source, "routing": args.routing})
            times = run(spark, step, cfg, args.batches)
            steady = times[1:] or times
            out[step] = {"batch_s": [round(t, 2) for t in times],
                         "median_s_after_first": round(statistics.median(steady), 2)}
            print(step, json.dumps(out[step]), flush=True)
        spark.stop()
    print(json.dumps({"topic": args.topic, "max_offsets": args.max_offsets, "steps": out}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
