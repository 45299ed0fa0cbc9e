"""What the DAGs need to know about a Vigil deployment, resolved once per task.

The source of truth is the Vigil configuration (``config/<VIGIL_ENV>.yaml`` plus
the environment overrides KAFKA_BOOTSTRAP, KAFKA_TOPIC, S3_OUTPUT_BUCKET,
DDB_TABLE, ...), loaded by ``vigil_ops.config.load()``. This module maps it onto
the flat :class:`Settings` the tasks use, adds the orchestration knobs of the
optional ``airflow:`` section, and validates every value with a message naming
the key. Nothing here runs at DAG import time.

    settings = vigil_airflow.settings.load()
    settings.hour_prefix(data_interval_start)  # 'dt=2026-11-23/hr=10/'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pathlib
from dataclasses import dataclass, field
from typing import Any, Mapping

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A missing or invalid setting; the message names the key and where it came from."""


@dataclass(frozen=True)
class Settings:
    """A flat, validated view of one Vigil deployment. Field names are stable API."""

    env: str
    kafka_bootstrap: str
    kafka_topic: str
    s3_bucket: str
    ddb_table: str
    region: str = "us-east-1"
    kafka_partitions: int | None = None   # None: create with 6, never resize an existing topic
    kafka_replication: int = 1
    kafka_retention_ms: int = 7 * 86_400_000
    kafka_options: Mapping[str, str] = field(default_factory=dict)
    s3_endpoint: str | None = None
    ddb_endpoint: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    s3_prefix: str = ""
    dead_letter_prefix: str = "dead-letter/"
    meta_prefix: str = "_vigil/"
    curated_prefix: str = "curated/"
    reports_prefix: str = "reports/"
    ddb_ttl_attribute: str = "expires_at"
    # Lifecycle: dead letters expire; anomaly partitions move to a colder class
    # where the store supports it (None = no transition rule, e.g. MinIO without tiers).
    dead_letter_expire_days: int = 14
    cold_after_days: int = 30
    cold_storage_class: str | None = "STANDARD_IA"
    # Streaming supervisor.
    spark_master: str = "local[*]"
    checkpoint_location: str | None = None
    stream_stale_after_s: int = 300
    stream_start_timeout_s: int = 240
    # Daily checks.
    max_consumer_lag: int = 1_000_000
    max_output_age_h: float = 2.0
    alert_webhook: str | None = None
    vigil_home: str = str(REPO_ROOT / ".vigil")

    def hour_prefix(self, hour_start: dt.datetime, base: str | None = None) -> str:
        """Return ``<base>dt=YYYY-MM-DD/hr=HH/`` for the UTC hour that starts at `hour_start`."""
        t = _utc(hour_start)
        return f"{self.s3_prefix if base is None else base}dt={t:%Y-%m-%d}/hr={t:%H}/"

    def curated_hour_prefix(self, hour_start: dt.datetime) -> str:
        return self.hour_prefix(hour_start, f"{self.curated_prefix}anomalies/")

    def summary_key(self, hour_start: dt.datetime) -> str:
        return self.hour_prefix(hour_start, f"{self.curated_prefix}summaries/") + "summary.json"

    def report_key(self, day_start: dt.datetime) -> str:
        return f"{self.reports_prefix}daily/dt={_utc(day_start):%Y-%m-%d}/report.html"

    @property
    def progress_prefix(self) -> str:
        return f"{self.meta_prefix}progress/"


def _utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        raise SettingsError(f"expected a timezone-aware datetime, got naive {t!r}")
    return t.astimezone(dt.timezone.utc)


def _get(raw: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SettingsError(f"{key}: expected an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{key}: expected an integer, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{key}: must be at least {minimum}, got {number}")
    return number


def _float(key: str, value: Any, minimum: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key}: expected a number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{key}: must be at least {minimum}, got {number}")
    return number


def _prefix(key: str, value: Any) -> str:
    text = str(value)
    if text and (text.startswith("/") or not text.endswith("/")):
        raise SettingsError(f"{key}: a key prefix must be empty or end with '/' and not start with it, "
                            f"got {text!r}")
    return text


def from_mapping(raw: Mapping[str, Any], source: str = "configuration") -> Settings:
    """Build :class:`Settings` from the nested Vigil configuration (the YAML's shape).

    Raises :class:`SettingsError` naming the key (and `source`) for anything missing or bad.
    """
    def required(path: str) -> str:
        value = _get(raw, path)
        if value in (None, ""):
            raise SettingsError(f"{source}: missing required key '{path}'")
        return str(value)

    airflow = _get(raw, "airflow", {}) or {}
    if not isinstance(airflow, Mapping):
        raise SettingsError(f"{source}: 'airflow' must be a mapping, got {type(airflow).__name__}")
    cold = _get(raw, "s3.cold_storage_class", Settings.cold_storage_class)
    aws = _get(raw, "aws", {}) or {}
    try:
        return Settings(
            env=str(_get(raw, "env", os.environ.get("VIGIL_ENV", "local"))),
            kafka_bootstrap=required("kafka.bootstrap"),
            kafka_topic=required("kafka.topic"),
            s3_bucket=required("s3.bucket"),
            ddb_table=required("dynamodb.table"),
            region=str(_get(raw, "aws.region", _get(raw, "region", Settings.region))),
            kafka_partitions=(None if _get(raw, "kafka.partitions") is None
                              else _int("kafka.partitions", _get(raw, "kafka.partitions"), 1)),
            kafka_replication=_int("kafka.replication_factor",
                                   _get(raw, "kafka.replication_factor", 1), 1),
            kafka_retention_ms=_int("kafka.retention_ms",
                                    _get(raw, "kafka.retention_ms", Settings.kafka_retention_ms), 1),
            kafka_options=dict(_get(raw, "kafka.options", {}) or {}),
            s3_endpoint=_get(raw, "s3.endpoint") or None,
            ddb_endpoint=_get(raw, "dynamodb.endpoint") or None,
            aws_access_key_id=aws.get("access_key_id") if isinstance(aws, Mapping) else None,
            aws_secret_access_key=aws.get("secret_access_key") if isinstance(aws, Mapping) else None,
            s3_prefix=_prefix("s3.prefix", _get(raw, "s3.prefix", "")),
            dead_letter_prefix=_prefix("s3.dead_letter_prefix",
                                       _get(raw, "s3.dead_letter_prefix", "dead-letter/")),
            meta_prefix=_prefix("s3.meta_prefix", _get(raw, "s3.meta_prefix", "_vigil/")),
            curated_prefix=_prefix("airflow.curated_prefix", airflow.get("curated_prefix", "curated/")),
            reports_prefix=_prefix("airflow.reports_prefix", airflow.get("reports_prefix", "reports/")),
            dead_letter_expire_days=_int("s3.dead_letter_expire_days",
                                         _get(raw, "s3.dead_letter_expire_days", 14), 1),
            cold_after_days=_int("s3.cold_after_days", _get(raw, "s3.cold_after_days", 30), 1),
            cold_storage_class=str(cold) if cold not in (None, "", "none") else None,
            spark_master=str(_get(raw, "spark.master", "local[*]")),
            checkpoint_location=_get(raw, "spark.checkpoint_location") or None,
            stream_stale_after_s=_int("airflow.stream_stale_after_s",
                                      airflow.get("stream_stale_after_s", 300), 1),
            stream_start_timeout_s=_int("airflow.stream_start_timeout_s",
                                        airflow.get("stream_start_timeout_s", 240), 1),
            max_consumer_lag=_int("airflow.max_consumer_lag",
                                  airflow.get("max_consumer_lag", 1_000_000), 0),
            max_output_age_h=_float("airflow.max_output_age_h", airflow.get("max_output_age_h", 2.0)),
            alert_webhook=airflow.get("alert_webhook") or None,
            vigil_home=str(_get(raw, "vigil_home", _get(raw, "home", os.environ.get(
                "VIGIL_HOME", REPO_ROOT / ".vigil")))),
        )
    except SettingsError as e:
        raise SettingsError(f"{source}: {e}") from None


def _as_mapping(cfg: Any) -> Mapping[str, Any]:
    if isinstance(cfg, Mapping):
        return cfg
    for attr in ("to_dict", "as_dict"):
        if callable(getattr(cfg, attr, None)):
            return getattr(cfg, attr)()
    if dataclasses.is_dataclass(cfg):
        return dataclasses.asdict(cfg)
    raise SettingsError(f"cannot read the Vigil configuration object of type {type(cfg).__name__}")


_ENV_OVERRIDES = {
    "VIGIL_ALERT_WEBHOOK": "alert_webhook",
    "VIGIL_STREAM_STALE_AFTER_S": "stream_stale_after_s",
    "VIGIL_STREAM_START_TIMEOUT_S": "stream_start_timeout_s",
    "VIGIL_MAX_CONSUMER_LAG": "max_consumer_lag",
    "VIGIL_MAX_OUTPUT_AGE_H": "max_output_age_h",
}


def load() -> Settings:
    """Resolve the deployment's settings from ``vigil_ops.config.load()`` and the environment."""
    import sys

    if str(REPO_ROOT / "infra") not in sys.path:
        sys.path.append(str(REPO_ROOT / "infra"))
    try:
        from vigil_ops import config as vigil_config
    except ImportError as e:
        raise SettingsError(
            f"cannot import vigil_ops.config ({e}): put {REPO_ROOT / 'infra'} on PYTHONPATH "
            "of the Airflow processes") from None
    raw = dict(_as_mapping(vigil_config.load()))
    settings = from_mapping(raw, source=f"config/{os.environ.get('VIGIL_ENV', 'local')}.yaml")
    overrides: dict[str, Any] = {}
    for var, name in _ENV_OVERRIDES.items():
        if os.environ.get(var):
            kind = type(getattr(settings, name)) if getattr(settings, name) is not None else str
            try:
                overrides[name] = kind(os.environ[var])
            except ValueError:
                raise SettingsError(f"{var}: expected {kind.__name__}, got {os.environ[var]!r}") from None
    return dataclasses.replace(settings, **overrides) if overrides else settings
