"""The job's Kafka reader alone: consecutive ranges of a topic, as a read task reads them.

    ./vigil stack up kafka
    $VIGIL_HOME/venv/bin/python bench/pipeline/read_ranges.py --topic TOPIC [--range 250000]

No Spark. One `vigil.KafkaPartitionReader` per partition (kept, as a Python worker keeps
it), reading consecutive [start, start + range) ranges of each partition in turn, in
pieces of the job's size (source.READ_MESSAGES / READ_BYTES). Per range: the wall time,
the time to the first piece after the seek, and the process CPU (main thread plus
librdkafka's threads, so fetching past a range's end shows). Prints the medians over
the ranges, each --repeats times. --route also does the read task's routing work on each
piece, which lets librdkafka's fetcher run ahead of the reader as it does in the job. The first range of each partition is warm-up.
Fill the topic first, e.g. with vigil-produce --rate 0 --events 2000000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "jobs"))


def read_range(reader, start: int, end: int, messages: int, max_bytes: int,
               buckets: int) -> tuple[float, float, float, int]:
    from vigil_stream.source import KafkaRange, route_piece
    rng = KafkaRange(reader.topic, reader.partition, start, end)
    t0, c0 = time.perf_counter(), time.process_time()
    reader.seek(start, end)
    first = None
    n = 0
    while True:
        cols = reader.next(messages, max_bytes, 30_000)
        if first is None:
            first = time.perf_counter() - t0
        if len(cols[3]) == 0:
            break
        n += len(cols[3])
        if buckets:
            route_piece(rng, *cols, buckets)
    return time.perf_counter() - t0, first, time.process_time() - c0, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    ap.add_argument("--topic", required=True)
    ap.add_argument("--range", type=int, default=250_000, help="messages per range (default 250,000)")
    ap.add_argument("--ranges", type=int, default=6, help="ranges per partition and repeat (default 6)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--route", type=int, default=0, metavar="BUCKETS",
                    help="also route each piece into BUCKETS buckets, as the job's read task does "
                         "(source.route_piece: decode, split, IPC); 0: read only")
    args = ap.parse_args()

    from vigil import KafkaOffsetClient, KafkaPartitionReader
    from vigil_stream.source import READ_BYTES, READ_MESSAGES
    settings = [("bootstrap.servers", args.bootstrap)]  # what the job's source passes by default
    client = KafkaOffsetClient(settings)
    parts = client.partitions(args.topic, 10_000)
    low, high = client.watermarks(args.topic, parts, 10_000)
    marks = {p: (low[i], high[i]) for i, p in enumerate(parts)}
    need = args.range * (args.ranges + 1)
    for p, (low, high) in marks.items():
        if high - low < need:
            print(f"read_ranges: topic {args.topic} partition {p} holds {high - low} messages; "
                  f"--range {args.range} --ranges {args.ranges} need {need} per partition", file=sys.stderr)
            return 2
    readers = {p: KafkaPartitionReader(settings, args.topic, p) for p in parts}
    walls, firsts, cpus = [], [], []
    for rep in range(args.repeats):
        w, f, c = [], [], []
        for i in range(args.ranges + 1):
            for p in parts:
                start = marks[p][0] + i * args.range
                wall, first, cpu, n = read_range(readers[p], start, start + args.range, READ_MESSAGES, READ_BYTES,
                                                  args.route)
                if n != args.range:
                    print(f"read_ranges: partition {p} [{start}, {start + args.range}) gave {n} messages",
                          file=sys.stderr)
                    return 1
                if i > 0:
                    w.append(wall), f.append(first), c.append(cpu)
        walls.append(statistics.median(w)), firsts.append(statistics.median(f)), cpus.append(statistics.median(c))
        print(f"repeat {rep + 1}: per range of {args.range:,}: wall {walls[-1] * 1000:.0f} ms, "
              f"first piece {firsts[-1] * 1000:.0f} ms, cpu {cpus[-1] * 1000:.0f} ms "
              f"({args.range / walls[-1]:,.0f} msg/s)", flush=True)
    print(f"median of {args.repeats}: wall {statistics.median(walls) * 1000:.0f} ms, first piece "
          f"{statistics.median(firsts) * 1000:.0f} ms, cpu {statistics.median(cpus) * 1000:.0f} ms per range")
    return 0


if __name__ == "__main__":
    sys.exit(main())
