#!/usr/bin/env python3
"""Regenerate the scenario inputs (seeded; the committed files are its output).

Each case is small and its anomaly is unmistakable, so a scenario checks the
wiring (reading, label handling, ordering, explanations, errors), not tuning.
The series are stationary: drift and seasonality belong to the detector tests.
"""
import json
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


def iso(sec):
    import datetime as dt
    return dt.datetime.fromtimestamp(sec, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def noisy(rng, i, level=20.0, amp=0.0, period=1440, sd=0.3):
    return level + amp * math.sin(2 * math.pi * i / period) + rng.gauss(0, sd)


def spike():
    rng = random.Random(1)
    rows = ["timestamp,value"]
    for i in range(400):
        v = noisy(rng, i)
        if i == 300:
            v += 25.0
        rows.append(f"{iso(T0 + 60 * i)},{v:.4f}")
    (HERE / "spike" / "input.csv").write_text("\n".join(rows) + "\n")


def level_shift():
    rng = random.Random(2)
    cols = ["datetime", "Pressure", "Current", "Temperature", "anomaly", "changepoint"]
    rows = [";".join(cols)]
    for i in range(500):
        shifted = i >= 300
        p = 1.0 + rng.gauss(0, 0.02) + (0.5 if shifted else 0.0)
        c = 2.0 + rng.gauss(0, 0.05)
        t = 70.0 + rng.gauss(0, 0.1)
        rows.append(f"{iso(T0 + i)};{p:.5f};{c:.5f};{t:.4f};{1.0 if shifted else 0.0};{1.0 if i == 300 else 0.0}")
    (HERE / "level_shift" / "input.csv").write_text("\n".join(rows) + "\n")


def labels_are_not_inputs():
    # The label columns step from 0 to 1 (and a huge 'label' value) while the metrics stay normal.
    rng = random.Random(3)
    rows = ["timestamp;x;y;anomaly;changepoint;label"]
    for i in range(400):
        x = 5.0 + rng.gauss(0, 0.1)
        y = -3.0 + rng.gauss(0, 0.1)
        on = i >= 200
        rows.append(f"{iso(T0 + i)};{x:.4f};{y:.4f};{int(on)};{int(i == 200)};{1e6 if on else 0}")
    (HERE / "labels_are_not_inputs" / "input.csv").write_text("\n".join(rows) + "\n")


def stuck_sensor():
    rng = random.Random(4)
    lines = []
    value = 0.0
    for i in range(400):
        if i < 250:
            value = 50.0 + 5.0 * math.sin(i / 7.0) + rng.gauss(0, 0.5)
        ev = {"schema_version": 1, "event_id": f"pump-7-{i:06d}", "device_id": "pump-7",
              "ts": iso(T0 + 10 * i).replace(" ", "T") + ".000Z",
              "metrics": {"flow": round(value, 3)}, "tags": {"device_class": "pump", "site": "plant-1"}}
        lines.append(json.dumps(ev))
    (HERE / "stuck_sensor" / "input.jsonl").write_text("\n".join(lines) + "\n")


def two_devices_jsonl():
    # Interleaved devices: a spike on dev-b must not leak into dev-a's state or verdicts.
    rng = random.Random(5)
    lines = []
    for i in range(300):
        for dev in ("dev-a", "dev-b"):
            v = noisy(rng, i, level=10.0 if dev == "dev-a" else 100.0, sd=0.1)
            if dev == "dev-b" and i == 250:
                v += 40.0
            lines.append(json.dumps({"event_id": f"{dev}-{i}", "device_id": dev, "ts": (T0 + i) * 1000,
                                     "metrics": {"temperature": round(v, 4)}}))
    (HERE / "two_devices" / "input.jsonl").write_text("\n".join(lines) + "\n")


def heartbeat_gap():
    # A sensor reporting every 10 s goes silent for 15 minutes before row 300.
    rng = random.Random(6)
    rows = ["timestamp,temperature"]
    t = T0
    for i in range(400):
        t += 900 if i == 300 else 10
        rows.append(f"{t},{21.0 + rng.gauss(0, 0.2):.3f}")
    (HERE / "heartbeat_gap" / "input.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    for f in (spike, level_shift, labels_are_not_inputs, stuck_sensor, two_devices_jsonl, heartbeat_gap):
        f()
