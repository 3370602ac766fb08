"""Nightly schema audit, and a downstream job that only runs on healthy subscription events.

Every night ``audit`` compares the tracking plan with the PostHog project and grades the last
24 hours of events against the schemas. Findings over the thresholds fail the task; the report
is in its XCom (``audit_report``) and in a Markdown file for the team's channel.

Independently, ``subscriptions_healthy`` waits until the subscription events conform well enough
(at least 99% of the last hour's events carry every required property with the right type),
and only then ``refresh_revenue_dashboard`` runs. It checks every 10 minutes
(``gate_poke_interval``) for up to 6 hours (``gate_timeout``), then fails; in reschedule mode
it holds no worker slot between checks. A trial run can wait less, e.g.
``airflow dags test eventschema_nightly_audit -c '{"gate_poke_interval": 5, "gate_timeout": 60}'``.

Needs the ``posthog_default`` connection. Set the params in the trigger form, or change the
defaults to your repository checkout.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from eventschema_tools.airflow_plugin.operators import EventSchemaAuditOperator
from eventschema_tools.airflow_plugin.sensors import EventSchemaConformanceSensor

# Rates are fractions of an event's volume in the window: above `warning` a finding is a
# warning, above `error` an error (and `fail_on="error"` fails the audit).
THRESHOLDS = {
    "default": {
        "missing_required": {"warning": 0, "error": 0.05},
        "wrong_type": {"warning": 0, "error": 0.01},
        "unexpected_properties": {"warning": 0.1},
    },
    "events": {
        "subscription_started": {"missing_required": {"error": 0}, "wrong_type": {"error": 0}},
    },
    "stale_after_days": 14,
}


@dag(
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["eventschema", "posthog", "data-quality"],
    params={
        "plan_path": Param(
            "/opt/airflow/dags/repo/tracking-plan.yaml",
            type="string",
            description="The tracking-plan file, e.g. in the git-synced repository.",
        ),
        "report_dir": Param(
            "/opt/airflow/reports",
            type="string",
            description="Where the Markdown audit reports go.",
        ),
        "gate_events": Param(
            "subscription_started",
            type="string",
            description="Comma-separated events the dashboard job needs healthy.",
        ),
        "gate_poke_interval": Param(
            600,
            type="number",
            minimum=0,
            description="Seconds between two checks of the gate (one HogQL query each).",
        ),
        "gate_timeout": Param(
            6 * 3600,
            type="number",
            minimum=0,
            description="Seconds the gate waits for healthy events before it fails.",
        ),
    },
)
def eventschema_nightly_audit() -> None:
    """Audit the project every night; gate the revenue dashboard on healthy subscription events."""
    EventSchemaAuditOperator(
        task_id="audit",
        plan_path="{{ params.plan_path }}",
        window="24h",
        thresholds=THRESHOLDS,
        fail_on="error",
        report_path="{{ params.report_dir }}/schema-audit-{{ dag_run.run_after | ds }}.md",
    )

    subscriptions_healthy = EventSchemaConformanceSensor(
        task_id="subscriptions_healthy",
        events="{{ params.gate_events }}",
        threshold=0.99,
        window="1h",
        mode="reschedule",
        poke_interval="{{ params.gate_poke_interval }}",
        timeout="{{ params.gate_timeout }}",
    )

    @task
    def refresh_revenue_dashboard() -> str:
        """Stands in for the job that reads the subscription events."""
        return "revenue dashboard refreshed"

    subscriptions_healthy >> refresh_revenue_dashboard()


eventschema_nightly_audit()
