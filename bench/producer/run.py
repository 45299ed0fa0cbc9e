#!/usr/bin/env python3
"""Producer benchmark: vigil-produce vs Kafka's own ProducerPerformance, same run.

Against the local broker (./vigil stack up), on one fresh topic per run:
  ours    vigil-produce simulating a fleet as fast as possible (--rate 0), one metric
          per event (about 200 bytes of JSON), no faults;
  kafka   org.apache.kafka.tools.ProducerPerformance (kafka-tools jar in
          $VIGIL_HOME/jars/kafka) with --record-size equal to our measured average
          event size, the same record count and the same producer settings
          (acks=all, idempotence, compression, linger.ms, batch.size).
Runs alternate ours/kafka; the medians and their ratio are printed, with the
machine and the command, as a Markdown block for bench/RESULTS.md.

  .vigil/venv/bin/python bench/producer/run.py [--records 2000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOME = Path(os.environ.get("VIGIL_HOME", REPO / ".vigil"))


def die(msg: str) -> None:
    print(f"bench/producer: error: {msg}", file=sys.stderr)
    sys.exit(2)


def make_topic(bootstrap: str, partitions: int) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic
    name = f"vigil-bench-producer-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name]
    future.result(30)
    return name


def drop_topic(bootstrap: str, name: str) -> None:
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the result
    try:
        admin.delete_topics([name])[name].result(30)
    except Exception as e:  # best effort; the topic is uniquely named
        print(f"bench/producer: could not delete topic {name}: {e}", file=sys.stderr)


def child_cpu_s() -> float:
    """User + system CPU seconds used by finished children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ours(args, topic: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as stats:
        cmd = [str(args.produce), "--bootstrap", args.bootstrap, "--topic", topic,
               "--events", str(args.records), "--rate", "0", "--devices", str(args.devices),
               "--metrics", "1", "--anomaly-rate", "0", "--compression", args.compression,
               "--linger-ms", str(args.linger_ms), "--batch-size", str(args.batch_size),
               "--stats", stats.name, "--quiet"]
        cpu0 = child_cpu_s()
        run = subprocess.run(cmd, capture_output=True, text=True)
        cpu = child_cpu_s() - cpu0
        if run.returncode != 0:
            die(f"vigil-produce failed ({run.returncode}): {run.stderr[-2000:]}")
        s = json.loads(Path(stats.name).read_text())
    return {"events_per_s": s["events_per_s"], "mb_per_s": s["mb_per_s"],
            "avg_bytes": s["delivered_bytes"] / s["delivered"], "cmd": cmd,
            "cpu_us_per_event": cpu / args.records * 1e6}


def run_kafka(args, topic: str, record_size: int) -> dict:
    props = {"bootstrap.servers": args.bootstrap, "acks": "all", "enable.idempotence": "true",
             "compression.type": args.compression, "linger.ms": args.linger_ms,
             "batch.size": args.batch_size}
    cmd = ["java", "-Xmx1g", "-cp", f"{args.jars}/*", "org.apache.kafka.tools.ProducerPerformance",
           "--topic", topic, "--num-records", str(args.records), "--record-size", str(record_size),
           "--throughput", "-1", "--producer-props", *[f"{k}={v}" for k, v in props.items()]]
    cpu0 = child_cpu_s()
    run = subprocess.run(cmd, capture_output=True, text=True)
    cpu = child_cpu_s() - cpu0
    if run.returncode != 0:
        die(f"ProducerPerformance failed ({run.returncode}): {run.stderr[-2000:]}")
    # Final line: "N records sent, X records/sec (Y MB/sec), ..."
    m = re.findall(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)", run.stdout)
    if not m:
        die(f"cannot read ProducerPerformance output:\n{run.stdout[-2000:]}")
    sent, rate, mb = m[-1]
    if int(sent) != args.records:
        die(f"ProducerPerformance sent {sent} of {args.records}")
    return {"events_per_s": float(rate), "mb_per_s": float(mb), "cmd": cmd,
            "cpu_us_per_event": cpu / args.records * 1e6}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    p.add_argument("--produce", type=Path, default=HOME / "build" / "bin" / "vigil-produce")
    p.add_argument("--jars", type=Path, default=HOME / "jars" / "kafka")
    p.add_argument("--records", type=int, default=2_000_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--compression", default="lz4")
    p.add_argument("--linger-ms", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=1_000_000)
    args = p.parse_args()
    if not args.produce.is_file():
        die(f"no vigil-produce at {args.produce} (./vigil build, or --produce PATH)")
    if not (args.jars / f"kafka-tools-{kafka_version(args.jars)}.jar").is_file():
        die(f"no kafka-tools jar in {args.jars} (./vigil setup stack)")

    args.load_start = os.getloadavg()[0]
    ours, kafka = [], []
    for i in range(args.repeats):
        topic = make_topic(args.bootstrap, args.partitions)
        try:
            ours.append(run_ours(args, topic))
        finally:
            drop_topic(args.bootstrap, topic)
        size = round(ours[-1]["avg_bytes"])
        topic = make_topic(args.bootstrap, args.partitions)
        try:
            kafka.append(run_kafka(args, topic, size))
        finally:
            drop_topic(args.bootstrap, topic)
        print(f"run {i + 1}/{args.repeats}: vigil-produce {ours[-1]['events_per_s']:,.0f} ev/s, "
              f"ProducerPerformance {kafka[-1]['events_per_s']:,.0f} rec/s ({size} B)", file=sys.stderr)

    med_ours = statistics.median(r["events_per_s"] for r in ours)
    med_kafka = statistics.median(r["events_per_s"] for r in kafka)
    avg_bytes = statistics.median(r["avg_bytes"] for r in ours)
    load = os.getloadavg()
    load_start = args.load_start
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    print(f"""
| producer | events/s (median of {args.repeats}) | MB/s | CPU us/event (median) | runs (events/s) |
|---|---|---|---|---|
| vigil-produce (librdkafka 2.0.2) | {med_ours:,.0f} | {statistics.median(r['mb_per_s'] for r in ours):.1f} | {statistics.median(r['cpu_us_per_event'] for r in ours):.2f} | {', '.join(f"{r['events_per_s']:,.0f}" for r in ours)} |
| ProducerPerformance (Kafka {kafka_version(args.jars)}) | {med_kafka:,.0f} | {statistics.median(r['mb_per_s'] for r in kafka):.1f} | {statistics.median(r['cpu_us_per_event'] for r in kafka):.2f} | {', '.join(f"{r['events_per_s']:,.0f}" for r in kafka)} |

Ratio vigil-produce / ProducerPerformance: **{med_ours / med_kafka:.2f}** (goal >= 0.8); vigil-produce
alone: **{med_ours:,.0f} events/s** (goal >= 500,000).

{args.records:,} records per run, {avg_bytes:.0f}-byte events (ProducerPerformance: --record-size
{round(avg_bytes)}), topic with {args.partitions} partitions, acks=all, idempotence on,
compression {args.compression}, linger.ms={args.linger_ms}, batch.size={args.batch_size}.
CPU us/event: user+system CPU of the producer process (JVM start included for
ProducerPerformance), not the broker's.
Machine: {os.cpu_count()} cores, {cpu}; load average {load_start:.1f} at the start and {load[0]:.1f} at the end.
Command: `.vigil/venv/bin/python bench/producer/run.py --records {args.records} --repeats {args.repeats}`
""")


def kafka_version(jars: Path) -> str:
    for jar in sorted(jars.glob("kafka-tools-*.jar")):
        m = re.match(r"kafka-tools-(\d[\d.]*)\.jar$", jar.name)
        if m:
            return m.group(1)
    return "?"


if __name__ == "__main__":
    main()
