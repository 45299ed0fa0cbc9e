#!/usr/bin/env python3
"""SKAB evaluation: vigil backtest online over every SKAB file, then vigil evaluate.

Protocol (the SKAB leaderboard's, as the dataset's README states it):
- every file is its own device, scored online from a fresh state with one config
  for all files (the default unless --config); nothing is trained on the rows
  being scored: the detectors score each row, then learn from it;
- point-wise F1 / FAR / MAR over the rows after the first 400 of each file, with
  the confusion counts summed over all files; anomaly-free/ is left out;
- NAB on the changepoint markup, a 60 s window to the right of each changepoint,
  scored as SKAB's tsad package does (change points = |diff(prediction)|);
  NAB's own sigmoid rule over the onsets of alarms is printed as well.

    bench/skab/run.py [--skab DIR] [--bin DIR] [--config FILE] [--out DIR] [--json FILE] [--smooth ALPHA]

The dataset is not part of the repository; --skab defaults to $SKAB_DIR or
../shared/datasets/skab beside the repository.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LEADERBOARD_OUTLIER = [  # F1, FAR %, MAR % (the README's table)
    ("Conv-AE", 0.78, 13.55, 28.02),
    ("MSET", 0.78, 39.73, 14.13),
    ("T-squared+Q (PCA)", 0.76, 26.62, 24.92),
    ("LSTM-AE", 0.74, 29.96, 25.92),
    ("T-squared", 0.66, 19.21, 42.6),
    ("Isolation forest", 0.29, 2.56, 82.89),
]
LEADERBOARD_NAB = [  # standard, low FP, low FN
    ("MSCRED", 32.42, 16.53, 40.28),
    ("Isolation forest", 26.16, 19.5, 30.82),
    ("T-squared+Q (PCA)", 25.35, 14.51, 31.33),
    ("Conv-AE", 23.61, 21.54, 27.55),
]
SKIP_ROWS = 400


def die(msg):
    sys.exit(f"bench/skab/run.py: {msg}")


def find_bin(arg):
    candidates = [Path(arg)] if arg else [
        Path(os.environ.get("VIGIL_HOME", REPO / ".vigil")) / "build" / "bin", REPO / "build" / "dev" / "bin",
        REPO / "build" / "release" / "bin"]
    for c in candidates:
        if (c / "vigil-backtest").is_file() and (c / "vigil-evaluate").is_file():
            return c
    die(f"vigil-backtest/vigil-evaluate not found in {', '.join(map(str, candidates))}; build them or pass --bin")


def evaluate(bindir, out, extra):
    cmd = [str(bindir / "vigil-evaluate"), "--scores", str(out), "--skip-rows", str(SKIP_ROWS), "--json", "-"] + extra
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        die(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skab", default=os.environ.get("SKAB_DIR", str(REPO.parent / "shared" / "datasets" / "skab")))
    ap.add_argument("--bin", help="folder with vigil-backtest and vigil-evaluate (default: $VIGIL_HOME/build/bin)")
    ap.add_argument("--config", help="detector config (default: the built-in default = config/detectors.yaml)")
    ap.add_argument("--out", default="/tmp/vigil-skab", help="where the scored files go (default /tmp/vigil-skab)")
    ap.add_argument("--json", help="write the numbers as JSON here")
    ap.add_argument("--smooth", type=float, help="also print a what-if: alarms on an EMA (weight ALPHA) of the score")
    args = ap.parse_args()

    skab = Path(args.skab)
    files = sorted(p for p in skab.glob("*/*.csv") if p.parent.name != "anomaly-free")
    if not files:
        die(f"no SKAB files under {skab} (expected valve1/, valve2/, other/); pass --skab DIR")
    bindir = find_bin(args.bin)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.csv"):
        old.unlink()

    start = time.time()
    rows = 0
    for f in files:
        dev = f"{f.parent.name}-{f.stem}"
        cmd = [str(bindir / "vigil-backtest"), "--input", str(f), "--output", str(out / f"{dev}.csv"),
               "--device-id", dev, "--quiet"]
        if args.config:
            cmd += ["--config", args.config]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            die(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
        rows += sum(1 for _ in f.open()) - 1
    elapsed = time.time() - start

    skab_nab = evaluate(bindir, out, ["--nab-scoring", "skab", "--nab-window", "60s"])
    numenta = evaluate(bindir, out, ["--nab-scoring", "nab", "--nab-detections", "onsets", "--nab-window", "60s",
                                     "--nab-probation", "0"])
    p, e, n = skab_nab["point"], skab_nab["event"], skab_nab["nab"]
    config = args.config or "default (config/detectors.yaml)"
    print(f"SKAB: {len(files)} files, {rows} rows backtested in {elapsed:.1f} s; "
          f"{skab_nab['rows']} rows scored (first {SKIP_ROWS} of each file skipped); config: {config}\n")
    print("Outlier detection (point-wise)   F1     FAR %    MAR %")
    print(f"  Vigil                         {p['f1']:.2f}   {100 * p['far']:6.2f}   {100 * p['mar']:6.2f}")
    for name, f1, far, mar in LEADERBOARD_OUTLIER:
        print(f"  {name:<28}  {f1:.2f}   {far:6.2f}   {mar:6.2f}")
    print(f"  (flag every row: F1 0.70 at FAR 100%)\n")
    print(f"  Vigil precision {p['precision']:.3f}, recall {p['recall']:.3f}; event-wise: "
          f"{e['detected_true_events']}/{e['true_events']} anomalies detected, "
          f"{e['correct_predicted_events']}/{e['predicted_events']} alarm runs overlap one\n")
    print("Changepoint detection (NAB, 60 s right)   standard  low FP  low FN")
    print(f"  Vigil (SKAB/tsad scoring)              {n['standard']:7.2f} {n['reward_low_FP']:7.2f} "
          f"{n['reward_low_FN']:7.2f}")
    nn = numenta["nab"]
    print(f"  Vigil (Numenta scoring, alarm onsets)  {nn['standard']:7.2f} {nn['reward_low_FP']:7.2f} "
          f"{nn['reward_low_FN']:7.2f}")
    for name, s, lfp, lfn in LEADERBOARD_NAB:
        print(f"  {name:<37}  {s:7.2f} {lfp:7.2f} {lfn:7.2f}")
    smooth = None
    if args.smooth:
        smooth = evaluate(bindir, out, ["--nab-scoring", "skab", "--smooth", str(args.smooth), "--threshold", "0.5"])
        sp, sn = smooth["point"], smooth["nab"]
        print(f"\nWhat-if, alarms on EMA(score, alpha {args.smooth}) >= 0.5 (not what the engine emits):")
        print(f"  F1 {sp['f1']:.2f}  FAR {100 * sp['far']:.2f} %  MAR {100 * sp['mar']:.2f} %  "
              f"NAB {sn['standard']:.2f} / {sn['reward_low_FP']:.2f} / {sn['reward_low_FN']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "config": config, "files": len(files), "rows": rows, "backtest_seconds": round(elapsed, 2),
            "point": p, "event": e, "nab_skab": n, "nab_numenta_onsets": nn,
            "smoothed": smooth and {"alpha": args.smooth, "point": smooth["point"], "nab_skab": smooth["nab"]}},
            indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
