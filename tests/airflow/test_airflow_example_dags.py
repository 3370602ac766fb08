"""The example DAGs, parsed as Airflow parses them and run end to end with ``dag.test()``.

``dag.test()`` runs every task in this process against the session's metadata DB and the
test's loopback sandbox. It returns the run and does not raise when a task fails, so each test
asserts the run's state, the task states and the XComs the tasks left.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState

from eventschema_tools import EventSchemaClient, PropertyInput
from eventschema_tools.airflow_plugin.links import SCHEMA_PAGE_XCOM_KEY
from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    DEMO_PROJECT_TOKEN,
    Project,
    RunningSandbox,
    run_sandbox,
)
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import load_plan

pytestmark = pytest.mark.usefixtures("airflow_db")

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "airflow_plugin" / "example_dags"
EXAMPLE_PLAN = REPO / "examples" / "tracking-plan.yaml"

CHECKOUT_PLAN = """\
    version: 1
    plan_id: nightly-test
    property_groups:
      checkout:
        properties:
          cart_id: {type: String, required: true}
          revenue: {type: Numeric, required: true}
    events:
      checkout_started: {groups: [checkout]}
      checkout_completed: {groups: [checkout]}
    """


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=EXAMPLE_DAGS, bundle_path=EXAMPLE_DAGS, bundle_name="dags-folder")


@pytest.fixture
def sandbox_seed() -> None:
    return None


def capture(
    url: str, event: str, rows: list[dict[str, Any]], token: str = DEMO_PROJECT_TOKEN
) -> None:
    batch = [
        {"event": event, "distinct_id": f"user-{i}", "properties": props}
        for i, props in enumerate(rows)
    ]
    response = httpx.post(f"{url}/batch/", json={"api_key": token, "batch": batch})
    assert response.status_code == 200, response.text


def run(dagbag: DagBag, dag_id: str, conf: dict[str, Any]) -> DagRun:
    return dagbag.dags[dag_id].test(run_conf=conf)


def task_states(run: DagRun) -> dict[str, str | None]:
    """``task_id`` (``task_id[i]`` for mapped instances) → the instance's final state."""
    return {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": ti.state
        for ti in run.get_task_instances()
    }


def xcoms(run: DagRun) -> dict[tuple[str, int, str], Any]:
    """Every XCom the run left: (task_id, map_index, key) → value."""
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id)).all()
        return {
            (row.task_id, row.map_index, row.key): XComModel.deserialize_value(row) for row in rows
        }


def test_example_dags_parse_cleanly(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == [
        "eventschema_apply_tracking_plan",
        "eventschema_enforcement_ratchet",
        "eventschema_multi_project_audit",
        "eventschema_nightly_audit",
        "eventschema_promote_staging_to_prod",
    ]
    assert dagbag.captured_warnings == {}


@pytest.mark.usefixtures("posthog_conn")
def test_nightly_audit_fails_on_breached_thresholds_while_the_gated_job_runs(
    dagbag: DagBag, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan_path = tmp_path / "tracking-plan.yaml"
    plan_path.write_text(textwrap.dedent(CHECKOUT_PLAN), encoding="utf-8")
    good = [{"cart_id": f"c{i}", "revenue": 10 + i} for i in range(10)]
    capture(sandbox.url, "checkout_started", good)
    capture(sandbox.url, "checkout_completed", [*good[:9], {"cart_id": "c9"}])
    with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url) as client:
        assert apply(client, compute_plan(client, load_plan(plan_path))).ok
        completed_id = client.event_definitions.get_by_name("checkout_completed").id

    dag_run = run(
        dagbag,
        "eventschema_nightly_audit",
        {
            "plan_path": str(plan_path),
            "report_dir": str(tmp_path / "reports"),
            "gate_events": "checkout_started",
        },
    )

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run) == {
        "audit": TaskInstanceState.FAILED,
        "subscriptions_healthy": TaskInstanceState.SUCCESS,
        "refresh_revenue_dashboard": TaskInstanceState.SUCCESS,
    }
    left = xcoms(dag_run)
    report = left[("audit", -1, "audit_report")]
    assert report["passed"] is False
    assert {(f["event"], f["code"], f["severity"]) for f in report["findings"]} >= {
        ("checkout_completed", "missing_required", "error")
    }
    assert left[("audit", -1, SCHEMA_PAGE_XCOM_KEY)] == (
        f"{sandbox.url}/project/1/data-management/events/{completed_id}"
    )
    assert (
        left[("audit", -1, "_link_EventSchemaPageLink")]
        == left[("audit", -1, SCHEMA_PAGE_XCOM_KEY)]
    )
    [markdown] = (tmp_path / "reports").glob("schema-audit-*.md")
    assert "checkout\\_completed" in markdown.read_text(encoding="utf-8")
    gate = left[("subscriptions_healthy", -1, "return_value")]
    assert gate["passed"] is True
    assert gate["events"][0]["rate"] == 1.0


@pytest.mark.usefixtures("posthog_conn")
def test_nightly_gate_waits_only_as_long_as_the_run_says(
    dagbag: DagBag, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Without healthy events the gate gives up after the run's `gate_timeout`, so a trial run
    finishes (the DAG's own values would keep it checking every 10 minutes for 6 hours)."""
    plan_path = tmp_path / "tracking-plan.yaml"
    plan_path.write_text(textwrap.dedent(CHECKOUT_PLAN), encoding="utf-8")
    with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url) as client:
        plan = compute_plan(client, load_plan(plan_path), create_events=True)
        assert apply(client, plan).ok
    dag = dagbag.dags["eventschema_nightly_audit"]
    assert (dag.params["gate_poke_interval"], dag.params["gate_timeout"]) == (600, 6 * 3600)

    dag_run = run(
        dagbag,
        "eventschema_nightly_audit",
        {
            "plan_path": str(plan_path),
            "report_dir": str(tmp_path / "reports"),
            "gate_events": "checkout_started",
            "gate_poke_interval": 1,
            "gate_timeout": 2,
        },
    )

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run) == {
        "audit": TaskInstanceState.SUCCESS,
        "subscriptions_healthy": TaskInstanceState.FAILED,
        "refresh_revenue_dashboard": TaskInstanceState.UPSTREAM_FAILED,
    }
    gate = xcoms(dag_run)[("subscriptions_healthy", -1, SCHEMA_PAGE_XCOM_KEY)]
    assert gate.startswith(f"{sandbox.url}/project/1/data-management/events/")


@pytest.mark.usefixtures("posthog_conn")
def test_apply_tracking_plan_from_the_repository_then_bind_from_xcom(
    dagbag: DagBag, sandbox: RunningSandbox
) -> None:
    capture(sandbox.url, "search_performed", [{"query": "pricing"}])
    conf = {"plan_path": str(EXAMPLE_PLAN), "shared_group_events": ["search_performed"]}

    first = run(dagbag, "eventschema_apply_tracking_plan", conf)
    second = run(dagbag, "eventschema_apply_tracking_plan", conf)

    assert first.state == DagRunState.SUCCESS
    left = xcoms(first)
    planned = left[("plan", -1, "return_value")]
    applied = left[("apply", -1, "return_value")]
    assert planned["report"] is None
    assert [c["action"] for c in applied["plan"]["changes"]] == [
        c["action"] for c in planned["plan"]["changes"]
    ]
    assert {item["status"] for item in applied["report"]["items"]} == {"done"}
    expected_events = set(load_plan(EXAMPLE_PLAN).events)
    created = {c["event"] for c in applied["plan"]["changes"] if c["action"] == "create_event"}
    assert created == expected_events
    [bound] = left[("bind_workspace_context", -1, "return_value")]["results"]
    assert bound == {
        "event": "search_performed",
        "group": "workspace_context",
        "status": "created",
        "detail": "",
    }
    assert second.state == DagRunState.SUCCESS
    again = xcoms(second)
    assert again[("apply", -1, "return_value")]["plan"]["changes"] == []
    assert again[("bind_workspace_context", -1, "return_value")]["results"][0]["status"] == (
        "exists"
    )


@pytest.fixture
def two_projects() -> Iterator[RunningSandbox]:
    with run_sandbox(projects=(Project(1), Project(2)), rate_limiting=False) as running:
        yield running


def test_multi_project_audit_with_its_default_params_audits_the_one_demo_project(
    dagbag: DagBag, set_connection: Callable[..., str]
) -> None:
    dag = dagbag.dags["eventschema_multi_project_audit"]
    assert dag.params["project_ids"] == ["1"]
    with run_sandbox(seed="demo", rate_limiting=False) as demo:
        set_connection(host=demo.url)

        dag_run = dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    assert task_states(dag_run) == {
        "projects": TaskInstanceState.SUCCESS,
        "audit[0]": TaskInstanceState.SUCCESS,
        "summary": TaskInstanceState.SUCCESS,
    }
    left = xcoms(dag_run)
    report = left[("audit", 0, "audit_report")]
    assert (report["project_id"], report["passed"]) == ("1", True)
    assert report["events"], "the demo project has bound events to audit"
    assert left[("summary", -1, "return_value")] == {"1": report["counts_by_severity"]}


def test_multi_project_audit_maps_one_task_per_project(
    dagbag: DagBag,
    two_projects: RunningSandbox,
    set_connection: Callable[..., str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    url = two_projects.url
    set_connection(host=url)
    capture(url, "order_paid", [{"total": 5}] * 3 + [{}], token="phc_sandbox_2")
    with EventSchemaClient(api_key=DEMO_API_KEY, project_id=2, host=url) as client:
        total = PropertyInput(name="total", property_type="Numeric", is_required=True)
        group = client.property_groups.create(name="order", properties=[total])
        event = client.event_definitions.get_by_name("order_paid")
        client.event_schemas.create(event_definition=event.id, property_group_id=group.id)

    dag_run = run(dagbag, "eventschema_multi_project_audit", {"project_ids": ["1", "2"]})

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run) == {
        "projects": TaskInstanceState.SUCCESS,
        "audit[0]": TaskInstanceState.SUCCESS,
        "audit[1]": TaskInstanceState.FAILED,
        "summary": TaskInstanceState.FAILED,
    }
    left = xcoms(dag_run)
    reports = [left[("audit", index, "audit_report")] for index in (0, 1)]
    assert [(r["project_id"], r["passed"]) for r in reports] == [("1", True), ("2", False)]
    assert {
        (f["event"], f["code"]) for f in reports[1]["findings"] if f["severity"] == "error"
    } == {("order_paid", "missing_required")}
    assert "AirflowFailException: schema audits failed for projects 2\n" in capfd.readouterr().out


@pytest.mark.usefixtures("posthog_conn")
def test_multi_project_audit_names_a_project_whose_audit_left_no_report(
    dagbag: DagBag, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run(dagbag, "eventschema_multi_project_audit", {"project_ids": ["404", "1"]})

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run) == {
        "projects": TaskInstanceState.SUCCESS,
        "audit[0]": TaskInstanceState.FAILED,
        "audit[1]": TaskInstanceState.SUCCESS,
        "summary": TaskInstanceState.FAILED,
    }
    left = xcoms(dag_run)
    assert ("audit", 0, "audit_report") not in left
    assert left[("audit", 1, "audit_report")]["passed"] is True
    out = capfd.readouterr().out
    assert "AirflowFailException: no audit report for projects 404: see their logs\n" in out
