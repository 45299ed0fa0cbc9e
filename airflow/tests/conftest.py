"""Test set-up: an isolated AIRFLOW_HOME (set before Airflow is imported), the package
on sys.path, and fixtures for tests that need the local stack (skipped when it is down).
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

AIRFLOW_DIR = pathlib.Path(__file__).resolve().parents[1]
REPO = AIRFLOW_DIR.parent
DAGS = AIRFLOW_DIR / "dags"

_HOME = pathlib.Path(os.environ.get("VIGIL_AIRFLOW_TEST_HOME") or tempfile.mkdtemp(prefix="vigil-airflow-test-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
for path in (AIRFLOW_DIR, REPO / "infra", pathlib.Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
