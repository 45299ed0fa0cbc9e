"""`./vigil stream start|status|stop`: the Spark Structured Streaming job.

start   resolve the configuration (vigil_ops.config), write it as the job's JSON
        ($VIGIL_HOME/stream/job.json), and spark-submit python/jobs/stream_job.py
        detached (local[*] by default; spark.master picks any master), with the
        Kafka connector jars fetched at set-up. Waits until the query runs.
status  whether the job runs, and its last batches: input, valid, invalid, late,
        anomalies, duplicates dropped, rates, durations and Kafka lag.
stop    SIGTERM the job's process group, then SIGKILL after a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from vigil_ops import config as vconfig
from vigil_ops.stack import process

JOBS = vconfig.ROOT / "python" / "jobs"
_TRIGGER_UNITS = {"ms": 1, "millisecond": 1, "milliseconds": 1, "s": 1000, "second": 1000,
                  "seconds": 1000, "m": 60000, "minute": 60000, "minutes": 60000}


class StreamError(RuntimeError):
    pass


def stream_dir(cfg: vconfig.Config) -> Path:
    return cfg.home / "stream"


def trigger_ms(trigger: str) -> int:
    """'5 seconds' -> 5000; availableNow/once -> 0 (the job then processes what is there)."""
    if trigger in ("availableNow", "once"):
        return 0
    num, _, unit = trigger.replace("ms", " ms").partition(" ")
    return int(float(num) * _TRIGGER_UNITS[unit.strip() or "s"])


def job_config(cfg: vconfig.Config, **overrides: Any) -> dict[str, Any]:
    """The job's JSON config (vigil_stream.config.JobConfig keys) from the resolved config."""
    kafka_options = {}
    if cfg.kafka.security_protocol != "PLAINTEXT":
        kafka_options["security.protocol"] = cfg.kafka.security_protocol
    spark_conf = {}
    if cfg.spark.state_store == "hdfs":
        spark_conf["spark.sql.streaming.stateStore.providerClass"] = \
            "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider"
    job = {
        "kafka_bootstrap": cfg.kafka.bootstrap, "kafka_topic": cfg.kafka.topic,
        "starting_offsets": cfg.kafka.starting_offsets,
        "max_offsets_per_trigger": cfg.kafka.max_offsets_per_trigger,
        "kafka_source": cfg.kafka.source, "routing": cfg.kafka.routing, "kafka_options": kafka_options,
        "dlq_topic": cfg.kafka.dead_letter_topic,
        "s3_bucket": cfg.s3.bucket, "s3_endpoint": cfg.s3.endpoint, "s3_prefix": cfg.s3.prefix,
        "dead_letter_prefix": cfg.s3.dead_letter_prefix,
        "ddb_table": cfg.dynamodb.table, "ddb_endpoint": cfg.dynamodb.endpoint,
        "claim_ttl_days": cfg.dynamodb.ttl_days,
        "claim_window_ms": cfg.dynamodb.claim_window_s * 1000, "claim_shards": cfg.dynamodb.claim_shards,
        "region": cfg.aws.region,
        "checkpoint_location": cfg.spark.checkpoint_location,
        "num_buckets": cfg.spark.shuffle_partitions,
        "trigger_interval_ms": trigger_ms(cfg.spark.trigger),
        "detector_config": cfg.detector.config,
        "progress_file": str(stream_dir(cfg) / "progress.jsonl"),
        "spark_conf": spark_conf,
    }
    job.update(overrides)
    return job


def package_jobs(dest: Path) -> Path:
    """Zip python/jobs/vigil_stream for --py-files (executors import it by name)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted((JOBS / "vigil_stream").glob("*.py")):
            z.write(f, f"vigil_stream/{f.name}")
    os.replace(tmp, dest)
    return dest


# JVM options of the job's driver for a local master, where the driver JVM also runs every
# task (bench/RESULTS.md, "Pipeline"; on a cluster the JVM options stay the cluster's own):
# - C1 only. The JVM's work per micro-batch is Spark's own planning and scheduling code,
#   run a few times per batch: C2 never caught up with it (17-24% of a core compiling
#   70-100 s into a run) while C1 compiles it in one pass. Measured C1-only against the
#   default, in alternating runs: 257,611 / 251,692 vs 200,700 / 213,340 events/s, latency
#   p99 572 / 656 vs 654 / 793 ms.
# - G1 regions of 16 MB. Each bucket's state row (~2.2 MB for 5,000 devices) crosses the
#   JVM several times per batch; with the 1 MB regions of a 2 GB heap every copy is a
#   "humongous" object, allocated outside the young generation, and their churn kept G1's
#   concurrent marking busy (~6% of a core, plus its pauses). Objects under 8 MB now die
#   young like any other.
# - The whole heap from the start (-Xms = spark.driver.memory). G1 grew and shrank the heap
#   between batches, and every page of a region committed again was faulted in and zeroed
#   anew: ~10,000 page faults per 500,000-event batch in the JVM, each dear in a VM (the
#   host backs the page too). With -Xms the pages, once touched, stay: ~2,500 per batch.
DRIVER_MEMORY = "2g"
LOCAL_DRIVER_JAVA_OPTIONS = f"-XX:TieredStopAtLevel=1 -XX:G1HeapRegionSize=16m -Xms{DRIVER_MEMORY}"

# Environment of the job's processes for a local master (the JVM, the Python driver and
# workers it starts): freed memory is kept for the next micro-batch rather than returned
# to the kernel and faulted in, zeroed, again. glibc: no mmap below 32 MB (its default
# threshold adapts, from 128 KB) and no trim below 256 MB of free heap, as
# vigil_stream.worker.tune_malloc sets in the Python workers, here for the JVM's native
# memory (Arrow, RocksDB) and the driver too; mimalloc (pyarrow's memory pool): no purge
# of freed pages after 10 ms. Page faults of the Python workers and driver per batch:
# ~14,000 -> ~9,000 (bench/RESULTS.md, "Pipeline").
LOCAL_JOB_ENV = {
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456",
    "MIMALLOC_PURGE_DELAY": "-1",
}


def jvm_conf(cfg: vconfig.Config) -> dict[str, str]:
    """spark-submit settings for the job's JVM (both launchers: this one and Airflow's)."""
    if cfg.spark.master.startswith("local"):
        return {"spark.driver.extraJavaOptions": LOCAL_DRIVER_JAVA_OPTIONS}
    return {}


def submit_command(cfg: vconfig.Config, job_json: Path, zip_path: Path, python: str,
                   extra_conf: dict[str, str] | None = None) -> list[str]:
    spark_submit = Path(python).parent / "spark-submit"
    if not spark_submit.exists():
        raise StreamError(f"{spark_submit}: not found; run ./vigil setup core (pyspark in the venv)")
    cmd = [str(spark_submit), "--master", cfg.spark.master, "--name", "vigil-stream",
           "--jars", ",".join(cfg.spark_kafka_jars()), "--py-files", str(zip_path),
           "--conf", f"spark.pyspark.python={python}",
           "--conf", f"spark.pyspark.driver.python={python}",
           "--conf", f"spark.driver.memory={DRIVER_MEMORY}",
           "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
           "--conf", f"spark.local.dir={cfg.home / 'tmp' / 'spark'}"]
    for k, v in {**jvm_conf(cfg), **(extra_conf or {})}.items():
        cmd += ["--conf", f"{k}={v}"]
    return cmd + [str(JOBS / "stream_job.py"), "--config", str(job_json)]


def job_env(cfg: vconfig.Config, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if cfg.aws.access_key_id:
        env["AWS_ACCESS_KEY_ID"] = cfg.aws.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = cfg.aws.secret_access_key or ""
        if cfg.aws.session_token:
            env["AWS_SESSION_TOKEN"] = cfg.aws.session_token
    env.setdefault("AWS_DEFAULT_REGION", cfg.aws.region)
    env["PYSPARK_PYTHON"] = sys.executable
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the UI and block manager bind to loopback
    if cfg.spark.master.startswith("local"):
        for k, v in LOCAL_JOB_ENV.items():
            env.setdefault(k, v)   # a value of the caller's own wins
    env.update(extra or {})
    return env


def start(cfg: vconfig.Config, *, fresh: bool = False, wait_s: float = 180.0,
          overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None,
          name: str = "stream") -> process.PidRecord:
    """Submit the job detached; return once its query has started (or raise with the log's end)."""
    d = cfg.home / name
    d.mkdir(parents=True, exist_ok=True)
    pid_file, log_file = d / "pid", d / "log"
    rec = process.read_pid(pid_file)
    if process.is_ours(rec):
        raise StreamError(f"the job already runs (pid {rec.pid}); ./vigil stream stop first")
    job = job_config(cfg, **(overrides or {}))
    if fresh:
        cp = job["checkpoint_location"]
        if "://" in cp and not cp.startswith("file:"):
            raise StreamError(f"--fresh removes only a local checkpoint, not {cp}")
        shutil.rmtree(cp.removeprefix("file:"), ignore_errors=True)
    progress = Path(job["progress_file"])
    job_json = d / "job.json"
    job_json.write_text(json.dumps(job, indent=1) + "\n")
    cmd = submit_command(cfg, job_json, package_jobs(d / "vigil_stream.zip"), sys.executable)
    started_at = progress.stat().st_size if progress.exists() else 0
    rec = process.spawn(cmd, log_file=log_file, pid_file=pid_file, cwd=vconfig.ROOT,
                        env=job_env(cfg, env))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not process.is_ours(rec):
            raise StreamError(f"the job exited at start; end of {log_file}:\n{process.tail(log_file, 40)}")
        if progress.exists() and progress.stat().st_size > started_at:
            with open(progress, encoding="utf-8") as f:
                f.seek(started_at)
                if any('"kind":"started"' in line for line in f):
                    return rec
        time.sleep(0.5)
    process.stop(rec, 15)
    raise StreamError(f"the query did not start within {wait_s:.0f}s; end of {log_file}:\n"
                      f"{process.tail(log_file, 40)}")


def stop(cfg: vconfig.Config, name: str = "stream", timeout: float = 30.0) -> bool:
    rec = process.read_pid(cfg.home / name / "pid")
    if not process.is_ours(rec):
        return False
    process.stop(rec, timeout)
    return True


def _fmt(v: Any, width: int) -> str:
    if v is None:
        return "-".rjust(width)
    if isinstance(v, float):
        return f"{v:,.0f}".rjust(width)
    return f"{v:,}".rjust(width) if isinstance(v, int) else str(v).rjust(width)


def status_lines(cfg: vconfig.Config, n: int = 10, name: str = "stream") -> list[str]:
    from vigil_stream.progress import latest_batches, read  # python/jobs on sys.path
    rec = process.read_pid(cfg.home / name / "pid")
    running = process.is_ours(rec)
    job = job_config(cfg)
    lines = [f"job: {'running, pid ' + str(rec.pid) if running else 'not running'}; "
             f"topic {cfg.kafka.topic} @ {cfg.kafka.bootstrap}; output s3://{cfg.s3.bucket}/{cfg.s3.prefix}; "
             f"claims {cfg.dynamodb.table}; log {cfg.home / name / 'log'}"]
    batches = latest_batches(read(job["progress_file"]), n)
    if not batches:
        lines.append("no batch yet")
        return lines
    cols = [("batch", "batch_id", 6), ("input", "input", 9), ("valid", "valid", 9),
            ("invalid", "invalid", 8), ("late", "late", 6), ("anomalies", "anomalies_written", 9),
            ("dups", "duplicates_dropped", 6), ("in/s", "input_rows_per_s", 9),
            ("done/s", "processed_rows_per_s", 9), ("ms", "batch_ms", 7), ("lag", "lag", 9)]
    lines.append(" ".join(h.rjust(w) for h, _, w in cols) + "  watermark")
    for b in batches:
        b = dict(b)
        b["lag"] = (b.get("kafka_lag") or {}).get("maxOffsetsBehindLatest")
        b.setdefault("batch_ms", (b.get("duration_ms") or {}).get("triggerExecution"))
        lines.append(" ".join(_fmt(b.get(k), w) for _, k, w in cols) + f"  {b.get('watermark') or '-'}")
    total = {k: sum(int(b.get(k) or 0) for b in latest_batches(read(job["progress_file"]), 10**9))
             for k in ("input", "valid", "invalid", "late", "anomalies_written", "duplicates_dropped")}
    lines.append("totals: " + ", ".join(f"{k} {v:,}" for k, v in total.items()))
    return lines


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="vigil stream", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("start", help="submit the job (detached)")
    s.add_argument("--fresh", action="store_true", help="delete the local checkpoint first")
    s.add_argument("--wait", type=float, default=180.0, help="seconds to wait for the query to start")
    st = sub.add_parser("status", help="whether it runs, and its last batches")
    st.add_argument("-n", type=int, default=10, help="batches to show")
    sub.add_parser("stop", help="stop the job")
    args = p.parse_args(argv or ["status"])
    sys.path.insert(0, str(JOBS))
    try:
        cfg = vconfig.load()
        if args.cmd == "start":
            rec = start(cfg, fresh=args.fresh, wait_s=args.wait)
            print(f"vigil stream: running (pid {rec.pid}); ./vigil stream status shows its batches")
        elif args.cmd == "stop":
            print("vigil stream: stopped" if stop(cfg) else "vigil stream: not running")
        else:
            print("\n".join(status_lines(cfg, args.n)))
    except (vconfig.ConfigError, StreamError) as e:
        print(f"vigil stream: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
