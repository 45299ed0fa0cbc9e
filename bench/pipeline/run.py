"""Pipeline benchmark: the streaming job vs Kafka's ConsumerPerformance, same data, same run.

    ./vigil stack up kafka dynamodb minio
    $VIGIL_HOME/venv/bin/python bench/pipeline/run.py [--devices 10000] [--events 6000000]

1. throughput: vigil-produce writes --events events of --devices devices into a fresh
   topic (the simulator's mix at --anomaly-rate; no episode in a device's first
   --anomaly-warmup readings, which lets the detectors warm up); Kafka's
   ConsumerPerformance reads them --repeats times before the job and --repeats times
   after it (the ratio uses the median of all); the job (spark-submit, the same launcher
   as `./vigil stream start`) reads them from the beginning. Sustained events/s = the
   events of the batches that start after every device's warm-up, without the first of
   them and without a partial last one (the topic's remainder), over their wall time:
   anomalies flow at the mix's rate there, each with its DynamoDB claim. Also reported:
   the rate without batch 0 (JVM and Python worker warm-up), which is mostly the warm-up
   phase's, where nearly nothing is flagged.
2. latency: a second fresh topic; the job starts first (trigger as fast as possible),
   then vigil-produce sends --latency-rate events/s for --latency-warmup-seconds plus
   --latency-seconds (the simulator's default anomaly mix unless --latency-anomaly-rate).
   Latency of an anomaly = the time the put_object of its S3 object returned (the
   object is visible; the sink's `anomalies_visible_ms`) - its Kafka timestamp. p50 / p99 over the anomalies whose Kafka timestamp
   falls in the measured seconds.
Prints a JSON summary and, with --markdown, the RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra"))
sys.path.insert(0, str(REPO / "python" / "jobs"))

from vigil_ops import config as vconfig  # noqa: E402
from vigil_ops import stream  # noqa: E402
from vigil_ops.stack import process  # noqa: E402


def die(msg: str) -> None:
    print(f"bench/pipeline: {msg}", file=sys.stderr)
    sys.exit(1)


def produce(cfg, binary: Path, topic: str, out: Path, *args: str) -> dict:
    stats = out / f"{topic}-stats.json"
    run = subprocess.run([str(binary), "--bootstrap", cfg.kafka.bootstrap, "--topic", topic, "--quiet",
                          "--stats", str(stats), *args], capture_output=True, text=True)
    if run.returncode != 0:
        die(f"vigil-produce failed ({run.returncode}): {run.stderr[-2000:]}")
    return json.loads(stats.read_text())


def make_topic(cfg, name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": cfg.kafka.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)


def consumer_perf(cfg, topic: str, messages: int) -> float:
    jars = cfg.home / "jars" / "kafka"
    cmd = ["java", "-Xmx1g", "-cp", f"{jars}/*", "org.apache.kafka.tools.ConsumerPerformance",
           "--bootstrap-server", cfg.kafka.bootstrap, "--topic", topic, "--messages", str(messages),
           "--timeout", "120000", "--group", f"bench-{uuid.uuid4().hex[:8]}"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        die(f"ConsumerPerformance failed ({run.returncode}): {run.stderr[-2000:]}")
    lines = [line for line in run.stdout.splitlines() if re.match(r"^\d{4}-", line)]
    if not lines:
        die(f"cannot read ConsumerPerformance output:\n{run.stdout[-2000:]}")
    fields = [f.strip() for f in lines[-1].split(",")]
    return float(fields[5])  # nMsg.sec


def run_job(cfg, name: str, out: Path, overrides: dict, java_options: str = "",
            job_env: list[str] = ()) -> tuple:
    progress = out / f"{name}-progress.jsonl"
    ov = {"progress_file": str(progress), "checkpoint_location": str(out / f"{name}-checkpoint"),
          "dlq_topic": None, **overrides}
    # SPARK_SUBMIT_OPTS reaches the job's JVM (in local mode the driver runs the tasks too).
    rec = stream.start(cfg, overrides=ov, name=name, wait_s=600,
                       env={"VIGIL_FAULT": "", "SPARK_SUBMIT_OPTS": java_options,
                            **dict(kv.split("=", 1) for kv in job_env)})
    return rec, progress


def sink_batches(progress: Path) -> list[dict]:
    from vigil_stream.progress import read
    return sorted({r["batch_id"]: r for r in read(str(progress)) if r.get("kind") == "sink"}.values(),
                  key=lambda b: b["batch_id"])


def wait_consumed(rec, progress: Path, total: int, timeout_s: float, log: Path) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        b = sink_batches(progress)
        if sum(x["input"] for x in b) >= total:
            return b
        if not process.is_ours(rec):
            die(f"the job died:\n{process.tail(log, 40)}")
        time.sleep(1)
    die(f"the job did not consume {total} events in {timeout_s}s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--metrics", type=int, default=3)
    p.add_argument("--events", type=int, default=6_000_000,
                   help="throughput events; the simulator injects no anomaly in a device's first "
                        "--anomaly-warmup readings, so keep it well above devices x that")
    p.add_argument("--anomaly-rate", type=float, default=0.002,
                   help="vigil-produce --anomaly-rate of the throughput run (0.002: its default mix)")
    p.add_argument("--anomaly-warmup", type=int, default=300,
                   help="vigil-produce --anomaly-warmup of the throughput run (300: its default)")
    p.add_argument("--partitions", type=int, default=2)
    p.add_argument("--max-offsets", type=int, default=500_000, help="maxOffsetsPerTrigger")
    p.add_argument("--repeats", type=int, default=3, help="ConsumerPerformance runs")
    p.add_argument("--latency-rate", type=int, default=10_000)
    p.add_argument("--latency-seconds", type=int, default=60, help="measured seconds")
    p.add_argument("--latency-warmup-seconds", type=int, default=30,
                   help="seconds sent at the same rate before the measured ones (JVM, workers, "
                        "detector warm-up); their anomalies are not counted")
    p.add_argument("--latency-devices", type=int, default=100,
                   help="devices in the latency run (few, so detectors warm up within it)")
    p.add_argument("--latency-anomaly-rate", type=float, default=0.002,
                   help="vigil-produce --anomaly-rate of the latency run (0.002: its default mix)")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--produce", default=os.environ.get("VIGIL_PRODUCE"))
    p.add_argument("--out", default=None, help="work directory (default $VIGIL_HOME/bench/pipeline)")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--kafka-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Kafka consumer option for the job (repeatable), e.g. max.partition.fetch.bytes=8388608")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Spark setting for the job (repeatable), e.g. spark.eventLog.enabled=true")
    p.add_argument("--job-java-options", default="", metavar="OPTS",
                   help="extra JVM options for the job's JVM only (not ConsumerPerformance's), "
                        "e.g. -XX:+UseParallelGC; they come before the launcher's own "
                        "(stream.jvm_conf for a local master: -XX:TieredStopAtLevel=1 -XX:G1HeapRegionSize=16m), "
                        "which win a conflict")
    p.add_argument("--routing", choices=("partition", "device"),
                   help="the job's routing (config routing; default: the job's)")
    p.add_argument("--job-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment variable for the job's processes only (repeatable)")
    p.add_argument("--kafka-source", choices=("vigil", "spark"), default=None,
                   help="the job's Kafka source (default: the job's default); --kafka-option then "
                        "names librdkafka (vigil) or Java client (spark) settings")
    args = p.parse_args()
    cfg = vconfig.load()
    binary = Path(args.produce) if args.produce else cfg.home / "build" / "bin" / "vigil-produce"
    if not binary.is_file():
        die(f"vigil-produce not found at {binary}: ./vigil build, or --produce PATH")
    out = Path(args.out) if args.out else cfg.home / "bench" / "pipeline"
    out.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    bucket, table = f"vigil-bench-{run_id}", f"vigil-bench-{run_id}"
    common = {"s3_bucket": bucket, "ddb_table": table}
    bad = [kv for kv in args.spark_conf + args.kafka_option + args.job_env if "=" not in kv]
    if bad:
        die(f"--spark-conf, --kafka-option and --job-env want KEY=VALUE, got {bad[0]!r}")
    if args.kafka_option:
        common["kafka_options"] = {**stream.job_config(cfg)["kafka_options"],
                                   **dict(kv.split("=", 1) for kv in args.kafka_option)}
    if args.kafka_source:
        common["kafka_source"] = args.kafka_source
    if args.routing:
        common["routing"] = args.routing
    if args.spark_conf:
        common["spark_conf"] = {**stream.job_config(cfg)["spark_conf"], **dict(kv.split("=", 1) for kv in args.spark_conf)}
    result: dict = {"kafka_source": common.get("kafka_source", "default"),
                    "routing": common.get("routing", "default"), "devices": args.devices, "metrics": args.metrics, "events": args.events,
                    "partitions": args.partitions, "cores": os.cpu_count(),
                    "load_avg_at_start": os.getloadavg()[0]}

    try:
        if not args.skip_throughput:
            throughput(cfg, args, binary, out, run_id, common, result)
        if not args.skip_latency:
            latency(cfg, args, binary, out, run_id, common, bucket, result)
    finally:
        drop_claims_table(cfg, table)
    print(json.dumps(result, indent=1))
    return 0


def drop_claims_table(cfg, table: str) -> None:
    """DynamoDB Local slows down as its one database file grows: a run leaves no table."""
    import boto3
    ddb = boto3.client("dynamodb", **cfg.dynamodb_client_kwargs())
    try:
        ddb.delete_table(TableName=table)
    except ddb.exceptions.ResourceNotFoundException:
        pass


def throughput(cfg, args, binary, out, run_id, common, result) -> None:
    topic = f"vigil-bench-{run_id}"
    make_topic(cfg, topic, args.partitions)
    st = produce(cfg, binary, topic, out, "--devices", str(args.devices), "--metrics", str(args.metrics),
                 "--events", str(args.events), "--rate", "0", "--seed", "1",
                 "--anomaly-rate", str(args.anomaly_rate), "--anomaly-warmup", str(args.anomaly_warmup))
    n = st["delivered"]
    result["avg_event_bytes"] = round(st["delivered_bytes"] / n, 1)
    # ConsumerPerformance runs before and after the job: this machine's speed drifts by
    # tens of percent within minutes, and the baseline should see the same drift.
    before = [consumer_perf(cfg, topic, n) for _ in range(args.repeats)]
    rec, progress = run_job(cfg, f"bench-tput-{run_id}", out, {**common, "kafka_topic": topic,
                            "max_offsets_per_trigger": args.max_offsets, "trigger_interval_ms": 0},
                            args.job_java_options, args.job_env)
    try:
        batches = wait_consumed(rec, progress, n, 3600, cfg.home / f"bench-tput-{run_id}" / "log")
    finally:
        process.stop(rec, 30)
    after = [consumer_perf(cfg, topic, n) for _ in range(args.repeats)]
    kafka = before + after
    result["consumer_perf_events_per_s"] = kafka
    result["consumer_perf_before_after_median"] = [statistics.median(before), statistics.median(after)]
    first_start = batches[0]["time_ms"] - batches[0]["batch_ms"]
    wall_s = (batches[-1]["time_ms"] - first_start) / 1000
    steady = batches[1:] or batches
    steady_s = (batches[-1]["time_ms"] - (steady[0]["time_ms"] - steady[0]["batch_ms"])) / 1000
    result["job_events_per_s"] = round(n / wall_s)
    result["job_events_per_s_after_batch0"] = round(sum(b["input"] for b in steady) / steady_s)
    # The sustained rate: the batches that start once every device is past the simulator's
    # anomaly warm-up, without the first of them (episodes are still starting there), so
    # that anomalies flow at the mix's steady rate and each one costs its DynamoDB claim.
    start, flowing = 0, []
    for b in batches:
        if start >= args.devices * args.anomaly_warmup:
            flowing.append(b)
        start += b["input"]
    flowing = flowing[1:]
    # The last batch takes what is left of the topic (a few events) with a whole batch's
    # fixed cost: not a sustained batch.
    if flowing and flowing[-1]["input"] < 0.9 * args.max_offsets:
        flowing = flowing[:-1]
    if len(flowing) >= 2:
        span_s = (flowing[-1]["time_ms"] - (flowing[0]["time_ms"] - flowing[0]["batch_ms"])) / 1000
        result["sustained_batches"] = len(flowing)
        result["sustained_events_per_s"] = round(sum(b["input"] for b in flowing) / span_s)
        result["sustained_anomalies_per_batch_median"] = statistics.median(b["anomalies_found"] for b in flowing)
        result["sustained_claim_ms_median"] = statistics.median(b["claim_ms"] for b in flowing)
        result["sustained_batch_ms_median"] = statistics.median(b["batch_ms"] for b in flowing)
    result["anomaly_rate"] = args.anomaly_rate
    result["batches"] = len(batches)
    result["batch_ms_median"] = statistics.median(b["batch_ms"] for b in batches)
    result["detect_ms_median"] = statistics.median(b["detect_ms"] for b in batches)
    result["sink_ms_median"] = statistics.median(b["sink_ms"] for b in batches)
    result["state_bytes_per_device"] = round(batches[-1]["state_bytes"] / max(1, batches[-1]["devices"]), 1)
    result["ratio_to_consumer_perf_after_batch0"] = round(
        result["job_events_per_s_after_batch0"] / statistics.median(kafka), 3)
    if "sustained_events_per_s" in result:
        result["ratio_to_consumer_perf"] = round(result["sustained_events_per_s"] / statistics.median(kafka), 3)


def latency(cfg, args, binary, out, run_id, common, bucket, result) -> None:
    """Kafka timestamp -> the batch that wrote the record finished its S3 puts."""
    ltopic = f"vigil-bench-lat-{run_id}"
    make_topic(cfg, ltopic, args.partitions)
    name = f"bench-lat-{run_id}"
    rec, progress = run_job(cfg, name, out, {**common, "kafka_topic": ltopic, "trigger_interval_ms": 0,
                                             "starting_offsets": "earliest",
                                             "max_offsets_per_trigger": args.max_offsets},
                            args.job_java_options, args.job_env)
    try:
        measured_from_ms = int(time.time() * 1000) + args.latency_warmup_seconds * 1000
        lst = produce(cfg, binary, ltopic, out, "--devices", str(args.latency_devices), "--metrics",
                      str(args.metrics), "--rate", str(args.latency_rate), "--duration",
                      f"{args.latency_seconds + args.latency_warmup_seconds}s", "--anomaly-rate", str(args.latency_anomaly_rate), "--malformed-rate", "0.005",
                      "--seed", "2")
        batches = wait_consumed(rec, progress, lst["delivered"], 1800, cfg.home / name / "log")
    finally:
        process.stop(rec, 30)
    import boto3
    from botocore.config import Config as BotoConfig
    s3 = boto3.client("s3", config=BotoConfig(s3={"addressing_style": "path"}), **cfg.s3_client_kwargs())
    # <what>_visible_ms: wall clock when the batch's put_object calls for those objects
    # returned, i.e. when they were visible in S3.
    for what, prefix in (("anomalies", cfg.s3.prefix), ("dead_letters", cfg.s3.dead_letter_prefix)):
        done = {b["batch_id"]: b[f"{what}_visible_ms"] for b in batches}
        lat = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                m = re.match(r"part-(\d+)-\d+\.json", o["Key"].rsplit("/", 1)[-1])
                if not m or int(m.group(1)) not in done:
                    continue
                body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
                for line in body.splitlines():
                    r = json.loads(line)
                    if r["kafka_topic"] == ltopic and r["kafka_timestamp_ms"] >= measured_from_ms:
                        lat.append(done[int(m.group(1))] - r["kafka_timestamp_ms"])
        lat.sort()
        if lat:
            result[f"latency_{what}"] = {"n": len(lat), "p50_ms": lat[len(lat) // 2],
                                         "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))]}
    result["latency_rate"] = args.latency_rate
    result["latency_anomaly_rate"] = args.latency_anomaly_rate
    result["latency_devices"] = args.latency_devices
    measured = [b for b in batches if b["time_ms"] >= measured_from_ms]
    result["latency_warmup_seconds"] = args.latency_warmup_seconds
    result["latency_seconds"] = args.latency_seconds
    result["latency_batch_ms_median"] = statistics.median(b["batch_ms"] for b in measured or batches)
    result["latency_batches"] = len(measured)


if __name__ == "__main__":
    sys.exit(main())
