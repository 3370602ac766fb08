"""Audit several PostHog projects in parallel with dynamic task mapping.

One ``audit`` task instance runs per project id returned by ``projects`` (``.expand()``), so
the audits spread over whatever workers the executor has. All of them use one personal API key
(the ``posthog_default`` connection; a key reaches every project of its organization), and
all of them share its rate budget: keep the number of projects in flight modest or give each
team its own key and connection. ``summary`` runs even when some audits fail, names the
projects whose audit failed (or stopped before it had a report) and then fails, so the run's
state shows it; each project's report stays in its ``audit`` instance's XCom.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from eventschema_tools.airflow_plugin.operators import EventSchemaAuditOperator


@dag(
    schedule="30 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["eventschema", "posthog", "data-quality"],
    params={
        "project_ids": Param(
            ["1"],
            type="array",
            items={"type": "string"},
            minItems=1,
            description="The PostHog projects to audit.",
        ),
    },
)
def eventschema_multi_project_audit() -> None:
    """Audit every listed project with the same settings; summarize the verdicts."""

    @task
    def projects(params: dict[str, Any] | None = None) -> list[str]:
        """The projects to audit, from the run's params."""
        return [str(project) for project in (params or {})["project_ids"]]

    project_ids = projects()
    audits = EventSchemaAuditOperator.partial(
        task_id="audit",
        kinds="hygiene,conformance,enforcement",
        window="24h",
        fail_on="error",
        max_active_tis_per_dag=4,
    ).expand(project_id=project_ids)

    @task(trigger_rule="all_done")
    def summary(project_ids: list[str], ti: Any = None) -> dict[str, dict[str, int]]:
        """Each project's finding counts by severity; fails when any audit failed (or left no
        report), so the run shows it."""
        # One map index per project, asked for explicitly: without map_indexes Airflow hands
        # back a lone report (not a list) when a single instance left one, and the list it
        # does return skips the instances that stopped before pushing a report.
        reports = ti.xcom_pull(
            task_ids="audit", key="audit_report", map_indexes=range(len(project_ids))
        )
        failed: list[str] = []
        missing: list[str] = []
        for project, report in zip(project_ids, reports, strict=True):
            if not report:
                missing.append(project)
            elif not report["passed"]:
                failed.append(project)
        problems = []
        if failed:
            problems.append(f"schema audits failed for projects {', '.join(failed)}")
        if missing:
            problems.append(f"no audit report for projects {', '.join(missing)}: see their logs")
        if problems:
            raise AirflowFailException("; ".join(problems))
        return {
            project: report["counts_by_severity"]
            for project, report in zip(project_ids, reports, strict=True)
        }

    audits >> summary(project_ids)


eventschema_multi_project_audit()
