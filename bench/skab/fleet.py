#!/usr/bin/env python3
"""Simulator guard for detector-config changes: the e2e test's quality check, offline.

tests/e2e/test_pipeline.py asks the streaming job for event-wise recall >= 0.9
and precision >= 0.8 on the simulator's default anomaly mix (40 devices x 3
metrics, 60,000 events, seed 11). This runs the same fleet through
`vigil backtest` (the same engine, in event order) instead of Kafka and Spark,
and scores it the same way (an episode is hit by an anomalous event of its
device between its start and 30 s after its end; precision = anomalous events
that hit an episode / all anomalous events), per config:

    bench/skab/fleet.py [--bin DIR] [--config FILE ...] [--seed N] [--out DIR]

The e2e test adds duplicates, malformed and late events, which the job drops
before detection; they are left out here.
"""
import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import die, find_bin  # noqa: E402

TOLERANCE_MS = 30_000  # as infra/vigil_ops/demo.py's event_wise


def run(cmd):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        die(f"{' '.join(map(str, cmd))} failed: {proc.stderr.strip()[-2000:]}")


def ts_ms(ts):
    return int(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def event_wise(scored, labels):
    by_device = {}
    for ep in labels:
        by_device.setdefault(ep["device_id"], []).append(ep)
    hit, true_pos, alarms = set(), 0, 0
    with open(scored) as f:
        for line in f:
            r = json.loads(line)
            if not r.get("is_anomaly"):
                continue
            alarms += 1
            t = ts_ms(r["ts"]) if isinstance(r["ts"], str) else int(r["ts"])
            for ep in by_device.get(r["device_id"], []):
                if ep["start_ts_ms"] <= t <= ep["end_ts_ms"] + TOLERANCE_MS:
                    hit.add(ep["episode_id"])
                    true_pos += 1
                    break
    kinds = {}
    for ep in labels:
        k = kinds.setdefault(ep["kind"], [0, 0])
        k[0] += ep["episode_id"] in hit
        k[1] += 1
    return len(hit) / max(len(labels), 1), true_pos / alarms if alarms else 0.0, alarms, kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="folder with vigil-produce and vigil-backtest")
    ap.add_argument("--config", action="append", default=[], help="configs to compare (default: the default)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default="/tmp/vigil-fleet")
    args = ap.parse_args()
    bindir = find_bin(args.bin)
    if not (bindir / "vigil-produce").is_file():
        die(f"vigil-produce not found in {bindir}; build it or pass --bin")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    events, labels_file = out / "events.jsonl", out / "labels.jsonl"
    run([bindir / "vigil-produce", "--dry-run", "--output", events, "--labels", labels_file, "--quiet",
         "--devices", "40", "--metrics", "3", "--events", "60000", "--seed", args.seed])
    labels = [json.loads(x) for x in labels_file.read_text().splitlines() if x.strip()]
    print(f"simulated fleet: 40 devices x 3 metrics, 60,000 events, seed {args.seed}, {len(labels)} episodes")
    for config in args.config or [None]:
        scored = out / f"scored-{Path(config).stem if config else 'default'}.jsonl"
        run([bindir / "vigil-backtest", "--input", events, "--output", scored, "--quiet"] +
            (["--config", config] if config else []))
        recall, precision, alarms, kinds = event_wise(scored, labels)
        missed = {k: f"{h}/{n}" for k, (h, n) in sorted(kinds.items()) if h < n}
        print(f"  {config or 'default':<40} event-wise recall {recall:.3f}  precision {precision:.3f}  "
              f"({alarms} anomalous events; missed: {missed or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
