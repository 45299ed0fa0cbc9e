"""vigil_ops.demo: the live view's line for an anomaly record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vigil_ops.demo import describe  # noqa: E402


def test_a_metric_anomaly_shows_its_value_and_detectors():
    r = {"event_time": "2026-01-01T00:05:51.590Z", "device_id": "dev-00118", "metric": "return_temp_c",
         "value": 22.4937, "severity": 100, "detectors": ["ewma", "cusum"]}
    assert describe(r) == "2026-01-01T00:05:51.590Z dev-00118 return_temp_c=22.494 severity 100 (ewma, cusum)"
    assert describe({**r, "detectors": []}).endswith("(sustained: smoothed score)")


def test_a_silent_device_has_no_value_and_shows_the_note():
    # the gap detector's record: metric "", value null (the demo's live view once crashed on it)
    r = {"event_time": "2026-01-01T00:07:47.775Z", "device_id": "dev-00155", "metric": "", "value": None,
         "severity": 100, "detectors": ["gap"],
         "explanation": json.dumps({"by": "gap", "note": "no event for 84.0 s (expected every 1.0 s)"})}
    assert describe(r) == ("2026-01-01T00:07:47.775Z dev-00155 no event for 84.0 s (expected every 1.0 s) "
                           "severity 100 (gap)")
    assert "device-level anomaly" in describe({**r, "explanation": "not json"})
