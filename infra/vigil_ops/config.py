"""Vigil's configuration: one YAML file per environment, overridable by env vars.

``load()`` reads ``config/<VIGIL_ENV>.yaml`` (default ``local``), applies the
environment overrides, resolves ``${...}`` references and returns a validated,
typed ``Config``. Every error names the file and the key.

Stdlib + PyYAML only: this module is imported by the stack CLI, the Spark job,
the Airflow DAGs and the tests.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import secrets
import string
import sys
from pathlib import Path
from typing import Any, Mapping

import yaml

ROOT = Path(__file__).resolve().parents[2]

# Environment variable -> dotted config key. Empty values count as unset.
ENV_OVERRIDES: dict[str, str] = {
    "KAFKA_BOOTSTRAP": "kafka.bootstrap",
    "KAFKA_TOPIC": "kafka.topic",
    "KAFKA_DEAD_LETTER_TOPIC": "kafka.dead_letter_topic",
    "S3_OUTPUT_BUCKET": "s3.bucket",
    "S3_ENDPOINT": "s3.endpoint",
    "DDB_TABLE": "dynamodb.table",
    "DDB_ENDPOINT": "dynamodb.endpoint",
    "AWS_REGION": "aws.region",
    "SPARK_MASTER": "spark.master",
    "SPARK_CHECKPOINT_LOCATION": "spark.checkpoint_location",
    "VIGIL_DETECTOR_CONFIG": "detector.config",
    "VIGIL_KAFKA_PORT": "stack.kafka.port",
    "VIGIL_KAFKA_CONTROLLER_PORT": "stack.kafka.controller_port",
    "VIGIL_DYNAMODB_PORT": "stack.dynamodb.port",
    "VIGIL_MINIO_PORT": "stack.minio.port",
    "VIGIL_MINIO_CONSOLE_PORT": "stack.minio.console_port",
    "VIGIL_AIRFLOW_PORT": "stack.airflow.port",
}

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_TRIGGER = re.compile(r"^(availableNow|once|\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?))$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_HOSTPORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
_HEAP = re.compile(r"^\d+[kmg]$")


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""


def vigil_home() -> Path:
    return Path(os.environ.get("VIGIL_HOME") or ROOT / ".vigil").resolve()


# --- typed sections -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KafkaConfig:
    bootstrap: str
    topic: str
    dead_letter_topic: str | None
    starting_offsets: str
    max_offsets_per_trigger: int
    security_protocol: str
    source: str = "vigil"   # the job's Kafka source: vigil (librdkafka) or spark (Spark's)
    routing: str = "partition"  # partition (Spark moves offset ranges) or device (events shuffled)


@dataclasses.dataclass(frozen=True)
class SparkConfig:
    master: str
    checkpoint_location: str
    trigger: str
    shuffle_partitions: int
    state_store: str


@dataclasses.dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint: str | None
    prefix: str
    dead_letter_prefix: str


@dataclasses.dataclass(frozen=True)
class DynamoConfig:
    table: str
    endpoint: str | None
    ttl_days: int
    claim_window_s: int = 60   # a claim item: the anomalies of this much event time...
    claim_shards: int = 16     # ...and of the devices of one of this many shards


@dataclasses.dataclass(frozen=True)
class AwsConfig:
    region: str
    credentials: str  # "secrets-file" or "default-chain"
    access_key_id: str | None = dataclasses.field(default=None, repr=False)
    secret_access_key: str | None = dataclasses.field(default=None, repr=False)
    session_token: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
    config: str | None


@dataclasses.dataclass(frozen=True)
class ServicePorts:
    port: int
    controller_port: int | None = None
    console_port: int | None = None
    heap: str | None = None


@dataclasses.dataclass(frozen=True)
class StackConfig:
    host: str
    kafka: ServicePorts
    dynamodb: ServicePorts
    minio: ServicePorts
    airflow: ServicePorts


@dataclasses.dataclass(frozen=True)
class Config:
    env: str
    path: Path
    kafka: KafkaConfig
    spark: SparkConfig
    s3: S3Config
    dynamodb: DynamoConfig
    aws: AwsConfig
    detector: DetectorConfig
    stack: StackConfig | None
    home: Path

    def boto3_kwargs(self, endpoint: str | None = None) -> dict[str, Any]:
        """Keyword arguments for boto3.client(...): region, endpoint, credentials."""
        kw: dict[str, Any] = {"region_name": self.aws.region}
        if endpoint:
            kw["endpoint_url"] = endpoint
        if self.aws.access_key_id:
            kw["aws_access_key_id"] = self.aws.access_key_id
            kw["aws_secret_access_key"] = self.aws.secret_access_key
            if self.aws.session_token:
                kw["aws_session_token"] = self.aws.session_token
        return kw

    def s3_client_kwargs(self) -> dict[str, Any]:
        return self.boto3_kwargs(self.s3.endpoint)

    def dynamodb_client_kwargs(self) -> dict[str, Any]:
        return self.boto3_kwargs(self.dynamodb.endpoint)

    def spark_kafka_jars(self) -> list[str]:
        return spark_kafka_jars(self.home)


# --- loading ------------------------------------------------------------------


def config_path(env: str | None = None) -> Path:
    env = env or os.environ.get("VIGIL_ENV") or "local"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", env):
        raise ConfigError(f"VIGIL_ENV={env!r}: not a valid environment name")
    return ROOT / "config" / f"{env}.yaml"


def load(env: str | None = None, path: str | os.PathLike | None = None,
         environ: Mapping[str, str] | None = None) -> Config:
    """Read, override, resolve and validate the configuration."""
    environ = os.environ if environ is None else environ
    p = Path(path) if path else config_path(env or environ.get("VIGIL_ENV"))
    if not p.is_file():
        raise ConfigError(f"{p}: no such configuration file (VIGIL_ENV picks config/<env>.yaml)")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of sections")
    for var, key in ENV_OVERRIDES.items():
        value = environ.get(var)
        if value:
            _set(raw, key, value)
    home = Path(environ.get("VIGIL_HOME") or ROOT / ".vigil").resolve()
    scope = {"VIGIL_HOME": str(home), "VIGIL_ROOT": str(ROOT)}
    resolved = _resolve(raw, raw, environ, scope, p, "")
    return _build(resolved, p, environ, home)


def _set(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[leaf] = value


def _lookup(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _resolve(node: Any, tree: dict, environ: Mapping[str, str], scope: dict, p: Path,
             where: str, depth: int = 0) -> Any:
    if isinstance(node, dict):
        return {k: _resolve(v, tree, environ, scope, p, f"{where}.{k}".lstrip("."), depth)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, tree, environ, scope, p, where, depth) for v in node]
    if not isinstance(node, str) or "${" not in node:
        return node
    if depth > 8:
        raise ConfigError(f"{p}: {where}: ${{...}} references nest too deep (a cycle?)")

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if "." in name:
            try:
                v = _lookup(tree, name)
            except KeyError:
                raise ConfigError(f"{p}: {where}: refers to ${{{name}}}, which is not a key of this file") from None
            v = _resolve(v, tree, environ, scope, p, name, depth + 1)
            return str(v)
        if name in scope:
            return scope[name]
        if environ.get(name):
            return environ[name]
        raise ConfigError(f"{p}: {where}: needs the environment variable {name}, which is not set")

    return _REF.sub(sub, node)


class _Section:
    """Reads one mapping with exact, named errors; flags unknown keys."""

    def __init__(self, p: Path, raw: dict, name: str, required: bool = True, label: str | None = None):
        self.p, self.name = p, label or name
        value = raw.get(name)
        if value is None and not required:
            self.d = None
            return
        if not isinstance(value, dict):
            raise ConfigError(f"{p}: {self.name}: missing section (expected a mapping)")
        self.d = value
        self.used: set[str] = set()

    def err(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.p}: {self.name}.{key}: {msg}")

    def get(self, key: str, kind: type, *, optional: bool = False, default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.d or self.d[key] is None:
            if optional:
                return default
            if key in self.d:
                raise self.err(key, "must not be null")
            near = difflib.get_close_matches(key, [str(k) for k in self.d], n=1)
            raise self.err(key, f"missing (is '{near[0]}' a misspelling of it?)" if near else "missing")
        v = self.d[key]
        if kind is int:
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise self.err(key, f"must be an integer, got {v!r}")
            try:
                v = int(v)
            except ValueError:
                raise self.err(key, f"must be an integer, got {v!r}") from None
        elif kind is str:
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise self.err(key, f"must be a string, got {v!r}")
            v = str(v).strip()
            if not v:
                raise self.err(key, "must not be empty")
        return v

    def section(self, key: str, required: bool = True) -> "_Section":
        self.used.add(key)
        return _Section(self.p, self.d, key, required, label=f"{self.name}.{key}")

    def done(self) -> None:
        unknown = sorted(set(self.d) - self.used)
        if unknown:
            raise self.err(unknown[0], f"unknown key (known: {', '.join(sorted(self.used))})")


def _port(s: _Section, key: str, optional: bool = False) -> int | None:
    v = s.get(key, int, optional=optional)
    if v is not None and not 1 <= v <= 65535:
        raise s.err(key, f"must be a port number 1..65535, got {v}")
    return v


def _endpoint(s: _Section, key: str) -> str | None:
    v = s.get(key, str, optional=True)
    if v is not None and not re.match(r"^https?://[^/\s]+", v):
        raise s.err(key, f"must be an http(s):// URL or null, got {v!r}")
    return v


def _positive(s: _Section, key: str) -> int:
    v = s.get(key, int)
    if v <= 0:
        raise s.err(key, f"must be a positive integer, got {v}")
    return v


def _build(raw: dict, p: Path, environ: Mapping[str, str], home: Path) -> Config:
    known = {"env", "kafka", "spark", "s3", "dynamodb", "aws", "detector", "stack"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{p}: {key}: unknown section (known: {', '.join(sorted(known))})")
    env = raw.get("env")
    if not isinstance(env, str) or not env:
        raise ConfigError(f"{p}: env: missing (the environment's name, e.g. local)")

    stack = None
    st = _Section(p, raw, "stack", required=False)
    if st.d is not None:
        def svc(name: str) -> ServicePorts:
            x = st.section(name)
            heap = x.get("heap", str, optional=True)
            if heap is not None and not _HEAP.match(heap):
                raise x.err("heap", f"must be like 512m or 1g, got {heap!r}")
            sp_ = ServicePorts(_port(x, "port"), _port(x, "controller_port", True),
                               _port(x, "console_port", True), heap)
            x.done()
            return sp_
        host = st.get("host", str)
        stack = StackConfig(host, svc("kafka"), svc("dynamodb"), svc("minio"), svc("airflow"))
        st.done()
        ports = [v for v in (stack.kafka.port, stack.kafka.controller_port, stack.dynamodb.port,
                             stack.minio.port, stack.minio.console_port, stack.airflow.port) if v]
        if len(set(ports)) != len(ports):
            raise ConfigError(f"{p}: stack: two services share a port ({sorted(ports)})")


    k = _Section(p, raw, "kafka")
    bootstrap = k.get("bootstrap", str)
    for hp in bootstrap.split(","):
        if not _HOSTPORT.match(hp.strip()):
            raise k.err("bootstrap", f"must be host:port[,host:port...], got {bootstrap!r}")
    topic = k.get("topic", str)
    dlt = k.get("dead_letter_topic", str, optional=True)
    for key, t in (("topic", topic), ("dead_letter_topic", dlt)):
        if t is not None and not _TOPIC.match(t):
            raise k.err(key, f"not a valid Kafka topic name: {t!r}")
    starting = k.get("starting_offsets", str)
    if starting not in ("earliest", "latest") and not starting.startswith("{"):
        raise k.err("starting_offsets", f"must be earliest, latest or a JSON offsets object, got {starting!r}")
    proto = k.get("security_protocol", str, optional=True, default="PLAINTEXT")
    if proto not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
        raise k.err("security_protocol", f"must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got {proto!r}")
    source = k.get("source", str, optional=True, default="vigil")
    if source not in ("vigil", "spark"):
        raise k.err("source", f"must be vigil (the job's own source) or spark (Spark's Kafka source), got {source!r}")
    routing = k.get("routing", str, optional=True, default="partition")
    if routing not in ("partition", "device"):
        raise k.err("routing", f"must be partition (events keyed by device: each partition scored where it is "
                               f"read) or device (events shuffled by device), got {routing!r}")
    kafka = KafkaConfig(bootstrap, topic, dlt, starting, _positive(k, "max_offsets_per_trigger"), proto, source,
                        routing)
    k.done()

    sp = _Section(p, raw, "spark")
    trigger = sp.get("trigger", str)
    if not _TRIGGER.match(trigger):
        raise sp.err("trigger", f"must be like '5 seconds', '500 ms', 'availableNow' or 'once', got {trigger!r}")
    store = sp.get("state_store", str, optional=True, default="rocksdb")
    if store not in ("rocksdb", "hdfs"):
        raise sp.err("state_store", f"must be rocksdb or hdfs, got {store!r}")
    spark = SparkConfig(sp.get("master", str), sp.get("checkpoint_location", str), trigger,
                        _positive(sp, "shuffle_partitions"), store)
    sp.done()

    s = _Section(p, raw, "s3")
    bucket = s.get("bucket", str)
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise s.err("bucket", f"not a valid S3 bucket name (3-63 of a-z 0-9 . -): {bucket!r}")
    prefixes = {}
    for key in ("prefix", "dead_letter_prefix"):
        v = s.get(key, str)
        if v.startswith("/"):
            raise s.err(key, f"must not start with '/', got {v!r}")
        prefixes[key] = v if v.endswith("/") else v + "/"
    s3 = S3Config(bucket, _endpoint(s, "endpoint"), prefixes["prefix"], prefixes["dead_letter_prefix"])
    s.done()

    d = _Section(p, raw, "dynamodb")
    table = d.get("table", str)
    if not _TABLE.match(table):
        raise d.err("table", f"not a valid DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -): {table!r}")
    window = d.get("claim_window_s", int, optional=True, default=60)
    if not 1 <= window <= 86_400:
        raise d.err("claim_window_s", f"must be an integer number of seconds in [1, 86400], got {window}")
    shards = d.get("claim_shards", int, optional=True, default=16)
    if not 1 <= shards <= 100_000:
        raise d.err("claim_shards", f"must be an integer in [1, 100000], got {shards}")
    dynamodb = DynamoConfig(table, _endpoint(d, "endpoint"), _positive(d, "ttl_days"), window, shards)
    d.done()

    a = _Section(p, raw, "aws")
    creds = a.get("credentials", str, optional=True, default="default-chain")
    if creds not in ("secrets-file", "default-chain"):
        raise a.err("credentials", f"must be secrets-file or default-chain, got {creds!r}")
    key_id, secret, token = _credentials(creds, environ, home, p)
    aws = AwsConfig(a.get("region", str), creds, key_id, secret, token)
    a.done()

    det = _Section(p, raw, "detector", required=False)
    det_path = None
    if det.d is not None:
        det_path = det.get("config", str, optional=True)
        if det_path is not None and "://" not in det_path and not Path(det_path).is_file():
            raise det.err("config", f"no such file: {det_path}")
        det.done()

    return Config(env, p, kafka, spark, s3, dynamodb, aws, DetectorConfig(det_path), stack, home)


# --- local credentials --------------------------------------------------------


def secrets_path(home: Path | None = None) -> Path:
    return (home or vigil_home()) / "secrets.env"


def ensure_local_secrets(home: Path | None = None) -> dict[str, str]:
    """Create $VIGIL_HOME/secrets.env (mode 600) once; return its values."""
    path = secrets_path(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        alphabet = string.ascii_letters + string.digits
        # Letters and digits only: DynamoDB Local rejects other access key ids.
        user = "vigil" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
        password = "".join(secrets.choice(alphabet) for _ in range(40))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Generated once by Vigil for the local stack. Never commit or print it.\n")
            f.write(f"MINIO_ROOT_USER={user}\nMINIO_ROOT_PASSWORD={password}\n")
    return read_secrets(path)


def read_secrets(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ConfigError(f"{path}:{n}: expected KEY=VALUE")
        key, value = line.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _credentials(mode: str, environ: Mapping[str, str], home: Path, p: Path):
    if environ.get("AWS_ACCESS_KEY_ID"):
        if not environ.get("AWS_SECRET_ACCESS_KEY"):
            raise ConfigError(f"{p}: aws.credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        return environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"], environ.get("AWS_SESSION_TOKEN")
    if mode == "default-chain":
        return None, None, None
    values = ensure_local_secrets(home)
    try:
        return values["MINIO_ROOT_USER"], values["MINIO_ROOT_PASSWORD"], None
    except KeyError as e:
        raise ConfigError(f"{secrets_path(home)}: missing {e.args[0]} (delete the file to regenerate it)") from None


# --- Spark helpers ------------------------------------------------------------


def spark_kafka_jars(home: Path | None = None) -> list[str]:
    """The jars spark-submit needs for the Kafka source (fetched at set-up)."""
    path = (home or vigil_home()) / "jars" / "spark-kafka.classpath"
    if not path.is_file():
        raise ConfigError(f"{path}: missing; run ./vigil setup stack to fetch the Spark Kafka connector")
    jars = [j for j in path.read_text().strip().split(",") if j]
    missing = [j for j in jars if not Path(j).is_file()]
    if not jars or missing:
        raise ConfigError(f"{path}: lists missing jars ({missing[:3]}); run ./vigil setup stack again")
    return jars


def _describe(cfg: Config) -> str:
    def clean(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            return {f.name: clean(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.repr}
        if isinstance(obj, Path):
            return str(obj)
        return obj
    return yaml.safe_dump(clean(cfg), sort_keys=False)


def main(argv: list[str]) -> int:
    try:
        cfg = load()
    except ConfigError as e:
        print(f"vigil config: {e}", file=sys.stderr)
        return 2
    print(_describe(cfg), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
