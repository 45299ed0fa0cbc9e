"""vigil_stream.job.session_conf: the Spark settings derived from the job config."""

import pytest

from vigil_stream.config import JobConfig
from vigil_stream.job import (FS_CHECKPOINT_MANAGER, ROCKSDB_PROVIDER, is_local_path,
                              kafka_reader_options, session_conf)

KEY = "spark.sql.streaming.checkpointFileManagerClass"


def cfg(checkpoint: str, **extra) -> JobConfig:
    return JobConfig.from_dict({"kafka_bootstrap": "127.0.0.1:9092", "kafka_topic": "t",
                                "s3_bucket": "b", "ddb_table": "d",
                                "checkpoint_location": checkpoint, **extra})


@pytest.mark.parametrize("location,local", [
    ("/var/lib/vigil/checkpoints", True), ("checkpoints/stream", True),
    ("file:///tmp/cp", True), ("s3a://bucket/cp", False), ("hdfs://nn:8020/cp", False)])
def test_local_checkpoints_use_the_filesystem_manager(location, local):
    assert is_local_path(location) is local
    conf = session_conf(cfg(location, num_buckets=4))
    assert conf.get(KEY) == (FS_CHECKPOINT_MANAGER if local else None)
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.sql.streaming.stateStore.providerClass"] == ROCKSDB_PROVIDER


def test_spark_conf_overrides_the_defaults():
    conf = session_conf(cfg("/tmp/cp", spark_conf={KEY: "x.Y", "spark.a": 1}))
    assert conf[KEY] == "x.Y" and conf["spark.a"] == "1"
    assert conf["spark.shuffle.compress"] == "false"   # the chunks are compressed already
    conf = session_conf(cfg("/tmp/cp", spark_conf={"spark.shuffle.compress": "true"}))
    assert conf["spark.shuffle.compress"] == "true"


def test_python_workers_use_a_unix_domain_socket_unless_overridden():
    # loopback TCP without TCP_NODELAY delayed each task's start by ~40 ms (bench/RESULTS.md)
    assert session_conf(cfg("/tmp/cp"))["spark.python.unix.domain.socket.enabled"] == "true"
    off = session_conf(cfg("/tmp/cp", spark_conf={"spark.python.unix.domain.socket.enabled": False}))
    assert off["spark.python.unix.domain.socket.enabled"] == "False"


def test_expressions_are_interpreted_with_the_jobs_own_source_only():
    # few rows of ~384 KB chunks: generated code was compiled per batch for nothing
    key = "spark.sql.codegen.factoryMode"
    assert session_conf(cfg("/tmp/cp"))[key] == "NO_CODEGEN"
    assert key not in session_conf(cfg("/tmp/cp", kafka_source="spark"))   # a row per event there
    assert session_conf(cfg("/tmp/cp", spark_conf={key: "FALLBACK"}))[key] == "FALLBACK"


def test_kafka_options_are_prefixed_and_override_the_defaults():
    opts = kafka_reader_options(cfg("/tmp/cp", max_offsets_per_trigger=7))
    assert opts["kafka.fetch.max.wait.ms"] == "100" and opts["maxOffsetsPerTrigger"] == "7"
    opts = kafka_reader_options(cfg("/tmp/cp", kafka_options={"fetch.max.wait.ms": 20,
                                                               "kafka.security.protocol": "SSL"}))
    assert opts["kafka.fetch.max.wait.ms"] == "20" and opts["kafka.security.protocol"] == "SSL"
    assert not any(k.startswith("kafka.kafka.") for k in opts)


@pytest.mark.parametrize("window", [999, 86_400_001, "60s", True])
def test_claim_window_must_be_whole_ms_in_range(window):
    from vigil_stream.config import ConfigError
    with pytest.raises(ConfigError, match=r"'claim_window_ms' must be an integer in \[1000, 86400000\]"):
        cfg("/tmp/cp", claim_window_ms=window)


def test_routing_and_claim_shards_are_checked_and_reach_the_source():
    from vigil_stream.config import ConfigError
    from vigil_stream.job import source_options
    with pytest.raises(ConfigError, match="'routing' must be partition or device, got 'bucket'"):
        cfg("/tmp/cp", routing="bucket")
    with pytest.raises(ConfigError, match=r"'claim_shards' must be an integer in \[1, 100000\]"):
        cfg("/tmp/cp", claim_shards=0)
    assert source_options(cfg("/tmp/cp"))["routing"] == "partition"
    assert source_options(cfg("/tmp/cp", routing="device"))["routing"] == "device"
