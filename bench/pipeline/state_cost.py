"""Cost of the per-bucket detection step, without Spark: state bytes per device, the
C++ call per bucket per batch, and the Python/Arrow hops around it.

    $VIGIL_HOME/venv/bin/python bench/pipeline/state_cost.py [--devices 10000] [--buckets 4]

For one bucket (devices / buckets devices) it warms the engine up, then times, over
--repeats batches of --batch events: route (C++ decode + bucket), the bare C++ call
(load_all, process, save_all) and the whole detect step as the job runs it
(transform.detect_rows: lateness, argsort, take, C++ call, output frames). Medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "jobs"))

T0 = 1795428000000


def events(devices: list[str], metrics: int, start_step: int, steps: int, rng) -> pa.Array:
    out = []
    for k in range(start_step, start_step + steps):
        for i, d in enumerate(devices):
            m = {f"m{j}": round(20 + j + rng.normal(), 3) for j in range(metrics)}
            out.append(json.dumps({"event_id": f"{d}-{k}", "device_id": d, "ts": T0 + k * 1000 + i,
                                   "metrics": m}, separators=(",", ":")).encode())
    return pa.array(out, pa.binary())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--metrics", type=int, default=3)
    p.add_argument("--buckets", type=int, default=4)
    p.add_argument("--batch", type=int, default=25_000, help="events per bucket per batch")
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    import vigil
    from vigil.arrow import binary_buffers
    from vigil_stream.transform import detect_rows
    rng = np.random.default_rng(7)
    per_bucket = args.devices // args.buckets
    devices = [f"dev-{i:05d}" for i in range(per_bucket)]
    engine = vigil.Engine()
    warm = events(devices, args.metrics, 0, args.warmup_steps, rng)
    engine.process(*binary_buffers(warm))
    blob = engine.save_all()
    steps = max(1, args.batch // per_bucket)
    router = vigil.Router(args.buckets)
    names = vigil.reject_reason_names()
    t_route, t_cpp, t_load, t_save, t_step = [], [], [], [], []
    step = args.warmup_steps
    for _ in range(args.repeats):
        vals = events(devices, args.metrics, step, steps, rng)
        step += steps
        n = len(vals)
        t = time.perf_counter()
        router.route(*binary_buffers(vals))
        t_route.append(time.perf_counter() - t)
        e2 = vigil.Engine()
        t = time.perf_counter()
        e2.load_all(blob)
        t_load.append(time.perf_counter() - t)
        t = time.perf_counter()
        e2.process(*binary_buffers(vals))
        t_cpp.append(time.perf_counter() - t)
        t = time.perf_counter()
        e2.save_all()
        t_save.append(time.perf_counter() - t)
        ts = pa.array(np.array([T0 + (step - steps) * 1000] * n) * 1000, pa.timestamp("us", tz="UTC"))
        rows = pa.table({"value": vals, "kafka_topic": pa.array(["t"] * n), "kafka_partition": pa.array(np.zeros(n, np.int32)),
                         "kafka_offset": pa.array(np.arange(n)), "kafka_timestamp_ms": pa.array(np.full(n, T0)),
                         "event_time": ts})
        t = time.perf_counter()
        _, blob = detect_rows(0, rows, blob, 0, "", names)
        t_step.append(time.perf_counter() - t)
    med = statistics.median
    result = {
        "devices_per_bucket": per_bucket, "metrics": args.metrics, "events_per_call": n,
        "state_bytes_per_device": round(len(blob) / per_bucket, 1),
        "state_bytes_per_bucket": len(blob),
        "route_events_per_s": round(n / med(t_route)),
        "load_all_ms": round(med(t_load) * 1000, 2),
        "process_ms": round(med(t_cpp) * 1000, 2), "process_events_per_s": round(n / med(t_cpp)),
        "save_all_ms": round(med(t_save) * 1000, 2),
        # the job's step: the worker's engine already holds the bucket (no load_all)
        "detect_step_ms": round(med(t_step) * 1000, 2), "detect_step_events_per_s": round(n / med(t_step)),
        "python_arrow_overhead_pct": round(100 * (med(t_step) - med(t_cpp) - med(t_save)) / med(t_step), 1),
        "repeats": args.repeats,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
