"""Fixtures of the security tests: a leak watch over every log, stream and value.

Airflow reads its configuration when it is first imported, so a throw-away ``AIRFLOW_HOME`` is
set here before anything imports it (unless another test package already chose one for this
session), and nothing is written into the repository or ``~/airflow``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from security_helpers import LeakWatch

REPO = Path(__file__).resolve().parents[2]

if "AIRFLOW_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="eventschema-security-airflow-")
    atexit.register(shutil.rmtree, _home, True)
    os.environ.update(
        {
            "AIRFLOW_HOME": _home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow_plugin" / "example_dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow.db",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": f"{_home}/logs",
        }
    )


@pytest.fixture
def watch(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[LeakWatch]:
    """Every log record (DEBUG and up, every logger), both output streams and added values."""
    with LeakWatch.attached(caplog, capfd) as leak_watch:
        yield leak_watch
