"""`./vigil demo`: the whole pipeline, from nothing, on simulated data.

1. bring the local stack up (Kafka, DynamoDB Local, MinIO, Airflow) and unpause
   the Vigil DAGs in Airflow (the stream supervisor stays paused: it would replace
   the demo's job with the configured one);
2. provision the topic, the claims table (TTL on) and the output bucket;
3. start the streaming job from the topic's current end (a fresh checkpoint);
4. run the fleet simulator with injected anomalies, duplicates, malformed and
   late events, and show live progress (events/s, anomalies, the latest ones);
5. at the end: where the results are in S3, precision and recall against the
   simulator's ground truth, and how to look further.

The job keeps running afterwards (Spark UI); `./vigil stream stop` stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from vigil_ops import config as vconfig
from vigil_ops import stream
from vigil_ops.stack import process

# A detection matches an episode of its device when its event time lies in the
# episode's span, widened by this much after its end (detectors confirm late).
TOLERANCE_MS = 30_000


def event_wise(records: list[dict], labels: list[dict], tolerance_ms: int = TOLERANCE_MS):
    """(recall over episodes, precision over detections, {kind: [hit, total]})."""
    by_device: dict[str, list[dict]] = {}
    for ep in labels:
        by_device.setdefault(ep["device_id"], []).append(ep)
    hit: set[str] = set()
    true_pos = 0
    for r in records:
        for ep in by_device.get(r["device_id"], []):
            if ep["start_ts_ms"] <= r["event_time_ms"] <= ep["end_ts_ms"] + tolerance_ms:
                hit.add(ep["episode_id"])
                true_pos += 1
                break
    kinds: dict[str, list[int]] = {}
    for ep in labels:
        k = kinds.setdefault(ep["kind"], [0, 0])
        k[0] += ep["episode_id"] in hit
        k[1] += 1
    recall = len(hit) / len(labels) if labels else 1.0
    precision = true_pos / len(records) if records else 0.0
    return recall, precision, kinds


def describe(r: dict) -> str:
    """One line for an anomaly record in the live view. A device-level anomaly (the gap
    detector: a device went silent) has no metric or value; its explanation's note says what."""
    what = ", ".join(r.get("detectors") or []) or "sustained: smoothed score"
    if r.get("value") is None:
        try:
            note = json.loads(r.get("explanation") or "{}").get("note") or ""
        except json.JSONDecodeError:
            note = ""
        return f"{r['event_time']} {r['device_id']} {note or 'device-level anomaly'} severity {r['severity']} ({what})"
    return f"{r['event_time']} {r['device_id']} {r['metric']}={r['value']:.3f} severity {r['severity']} ({what})"


def say(msg: str = "") -> None:
    print(msg, flush=True)


def provision(cfg: vconfig.Config, partitions: int) -> dict[str, int]:
    """Create topic, table and bucket if missing; return the topic's end offsets."""
    import boto3
    from botocore.config import Config as BotoConfig
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    sys.path.insert(0, str(stream.JOBS))
    from vigil_stream.claims import ensure_table

    admin = AdminClient({"bootstrap.servers": cfg.kafka.bootstrap})
    topics = admin.list_topics(timeout=15).topics
    if cfg.kafka.topic not in topics:
        admin.create_topics([NewTopic(cfg.kafka.topic, num_partitions=partitions,
                                      replication_factor=1)])[cfg.kafka.topic].result(30)
        say(f"  topic    {cfg.kafka.topic}: created ({partitions} partitions)")
    else:
        say(f"  topic    {cfg.kafka.topic}: exists")
    s3 = boto3.client("s3", config=BotoConfig(s3={"addressing_style": "path"}), **cfg.s3_client_kwargs())
    try:
        s3.head_bucket(Bucket=cfg.s3.bucket)
        say(f"  bucket   s3://{cfg.s3.bucket}: exists")
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=cfg.s3.bucket)
        say(f"  bucket   s3://{cfg.s3.bucket}: created")
    ensure_table(boto3.client("dynamodb", **cfg.dynamodb_client_kwargs()), cfg.dynamodb.table)
    say(f"  table    {cfg.dynamodb.table}: ready (TTL on expires_at)")
    meta = admin.list_topics(cfg.kafka.topic, timeout=15).topics[cfg.kafka.topic]
    c = Consumer({"bootstrap.servers": cfg.kafka.bootstrap, "group.id": "vigil-demo-probe"})
    ends = {}
    for p in sorted(meta.partitions):
        ends[str(p)] = c.get_watermark_offsets(TopicPartition(cfg.kafka.topic, p), timeout=15)[1]
    c.close()
    return ends


def read_records(cfg: vconfig.Config, s3, prefix: str, newer_than: float = 0) -> list[dict]:
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=cfg.s3.bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            if o["Key"].rsplit("/", 1)[-1].startswith("part-") and o["LastModified"].timestamp() >= newer_than:
                body = s3.get_object(Bucket=cfg.s3.bucket, Key=o["Key"])["Body"].read().decode()
                out += [json.loads(x) for x in body.splitlines()]
    return out


DAGS = ("vigil_provision", "vigil_hourly", "vigil_daily")
# The supervisor keeps the configured job (spark.checkpoint_location) alive and restarts
# it when that checkpoint makes no progress; the demo runs its own job on its own
# checkpoint, which the supervisor would take for a dead job and replace. Paused here.
SUPERVISOR = "vigil_stream_supervisor"


def unpause_dags(cfg: vconfig.Config, timeout_s: float = 120.0) -> None:
    """Unpause Vigil's DAGs (the supervisor paused) in the local Airflow, waiting for their first parse."""
    from vigil_ops.stack.__main__ import _paths
    from vigil_ops.stack.services import airflow_env

    env = {**os.environ, **airflow_env(cfg, _paths(cfg))}
    airflow = str(cfg.home / "airflow-venv" / "bin" / "airflow")
    todo = [("unpause", d) for d in DAGS] + [("pause", SUPERVISOR)]
    pending, deadline = todo, time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        pending = [(verb, d) for verb, d in pending
                   if subprocess.run([airflow, "dags", verb, d], env=env,
                                     capture_output=True).returncode != 0]
        if pending:
            time.sleep(5)
    if pending:
        say(f"    (not yet parsed by Airflow: {', '.join(d for _, d in pending)}; "
            f"see them in the UI)")
    else:
        say(f"    Airflow DAGs unpaused: {', '.join(DAGS)}; {SUPERVISOR} paused (the demo runs its own "
            f"job; unpause it to have Airflow keep `./vigil stream start`'s job running)")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="vigil demo", description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=200)
    p.add_argument("--metrics", type=int, default=3)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--rate", type=int, default=5_000, help="events/s from the simulator")
    p.add_argument("--seed", type=int, default=None, help="simulator seed (default: from the clock)")
    p.add_argument("--partitions", type=int, default=2, help="partitions of a topic created here")
    args = p.parse_args(argv)
    try:
        cfg = vconfig.load()
    except vconfig.ConfigError as e:
        print(f"vigil demo: {e}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    home = cfg.home
    demo_dir = home / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)

    producer = Path(os.environ.get("VIGIL_PRODUCE") or home / "build" / "bin" / "vigil-produce")
    if not producer.is_file():
        print(f"vigil demo: {producer} not found: ./vigil build (or set VIGIL_PRODUCE)", file=sys.stderr)
        return 1

    say("== 1/5 the local stack")
    if subprocess.run([sys.executable, "-m", "vigil_ops.stack", "up"]).returncode != 0:
        print("vigil demo: the stack did not come up (see above)", file=sys.stderr)
        return 1
    unpause_dags(cfg)
    say("\n== 2/5 provisioning")
    ends = provision(cfg, args.partitions)

    say("\n== 3/5 the streaming job (spark-submit, C++ decode + detection in Spark)")
    progress_file = demo_dir / "progress.jsonl"
    progress_file.unlink(missing_ok=True)
    stream.stop(cfg)
    started = time.time()
    try:
        rec = stream.start(cfg, overrides={
            "starting_offsets": json.dumps({cfg.kafka.topic: ends}),
            "checkpoint_location": str(demo_dir / f"checkpoint-{seed}"),
            "progress_file": str(progress_file)})
    except stream.StreamError as e:
        print(f"vigil demo: {e}", file=sys.stderr)
        return 1
    say(f"  running (pid {rec.pid}); log {home / 'stream' / 'log'}")

    say(f"\n== 4/5 simulating {args.devices} devices x {args.metrics} metrics, {args.events:,} events "
        f"at {args.rate:,}/s (seed {seed})")
    labels, stats = demo_dir / "labels.jsonl", demo_dir / "stats.json"
    sim = subprocess.Popen([str(producer), "--bootstrap", cfg.kafka.bootstrap, "--topic", cfg.kafka.topic,
                            "--devices", str(args.devices), "--metrics", str(args.metrics),
                            "--events", str(args.events), "--rate", str(args.rate), "--seed", str(seed),
                            "--duplicate-rate", "0.005", "--malformed-rate", "0.005", "--late-rate", "0.002",
                            "--max-lateness", "20s", "--labels", str(labels), "--stats", str(stats),
                            "--quiet"])
    import boto3
    from botocore.config import Config as BotoConfig
    sys.path.insert(0, str(stream.JOBS))
    from vigil_stream.progress import read
    s3 = boto3.client("s3", config=BotoConfig(s3={"addressing_style": "path"}), **cfg.s3_client_kwargs())
    delivered = None
    last_print = 0.0
    seen_batches: set[int] = set()
    while True:
        batches = {r["batch_id"]: r for r in read(str(progress_file)) if r.get("kind") == "sink"}
        consumed = sum(b["input"] for b in batches.values())
        if sim.poll() is not None and delivered is None:
            if sim.returncode != 0:
                print(f"vigil demo: the simulator failed (exit {sim.returncode})", file=sys.stderr)
                return 1
            delivered = json.loads(stats.read_text())["delivered"]
        new = [batches[b] for b in sorted(batches) if b not in seen_batches]
        if new and time.monotonic() - last_print > 1:
            last_print = time.monotonic()
            seen_batches.update(b["batch_id"] for b in new)
            tot = {k: sum(b[k] for b in batches.values()) for k in
                   ("valid", "invalid", "late", "anomalies_written", "duplicates_dropped")}
            rate = sum(b["input"] for b in new) / max(1e-3, sum(b["batch_ms"] for b in new) / 1000)
            say(f"  batch {max(batches):>4}  in {consumed:>9,}  {rate:>8,.0f} ev/s  valid {tot['valid']:,}  "
                f"invalid {tot['invalid']:,}  late {tot['late']:,}  anomalies {tot['anomalies_written']:,}  "
                f"duplicates dropped {tot['duplicates_dropped']:,}")
            latest = read_records(cfg, s3, cfg.s3.prefix, newer_than=time.time() - 3)[-3:]
            for r in latest:
                say(f"      ! {describe(r)}")
        if delivered is not None and consumed >= delivered:
            break
        if not process.is_ours(rec):
            print(f"vigil demo: the job died; end of its log:\n{process.tail(home / 'stream' / 'log', 40)}",
                  file=sys.stderr)
            return 1
        time.sleep(0.5)

    say("\n== 5/5 results")
    records = read_records(cfg, s3, cfg.s3.prefix, newer_than=started - 5)
    episodes = [json.loads(x) for x in labels.read_text().splitlines() if x.strip()]
    recall, precision, kinds = event_wise(records, episodes)
    say(f"  {len(records):,} anomalies in s3://{cfg.s3.bucket}/{cfg.s3.prefix}dt=YYYY-MM-DD/hr=HH/part-*.json")
    say(f"  dead letters in s3://{cfg.s3.bucket}/{cfg.s3.dead_letter_prefix}; progress in "
        f"s3://{cfg.s3.bucket}/_vigil/progress/ and {progress_file}")
    say(f"  against the simulator's {len(episodes)} labelled episodes ({labels}):")
    say(f"    event-wise recall {recall:.3f}, precision {precision:.3f}")
    say("    per kind (detected/total): " + ", ".join(f"{k} {h}/{n}" for k, (h, n) in sorted(kinds.items())))
    ep = cfg.s3.endpoint or ""
    ddb = cfg.dynamodb.endpoint or ""
    say("\n  look further:")
    say(f"    set -a; . {home / 'secrets.env'}; set +a; "
        "export AWS_ACCESS_KEY_ID=$MINIO_ROOT_USER AWS_SECRET_ACCESS_KEY=$MINIO_ROOT_PASSWORD")
    say(f"    aws s3 ls --recursive s3://{cfg.s3.bucket}/{cfg.s3.prefix}" + (f" --endpoint-url {ep}" if ep else ""))
    say(f"    aws dynamodb scan --table-name {cfg.dynamodb.table} --max-items 5"
        + (f" --endpoint-url {ddb}" if ddb else ""))
    say("    ./vigil stream status      per-batch progress; ./vigil stream stop ends the job")
    say("    Spark UI   http://127.0.0.1:4040 (4041, ... if taken) while the job runs")
    say("    Airflow UI http://127.0.0.1:8080 (./vigil stack status says where its login is)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
