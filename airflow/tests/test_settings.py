"""Settings come from the Vigil configuration's shape; connections are derived from them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from vigil_airflow import AWS_CONN_ID, KAFKA_CONN_ID, SPARK_CONN_ID, connections
from vigil_airflow.settings import Settings, SettingsError, from_mapping

LOCAL = {
    "env": "local",
    "kafka": {"bootstrap": "127.0.0.1:9092", "topic": "vigil.events"},
    "spark": {"master": "local[*]", "checkpoint_location": "/tmp/ckpt"},
    "s3": {"bucket": "vigil-anomalies", "endpoint": "http://127.0.0.1:9000", "prefix": "anomalies/",
           "dead_letter_prefix": "dead-letter/"},
    "dynamodb": {"table": "vigil-claims", "endpoint": "http://127.0.0.1:8000", "ttl_days": 7},
    "aws": {"region": "eu-west-1", "access_key_id": "AK", "secret_access_key": "SK"},
}


def test_from_mapping_reads_every_section():
    s = from_mapping(LOCAL)
    assert (s.kafka_bootstrap, s.kafka_topic, s.s3_bucket, s.ddb_table) == (
        "127.0.0.1:9092", "vigil.events", "vigil-anomalies", "vigil-claims")
    assert s.region == "eu-west-1" and s.s3_prefix == "anomalies/"
    assert s.checkpoint_location == "/tmp/ckpt" and s.spark_master == "local[*]"
    hour = dt.datetime(2026, 11, 23, 7, tzinfo=dt.timezone.utc)
    assert s.hour_prefix(hour) == "anomalies/dt=2026-11-23/hr=07/"
    assert s.curated_hour_prefix(hour) == "curated/anomalies/dt=2026-11-23/hr=07/"
    assert s.report_key(hour) == "reports/daily/dt=2026-11-23/report.html"


def test_hour_prefix_converts_to_utc_and_rejects_naive_times():
    s = from_mapping(LOCAL)
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert s.hour_prefix(dt.datetime(2026, 11, 23, 1, tzinfo=plus2)) == "anomalies/dt=2026-11-22/hr=23/"
    with pytest.raises(SettingsError, match="naive"):
        s.hour_prefix(dt.datetime(2026, 11, 23, 1))


@pytest.mark.parametrize("path, value, message", [
    ("kafka.topic", None, "missing required key 'kafka.topic'"),
    ("s3.bucket", "", "missing required key 's3.bucket'"),
    ("s3.prefix", "/abs/", "s3.prefix"),
    ("kafka.partitions", "many", "kafka.partitions: expected an integer"),
    ("kafka.partitions", 0, "kafka.partitions: must be at least 1"),
])
def test_bad_values_name_the_key(path, value, message):
    raw = json.loads(json.dumps(LOCAL))
    section, key = path.split(".")
    raw[section][key] = value
    with pytest.raises(SettingsError, match=message.replace(".", r"\.").replace("(", r"\(")):
        from_mapping(raw, source="config/test.yaml")


def test_airflow_section_must_be_a_mapping():
    with pytest.raises(SettingsError, match="'airflow' must be a mapping"):
        from_mapping({**LOCAL, "airflow": ["x"]})


def test_local_connections_point_at_the_stack_endpoints():
    env = connections.airflow_env(from_mapping(LOCAL))
    aws = json.loads(env[f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}"])
    assert aws["conn_type"] == "aws" and (aws["login"], aws["password"]) == ("AK", "SK")
    assert aws["extra"]["service_config"] == {"s3": {"endpoint_url": "http://127.0.0.1:9000"},
                                              "dynamodb": {"endpoint_url": "http://127.0.0.1:8000"}}
    kafka = json.loads(env[f"AIRFLOW_CONN_{KAFKA_CONN_ID.upper()}"])
    assert kafka["extra"]["bootstrap.servers"] == "127.0.0.1:9092"
    spark = json.loads(env[f"AIRFLOW_CONN_{SPARK_CONN_ID.upper()}"])
    assert spark == {"conn_type": "spark", "host": "local[*]", "extra": {}}


def test_aws_connections_have_no_endpoint_and_no_key():
    raw = json.loads(json.dumps(LOCAL))
    raw["s3"]["endpoint"] = None
    raw["dynamodb"]["endpoint"] = None
    raw["aws"] = {"region": "us-east-2"}
    aws = connections.definitions(from_mapping(raw))[AWS_CONN_ID]
    assert aws == {"conn_type": "aws", "extra": {"region_name": "us-east-2"}}


def test_airflow_resolves_the_generated_connections(monkeypatch):
    """The env vars are in a form Airflow itself parses into working hook settings."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    for name, value in connections.airflow_env(from_mapping(LOCAL)).items():
        monkeypatch.setenv(name, value)
    hook = S3Hook(aws_conn_id=AWS_CONN_ID)
    assert hook.conn_config.get_service_endpoint_url("s3") == "http://127.0.0.1:9000"
    assert hook.conn_config.get_service_endpoint_url("dynamodb") == "http://127.0.0.1:8000"
    assert SparkSubmitHook(conn_id=SPARK_CONN_ID)._connection["master"] == "local[*]"


def test_connections_cli_prints_exports(monkeypatch, capsys):
    import vigil_airflow.settings as settings_module

    monkeypatch.setattr(settings_module, "load", lambda: from_mapping(LOCAL))
    assert connections.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("export AIRFLOW_CONN_") == 3


def test_settings_load_uses_vigil_ops_and_env_overrides(monkeypatch, tmp_path):
    import types

    import vigil_airflow.settings as settings_module

    fake = types.ModuleType("vigil_ops.config")
    fake.load = lambda: LOCAL
    monkeypatch.setitem(__import__("sys").modules, "vigil_ops.config", fake)
    monkeypatch.setattr(__import__("vigil_ops"), "config", fake, raising=False)
    monkeypatch.setenv("VIGIL_STREAM_STALE_AFTER_S", "42")
    s = settings_module.load()
    assert isinstance(s, Settings) and s.stream_stale_after_s == 42
    monkeypatch.setenv("VIGIL_STREAM_STALE_AFTER_S", "soon")
    with pytest.raises(SettingsError, match="VIGIL_STREAM_STALE_AFTER_S"):
        settings_module.load()
