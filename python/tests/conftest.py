"""Shared fixtures: a session-scoped local[1] SparkSession and moto-backed AWS clients.

moto serves unit tests only; the real services are exercised by tests/e2e.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

JOBS = str(Path(__file__).resolve().parents[1] / "jobs")
sys.path.insert(0, JOBS)
# Spark's Python workers import the job's modules by name: they inherit this.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (JOBS, os.environ.get("PYTHONPATH")) if p)


@pytest.fixture
def aws(monkeypatch):
    """(s3, dynamodb) clients of an in-process moto AWS, with bucket "out" and table "claims"."""
    moto = pytest.importorskip("moto")
    import boto3
    for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        s3.create_bucket(Bucket="out")
        from vigil_stream.claims import ensure_table
        ensure_table(ddb, "claims")
        yield s3, ddb


@pytest.fixture(scope="session")
def spark():
    """One local[1] SparkSession for the whole test run."""
    pyspark = pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (SparkSession.builder.master("local[1]").appName("vigil-unit")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
