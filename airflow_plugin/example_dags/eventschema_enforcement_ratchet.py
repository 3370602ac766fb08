"""Let live conformance decide enforcement, every hour: the plan's ratcheted events move to
``reject`` once they held their SLO for their soak period, and back to ``allow`` on a regression.

Each run that switches something is kept in the audit history folder with its evidence, and each
switch goes to the alert targets named in ``notify`` once. Needs the environment's connection
(``posthog_prod`` for ``environment: prod``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from eventschema_tools.airflow_plugin.rollout import RatchetEnforcementOperator


@dag(
    schedule="15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["eventschema", "posthog", "enforcement"],
    params={
        "plan_path": Param(
            "/opt/airflow/dags/repo/tracking-plan.yaml",
            type="string",
            description="The tracking-plan file with the ratchet: entries.",
        ),
        "environment": Param("prod", type="string", description="The environment to ratchet."),
        "history_dir": Param(
            "/opt/airflow/eventschema/history",
            type="string",
            description="The audit history folder (on storage every run sees).",
        ),
    },
)
def eventschema_enforcement_ratchet() -> None:
    """Ratchet enforcement from live conformance."""
    RatchetEnforcementOperator(
        task_id="ratchet",
        plan_path="{{ params.plan_path }}",
        environment="{{ params.environment }}",
        history_dir="{{ params.history_dir }}",
    )


eventschema_enforcement_ratchet()
