"""Airflow connections derived from the Vigil configuration.

The DAGs use three connection ids (:data:`vigil_airflow.AWS_CONN_ID`, ``KAFKA_CONN_ID``,
``SPARK_CONN_ID``). Their definitions come from the same configuration as every other
component, as ``AIRFLOW_CONN_<ID>`` environment variables in Airflow's JSON form, so
the local stack and AWS differ only in configuration:

- ``vigil_aws``: credentials and region; on the local stack, per-service endpoints
  (``service_config``) for MinIO and DynamoDB Local. On AWS no endpoint and no key
  is set, and boto3's default credential chain (instance role, env) applies.
- ``vigil_kafka``: ``bootstrap.servers`` plus any ``kafka.options`` (SASL/TLS for MSK).
- ``vigil_spark``: the Spark master (``local[*]``, ``yarn``, ``k8s://...``).

The stack launcher exports them into the Airflow processes:

    eval "$(python -m vigil_airflow.connections)"

and every task calls :func:`ensure_env` before using a hook, so a connection that the
environment does not define is derived in the task's own process.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

from vigil_airflow import AWS_CONN_ID, KAFKA_CONN_ID, SPARK_CONN_ID
from vigil_airflow.settings import Settings


def definitions(settings: Settings) -> dict[str, dict[str, Any]]:
    """Return ``{conn_id: connection as Airflow's JSON form}`` for `settings`."""
    aws_extra: dict[str, Any] = {"region_name": settings.region}
    service_config: dict[str, Any] = {}
    if settings.s3_endpoint:
        service_config["s3"] = {"endpoint_url": settings.s3_endpoint}
        # Path-style addressing: an S3-compatible server on an IP has no bucket DNS names.
        aws_extra["config_kwargs"] = {"s3": {"addressing_style": "path"}}
    if settings.ddb_endpoint:
        service_config["dynamodb"] = {"endpoint_url": settings.ddb_endpoint}
    if service_config:
        aws_extra["service_config"] = service_config
    aws: dict[str, Any] = {"conn_type": "aws", "extra": aws_extra}
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        aws["login"] = settings.aws_access_key_id
        aws["password"] = settings.aws_secret_access_key

    kafka_extra = {"bootstrap.servers": settings.kafka_bootstrap, **dict(settings.kafka_options)}
    spark: dict[str, Any] = {"conn_type": "spark", "host": settings.spark_master, "extra": {}}
    return {
        AWS_CONN_ID: aws,
        KAFKA_CONN_ID: {"conn_type": "kafka", "extra": kafka_extra},
        SPARK_CONN_ID: spark,
    }


def airflow_env(settings: Settings) -> dict[str, str]:
    """Return the ``AIRFLOW_CONN_*`` environment variables that define the connections."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn, sort_keys=True)
            for conn_id, conn in definitions(settings).items()}


def ensure_env(settings: Settings) -> list[str]:
    """Define, in this process, every Vigil connection not defined yet; return the ones set.

    Explicit ``AIRFLOW_CONN_*`` variables (or any other definition the deployment exports)
    win; this only fills the gaps so a task runs wherever the Vigil configuration resolves.
    """
    import os

    added = []
    for name, value in airflow_env(settings).items():
        if name not in os.environ:
            os.environ[name] = value
            added.append(name)
    return added


def main(argv: list[str] | None = None) -> int:
    from vigil_airflow.settings import SettingsError, load

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m vigil_airflow.connections\n"
              "  print 'export AIRFLOW_CONN_...=...' lines for the Vigil connections")
        return 0
    try:
        env = airflow_env(load())
    except SettingsError as e:
        print(f"vigil_airflow.connections: {e}", file=sys.stderr)
        return 2
    for name, value in env.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
