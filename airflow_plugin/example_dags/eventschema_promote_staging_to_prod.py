"""Promote the tracking plan's staging environment to prod, after a soak and a person's approval.

``staging_soaked`` waits (rescheduling every hour) until every event the promotion would change
has held the SLO in staging over the soak period: the change set and the verdict are its XCom.
``approve`` then asks a person (Airflow's Required Actions page) with the change set in the
request; ``promote`` checks the soak once more and applies exactly staging's change set to
prod. A refusal names each event and its rate; "Reject" skips the promotion.

Each environment is a ``posthog`` connection: ``posthog_staging`` and ``posthog_prod``, checked
against the plan's ``environments:`` block before any write.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag

from eventschema_tools.airflow_plugin.rollout import (
    PromoteEnvironmentOperator,
    PromotionSoakSensor,
)

_CHANGES = (
    "{% set promotion = ti.xcom_pull(task_ids='staging_soaked') %}"
    "Promote **{{ params.source }}** to **{{ params.target }}**: "
    "{{ promotion.plan.changes | length }} change(s).\n\n"
    "{% for change in promotion.plan.changes %}"
    "- {{ change.action }} {{ change.get('group') or change.get('event') }}\n"
    "{% endfor %}"
    "{% if promotion.soak %}\nIn {{ params.source }}, over {{ promotion.soak.soak }}:\n"
    "{% for item in promotion.soak.events %}"
    "- {{ item.event }}: {{ item.conforming }} of {{ item.events }} conform\n"
    "{% endfor %}{% endif %}"
)


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["eventschema", "posthog", "environments"],
    params={
        "plan_path": Param(
            "/opt/airflow/dags/repo/tracking-plan.yaml",
            type="string",
            description="The tracking-plan file with the environments: block.",
        ),
        "source": Param("staging", type="string", description="The environment promoted."),
        "target": Param("prod", type="string", description="The environment promoted to."),
        "soak": Param("24h", type="string", description="How long staging must have held."),
    },
)
def eventschema_promote_staging_to_prod() -> None:
    """Wait for staging's soak, ask for approval, promote."""
    soaked = PromotionSoakSensor(
        task_id="staging_soaked",
        plan_path="{{ params.plan_path }}",
        source="{{ params.source }}",
        target="{{ params.target }}",
        soak="{{ params.soak }}",
        slo=0.99,
        mode="reschedule",
        poke_interval=3600,
        timeout=timedelta(days=7),
    )
    approve = ApprovalOperator(
        task_id="approve",
        subject="Promote {{ params.source }} to {{ params.target }}?",
        body=_CHANGES,
    )
    promote = PromoteEnvironmentOperator(
        task_id="promote",
        plan_path="{{ params.plan_path }}",
        source="{{ params.source }}",
        target="{{ params.target }}",
        soak="{{ params.soak }}",
        slo=0.99,
    )
    soaked >> approve >> promote


eventschema_promote_staging_to_prod()
