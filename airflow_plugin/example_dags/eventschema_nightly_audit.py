"""Nightly schema audit, and a downstream job that only runs on healthy checkout events.

Every night ``audit`` compares the tracking plan with the PostHog project and grades the last
24 hours of events against the schemas. Findings over the thresholds fail the task; the report
is in its XCom (``audit_report``) and in a Markdown file for the team's channel.

Independently, ``checkout_events_healthy`` waits until the checkout events conform well enough
(at least 99% of the last hour's events carry every required property with the right type),
and only then ``refresh_revenue_dashboard`` runs.

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
        "checkout_completed": {"missing_required": {"error": 0}, "wrong_type": {"error": 0}},
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
            "checkout_started,checkout_completed",
            type="string",
            description="Comma-separated events the dashboard job needs healthy.",
        ),
    },
)
def eventschema_nightly_audit() -> None:
    """Audit the project every night; gate the revenue dashboard on healthy checkout events."""
    EventSchemaAuditOperator(
        task_id="audit",
        plan_path="{{ params.plan_path }}",
        window="24h",
        thresholds=THRESHOLDS,
        fail_on="error",
        report_path="{{ params.report_dir }}/schema-audit-{{ dag_run.run_after | ds }}.md",
    )

    checkout_events_healthy = EventSchemaConformanceSensor(
        task_id="checkout_events_healthy",
        events="{{ params.gate_events }}",
        threshold=0.99,
        window="1h",
        mode="reschedule",
        poke_interval=600,
        timeout=6 * 3600,
    )

    @task
    def refresh_revenue_dashboard() -> str:
        """Stands in for the job that reads the checkout events."""
        return "revenue dashboard refreshed"

    checkout_events_healthy >> refresh_revenue_dashboard()


eventschema_nightly_audit()
