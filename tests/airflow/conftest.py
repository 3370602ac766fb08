"""Fixtures of the Airflow adapter tests.

Airflow reads its configuration when it is first imported, so this module points it at a
throw-away ``AIRFLOW_HOME`` (with its SQLite metadata DB) *before* anything imports Airflow, and
imports Airflow only inside fixtures: nothing is written into the repository or ``~/airflow``.
Without Airflow installed, only the optional-import checks are collected. The DAG bundle is
the repository's ``airflow_plugin/example_dags``, the folder ``dag.test()`` must find the
example DAGs in.

The DB migration happens once per session. Each test that talks to PostHog gets a fresh loopback
sandbox seeded with the demo project (cheap, and no test sees another's writes); operators'
``execute()`` tests and ``dag.test()`` runs reach it through a connection given only as an
``AIRFLOW_CONN_*`` variable in the JSON form.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_ID, RunningSandbox, run_sandbox

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "airflow_plugin" / "example_dags"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="eventschema-airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, True)
os.environ.update(
    {
        "AIRFLOW_HOME": _AIRFLOW_HOME,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": f"{_AIRFLOW_HOME}/logs",
    }
)


def _airflow_installed() -> bool:
    try:
        return importlib.util.find_spec("airflow") is not None
    except ImportError:  # a broken or deliberately hidden installation
        return False


AIRFLOW_INSTALLED = _airflow_installed()

if not AIRFLOW_INSTALLED:
    # Without Airflow only the optional-import checks run (they show the core works without it).
    collect_ignore = [
        path.name
        for path in Path(__file__).parent.glob("test_*.py")
        if path.name != "test_airflow_optional_import.py"
    ]

CONN_ENV = "AIRFLOW_CONN_POSTHOG_DEFAULT"


@pytest.fixture(scope="session", autouse=True)
def _execute_outside_the_task_runner() -> Iterator[None]:
    """Let tests call ``operator.execute()`` directly without Airflow's "outside the Task
    Runner" warning (Airflow's own switch for its tests)."""
    if not AIRFLOW_INSTALLED:
        yield
        return
    from airflow.sdk.bases.operator import ExecutorSafeguard

    previous = ExecutorSafeguard.test_mode
    ExecutorSafeguard.test_mode = True
    yield
    ExecutorSafeguard.test_mode = previous


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Migrate the throw-away metadata DB once per session (``dag.test()`` needs it)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def sandbox_seed() -> str | None:
    """The seed of the test's sandbox; a module overrides it with None for a bare project
    (HogQL over the demo project's many bound events is slow on a busy machine)."""
    return "demo"


@pytest.fixture
def sandbox(sandbox_seed: str | None) -> Iterator[RunningSandbox]:
    """A fresh loopback sandbox (about 0.2 s to start and stop), rate limits off."""
    with run_sandbox(seed=sandbox_seed, rate_limiting=False) as running:
        yield running


@pytest.fixture
def sandbox_url(sandbox: RunningSandbox) -> str:
    """The base URL of the test's sandbox."""
    return sandbox.url


class ConnectionFactory(Protocol):
    def __call__(
        self, *, api_key: str = ..., conn_env: str = ..., host: str | None = ..., **extra: Any
    ) -> str: ...


@pytest.fixture
def set_connection(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> ConnectionFactory:
    """Set a ``posthog`` connection in ``AIRFLOW_CONN_*`` (JSON form) and return its JSON.

    The host is the test's sandbox unless ``host`` is given. Other keywords are the
    connection's extras; by default the demo project and no client-side retries.
    """

    def set_(
        *,
        api_key: str = DEMO_API_KEY,
        conn_env: str = CONN_ENV,
        host: str | None = None,
        **extra: Any,
    ) -> str:
        from airflow.sdk import Connection

        fields = {"project_id": str(DEMO_PROJECT_ID), "max_retries": 0, **extra}
        conn = Connection(
            conn_id=conn_env.removeprefix("AIRFLOW_CONN_").lower(),
            conn_type="posthog",
            host=host or request.getfixturevalue("sandbox_url"),
            password=api_key,
            extra=json.dumps(fields),
        )
        monkeypatch.setenv(conn_env, conn.as_json())
        return conn.as_json()

    return set_


@pytest.fixture
def posthog_conn(set_connection: ConnectionFactory) -> str:
    """``posthog_default`` pointing at the sandbox's demo project; returns the connection JSON."""
    return set_connection()
