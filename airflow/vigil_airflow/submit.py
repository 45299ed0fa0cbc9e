"""What to spark-submit for the streaming job: the same job as ``./vigil stream start``.

The job's configuration, entry point, packaged sources and environment come from
``vigil_ops.stream`` (which owns them); this module only reshapes them into the
arguments of the apache-spark provider's ``SparkSubmitHook``, whose command is then
built from the ``vigil_spark`` connection (the master) like any other Spark task.

The spec is a dict: ``application`` (required), ``application_args``, ``conf``,
``jars`` (comma-separated), ``py_files``, ``env`` (only the variables to add),
``cwd``, ``job_dir`` (where the pid file and log go).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class SubmitSpecError(RuntimeError):
    """The job's submit spec cannot be built; the message says what is missing."""


def job_python(vigil_home: str | Path) -> Path:
    """The project's virtual env Python (PySpark, the vigil binding): the driver's interpreter."""
    return Path(vigil_home) / "venv" / "bin" / "python"


def submit_spec(settings: Any) -> dict[str, Any]:
    try:
        from vigil_ops import config as vconfig
        from vigil_ops import stream as vstream
    except ImportError as e:
        raise SubmitSpecError(f"cannot import vigil_ops.stream ({e}): put the repository's infra/ "
                              "on PYTHONPATH of the Airflow processes") from None
    cfg = vconfig.load()
    python = job_python(cfg.home)
    if not (python.parent / "spark-submit").exists():
        raise SubmitSpecError(f"{python.parent / 'spark-submit'}: not found; run ./vigil setup core")
    job_dir = vstream.stream_dir(cfg)
    job_dir.mkdir(parents=True, exist_ok=True)
    job = vstream.job_config(cfg)
    job_json = job_dir / "job.json"
    job_json.write_text(json.dumps(job, indent=1) + "\n")
    zip_path = vstream.package_jobs(job_dir / "vigil_stream.zip")

    # job_env() starts from os.environ; pass on only what it adds or changes.
    full = vstream.job_env(cfg)
    env = {k: v for k, v in full.items() if os.environ.get(k) != v}
    env["PYSPARK_PYTHON"] = str(python)
    env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {
        "application": str(vstream.JOBS / "stream_job.py"),
        "application_args": ["--config", str(job_json)],
        "conf": {"spark.pyspark.python": str(python), "spark.pyspark.driver.python": str(python),
                 "spark.driver.memory": vstream.DRIVER_MEMORY, "spark.local.dir": str(cfg.home / "tmp" / "spark"),
                 **vstream.jvm_conf(cfg)},
        "jars": ",".join(cfg.spark_kafka_jars()),
        "py_files": str(zip_path),
        "env": env,
        "cwd": str(vconfig.ROOT),
        "job_dir": str(job_dir),
    }
