#!/usr/bin/env python3
"""Over-fitting guard for SKAB tuning: a seeded NAB-like univariate corpus.

SKAB rewards detecting long collective anomalies; NAB-like data (one metric,
daily seasonality, trends, spikes, dips, level shifts, noise bursts, drifts,
NAB-style windows of 10% of each file around its anomalies) rewards the
opposite habits. A config change tuned on SKAB should not lose much here.

    bench/skab/nablike.py [--bin DIR] [--config FILE ...] [--smooth ALPHA] [--out DIR]

Prints, per config, vigil evaluate's NAB scores (Numenta's rule over the labels
file's windows) for the engine's is_anomaly and with the threshold optimised per
profile (--nab-sweep), and with --smooth the what-if of EMA-debounced alarms.
"""
import argparse
import datetime as dt
import json
import math
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import die, find_bin  # noqa: E402

FILES, ROWS, STEP_S, SEED = 24, 4000, 300, 11
T0 = dt.datetime(2024, 1, 1)


def stamp(i):
    return (T0 + dt.timedelta(seconds=STEP_S * i)).strftime("%Y-%m-%d %H:%M:%S")


def generate(folder):
    r = random.Random(SEED)
    labels = {}
    for n in range(FILES):
        level = r.uniform(10, 1000)
        amp, sd = level * r.uniform(0, 0.3), level * r.uniform(0.01, 0.05)
        trend = level * r.uniform(-0.2, 0.2) / ROWS
        kinds = r.sample(["spike", "dip", "shift", "burst", "drift"], 2)
        starts = sorted(r.sample(range(1200, ROWS - 400, 50), 2))
        vals = [level + amp * math.sin(2 * math.pi * i / 288) + trend * i + r.gauss(0, sd) for i in range(ROWS)]
        windows, half = [], ROWS // 10 // 2
        for kind, s in zip(kinds, starts):
            length = 1
            if kind == "spike":
                vals[s] += 8 * sd + amp
            elif kind == "dip":
                vals[s] -= 8 * sd + amp
            elif kind == "shift":
                for i in range(s, ROWS):
                    vals[i] += 5 * sd
            elif kind == "burst":
                length = 60
                for i in range(s, s + length):
                    vals[i] += r.gauss(0, 6 * sd)
            else:  # drift to a new level over 200 rows
                length = 200
                for i in range(s, ROWS):
                    vals[i] += 6 * sd * min(1.0, (i - s) / length)
            c = s + length // 2
            windows.append([stamp(max(0, c - half)), stamp(min(ROWS - 1, c + half))])
        name = f"s{n:02d}.csv"
        with open(folder / name, "w") as f:
            f.write("timestamp,value\n")
            f.writelines(f"{stamp(i)},{v:.4f}\n" for i, v in enumerate(vals))
        labels[name] = windows
    (folder / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")


def nab(bindir, scored, labels, extra):
    proc = subprocess.run([str(bindir / "vigil-evaluate"), "--scores", str(scored), "--labels", str(labels),
                           "--json", "-"] + extra, capture_output=True, text=True)
    if proc.returncode != 0:
        die(f"vigil evaluate failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="folder with vigil-backtest and vigil-evaluate")
    ap.add_argument("--config", action="append", default=[], help="configs to compare (default: the default)")
    ap.add_argument("--smooth", type=float, help="also print the EMA-debounced what-if with this alpha")
    ap.add_argument("--out", default="/tmp/vigil-nablike")
    args = ap.parse_args()
    bindir = find_bin(args.bin)
    data = Path(args.out) / "data"
    data.mkdir(parents=True, exist_ok=True)
    generate(data)
    print(f"NAB-like corpus: {FILES} files x {ROWS} rows, seed {SEED}; NAB scores (standard / low FP / low FN)")
    for config in args.config or [None]:
        scored = Path(args.out) / ("scored-" + (Path(config).stem if config else "default"))
        scored.mkdir(exist_ok=True)
        for f in sorted(data.glob("*.csv")):
            cmd = [str(bindir / "vigil-backtest"), "--input", str(f), "--output", str(scored / f.name), "--quiet"]
            proc = subprocess.run(cmd + (["--config", config] if config else []), capture_output=True, text=True)
            if proc.returncode != 0:
                die(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
        j = nab(bindir, scored, data / "labels.json", ["--nab-sweep"])
        n, o = j["nab"], j["nab_optimized"]
        print(f"  {config or 'default':<40} is_anomaly {n['standard']:6.2f} / {n['reward_low_FP']:6.2f} / "
              f"{n['reward_low_FN']:6.2f}   swept {o['standard']['score']:6.2f} / {o['reward_low_FP']['score']:6.2f}"
              f" / {o['reward_low_FN']['score']:6.2f}   windows {n['detected_windows']}/{n['windows']}")
        if args.smooth:
            s = nab(bindir, scored, data / "labels.json", ["--smooth", str(args.smooth), "--threshold", "0.5"])["nab"]
            print(f"  {'  + EMA ' + str(args.smooth) + ' what-if':<40} is_anomaly {s['standard']:6.2f} / "
                  f"{s['reward_low_FP']:6.2f} / {s['reward_low_FN']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
