"""Where the e2e tests find the C++ executables they run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def produce_binary() -> Path:
    """`vigil-produce` from VIGIL_PRODUCE or the build under $VIGIL_HOME; fail clearly if absent."""
    explicit = os.environ.get("VIGIL_PRODUCE")
    home = Path(os.environ.get("VIGIL_HOME", REPO / ".vigil"))
    path = Path(explicit) if explicit else home / "build" / "bin" / "vigil-produce"
    if not path.is_file():
        pytest.fail(f"vigil-produce not found at {path}: build it first (./vigil build)", pytrace=False)
    return path
