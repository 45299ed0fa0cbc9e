"""Compaction keeps every record and field; the quality checks catch each kind of defect."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sample_data import anomaly_records, hour_objects, json_lines
from vigil_airflow import hourly

HOUR = dt.datetime(2026, 11, 23, 10, tzinfo=dt.timezone.utc)


def _hour_input(objects: dict[str, bytes]) -> tuple[hourly.HourInput, dict[str, int]]:
    prefix = f"anomalies/dt=2026-11-23/hr=10/"
    manifest = json.loads(objects[prefix + "_manifest.json"])
    parts = sorted(k for k in objects if k[len(prefix):].startswith("part-"))
    counts = {k: objects[k].count(b"\n") for k in parts}
    return hourly.HourInput(HOUR, prefix, manifest, parts), counts


def test_parquet_round_trip_is_record_for_record():
    records = anomaly_records(HOUR, 130, seed=3)
    objects = hour_objects("anomalies/", HOUR, records, per_file=50)
    hour, _ = _hour_input(objects)
    table = hourly.parse_json_lines([objects[k] for k in hour.parts])
    back = hourly.read_parquet(hourly.parquet_bytes(table)).to_pylist()
    assert back == records


def test_schema_is_fixed_whatever_the_values():
    # value written as an integer and a missing optional field must not change the schema
    rec = anomaly_records(HOUR, 1, seed=1)[0]
    rec["value"] = 7
    del rec["expected_low"]
    table = hourly.parse_json_lines([json_lines([rec])])
    assert table.schema.field("value").type == hourly.ANOMALY_SCHEMA.field("value").type
    assert table.schema.names[:len(hourly.ANOMALY_SCHEMA)] == hourly.ANOMALY_SCHEMA.names
    assert table.column("expected_low").to_pylist() == [None]


def test_empty_hour_gives_an_empty_table_with_the_schema():
    table = hourly.parse_json_lines([])
    assert table.num_rows == 0 and table.schema == hourly.ANOMALY_SCHEMA


def test_quality_passes_on_a_good_hour():
    objects = hour_objects("anomalies/", HOUR, anomaly_records(HOUR, 90, seed=5), per_file=40)
    hour, counts = _hour_input(objects)
    table = hourly.parse_json_lines([objects[k] for k in hour.parts])
    assert hourly.check_quality(table, hour, counts) == {
        "hour": hour.prefix, "records": 90, "files": 3, "ok": True}


def test_quality_catches_a_repeated_anomaly_id():
    records = anomaly_records(HOUR, 10, seed=5)
    records[7]["anomaly_id"] = records[2]["anomaly_id"]
    objects = hour_objects("anomalies/", HOUR, records)
    hour, counts = _hour_input(objects)
    table = hourly.parse_json_lines([objects[k] for k in hour.parts])
    with pytest.raises(hourly.QualityError, match="1 anomaly_id values appear more than once"):
        hourly.check_quality(table, hour, counts)


def test_quality_catches_count_mismatches_and_missing_files():
    objects = hour_objects("anomalies/", HOUR, anomaly_records(HOUR, 60, seed=9), per_file=25)
    hour, counts = _hour_input(objects)
    dropped = hour.parts[-1]
    counts.pop(dropped)
    table = hourly.parse_json_lines([objects[k] for k in hour.parts if k != dropped])
    with pytest.raises(hourly.QualityError) as err:
        hourly.check_quality(table, hour, counts)
    assert "files in the manifest but not in S3" in str(err.value)
    assert "Parquet has 50 records, the manifest says 60" in str(err.value)


def test_quality_catches_records_outside_the_hour():
    records = anomaly_records(HOUR, 5, seed=2)
    records[0]["event_time_ms"] -= 3_600_000
    objects = hour_objects("anomalies/", HOUR, records)
    hour, counts = _hour_input(objects)
    table = hourly.parse_json_lines([objects[k] for k in hour.parts])
    with pytest.raises(hourly.QualityError, match="1 records have an event time outside"):
        hourly.check_quality(table, hour, counts)


def test_summary_counts():
    records = anomaly_records(HOUR, 40, seed=4, devices=3)
    table = hourly.parse_json_lines([json_lines(records)])
    summary = hourly.summarize(table, HOUR)
    assert summary["anomalies"] == 40 and summary["devices"] == 3
    assert sum(summary["by_device"].values()) == 40
    assert sum(summary["by_metric"].values()) == 40
    assert sum(summary["by_detector"].values()) == sum(len(r["detectors"]) for r in records)
    assert summary["severity"]["max"] == max(r["severity"] for r in records)
    assert summary["severity"]["high"] == sum(r["severity"] >= 70 for r in records)
    assert list(summary["by_device"].values()) == sorted(summary["by_device"].values(), reverse=True)
