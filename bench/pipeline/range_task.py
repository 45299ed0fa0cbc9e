"""What a stateful task of the job costs outside Spark, with routing by partition.

    ./vigil stack up kafka
    $VIGIL_HOME/venv/bin/python bench/pipeline/range_task.py --topic TOPIC [--partition 0] [--ranges 6]

Reads consecutive --size-event ranges of one partition the way the job's stateful task
does (transform.read_ranges: the C++ reader, then one C++ call per piece for the event
times), then scores each with transform.detect_rows on one engine state carried from
range to range, and prints per range the wall time of the read and of the detection.
Run two at once on the two partitions to see what two tasks cost side by side. Fill
the topic first, e.g. vigil-produce --devices 10000 --metrics 3 --events 3000000 --rate 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra"))
sys.path.insert(0, str(REPO / "python" / "jobs"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--topic", required=True)
    p.add_argument("--partition", type=int, default=0)
    p.add_argument("--ranges", type=int, default=6)
    p.add_argument("--size", type=int, default=250_000, help="events per range (one task's share of a batch)")
    p.add_argument("--buckets", type=int, default=2)
    args = p.parse_args()
    from vigil import reject_reason_names
    from vigil_ops import config as vconfig
    from vigil_stream.source import piece_reader
    from vigil_stream.transform import detect_rows, read_ranges
    cfg = vconfig.load()
    read = piece_reader({"bootstrap": cfg.kafka.bootstrap, "kafka_settings": "{}"})
    names = reject_reason_names()
    blob = None
    rows_out = []
    for i in range(args.ranges):
        t0 = time.perf_counter()
        rows = read_ranges([{"topic": args.topic, "partition": args.partition, "start": i * args.size,
                             "end": (i + 1) * args.size}], read)
        t1 = time.perf_counter()
        _, blob = detect_rows(0, rows, blob, 0, "", names)
        t2 = time.perf_counter()
        rows_out.append({"range": i, "events": rows.num_rows, "read_ms": round((t1 - t0) * 1000, 1),
                         "detect_ms": round((t2 - t1) * 1000, 1), "state_bytes": len(blob)})
        print(json.dumps(rows_out[-1]), flush=True)
    later = rows_out[1:] or rows_out
    print(json.dumps({"read_ms_median": statistics.median(r["read_ms"] for r in later),
                      "detect_ms_median": statistics.median(r["detect_ms"] for r in later)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
