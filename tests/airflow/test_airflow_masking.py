"""The personal API key is masked in task logs and never lands in XCom.

Airflow masks a secret only once it is registered with its secrets masker; a connection's
password is registered when a task (or the hook) fetches the connection, and the worker's log
pipeline then prints ``***`` in its place. Each test uses a key of its own, so the global
masker cannot know it from an earlier test: it is unknown before the hook runs and masked after.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.sdk._shared.secrets_masker import RedactedIO, SecretsMasker, redact
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState

from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
from eventschema_tools.sandbox import ApiKey, RunningSandbox, run_sandbox

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "airflow_plugin" / "example_dags"


@pytest.fixture
def api_key() -> str:
    return f"phx_masking_{uuid.uuid4().hex}"


@pytest.fixture
def keyed_sandbox(api_key: str) -> Iterator[RunningSandbox]:
    """A bare sandbox that accepts only this test's key."""
    with run_sandbox(api_keys=(ApiKey(api_key),), rate_limiting=False) as running:
        yield running


@pytest.fixture
def log_masking() -> Iterator[None]:
    """Mask log output the way ``airflow tasks test`` and the task supervisor do."""
    was_enabled = SecretsMasker.is_log_masking_enabled()
    SecretsMasker.enable_log_masking()
    yield
    if not was_enabled:
        SecretsMasker.disable_log_masking()


def test_building_a_client_registers_the_key_with_the_masker(
    api_key: str, keyed_sandbox: RunningSandbox, set_connection: Callable[..., str]
) -> None:
    set_connection(api_key=api_key, host=keyed_sandbox.url)
    assert redact(f"Authorization: Bearer {api_key}") == f"Authorization: Bearer {api_key}"

    with EventSchemaHook().get_conn() as client:
        assert client.project().id == 1

    assert redact(f"Authorization: Bearer {api_key}") == "Authorization: Bearer ***"
    assert api_key not in repr(client)


@pytest.mark.usefixtures("airflow_db", "log_masking")
def test_a_dag_runs_logs_and_xcoms_never_show_the_key(
    api_key: str,
    keyed_sandbox: RunningSandbox,
    set_connection: Callable[..., str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    set_connection(api_key=api_key, host=keyed_sandbox.url)
    assert redact(api_key) == api_key
    dag = DagBag(dag_folder=EXAMPLE_DAGS, bundle_path=EXAMPLE_DAGS).dags[
        "eventschema_apply_tracking_plan"
    ]

    with contextlib.redirect_stdout(RedactedIO()):
        dag_run = dag.test(run_conf={"plan_path": str(REPO / "examples" / "tracking-plan.yaml")})
        print(f"control line: key={api_key}")
    output = capfd.readouterr()

    assert dag_run.state == DagRunState.SUCCESS
    assert "control line: key=***" in output.out
    assert api_key not in output.out + output.err
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id)).all()
        values = [XComModel.deserialize_value(row) for row in rows]
    assert len(values) >= 4
    assert api_key not in json.dumps(values)
