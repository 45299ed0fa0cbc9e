"""vigil_ops.config: overrides, references, validation messages, local secrets."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vigil_ops import config as vconfig  # noqa: E402

LOCAL = vconfig.ROOT / "config" / "local.yaml"


def load(tmp_path, path=None, **env):
    return vconfig.load(path=path or LOCAL, environ={"VIGIL_HOME": str(tmp_path), **env})


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "test.yaml"
    p.write_text(text)
    return p


def test_local_defaults_follow_the_stack_ports(tmp_path):
    cfg = load(tmp_path)
    assert cfg.env == "local"
    assert cfg.kafka.bootstrap == f"{cfg.stack.host}:{cfg.stack.kafka.port}"
    assert cfg.s3.endpoint == f"http://{cfg.stack.host}:{cfg.stack.minio.port}"
    assert cfg.spark.checkpoint_location == f"{tmp_path}/checkpoints/stream"
    moved = load(tmp_path, VIGIL_KAFKA_PORT="19092", VIGIL_MINIO_PORT="19000")
    assert moved.kafka.bootstrap.endswith(":19092") and moved.stack.kafka.port == 19092
    assert moved.s3.endpoint.endswith(":19000")


def test_seed_variables_override_single_keys(tmp_path):
    cfg = load(tmp_path, KAFKA_BOOTSTRAP="b1:9094,b2:9094", KAFKA_TOPIC="t.x", S3_OUTPUT_BUCKET="my-out",
               DDB_TABLE="claims_1", AWS_REGION="eu-west-1", S3_ENDPOINT="", DDB_ENDPOINT="https://ddb.example:443")
    assert (cfg.kafka.bootstrap, cfg.kafka.topic, cfg.s3.bucket) == ("b1:9094,b2:9094", "t.x", "my-out")
    assert (cfg.dynamodb.table, cfg.aws.region) == ("claims_1", "eu-west-1")
    assert cfg.s3.endpoint.startswith("http://")  # empty means unset
    assert cfg.dynamodb_client_kwargs()["endpoint_url"] == "https://ddb.example:443"


def test_aws_config_needs_no_local_address(tmp_path):
    env = {"KAFKA_BOOTSTRAP": "b-1.msk:9094", "S3_OUTPUT_BUCKET": "prod-anomalies"}
    cfg = vconfig.load(path=vconfig.ROOT / "config" / "aws.yaml", environ={"VIGIL_HOME": str(tmp_path), **env})
    assert cfg.stack is None and cfg.s3.endpoint is None and cfg.dynamodb.endpoint is None
    assert cfg.spark.checkpoint_location == "s3a://prod-anomalies/_checkpoints/stream"
    assert "endpoint_url" not in cfg.s3_client_kwargs()
    assert "aws_access_key_id" not in cfg.s3_client_kwargs()  # boto3's default chain
    with pytest.raises(vconfig.ConfigError, match=r"aws.yaml: kafka.bootstrap: needs the environment variable KAFKA_BOOTSTRAP"):
        vconfig.load(path=vconfig.ROOT / "config" / "aws.yaml", environ={"VIGIL_HOME": str(tmp_path)})
    for text in (vconfig.ROOT / "config").glob("*.yaml"):
        if text.name != "local.yaml":
            assert "127.0.0.1" not in text.read_text() and "localhost" not in text.read_text()


@pytest.mark.parametrize("env, message", [
    ({"KAFKA_BOOTSTRAP": "nohostport"}, "kafka.bootstrap: must be host:port"),
    ({"KAFKA_TOPIC": "bad topic"}, "kafka.topic: not a valid Kafka topic name"),
    ({"S3_OUTPUT_BUCKET": "Bad_Bucket"}, "s3.bucket: not a valid S3 bucket name"),
    ({"DDB_TABLE": "x"}, "dynamodb.table: not a valid DynamoDB table name"),
    ({"S3_ENDPOINT": "minio:9000"}, "s3.endpoint: must be an http(s):// URL"),
    ({"VIGIL_AIRFLOW_PORT": "0"}, "stack.airflow.port: must be a port number"),
    ({"VIGIL_MINIO_PORT": "9092"}, "stack: two services share a port"),
    ({"VIGIL_DETECTOR_CONFIG": "/nonexistent/detectors.yaml"}, "detector.config: no such file"),
    ({"AWS_ACCESS_KEY_ID": "AKIA1"}, "AWS_SECRET_ACCESS_KEY is not"),
])
def test_bad_values_name_file_and_key(tmp_path, env, message):
    with pytest.raises(vconfig.ConfigError) as e:
        load(tmp_path, **env)
    assert str(e.value).startswith(f"{LOCAL}: ")
    assert message in str(e.value)


def test_structure_errors(tmp_path):
    base = LOCAL.read_text()
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: kafka.topic: missing \(is 'topik' a misspelling"):
        load(tmp_path, write(tmp_path, base.replace("  topic: vigil.events", "  topik: vigil.events")))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: kafka.extra: unknown key"):
        load(tmp_path, write(tmp_path, base.replace("  topic: vigil.events", "  topic: vigil.events\n  extra: 1")))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: kafka.max_offsets_per_trigger: must be a positive"):
        load(tmp_path, write(tmp_path, base.replace("max_offsets_per_trigger: 200000", "max_offsets_per_trigger: -1")))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: spark.trigger: must be like"):
        load(tmp_path, write(tmp_path, base.replace("trigger: 5 seconds", "trigger: often")))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: s3.endpoint: refers to \$\{stack.nope.port\}"):
        load(tmp_path, write(tmp_path, base.replace("${stack.minio.port}", "${stack.nope.port}")))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: dynamo: unknown section \(known: aws, detector, dynamodb"):
        load(tmp_path, write(tmp_path, base.replace("dynamodb:\n", "dynamo:\n", 1)))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: not valid YAML"):
        load(tmp_path, write(tmp_path, "kafka: [unclosed"))
    with pytest.raises(vconfig.ConfigError, match=r"no such configuration file"):
        vconfig.load(env="staging-missing", environ={"VIGIL_HOME": str(tmp_path)})


def test_local_secrets_are_generated_once_private_and_alphanumeric(tmp_path):
    cfg = load(tmp_path)
    path = tmp_path / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.aws.access_key_id.isalnum() and len(cfg.aws.secret_access_key) >= 32
    assert load(tmp_path).aws.access_key_id == cfg.aws.access_key_id
    assert cfg.aws.secret_access_key not in repr(cfg)
    assert load(tmp_path, AWS_ACCESS_KEY_ID="AKIA2", AWS_SECRET_ACCESS_KEY="s").aws.access_key_id == "AKIA2"


def test_spark_kafka_jars_says_how_to_fetch_them(tmp_path):
    with pytest.raises(vconfig.ConfigError, match=r"spark-kafka.classpath: missing; run ./vigil setup stack"):
        vconfig.spark_kafka_jars(tmp_path)
    (tmp_path / "jars").mkdir()
    jar = tmp_path / "jars" / "a.jar"
    jar.write_bytes(b"PK")
    (tmp_path / "jars" / "spark-kafka.classpath").write_text(f"{jar},{tmp_path}/gone.jar\n")
    with pytest.raises(vconfig.ConfigError, match=r"lists missing jars"):
        vconfig.spark_kafka_jars(tmp_path)
    (tmp_path / "jars" / "spark-kafka.classpath").write_text(f"{jar}\n")
    assert vconfig.spark_kafka_jars(tmp_path) == [str(jar)]


def test_kafka_source_is_vigil_or_spark_and_reaches_the_job(tmp_path):
    from vigil_ops import stream
    cfg = load(tmp_path)
    assert cfg.kafka.source == "vigil" and stream.job_config(cfg)["kafka_source"] == "vigil"
    text = LOCAL.read_text()
    assert "  source: vigil\n" in text
    spark = load(tmp_path, path=write(tmp_path, text.replace("  source: vigil\n", "  source: spark\n")))
    assert stream.job_config(spark)["kafka_source"] == "spark"
    bad = write(tmp_path, text.replace("  source: vigil\n", "  source: kafka-java\n"))
    with pytest.raises(vconfig.ConfigError, match=r"test.yaml: kafka.source: must be vigil .* got 'kafka-java'"):
        load(tmp_path, path=bad)


def test_a_local_driver_jvm_runs_c1_only_with_large_g1_regions_and_a_cluster_keeps_its_own_options(tmp_path):
    from vigil_ops import stream
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    (python.parent / "spark-submit").write_text("")
    (tmp_path / "jars").mkdir()
    (tmp_path / "jars" / "a.jar").write_bytes(b"PK")
    (tmp_path / "jars" / "spark-kafka.classpath").write_text(f"{tmp_path / 'jars' / 'a.jar'}\n")
    cfg = load(tmp_path)
    cmd = stream.submit_command(cfg, tmp_path / "job.json", tmp_path / "jobs.zip", str(python))
    opts = "spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1 -XX:G1HeapRegionSize=16m -Xms2g"
    assert opts in cmd
    assert cmd[cmd.index(opts) - 1] == "--conf"
    assert "spark.driver.memory=2g" in cmd   # -Xms is the whole heap
    mine = stream.submit_command(cfg, tmp_path / "job.json", tmp_path / "jobs.zip", str(python),
                                 extra_conf={"spark.driver.extraJavaOptions": "-Xss4m"})
    assert "spark.driver.extraJavaOptions=-Xss4m" in mine
    assert not any("TieredStopAtLevel" in a or "G1HeapRegionSize" in a for a in mine)
    env = {"KAFKA_BOOTSTRAP": "b-1.msk:9094", "S3_OUTPUT_BUCKET": "prod-anomalies"}
    aws = vconfig.load(path=vconfig.ROOT / "config" / "aws.yaml", environ={"VIGIL_HOME": str(tmp_path), **env})
    assert aws.spark.master == "yarn" and stream.jvm_conf(aws) == {}


def test_a_local_job_keeps_freed_memory_and_a_cluster_job_gets_no_allocator_settings(tmp_path, monkeypatch):
    from vigil_ops import stream
    for k in stream.LOCAL_JOB_ENV:
        monkeypatch.delenv(k, raising=False)
    env = stream.job_env(load(tmp_path))
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456"
    assert env["MIMALLOC_PURGE_DELAY"] == "-1"
    monkeypatch.setenv("MIMALLOC_PURGE_DELAY", "100")        # the caller's own value wins
    assert stream.job_env(load(tmp_path))["MIMALLOC_PURGE_DELAY"] == "100"
    monkeypatch.delenv("MIMALLOC_PURGE_DELAY")
    aws = vconfig.load(path=vconfig.ROOT / "config" / "aws.yaml",
                       environ={"VIGIL_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "b-1.msk:9094",
                                "S3_OUTPUT_BUCKET": "prod-anomalies"})
    assert not set(stream.LOCAL_JOB_ENV) & set(stream.job_env(aws))


def test_claim_window_defaults_to_a_minute_and_is_checked(tmp_path):
    assert load(tmp_path).dynamodb.claim_window_s == 60
    text = LOCAL.read_text().replace("  ttl_days: 7\n", "  ttl_days: 7\n  claim_window_s: 0\n", 1)
    with pytest.raises(vconfig.ConfigError, match=r"dynamodb.claim_window_s: must be an integer number of seconds in \[1, 86400\], got 0"):
        load(tmp_path, path=write(tmp_path, text))
    ok = write(tmp_path, text.replace("claim_window_s: 0", "claim_window_s: 300"))
    assert load(tmp_path, path=ok).dynamodb.claim_window_s == 300


def test_claim_shards_and_routing_default_and_are_checked(tmp_path):
    from vigil_ops import stream
    c = load(tmp_path)
    assert c.dynamodb.claim_shards == 16 and c.kafka.routing == "partition"
    text = LOCAL.read_text().replace("  ttl_days: 7\n", "  ttl_days: 7\n  claim_shards: 0\n", 1)
    with pytest.raises(vconfig.ConfigError, match=r"dynamodb.claim_shards: must be an integer in \[1, 100000\], got 0"):
        load(tmp_path, path=write(tmp_path, text))
    text = LOCAL.read_text().replace("  routing: partition\n", "  routing: devices\n", 1)
    with pytest.raises(vconfig.ConfigError, match=r"kafka.routing: must be partition .* or device .*got 'devices'"):
        load(tmp_path, path=write(tmp_path, text))
    job = stream.job_config(load(tmp_path, path=write(tmp_path, LOCAL.read_text().replace(
        "  routing: partition\n", "  routing: device\n", 1))))
    assert job["routing"] == "device" and job["claim_shards"] == 16
