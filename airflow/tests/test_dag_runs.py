"""dag.test() of each batch DAG against the local stack (Kafka, DynamoDB Local, MinIO)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import put_objects, run_dag, task_states
from sample_data import anomaly_records, hour_objects

UTC = dt.timezone.utc


def test_provision_creates_then_converges(deployment, airflow_db, s3):
    from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
    import boto3

    from vigil_airflow import provision

    s = deployment
    for attempt in range(2):  # the second run must find everything in place and succeed again
        run = run_dag("vigil_provision", dt.datetime(2026, 11, 23, tzinfo=UTC) + dt.timedelta(minutes=attempt))
        assert str(run.state) in ("success", "DagRunState.SUCCESS"), task_states(run)

    admin = AdminClient({"bootstrap.servers": s.kafka_bootstrap})
    topic = admin.list_topics(topic=s.kafka_topic, timeout=10).topics[s.kafka_topic]
    assert len(topic.partitions) == (s.kafka_partitions or provision.DEFAULT_PARTITIONS)
    configs = next(iter(admin.describe_configs([ConfigResource(ResourceType.TOPIC, s.kafka_topic)])
                        .values())).result(timeout=10)
    assert int(configs["retention.ms"].value) == s.kafka_retention_ms

    from vigil_ops import config as vconfig

    ddb = boto3.client("dynamodb", **vconfig.load().dynamodb_client_kwargs())
    table = ddb.describe_table(TableName=s.ddb_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "claim_key", "KeyType": "HASH"}]
    ttl = ddb.describe_time_to_live(TableName=s.ddb_table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING") and ttl["AttributeName"] == "expires_at"

    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=s.s3_bucket)["Rules"]}
    assert rules["vigil-expire-dead-letter"]["Expiration"]["Days"] == s.dead_letter_expire_days
    assert rules["vigil-expire-dead-letter"]["Filter"]["Prefix"] == s.dead_letter_prefix


def test_hourly_compaction_matches_the_json_record_for_record(deployment, airflow_db, s3):
    from vigil_airflow import hourly

    s = deployment
    s3.create_bucket(Bucket=s.s3_bucket)
    hour = dt.datetime(2026, 11, 22, 14, tzinfo=UTC)
    records = anomaly_records(hour, 230, seed=11)
    put_objects(s3, s.s3_bucket, hour_objects(s.s3_prefix, hour, records, per_file=60))

    run = run_dag("vigil_hourly", hour + dt.timedelta(hours=1))  # the run whose interval is [14:00, 15:00)
    states = task_states(run)
    assert states == {"wait_for_hour": "success", "compact_to_parquet": "success",
                      "quality_checks": "success", "hourly_summary": "success"}, states

    body = s3.get_object(Bucket=s.s3_bucket, Key=s.curated_hour_prefix(hour) + "anomalies.parquet")["Body"].read()
    assert hourly.read_parquet(body).to_pylist() == records
    summary = json.loads(s3.get_object(Bucket=s.s3_bucket, Key=s.summary_key(hour))["Body"].read())
    assert summary["anomalies"] == 230 and summary["hour_start"] == "2026-11-22T14:00:00Z"


def test_hourly_quality_check_fails_loudly_on_duplicates(deployment, s3):
    from vigil_airflow import hourly, tasks

    s = deployment
    s3.create_bucket(Bucket=s.s3_bucket)
    hour = dt.datetime(2026, 11, 22, 15, tzinfo=UTC)
    records = anomaly_records(hour, 20, seed=12)
    records[5]["anomaly_id"] = records[1]["anomaly_id"]
    put_objects(s3, s.s3_bucket, hour_objects(s.s3_prefix, hour, records, per_file=8))
    tasks.compact_hour(hour)
    with pytest.raises(hourly.QualityError, match="anomaly_id values appear more than once"):
        tasks.check_hour(hour)


def _day_fixture(s, s3, day):
    s3.create_bucket(Bucket=s.s3_bucket)
    total = 0
    for h in range(24):
        hour = day + dt.timedelta(hours=h)
        records = anomaly_records(hour, 3 + h % 5, seed=200 + h)
        total += len(records)
        put_objects(s3, s.s3_bucket, hour_objects(s.s3_prefix, hour, records))
    return total


def _kafka_with_checkpoint(s, messages: int, processed: int, tmp_path_factory=None):
    """A topic holding `messages` records and a checkpoint that has read `processed` of them."""
    import pathlib

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": s.kafka_bootstrap})
    admin.create_topics([NewTopic(s.kafka_topic, num_partitions=1, replication_factor=1)])[s.kafka_topic].result(30)
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap})
    for i in range(messages):
        producer.produce(s.kafka_topic, value=b"{}", key=str(i).encode())
    assert producer.flush(30) == 0
    root = pathlib.Path(s.checkpoint_location)
    (root / "offsets").mkdir(parents=True)
    (root / "commits").mkdir()
    (root / "offsets" / "0").write_text('v1\n{"batchWatermarkMs":0}\n' + json.dumps({s.kafka_topic: {"0": processed}}) + "\n")
    (root / "commits" / "0").write_text("v1\n{}\n")


def test_daily_report_and_checks(deployment, airflow_db, s3, monkeypatch, tmp_path):
    from vigil_airflow import tasks
    import test_report

    s = deployment
    day = (dt.datetime.now(UTC) - dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    total = _day_fixture(s, s3, day)
    tasks.compact_hour(day + dt.timedelta(hours=3))  # one hour compacted, the rest read from JSON
    _kafka_with_checkpoint(s, messages=50, processed=50)
    # every hour was closed at upload time, up to 48h after it ended
    monkeypatch.setenv("VIGIL_MAX_OUTPUT_AGE_H", "48")

    run = run_dag("vigil_daily", day + dt.timedelta(days=1))
    states = task_states(run)
    assert set(states.values()) == {"success"}, states

    html = s3.get_object(Bucket=s.s3_bucket, Key=s.report_key(day))["Body"].read().decode()
    assert f"<b>{total}</b>anomalies" in html and "<b>24/24</b>hours closed" in html
    page = tmp_path / "report.html"
    page.write_text(html)
    test_report.render_and_screenshot(page, tmp_path / "daily-report.png")


def test_daily_checks_fail_loudly_past_thresholds(deployment, s3, monkeypatch):
    from vigil_airflow import tasks

    s = deployment
    day = dt.datetime(2026, 11, 20, tzinfo=UTC)
    _day_fixture(s, s3, day)
    s3.delete_object(Bucket=s.s3_bucket, Key=s.hour_prefix(day + dt.timedelta(hours=7)) + "_SUCCESS")
    with pytest.raises(tasks.CheckFailed, match="hours not closed: 07"):
        tasks.check_freshness(day)

    _kafka_with_checkpoint(s, messages=40, processed=10)
    monkeypatch.setenv("VIGIL_MAX_CONSUMER_LAG", "25")
    with pytest.raises(tasks.CheckFailed, match="30 records behind .* \\(limit 25\\)"):
        tasks.check_consumer_lag()
    monkeypatch.setenv("VIGIL_MAX_CONSUMER_LAG", "30")
    assert tasks.check_consumer_lag()["lag"] == 30
