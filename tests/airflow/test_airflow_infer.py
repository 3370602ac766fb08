"""``InferTrackingPlanOperator`` against a loopback sandbox holding the demo project.

One real task run (``dag.test()`` with a templated ``output_path``) and ``execute()`` with a
recorder of the XComs it pushes; the hook, client, core and sandbox are all real. The plan file
is written only when the whole run succeeded; bad parameters fail the task before any request;
failures are one line, final for bad input and HogQL errors, retryable for server errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
from airflow.models.xcom import XComModel
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
from airflow_test_helpers import RecordingTaskInstance
from hogql_breaking_proxy import hogql_breaking_proxy

from eventschema_tools.airflow_plugin.operators import InferTrackingPlanOperator
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, FaultConfig, RunningSandbox
from eventschema_tools.tracking_plan.file import load_plan
from eventschema_tools.tracking_plan.lint import has_errors, lint_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = REPO / "examples" / "tracking-plan.yaml"
SUMMARY_KEYS = {
    "output_path",
    "window",
    "events",
    "groups",
    "skipped",
    "changes",
    "queries",
    "query_bound",
    "sample_rate",
    "sampled_automatically",
    "stored_events",
    "notes",
}


@pytest.fixture
def ti() -> RecordingTaskInstance:
    return RecordingTaskInstance()


def requests_seen(sandbox: RunningSandbox) -> int:
    return int(sandbox.sandbox.faults.stats()["requests"])


# --- a real task run -------------------------------------------------------------------------


DAG_FILE = """\
from datetime import datetime

from airflow.sdk import DAG

from eventschema_tools.airflow_plugin.operators import InferTrackingPlanOperator

with DAG(
    "eventschema_infer_test",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={{"output": {output!r}}},
):
    InferTrackingPlanOperator(
        task_id="infer", output_path="{{{{ params.output }}}}", days=2, plan_id="inferred"
    )
"""


def parsed_dag(folder: Path, output: Path) -> Any:
    """The DAG of ``DAG_FILE``, parsed and stored as the DAG processor would store it."""
    folder.mkdir()
    (folder / "infer_dag.py").write_text(DAG_FILE.format(output=str(output)), encoding="utf-8")
    bag = DagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags["eventschema_infer_test"]


@pytest.mark.usefixtures("airflow_db", "posthog_conn")
def test_a_dag_run_writes_the_plan_and_leaves_a_small_summary_in_xcom(tmp_path: Path) -> None:
    output = tmp_path / "plans" / "proposed.yaml"
    dag = parsed_dag(tmp_path / "dags", output)

    run = dag.test()

    assert run.state == DagRunState.SUCCESS
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id)).all()
        left = {row.key: XComModel.deserialize_value(row) for row in rows}
    summary = left["return_value"]
    assert left["inferred_plan"] == summary
    assert set(summary) == SUMMARY_KEYS
    assert summary["output_path"] == str(output)
    proposed = load_plan(output)
    assert proposed.plan_id == "inferred"
    assert summary["events"] == len(proposed.events)
    assert sum(summary["groups"].values()) == len(proposed.property_groups)
    assert 1 <= summary["queries"] <= summary["query_bound"]
    assert not has_errors(lint_file(output))
    shown = json.dumps(summary)
    assert DEMO_API_KEY not in shown
    assert len(shown) < 4000, "the summary stays small; the evidence is in the file"


# --- execute() -------------------------------------------------------------------------------


@pytest.mark.usefixtures("posthog_conn")
def test_an_existing_plan_is_edited_in_place_and_its_changes_summarised(
    ti: RecordingTaskInstance, tmp_path: Path
) -> None:
    output = tmp_path / "proposed.yaml"
    op = InferTrackingPlanOperator(
        task_id="infer", output_path=str(output), plan_path=str(EXAMPLE_PLAN), events="*"
    )

    result = op.execute({"ti": ti})

    assert result["changes"].startswith("Plan: ")
    assert ti.xcom["inferred_plan"] == result
    assert "# Tracking plan of a B2B SaaS product" in output.read_text(encoding="utf-8")
    assert load_plan(output).plan_id == "saas-web"
    assert not has_errors(lint_file(output))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"sample": 2}, "bad sample rate", id="sample"),
        pytest.param({"since": "2999-01-01"}, "the window starts in the future", id="future"),
        pytest.param({"days": 0}, "bad days", id="days"),
        pytest.param({"events": []}, "events is empty", id="no-patterns"),
        pytest.param({"output_path": " "}, "output_path", id="blank-output"),
    ],
)
def test_bad_parameters_fail_when_the_dag_is_parsed(
    arguments: dict[str, Any], message: str
) -> None:
    settings = {"output_path": "plan.yaml", **arguments}
    with pytest.raises(InvalidInputError, match=message):
        InferTrackingPlanOperator(task_id="infer", **settings)


@pytest.mark.usefixtures("posthog_conn")
@pytest.mark.parametrize(
    ("arguments", "params", "message"),
    [
        pytest.param(
            {"since": "{{ params.since }}"},
            {"since": "2999-01-01"},
            "the window starts in the future",
            id="future-since",
        ),
        pytest.param(
            {"plan_path": "{{ params.plan }}"},
            {"plan": "/nonexistent/plan.yaml"},
            "/nonexistent/plan.yaml",
            id="missing-plan-file",
        ),
        pytest.param(
            {"plan_path": str(EXAMPLE_PLAN), "plan_id": "{{ params.plan_id }}"},
            {"plan_id": "other"},
            "plan_id",
            id="plan-and-plan-id",
        ),
    ],
)
def test_bad_templated_parameters_fail_the_task_before_any_request(
    ti: RecordingTaskInstance,
    sandbox: RunningSandbox,
    tmp_path: Path,
    arguments: dict[str, Any],
    params: dict[str, Any],
    message: str,
) -> None:
    output = tmp_path / "plan.yaml"
    op = InferTrackingPlanOperator(task_id="infer", output_path=str(output), **arguments)
    op.render_template_fields({"params": params})

    with pytest.raises(AirflowFailException, match=message):
        op.execute({"ti": ti})

    assert requests_seen(sandbox) == 0
    assert not output.exists()
    assert ti.xcom == {}


@pytest.mark.usefixtures("posthog_conn")
def test_no_matching_events_fails_without_retry_and_writes_nothing(
    ti: RecordingTaskInstance, tmp_path: Path
) -> None:
    output = tmp_path / "plan.yaml"
    op = InferTrackingPlanOperator(task_id="infer", output_path=str(output), events="nothing_*")

    with pytest.raises(AirflowFailException, match=r"nothing_\*") as caught:
        op.execute({"ti": ti})

    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_hogql_error_fails_without_retry_in_one_line_and_writes_nothing(
    ti: RecordingTaskInstance,
    sandbox: RunningSandbox,
    set_connection: Callable[..., str],
    tmp_path: Path,
) -> None:
    output = tmp_path / "plan.yaml"
    with hogql_breaking_proxy(sandbox.url) as proxy:
        set_connection(host=proxy.url)
        op = InferTrackingPlanOperator(task_id="infer", output_path=str(output))
        with pytest.raises(AirflowFailException) as caught:
            op.execute({"ti": ti})

    assert proxy.broken >= 1
    message = str(caught.value)
    assert "HTTP 400 on POST /api/projects/1/query/" in message
    assert "\n" not in message
    assert DEMO_API_KEY not in message
    assert caught.value.__cause__ is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("posthog_conn")
def test_server_errors_fail_the_task_retryably_and_write_nothing(
    ti: RecordingTaskInstance, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox.sandbox.faults.configure(FaultConfig(error_503=1.0))
    output = tmp_path / "plan.yaml"

    with pytest.raises(AirflowException, match="a retry may succeed") as caught:
        InferTrackingPlanOperator(task_id="infer", output_path=str(output)).execute({"ti": ti})

    assert not isinstance(caught.value, AirflowFailException)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
