#!/usr/bin/env python3
"""Run backtest scenarios: each tests/scenarios/<case>/ is one case.

A case holds `input.csv` or `input.jsonl`, optionally `config.yaml` (passed as
--config), and `case.json`:

    {"description": "...", "args": ["--columns", "value"],
     "expect": {"exit_code": 0,
                "alerts_in": [[first_row, last_row], ...],   # >= 1 alert in each range
                "quiet": [[first_row, last_row], ...],       # no alert in these ranges
                "explanation_mentions": "value",             # the first expected alert names it
                "output_columns": ["timestamp", ...],        # the CSV output header
                "stderr_contains": ["..."],
                "no_output": true},                          # a failed run leaves no file
     "skip": "why"}                                   # known blocker: reported as skipped (exit 77)

Rows are 0-based data rows (header and blank lines not counted). Every run also
checks that each input row is written once, in order, with the input's text
kept, anomaly_score in [0, 1], severity in 0..100, and an explanation on alerts.

    run.py --backtest build/bin/vigil-backtest [CASE ...]
"""
import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_rows(path):
    """Return (header, rows) where rows are dicts with is_anomaly, score, severity, explanation, text."""
    text = path.read_text()
    if path.suffix in (".jsonl", ".ndjson"):
        rows = []
        for line in text.splitlines():
            if not line.strip():
                continue
            ev = json.loads(line)
            expl = ev.get("explanation")
            rows.append({"is_anomaly": bool(ev["is_anomaly"]), "score": float(ev["anomaly_score"]),
                         "severity": int(ev["severity"]), "explanation": json.dumps(expl) if expl else "",
                         "event": ev})
        return None, rows
    lines = [l for l in text.splitlines() if l.strip()]
    delim = csv.Sniffer().sniff(lines[0], delimiters=",;\t|").delimiter
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)
    header = next(reader)
    idx = {name: i for i, name in enumerate(header)}
    rows = []
    for fields in reader:
        rows.append({"is_anomaly": fields[idx["is_anomaly"]] == "1", "score": float(fields[idx["anomaly_score"]]),
                     "severity": int(fields[idx["severity"]]), "explanation": fields[idx["explanation"]],
                     "fields": fields})
    return header, rows


def check_case(case_dir, backtest):
    spec = json.loads((case_dir / "case.json").read_text())
    expect = spec["expect"]
    inputs = sorted(p for p in case_dir.iterdir() if p.name.startswith("input."))
    if len(inputs) != 1:
        return [f"expected exactly one input.* file, found {[p.name for p in inputs]}"]
    src = inputs[0]
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("out" + src.suffix)
        cmd = [backtest, "--input", str(src), "--output", str(out), "--quiet"] + spec.get("args", [])
        if (case_dir / "config.yaml").exists():
            cmd += ["--config", str(case_dir / "config.yaml")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != expect.get("exit_code", 0):
            errors.append(f"exit code {proc.returncode}, expected {expect.get('exit_code', 0)}; "
                          f"stderr: {proc.stderr.strip()}")
        for needle in expect.get("stderr_contains", []):
            if needle not in proc.stderr:
                errors.append(f"stderr lacks {needle!r}; stderr: {proc.stderr.strip()}")
        if expect.get("no_output") and (out.exists() or Path(str(out) + ".tmp").exists()):
            errors.append("a failed run left an output file behind")
        if proc.returncode != 0 or errors:
            return errors
        header, rows = read_rows(out)
        in_header, in_rows = read_input(src)
        if len(rows) != len(in_rows):
            errors.append(f"{len(rows)} output rows for {len(in_rows)} input rows")
        for i, (row, inp) in enumerate(zip(rows, in_rows)):
            if "fields" in row and row["fields"][: len(inp)] != inp:
                errors.append(f"row {i}: input fields not kept: {row['fields'][:len(inp)]} != {inp}")
                break
            if "event" in row and any(row["event"].get(k) != v for k, v in inp.items()):
                errors.append(f"row {i}: input event not kept")
                break
            if not 0.0 <= row["score"] <= 1.0 or not 0 <= row["severity"] <= 100:
                errors.append(f"row {i}: score {row['score']} / severity {row['severity']} out of range")
                break
            if row["is_anomaly"] and not row["explanation"]:
                errors.append(f"row {i}: an alert without an explanation")
                break
        if "output_columns" in expect and header != expect["output_columns"]:
            errors.append(f"output header {header}, expected {expect['output_columns']}")
        alerts = [i for i, r in enumerate(rows) if r["is_anomaly"]]
        for lo, hi in expect.get("alerts_in", []):
            hits = [i for i in alerts if lo <= i <= hi]
            if not hits:
                errors.append(f"no alert in rows {lo}..{hi}; alerts at {alerts[:20]}")
            elif "explanation_mentions" in expect and expect["explanation_mentions"] not in rows[hits[0]]["explanation"]:
                errors.append(f"row {hits[0]}: explanation {rows[hits[0]]['explanation']!r} does not mention "
                              f"{expect['explanation_mentions']!r}")
        for lo, hi in expect.get("quiet", []):
            noisy = [i for i in alerts if lo <= i <= hi]
            if noisy:
                errors.append(f"alerts in quiet rows {lo}..{hi}: {noisy[:20]}")
    return errors


def read_input(path):
    text = path.read_text()
    if path.suffix in (".jsonl", ".ndjson"):
        return None, [json.loads(l) for l in text.splitlines() if l.strip()]
    lines = [l for l in text.splitlines() if l.strip()]
    delim = csv.Sniffer().sniff(lines[0], delimiters=",;\t|").delimiter
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    return rows[0], rows[1:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backtest", required=True, help="the vigil-backtest executable")
    ap.add_argument("cases", nargs="*", help="case folders (default: every folder here with a case.json)")
    args = ap.parse_args()
    if not Path(args.backtest).is_file():
        sys.exit(f"run.py: --backtest {args.backtest}: no such executable (build the tools first)")
    cases = [Path(c) for c in args.cases] or sorted(p.parent for p in HERE.glob("*/case.json"))
    failed = skipped = 0
    for case in cases:
        reason = json.loads((case / "case.json").read_text()).get("skip")
        if reason:
            print(f"skip {case.name}: {reason}")
            skipped += 1
            continue
        errors = check_case(case.resolve(), args.backtest)
        print(f"{'ok  ' if not errors else 'FAIL'} {case.name}")
        for e in errors:
            print(f"     {e}")
        failed += bool(errors)
    print(f"{len(cases) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    if failed:
        return 1
    return 77 if skipped == len(cases) else 0  # 77: ctest's SKIP_RETURN_CODE


if __name__ == "__main__":
    sys.exit(main())
