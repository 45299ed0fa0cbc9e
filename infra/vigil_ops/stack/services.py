"""The local services: how each is prepared, started and checked.

Addresses and ports come from the ``stack`` section of the configuration;
artifacts (jars, binaries, venvs) from $VIGIL_HOME; data, logs and pid files
from the stack directory ($VIGIL_STACK_DIR, default $VIGIL_HOME/services).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from vigil_ops import config as vconfig
from vigil_ops.stack import health

ROOT = vconfig.ROOT


class StackError(RuntimeError):
    """A problem that stops `vigil stack`; the message says what and where."""


@dataclass
class Paths:
    home: Path        # $VIGIL_HOME: venvs, jars, bin
    services: Path    # data, logs, pid files

    def dir(self, name: str) -> Path:
        return self.services / name


class Service:
    name = ""
    start_timeout = 90.0
    stop_timeout = 30.0

    def __init__(self, cfg: vconfig.Config, paths: Paths):
        if cfg.stack is None:
            raise StackError(f"{cfg.path}: no 'stack' section: the {cfg.env} environment has no local stack")
        self.cfg, self.st, self.paths = cfg, cfg.stack, paths
        self.dir = paths.dir(self.name)
        self.log_file = self.dir / "log"
        self.pid_file = self.dir / "pid"

    # -- to override --
    def ports(self) -> list[int]:
        raise NotImplementedError

    def address(self) -> str:
        raise NotImplementedError

    def check(self) -> str | None:
        raise NotImplementedError

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write config files, format storage: before every start."""

    def ready_note(self) -> str:
        return ""

    # -- shared --
    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        shim = self.paths.home / "lib" / "libvigil_bind_loopback.so"
        if shim.is_file():
            env["LD_PRELOAD"] = " ".join(x for x in (str(shim), env.get("LD_PRELOAD", "")) if x)
        return env

    def java(self) -> str:
        java = shutil.which("java")
        if not java:
            raise StackError(f"{self.name}: java is not on PATH; install openjdk-17-jre-headless "
                             "(./vigil setup stack does it as root)")
        return java

    def need(self, path: Path, what: str) -> Path:
        if not path.exists():
            raise StackError(f"{self.name}: {what} missing at {path}; run ./vigil setup stack")
        return path


class Kafka(Service):
    name = "kafka"
    start_timeout = 120.0

    def ports(self):
        return [self.st.kafka.port, self.st.kafka.controller_port or self.st.kafka.port + 1]

    def address(self):
        return f"{self.st.host}:{self.st.kafka.port}"

    def check(self):
        return health.kafka(self.address())

    def _jars(self) -> str:
        return str(self.need(self.paths.home / "jars" / "kafka", "Kafka jars")) + "/*"

    def prepare(self):
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        host = self.st.host
        port, cport = self.ports()
        props = f"""# Written by vigil stack at every start (from config/*.yaml stack.kafka).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{host}:{cport}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}
advertised.listeners=PLAINTEXT://{host}:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=1
num.network.threads=2
num.io.threads=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
log.segment.bytes=268435456
"""
        (self.dir / "server.properties").write_text(props)
        (self.dir / "log4j2.xml").write_text(_LOG4J2)
        cid_file = self.dir / "cluster.id"
        if not cid_file.exists():
            cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            cid_file.write_text(cid + "\n")
        if not (data / "meta.properties").exists():
            cmd = [self.java(), "-Xmx256m", f"-Dlog4j2.configurationFile={self.dir / 'log4j2.xml'}",
                   "-cp", self._jars(), "kafka.tools.StorageTool", "format",
                   "-t", cid_file.read_text().strip(), "-c", str(self.dir / "server.properties")]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise StackError(f"kafka: formatting {data} failed:\n{(r.stdout + r.stderr)[-2000:]}")

    def command(self):
        heap = self.st.kafka.heap or "512m"
        cmd = [self.java(), f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.dir / 'log4j2.xml'}",
               "-cp", self._jars(), "kafka.Kafka", str(self.dir / "server.properties")]
        return cmd, self.base_env()


_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
"""


class DynamoDB(Service):
    name = "dynamodb"
    main_class = "software.amazon.dynamodb.services.local.main.ServerRunner"

    def ports(self):
        return [self.st.dynamodb.port]

    def address(self):
        return f"http://{self.st.host}:{self.st.dynamodb.port}"

    def check(self):
        return health.dynamodb(self.address())

    def prepare(self):
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    def command(self):
        jars = self.need(self.paths.home / "jars" / "dynamodb", "DynamoDB Local jars")
        native = self.need(jars / "native", "the sqlite4java native library")
        heap = self.st.dynamodb.heap or "384m"
        # DynamoDB Local has no listen-address option: the loopback shim
        # (LD_PRELOAD, see infra/setup/loopback) keeps it on 127.0.0.1.
        self.need(self.paths.home / "lib" / "libvigil_bind_loopback.so", "the loopback bind shim")
        cmd = [self.java(), f"-Xmx{heap}", "-XX:+UseSerialGC", f"-Djava.library.path={native}",
               "-cp", f"{jars}/*", self.main_class,
               "-port", str(self.st.dynamodb.port), "-dbPath", str(self.dir / "data"),
               "-sharedDb", "-disableTelemetry"]
        return cmd, self.base_env()


class MinIO(Service):
    name = "minio"

    def ports(self):
        return [self.st.minio.port, self.st.minio.console_port or self.st.minio.port + 1]

    def address(self):
        return f"http://{self.st.host}:{self.st.minio.port}"

    def check(self):
        return health.minio(self.address())

    def prepare(self):
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    def command(self):
        binary = self.need(self.paths.home / "bin" / "minio", "the minio binary")
        creds = vconfig.ensure_local_secrets(self.paths.home)
        port, console = self.ports()
        env = self.base_env()
        env.update(MINIO_ROOT_USER=creds["MINIO_ROOT_USER"], MINIO_ROOT_PASSWORD=creds["MINIO_ROOT_PASSWORD"],
                   MINIO_UPDATE="off", MINIO_BROWSER_REDIRECT="off")
        cmd = [str(binary), "server", str(self.dir / "data"), "--address", f"{self.st.host}:{port}",
               "--console-address", f"{self.st.host}:{console}", "--quiet"]
        return cmd, env

    def ready_note(self):
        return f"console http://{self.st.host}:{self.ports()[1]} (login in {self.paths.home / 'secrets.env'})"


class Airflow(Service):
    name = "airflow"
    start_timeout = 420.0
    stop_timeout = 40.0

    def ports(self):
        return [self.st.airflow.port]

    def address(self):
        return f"http://{self.st.host}:{self.st.airflow.port}"

    def check(self):
        return health.airflow(self.address())

    @property
    def airflow_home(self) -> Path:
        return self.dir / "home"

    def prepare(self):
        self.airflow_home.mkdir(parents=True, exist_ok=True)

    def command(self):
        venv = self.paths.home / "airflow-venv"
        airflow = venv / "bin" / "airflow"
        if not airflow.exists():
            raise StackError(f"airflow: {airflow} missing; run ./vigil setup airflow")
        env = self.base_env()
        env.update(airflow_env(self.cfg, self.paths))
        env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
        return [str(airflow), "standalone"], env

    def ready_note(self):
        # The generated password stays in its file, never in a log.
        pw_file = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        try:
            users = ", ".join(json.loads(pw_file.read_text()))
            login = f"user {users}, password in {pw_file}"
        except (OSError, ValueError):
            login = f"see {pw_file}"
        return f"UI {self.address()}  login: {login}"


def airflow_env(cfg: vconfig.Config, paths: Paths) -> dict[str, str]:
    """The environment Airflow runs with (also for `airflow` commands in tests)."""
    st = cfg.stack
    base = f"http://{st.host}:{st.airflow.port}"
    home = paths.dir("airflow") / "home"
    pythonpath = [str(ROOT / "infra"), str(ROOT / "airflow")]
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API__HOST": st.host,
        "AIRFLOW__API__PORT": str(st.airflow.port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__WORKERS": "1",
        # The scheduler's and triggerer's log servers move with the UI port
        # (8793 and 8794 for the default 8080), so two stacks can coexist.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(st.airflow.port + 713),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(st.airflow.port + 714),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "VIGIL_HOME": str(paths.home),
        "VIGIL_ROOT": str(ROOT),
        "PYTHONPATH": ":".join(pythonpath),
    }


SERVICES: dict[str, type[Service]] = {"kafka": Kafka, "dynamodb": DynamoDB, "minio": MinIO, "airflow": Airflow}
