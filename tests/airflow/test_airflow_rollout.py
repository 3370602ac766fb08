"""The environment operators and example DAGs, run as Airflow runs them (``dag.test()``).

A loopback sandbox serves staging (project 1) and prod (project 2), each reached through its
own connection (``posthog_staging``, ``posthog_prod``). Staging holds the new plan (applied three
hours ago, by the sandbox's shifted clock) and two hours of conforming events; prod the old one.
The approval is given as Airflow's Required Actions page gives it: through the Core API's HITL
route, while ``dag.test()`` waits for it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow")

from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState

from eventschema_tools.rollout import compare_environments, promotion_options
from eventschema_tools.sandbox import RunningSandbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rollout"))

from rollout_helpers import (
    PLAN_AFTER,
    PLAN_BEFORE,
    PROD,
    STAGING,
    apply_to,
    checkout,
    client,
    event,
    hours,
    load,
    send,
    spread,
    two_projects,
    written_ago,
)
from test_rollout_ratchet import PLAN as RATCHET_PLAN

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "airflow_plugin" / "example_dags"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=EXAMPLE_DAGS, bundle_path=EXAMPLE_DAGS, bundle_name="dags-folder")


@pytest.fixture
def environments(
    set_connection: Callable[..., str], tmp_path: Path
) -> Iterator[tuple[RunningSandbox, Path]]:
    with two_projects() as sandbox:
        for name, project in (("STAGING", STAGING), ("PROD", PROD)):
            set_connection(
                conn_env=f"AIRFLOW_CONN_POSTHOG_{name}",
                host=sandbox.url,
                project_id=str(project.id),
            )
        plan_path = tmp_path / "tracking-plan.yaml"
        plan_path.write_text(PLAN_AFTER.format(url=sandbox.url), encoding="utf-8")
        yield sandbox, plan_path


def _soaked_staging(sandbox: RunningSandbox, good_share: float = 1.0) -> None:
    with written_ago(sandbox, hours(3)):
        apply_to(load(PLAN_BEFORE, sandbox.url), "prod")
        apply_to(load(PLAN_AFTER, sandbox.url), "staging")
    now = datetime.now(UTC)
    moments = spread(now - hours(1.9), now - hours(0.05), 200)
    cutoff = round(good_share * 10)
    send(
        sandbox.url,
        STAGING,
        [
            *(checkout(i % 10 < cutoff, m, i) for i, m in enumerate(moments)),
            *(event("signed_up", {"method": "email"}, m, i) for i, m in enumerate(moments)),
        ],
    )


class _Reviewer:
    """The person who answers on the Required Actions page."""

    def get_id(self) -> str:
        return "reviewer"

    def get_name(self) -> str:
        return "Reviewer"


def _answer_when_asked(dag_id: str, answer: str, found: dict[str, Any]) -> None:
    """Wait for the approval request, keep its text, and answer it through the Core API."""
    try:
        _answer(dag_id, answer, found)
    except Exception as exc:
        found["error"] = repr(exc)
        # dag.test() would wait for an answer forever: end the run instead.
        with create_session() as session:
            for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, task_id="approve"):
                ti.state = TaskInstanceState.FAILED


def _answer(dag_id: str, answer: str, found: dict[str, Any]) -> None:
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.hitl import HITLDetail

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with create_session() as session:
            waiting = (
                session.query(TaskInstance)
                .filter_by(dag_id=dag_id, task_id="approve", state=TaskInstanceState.AWAITING_INPUT)
                .one_or_none()
            )
            if waiting is not None:
                request = session.get(HITLDetail, waiting.id)
                assert request is not None
                found["subject"] = request.subject
                found["body"] = request.body
                update_hitl_detail(
                    dag_id=dag_id,
                    dag_run_id=waiting.run_id,
                    task_id="approve",
                    update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[answer]),
                    user=_Reviewer(),  # type: ignore[arg-type]
                    session=session,
                )
                return
        time.sleep(0.5)


def _run_with_answer(
    dagbag: DagBag, conf: dict[str, Any], answer: str
) -> tuple[DagRun, dict[str, Any]]:
    dag = dagbag.dags["eventschema_promote_staging_to_prod"]
    found: dict[str, Any] = {}
    reviewer = threading.Thread(target=_answer_when_asked, args=(dag.dag_id, answer, found))
    reviewer.start()
    try:
        dag_run = dag.test(run_conf=conf)
    finally:
        reviewer.join(timeout=200)
    assert "error" not in found, found.get("error")
    return dag_run, found


def _states(dag_run: DagRun) -> dict[str, str | None]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def test_the_example_dag_promotes_after_the_soak_and_the_approval(
    dagbag: DagBag, environments: tuple[RunningSandbox, Path]
) -> None:
    sandbox, plan_path = environments
    _soaked_staging(sandbox)
    dag_run, asked = _run_with_answer(
        dagbag, {"plan_path": str(plan_path), "soak": "2h"}, "Approve"
    )
    assert dag_run.state == DagRunState.SUCCESS, _states(dag_run)
    assert _states(dag_run) == {
        "staging_soaked": TaskInstanceState.SUCCESS,
        "approve": TaskInstanceState.SUCCESS,
        "promote": TaskInstanceState.SUCCESS,
    }
    assert asked["subject"] == "Promote staging to prod?"
    assert "- update_group checkout" in asked["body"]
    assert "- checkout_completed: 200 of 200 conform" in asked["body"]
    plan = load(PLAN_AFTER, sandbox.url)
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        drift = compare_environments(
            staging, prod, promotion_options(plan, source="staging", target="prod")
        )
    assert drift.plan.is_empty, drift.plan.changes


def test_a_rejected_approval_leaves_prod_as_it_was(
    dagbag: DagBag, environments: tuple[RunningSandbox, Path]
) -> None:
    sandbox, plan_path = environments
    _soaked_staging(sandbox)
    dag_run, _ = _run_with_answer(dagbag, {"plan_path": str(plan_path), "soak": "2h"}, "Reject")
    assert _states(dag_run)["promote"] == TaskInstanceState.SKIPPED
    plan = load(PLAN_AFTER, sandbox.url)
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        drift = compare_environments(
            staging, prod, promotion_options(plan, source="staging", target="prod")
        )
    assert not drift.plan.is_empty


def test_the_operator_refuses_a_regression_and_names_the_event(
    dagbag: DagBag, environments: tuple[RunningSandbox, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    from eventschema_tools.airflow_plugin.rollout import PromoteEnvironmentOperator

    sandbox, plan_path = environments
    _soaked_staging(sandbox, good_share=0.7)
    dag = dagbag.dags["eventschema_promote_staging_to_prod"]
    task = dag.get_task("promote")
    assert isinstance(task, PromoteEnvironmentOperator)
    dag_run = dag.test(
        run_conf={"plan_path": str(plan_path), "soak": "2h"},
        mark_success_pattern="staging_soaked|approve",
    )
    assert _states(dag_run)["promote"] == TaskInstanceState.FAILED
    assert '"checkout_completed": 70% of 200 conform over the last 2h' in capfd.readouterr().out


def test_a_connection_to_the_wrong_project_fails_before_any_write(
    dagbag: DagBag,
    environments: tuple[RunningSandbox, Path],
    set_connection: Callable[..., str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    sandbox, plan_path = environments
    _soaked_staging(sandbox)
    set_connection(conn_env="AIRFLOW_CONN_POSTHOG_PROD", host=sandbox.url, project_id="1")
    dag_run = dagbag.dags["eventschema_promote_staging_to_prod"].test(
        run_conf={"plan_path": str(plan_path), "soak": "2h"}, mark_success_pattern="approve"
    )
    assert _states(dag_run)["staging_soaked"] == TaskInstanceState.FAILED
    assert "environment 'prod' is project 2" in capfd.readouterr().out


def test_the_ratchet_dag_switches_and_keeps_the_evidence(
    dagbag: DagBag, environments: tuple[RunningSandbox, Path], tmp_path: Path
) -> None:
    sandbox, _ = environments
    plan_path = tmp_path / "ratchet.yaml"
    plan_path.write_text(RATCHET_PLAN.format(url=sandbox.url), encoding="utf-8")
    with written_ago(sandbox, hours(3)):
        apply_to(load(RATCHET_PLAN, sandbox.url), "prod")
    now = datetime.now(UTC)
    send(
        sandbox.url,
        PROD,
        [checkout(True, m, i) for i, m in enumerate(spread(now - hours(1.9), now, 240))],
    )
    history = tmp_path / "history"
    dag_run = dagbag.dags["eventschema_enforcement_ratchet"].test(
        run_conf={"plan_path": str(plan_path), "environment": "prod", "history_dir": str(history)}
    )
    assert dag_run.state == DagRunState.SUCCESS
    (kept,) = history.glob("ratchet-2-*.json")
    assert '"move": "to_reject"' in kept.read_text(encoding="utf-8")
