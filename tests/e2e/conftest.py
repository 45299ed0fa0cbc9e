"""Fixtures for tests against the real local stack (`./vigil stack up`).

Reuse them in any tests/e2e/test_*.py:

- ``cfg``: the validated configuration (vigil_ops.config.load()).
- ``stack``: fails fast, naming the service, unless Kafka, DynamoDB Local and
  MinIO answer; every fixture below depends on it.
- ``s3``, ``dynamodb``: boto3 clients configured from ``cfg``.
- ``unique_name(kind)``: a fresh, valid name such as ``vigil-t-topic-3f9a1c02``.
- ``kafka_topic(partitions=1)``, ``s3_bucket()``, ``ddb_table(key="pk")``:
  factories that create a fresh topic, bucket or table and remove it afterwards.
- ``spark_kafka_jars``: the Spark Kafka connector jars fetched at set-up.
- ``spark_session()``: one local[1] SparkSession with those jars (per test session).

Tests never stop or purge the shared stack.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "infra") not in sys.path:
    sys.path.insert(0, str(REPO / "infra"))

from vigil_ops import config as vconfig  # noqa: E402
from vigil_ops.stack import health  # noqa: E402


@pytest.fixture(scope="session")
def cfg() -> vconfig.Config:
    return vconfig.load()


@pytest.fixture(scope="session")
def stack(cfg):
    """The shared local stack must answer; say which service does not."""
    checks = {
        "kafka": lambda: health.kafka(cfg.kafka.bootstrap),
        "dynamodb": lambda: health.dynamodb(cfg.dynamodb.endpoint) if cfg.dynamodb.endpoint else None,
        "minio": lambda: health.minio(cfg.s3.endpoint) if cfg.s3.endpoint else None,
    }
    down = {name: why for name, check in checks.items() if (why := check())}
    if down:
        pytest.fail("the local stack is not healthy (run ./vigil stack up): "
                    + "; ".join(f"{k}: {v}" for k, v in down.items()), pytrace=False)
    return cfg


@pytest.fixture(scope="session")
def s3(stack):
    import boto3
    from botocore.config import Config as BotoConfig
    return boto3.client("s3", config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
                        **stack.s3_client_kwargs())


@pytest.fixture(scope="session")
def dynamodb(stack):
    import boto3
    return boto3.client("dynamodb", **stack.dynamodb_client_kwargs())


@pytest.fixture
def unique_name():
    def make(kind: str) -> str:
        return f"vigil-t-{kind}-{uuid.uuid4().hex[:8]}"
    return make


@pytest.fixture
def kafka_topic(stack, unique_name):
    """Factory: create a fresh topic (deleted after the test); returns its name."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": stack.kafka.bootstrap})
    made: list[str] = []

    def make(partitions: int = 1) -> str:
        name = unique_name("topic")
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(timeout=30)
        made.append(name)
        return name

    yield make
    if made:
        for f in admin.delete_topics(made).values():
            try:
                f.result(timeout=30)
            except Exception:  # best effort: a test may have deleted it
                pass


@pytest.fixture
def s3_bucket(s3, unique_name):
    """Factory: create a fresh bucket (emptied and deleted after the test)."""
    made: list[str] = []

    def make() -> str:
        name = unique_name("bucket")
        s3.create_bucket(Bucket=name)
        made.append(name)
        return name

    yield make
    for name in made:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=name, Delete={"Objects": keys})
        s3.delete_bucket(Bucket=name)


@pytest.fixture
def ddb_table(dynamodb, unique_name):
    """Factory: create a fresh on-demand table keyed by a string (deleted after)."""
    made: list[str] = []

    def make(key: str = "pk") -> str:
        name = unique_name("table")
        dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": key, "KeyType": "HASH"}])
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        made.append(name)
        return name

    yield make
    for name in made:
        dynamodb.delete_table(TableName=name)


@pytest.fixture(scope="session")
def spark_kafka_jars(cfg) -> list[str]:
    return cfg.spark_kafka_jars()


_SPARK = None


@pytest.fixture(scope="session")
def spark_session(stack, spark_kafka_jars, tmp_path_factory):
    """Factory returning the one local[1] SparkSession of this test session."""
    def make():
        global _SPARK
        if _SPARK is None:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            from pyspark.sql import SparkSession
            _SPARK = (SparkSession.builder.master("local[1]").appName("vigil-e2e")
                      .config("spark.jars", ",".join(spark_kafka_jars))
                      .config("spark.driver.host", "127.0.0.1")
                      .config("spark.driver.bindAddress", "127.0.0.1")
                      .config("spark.ui.enabled", "false")
                      .config("spark.sql.shuffle.partitions", "1")
                      .config("spark.driver.memory", "1g")
                      .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
                      .getOrCreate())
            _SPARK.sparkContext.setLogLevel("WARN")
        return _SPARK

    yield make
    global _SPARK
    if _SPARK is not None:
        _SPARK.stop()
        _SPARK = None
