"""The streaming job's resolved configuration.

`./vigil stream start` resolves config/<env>.yaml plus the environment
(vigil_ops.config) and hands the job one JSON file; the job itself never reads
YAML or environment defaults, so it runs the same on a laptop, on EMR or on
Kubernetes. Every key is validated here, and a bad one is named in the error.

    cfg = JobConfig.from_dict(json.load(open(path)))
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "sec": 1000, "second": 1000, "seconds": 1000, "m": 60000,
            "min": 60000, "minute": 60000, "minutes": 60000, "h": 3600000, "hour": 3600000,
            "hours": 3600000}


class ConfigError(ValueError):
    """A missing or bad configuration key; the message names the key."""


def parse_duration_ms(key: str, value: Any) -> int:
    """Return milliseconds for "500ms", "10 s", "2 minutes" or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a duration like '10s', got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value!r}")
        return int(value * 1000)
    m = _DURATION.match(str(value))
    if not m:
        raise ConfigError(f"{key}: expected a duration like '500ms', '10s' or '2 minutes', got {value!r}")
    return int(float(m.group(1)) * _UNIT_MS[m.group(2)])


@dataclass(frozen=True)
class JobConfig:
    """Everything the job needs; field names are the JSON keys."""

    kafka_bootstrap: str
    kafka_topic: str
    s3_bucket: str
    ddb_table: str
    checkpoint_location: str
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int = 500_000
    kafka_options: Mapping[str, str] = field(default_factory=dict)
    # "vigil": the job's own source (source.py, librdkafka); kafka_options are librdkafka settings.
    # "spark": Spark's Kafka source; kafka_options are Java client settings.
    kafka_source: str = "vigil"
    # "partition": a Kafka partition's events are scored in one bucket, and Spark moves offset
    # ranges, not events (the stateful task reads its ranges itself); needs events keyed by
    # device. "device": events are routed by a hash of device_id and shuffled (any keying).
    # Spark's Kafka source always routes by device. Fixed by the checkpoint.
    routing: str = "partition"
    dlq_topic: Optional[str] = None
    s3_endpoint: Optional[str] = None
    ddb_endpoint: Optional[str] = None
    region: str = "us-east-1"
    s3_prefix: str = ""                 # anomalies under <prefix>dt=.../hr=.../
    dead_letter_prefix: str = "dead-letter/"
    meta_prefix: str = "_vigil/"        # progress, hour ledger
    num_buckets: int = 16
    allowed_lateness_ms: int = 60_000
    trigger_interval_ms: int = 1_000
    records_per_file: int = 50_000
    claim_ttl_days: int = 30
    # A claim item holds the anomalies of this much event time (claims.claim_key)...
    # Fixed for a claims table: another window files the same anomaly under another key.
    claim_window_ms: int = 60_000
    # ...and of the devices of one of this many shards (CRC-32 of device_id). Also fixed.
    claim_shards: int = 16
    detector_config: Optional[str] = None  # YAML text path; None = built-in defaults
    progress_file: Optional[str] = None    # local JSONL of per-batch progress
    pipeline_version: str = "0.1.0"
    spark_conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "JobConfig":
        if not isinstance(raw, Mapping):
            raise ConfigError(f"job config: expected an object, got {type(raw).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ConfigError(f"job config: unknown key(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, f in known.items():
            if name not in raw or raw[name] is None:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ConfigError(f"job config: missing required key '{name}'")
                continue
            values[name] = raw[name]
        for key in ("allowed_lateness_ms", "trigger_interval_ms"):
            if key in values and not isinstance(values[key], int):
                values[key] = parse_duration_ms(key, values[key])
        cfg = cls(**values)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str) -> "JobConfig":
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except OSError as e:
            raise ConfigError(f"job config {path}: cannot read: {e.strerror}") from e
        except json.JSONDecodeError as e:
            raise ConfigError(f"job config {path}: not JSON: {e}") from e
        return cls.from_dict(raw)

    def validate(self) -> None:
        for name in ("kafka_bootstrap", "kafka_topic", "s3_bucket", "ddb_table", "checkpoint_location"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v.strip():
                raise ConfigError(f"job config: '{name}' must be a non-empty string, got {v!r}")
        if self.starting_offsets not in ("earliest", "latest") and not self.starting_offsets.startswith("{"):
            raise ConfigError("job config: 'starting_offsets' must be earliest, latest or a JSON "
                              f"offsets object, got {self.starting_offsets!r}")
        if self.kafka_source not in ("vigil", "spark"):
            raise ConfigError(f"job config: 'kafka_source' must be vigil or spark, got {self.kafka_source!r}")
        if self.routing not in ("partition", "device"):
            raise ConfigError(f"job config: 'routing' must be partition or device, got {self.routing!r}")
        for name, lo, hi in (("max_offsets_per_trigger", 1, 10**9), ("num_buckets", 1, 4096),
                             ("records_per_file", 1, 10**7), ("claim_ttl_days", 1, 3650),
                             ("claim_window_ms", 1_000, 86_400_000), ("claim_shards", 1, 100_000)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ConfigError(f"job config: '{name}' must be an integer in [{lo}, {hi}], got {v!r}")
        for name in ("s3_prefix", "dead_letter_prefix", "meta_prefix"):
            v = getattr(self, name)
            if v and not v.endswith("/"):
                raise ConfigError(f"job config: '{name}' must be empty or end with '/', got {v!r}")
        if self.trigger_interval_ms < 0 or self.allowed_lateness_ms < 0:
            raise ConfigError("job config: durations must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in dataclasses.asdict(self).items()}
