"""Provisioning converges existing resources and refuses ones Vigil cannot use (local stack)."""

from __future__ import annotations

import pytest


def test_topic_grows_never_shrinks_and_keeps_an_unconfigured_count(deployment):
    from vigil_airflow import provision, tasks

    s = deployment
    admin = tasks._kafka_admin()
    assert provision.ensure_topic(admin, s.kafka_topic, 2, 1, 3_600_000)["partitions"] == 2
    assert provision.ensure_topic(admin, s.kafka_topic, 4, 1, 7_200_000) == {
        "topic": s.kafka_topic, "partitions": 4, "retention_ms": 7_200_000}
    assert provision.ensure_topic(admin, s.kafka_topic, 3, 1, 7_200_000)["partitions"] == 4
    assert provision.ensure_topic(admin, s.kafka_topic, None, 1, 7_200_000)["partitions"] == 4


def test_table_with_another_key_schema_is_refused(deployment):
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook

    from vigil_airflow import AWS_CONN_ID, provision, tasks

    s = tasks._settings()
    client = DynamoDBHook(aws_conn_id=AWS_CONN_ID).client
    client.create_table(TableName=s.ddb_table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    with pytest.raises(provision.ProvisionError, match="needs a single hash key 'claim_key'"):
        provision.ensure_table(client, s.ddb_table, "expires_at")


def test_bucket_reports_the_rules_the_store_rejects(deployment):
    from vigil_airflow import provision, tasks

    s = tasks._settings()
    first = provision.ensure_bucket(tasks._s3_hook(), s)
    again = provision.ensure_bucket(tasks._s3_hook(), s)
    assert first["created"] is True and again["created"] is False
    assert "vigil-expire-dead-letter" in first["rules"]
    required, optional = provision.lifecycle_rules(s)
    # every optional rule is either applied or reported with the store's error code
    assert set(first["rules"]) | set(first["skipped"]) == {r["ID"] for r in required + optional}
    assert first["rules"] == again["rules"]
