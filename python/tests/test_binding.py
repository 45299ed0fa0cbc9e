"""vigil._core as installed: routing, processing, state round trip, errors, doctests."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pyarrow as pa
import pytest

vigil = pytest.importorskip("vigil")
pytest.importorskip("vigil._core")
from vigil.arrow import binary_buffers, string_array  # noqa: E402

T0 = 1795428000000


def ev(device, i, value, ts=None):
    return json.dumps({"event_id": f"{device}-{i}", "device_id": device, "ts": T0 + i * 1000 if ts is None else ts,
                       "metrics": {"temperature": value}}).encode()


STRING_KEYS = ("anomaly_id", "event_id", "device_id", "metric", "detectors", "explanation")


def strs(out, key):
    """A string column of process()'s output as a list."""
    return string_array(out[key]).to_pylist()


def test_doctests_of_the_installed_modules():
    import vigil.arrow
    import vigil.errors
    for mod in (vigil.errors, vigil.arrow):
        failed, tried = doctest.testmod(mod)
        assert tried > 0 and failed == 0, mod.__name__


def test_route_buckets_devices_stably_and_flags_rejects():
    vals = pa.array([ev("a", 1, 1.0), b"{oops", None, ev("b", 2, 2.0), ev("a", 3, 3.0)])
    bucket, ts, reason = vigil.Router(8).route(*binary_buffers(vals))
    assert bucket[0] == bucket[4] and 0 <= bucket[0] < 8
    assert list(bucket[1:3]) == [-1, -1]
    names = vigil.reject_reason_names()
    assert [names[r] for r in reason[1:3]] == ["malformed_json", "null_input"]
    assert ts[0] == T0 + 1000 and ts[3] == T0 + 2000
    # a sliced array (non-zero offset) gives the same answer for the same values
    b2, _, _ = vigil.Router(8).route(*binary_buffers(vals.slice(3)))
    assert list(b2) == [bucket[3], bucket[4]]


def test_process_flags_a_gross_spike_and_state_round_trip_is_exact():
    history = [ev("d", i, 20.0 + (i % 5) * 0.1) for i in range(400)]
    later = [ev("d", 400 + i, 20.0 + (i % 5) * 0.1) for i in range(50)] + [ev("d", 450, 500.0)]
    a = vigil.Engine()
    a.process(*binary_buffers(pa.array(history)))
    blob = a.save_all()
    b = vigil.Engine()
    b.load_all(blob)
    out_a = a.process(*binary_buffers(pa.array(later)))
    out_b = b.process(*binary_buffers(pa.array(later)))
    assert strs(out_a, "event_id") == strs(out_b, "event_id")
    assert np.array_equal(out_a["score"], out_b["score"])
    assert "d-450" in strs(out_a, "event_id")
    i = strs(out_a, "event_id").index("d-450")
    assert strs(out_a, "anomaly_id")[i] == vigil.anomaly_id("d", strs(out_a, "metric")[i], "d-450", a.detector_version)
    assert strs(out_a, "device_id")[i] == "d" and "temperature" in strs(out_a, "explanation")[i]
    assert strs(out_a, "detectors")[i]
    assert out_a["index"][i] == 50 and out_a["value"][i] == 500.0
    assert all(len(strs(out_a, k)) == len(out_a["index"]) for k in STRING_KEYS)
    assert a.num_devices == 1 and len(blob) > 0


def test_process_batch_decodes_once_splits_late_and_scores_in_event_time_order():
    # Two partitions' values (a spike, a reject and a null among them) in two chunks, out of
    # event-time order, with a watermark: identical output to process() on the values the
    # watermark keeps, gathered in (event time, partition, offset) order.
    rng = np.random.default_rng(3)
    ts = rng.permutation(1200)
    part = np.array([i % 2 for i in range(1200)], np.int32)
    off = np.array([1000 + i // 2 for i in range(1200)], np.int64)
    vals = [ev(f"d{i % 3}", int(ts[i]), 20.0 + (i % 7) * 0.1) for i in range(1200)]
    spike = int(np.flatnonzero(ts == 900)[0])
    vals[spike] = ev(f"d{spike % 3}", 900, 900.0)
    vals[17], vals[40] = b"{oops", None
    chunks = [pa.array(vals[:500], pa.binary()), pa.array([b"x"] + vals[500:], pa.binary()).slice(1)]
    watermark = T0 + 100 * 1000   # ev() puts event k at T0 + k seconds
    keep = [i for i in range(1200) if i not in (17, 40) and T0 + int(ts[i]) * 1000 >= watermark]
    keep.sort(key=lambda i: (int(ts[i]), int(part[i]), int(off[i])))
    a, b = vigil.Engine(), vigil.Engine()
    want = a.process(*binary_buffers(pa.array([vals[i] for i in keep], pa.binary())))
    got = b.process_batch([binary_buffers(c) for c in chunks], part, off, watermark)
    for key in set(want) - {"reject_index", "reject_reason", "reject_detail"}:
        w, g = want[key], got[key]
        if key == "index":   # process_batch's index is the input position
            w = np.array(keep)[w]
        if key in STRING_KEYS:
            w, g = strs(want, key), strs(got, key)
        assert (np.array_equal(w, g) if isinstance(w, np.ndarray) else w == g), key
    late = sorted(i for i in range(1200) if i not in (17, 40) and T0 + int(ts[i]) * 1000 < watermark)
    assert list(got["late_index"]) == late and len(late) == 100 - int(ts[17] < 100) - int(ts[40] < 100)
    assert list(got["late_ts_ms"]) == [T0 + int(ts[i]) * 1000 for i in late]
    assert sorted(got["reject_index"]) == [17, 40] and len(got["reject_detail"]) == 2
    assert got["n_valid"] == len(keep) and f"d{spike % 3}-900" in strs(got, "event_id")
    assert got["max_event_ms"] == T0 + max(int(ts[i]) for i in range(1200) if i not in (17, 40)) * 1000
    assert got["min_live_event_ms"] == watermark
    assert a.save_all() == b.save_all()
    none = vigil.Engine().process_batch([binary_buffers(pa.array([b"{oops"]))], part[:1], off[:1], 0)
    assert none["max_event_ms"] is None and none["min_live_event_ms"] is None and none["n_valid"] == 0
    with pytest.raises(vigil.errors.VigilInvalid, match="1200 values but 1199 partitions"):
        b.process_batch([binary_buffers(c) for c in chunks], part[1:], off, 0)


def test_process_returns_rejects_with_reason_and_detail():
    out = vigil.Engine().process(*binary_buffers(pa.array([b'{"event_id":"x"}', ev("d", 1, 1.0)])))
    assert out["n_valid"] == 1
    assert list(out["reject_index"]) == [0]
    assert vigil.reject_reason_names()[out["reject_reason"][0]] == "missing_field"
    assert out["reject_detail"][0]


def test_status_codes_become_typed_exceptions():
    with pytest.raises(vigil.errors.VigilInvalid, match="num_buckets"):
        vigil.Router(0)
    with pytest.raises(ValueError):
        vigil.Engine().load_all(b"not a state blob")
    with pytest.raises(vigil.errors.VigilInvalid, match="offsets"):
        vigil.Router(2).route(np.zeros(4, np.uint8), np.array([0, 9], np.int32))
