"""Apply the tracking plan from a repository path, then bind a shared group to more events.

``plan`` shows what would change (its XCom ``tracking_plan`` holds the plan, every change
classified breaking, risky or safe), ``apply`` makes the changes (a re-run after a partial
failure finishes the rest, and a run with nothing to do makes no writes). Both refuse a breaking
change the plan file does not acknowledge (``allow_breaking``) unless the ``fail_on`` param says
``never``. ``bind_workspace_context`` then binds the ``workspace_context`` group to
events other teams track outside the plan, listed in the params: an upstream task turns them
into (event, group) pairs and the operator reads them from its XCom.

Trigger it after merges to the repository that holds the plan (or on a schedule). Needs the
``posthog_default`` connection.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from eventschema_tools.airflow_plugin.operators import (
    ApplyTrackingPlanOperator,
    BulkBindEventSchemasOperator,
)


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["eventschema", "posthog", "tracking-plan"],
    params={
        "plan_path": Param(
            "/opt/airflow/dags/repo/tracking-plan.yaml",
            type="string",
            description="The tracking-plan file in the git-synced repository.",
        ),
        "fail_on": Param(
            "breaking",
            enum=["breaking", "risky", "never"],
            description="Refuse unacknowledged changes of this class or worse.",
        ),
        "shared_group": Param("workspace_context", type="string"),
        "shared_group_events": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Events outside the plan that also carry the shared group.",
        ),
    },
)
def eventschema_apply_tracking_plan() -> None:
    """Plan, apply, then bind the shared group to the listed events."""
    plan = ApplyTrackingPlanOperator(
        task_id="plan",
        plan_path="{{ params.plan_path }}",
        dry_run=True,
        create_events=True,
        fail_on="{{ params.fail_on }}",
    )
    apply = ApplyTrackingPlanOperator(
        task_id="apply",
        plan_path="{{ params.plan_path }}",
        create_events=True,
        fail_on="{{ params.fail_on }}",
    )

    @task
    def shared_group_pairs(params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        """The (event, group) pairs to bind, from the run's params."""
        params = params or {}
        return [
            {"event": str(event), "group": str(params["shared_group"])}
            for event in params["shared_group_events"]
        ]

    bind = BulkBindEventSchemasOperator(
        task_id="bind_workspace_context", pairs=shared_group_pairs()
    )

    plan >> apply >> bind


eventschema_apply_tracking_plan()
