"""Idempotent provisioning of the Kafka topic, the DynamoDB claims table and the S3 bucket.

Each ``ensure_*`` function converges the resource to the configured shape and returns
what it found and did, so running ``vigil_provision`` twice is harmless: an existing
topic gains partitions (Kafka cannot remove any) and gets its retention set; an existing
table is checked for the key schema the streaming job writes and gets TTL switched on;
an existing bucket gets its lifecycle rules replaced by the configured ones.

The functions take the providers' hooks (``KafkaAdminClientHook``, ``DynamoDBHook``,
``S3Hook``) so the same code runs against the local stack and AWS.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from vigil_airflow.settings import Settings

log = logging.getLogger(__name__)

KAFKA_TIMEOUT_S = 30.0
# The claims table's shape; it must match python/jobs/vigil_stream/claims.py.
CLAIMS_HASH_KEY = "claim_key"


class ProvisionError(RuntimeError):
    """A resource exists in a shape Vigil cannot use; the message names it."""


DEFAULT_PARTITIONS = 6


def ensure_topic(admin_hook: Any, topic: str, partitions: int | None, replication: int,
                 retention_ms: int) -> dict[str, Any]:
    """Create `topic` if missing, grow it to `partitions` (if set), set ``retention.ms``.

    With `partitions` None (not configured) a new topic gets :data:`DEFAULT_PARTITIONS` and
    an existing one keeps its count.
    """
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource,
                                       NewPartitions, ResourceType)

    admin_hook.create_topic([(topic, partitions or DEFAULT_PARTITIONS, replication)])  # or "exists"
    admin = admin_hook.get_conn
    metadata = admin.list_topics(topic=topic, timeout=KAFKA_TIMEOUT_S)
    described = metadata.topics.get(topic)
    if described is None or described.error is not None:
        raise ProvisionError(f"Kafka topic {topic!r}: not visible after create "
                             f"({getattr(described, 'error', 'missing')})")
    current = len(described.partitions)
    if partitions is None:
        pass
    elif current < partitions:
        log.info("Kafka topic %s: growing from %d to %d partitions", topic, current, partitions)
        for future in admin.create_partitions([NewPartitions(topic, partitions)]).values():
            future.result(timeout=KAFKA_TIMEOUT_S)
        current = partitions
    elif current > partitions:
        log.warning("Kafka topic %s has %d partitions, more than the configured %d; "
                    "Kafka cannot shrink a topic, keeping %d", topic, current, partitions, current)

    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", str(retention_ms),
                    incremental_operation=AlterConfigOpType.SET)])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=KAFKA_TIMEOUT_S)
    # The broker applies a config change asynchronously: read it back until it shows.
    check = ConfigResource(ResourceType.TOPIC, topic)
    deadline = time.monotonic() + KAFKA_TIMEOUT_S
    while True:
        configs = next(iter(admin.describe_configs([check]).values())).result(timeout=KAFKA_TIMEOUT_S)
        actual = int(configs["retention.ms"].value)
        if actual == retention_ms or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if actual != retention_ms:
        raise ProvisionError(f"Kafka topic {topic!r}: retention.ms is {actual} after setting "
                             f"{retention_ms}")
    return {"topic": topic, "partitions": current, "retention_ms": actual}


def ensure_table(client: Any, table: str, ttl_attribute: str,
                 wait_s: float = 60.0) -> dict[str, Any]:
    """Create the claims table (hash key ``claim_key``, on demand) with TTL on `ttl_attribute`."""
    created = False
    try:
        description = client.describe_table(TableName=table)["Table"]
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": CLAIMS_HASH_KEY, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": CLAIMS_HASH_KEY, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST")
            created = True
        except client.exceptions.ResourceInUseException:
            pass  # created concurrently
        client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": max(1, int(wait_s))})
        description = client.describe_table(TableName=table)["Table"]

    keys = [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]]
    if keys != [(CLAIMS_HASH_KEY, "HASH")]:
        raise ProvisionError(f"DynamoDB table {table!r} has key schema {keys}; the streaming job "
                             f"needs a single hash key {CLAIMS_HASH_KEY!r}")

    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    status = ttl.get("TimeToLiveStatus")
    if status in ("ENABLED", "ENABLING"):
        if ttl.get("AttributeName") != ttl_attribute:
            raise ProvisionError(f"DynamoDB table {table!r} has TTL on {ttl.get('AttributeName')!r}, "
                                 f"the configuration says {ttl_attribute!r}")
    else:
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute})
        status = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"].get(
            "TimeToLiveStatus")
    return {"table": table, "created": created, "ttl_attribute": ttl_attribute, "ttl_status": status}


def lifecycle_rules(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (required, optional) lifecycle rules.

    Required: dead letters expire. Optional, kept only where the store accepts them:
    old anomaly partitions move to a colder class; abandoned multipart uploads are aborted.
    """
    required = [{"ID": "vigil-expire-dead-letter", "Status": "Enabled",
                 "Filter": {"Prefix": settings.dead_letter_prefix},
                 "Expiration": {"Days": settings.dead_letter_expire_days}}]
    optional = []
    if settings.cold_storage_class:
        optional.append({"ID": "vigil-cold-partitions", "Status": "Enabled",
                         "Filter": {"Prefix": settings.s3_prefix},
                         "Transitions": [{"Days": settings.cold_after_days,
                                          "StorageClass": settings.cold_storage_class}]})
    optional.append({"ID": "vigil-abort-incomplete-uploads", "Status": "Enabled",
                     "Filter": {"Prefix": ""}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})
    return required, optional


def ensure_bucket(s3_hook: Any, settings: Settings) -> dict[str, Any]:
    """Create the output bucket if missing and replace its lifecycle rules by Vigil's.

    An optional rule the store rejects (MinIO has no storage class to transition to
    without a remote tier, and no multipart-abort rule) is left out and reported in
    ``skipped``; the required expiration rule must apply.
    """
    from botocore.exceptions import ClientError

    bucket = settings.s3_bucket
    created = False
    if not s3_hook.check_for_bucket(bucket):
        try:
            s3_hook.create_bucket(bucket_name=bucket, region_name=settings.region)
            created = True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou",):
                raise ProvisionError(f"S3 bucket {bucket!r}: cannot create it: {e}") from e
    client = s3_hook.get_conn()
    required, optional = lifecycle_rules(settings)

    def put(rules: list[dict[str, Any]]) -> str | None:
        try:
            client.put_bucket_lifecycle_configuration(Bucket=bucket,
                                                      LifecycleConfiguration={"Rules": rules})
            return None
        except ClientError as e:
            return e.response.get("Error", {}).get("Code", str(e))

    kept, skipped = [], {}
    for rule in optional:  # probe each optional rule on its own next to the required ones
        error = put(required + kept + [rule])
        if error is None:
            kept.append(rule)
        else:
            skipped[rule["ID"]] = error
            log.warning("S3 bucket %s: the store rejected lifecycle rule %s (%s); leaving it out",
                        bucket, rule["ID"], error)
    error = put(required + kept)
    if error is not None:
        raise ProvisionError(f"S3 bucket {bucket!r}: the store rejected the lifecycle rules "
                             f"{[r['ID'] for r in required + kept]}: {error}")
    wanted = {r["ID"] for r in required + kept}
    # Some stores apply lifecycle rules asynchronously; read them back before reporting.
    for _ in range(10):
        applied = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        if {r["ID"] for r in applied} >= wanted:
            break
        time.sleep(0.5)
    else:
        raise ProvisionError(f"S3 bucket {bucket!r}: lifecycle rules did not apply: {applied}")
    return {"bucket": bucket, "created": created, "rules": sorted(wanted), "skipped": skipped}
