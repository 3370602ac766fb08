"""Drift: every kind of difference between a tracking plan and PostHog, as findings."""

from __future__ import annotations

from audit_helpers import apply_plan, counting_client

from eventschema_tools.audit.run import AuditKind, Severity, audit_options, run_audit
from eventschema_tools.models import PropertyInput, PropertyType
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan.file import TrackingPlan

GROUPS = {
    "order": {
        "properties": {
            "amount": {"type": "Numeric", "required": True},
            "coupon": {"type": "String"},
        }
    },
    "flags": {"properties": {"beta": {"type": "Boolean"}}},
    "legacy": {"properties": {"old": {"type": "String"}}},
}
APPLIED = TrackingPlan.model_validate(
    {
        "version": 1,
        "plan_id": "shop",
        "property_groups": GROUPS,
        "events": {
            "order_completed": {"groups": ["order", "flags"], "enforcement": "reject"},
            "order_refunded": {"groups": ["order", "legacy"]},
        },
    }
)
# The plan as it is now in git: "legacy" dropped, a new event that was never sent.
CURRENT = TrackingPlan.model_validate(
    {
        "version": 1,
        "plan_id": "shop",
        "property_groups": {name: GROUPS[name] for name in ("order", "flags")},
        "events": {
            "order_completed": {"groups": ["order", "flags"], "enforcement": "reject"},
            "order_refunded": {"groups": ["order"]},
            "order_disputed": {"groups": ["order"]},
        },
    }
)


def test_drift_renders_every_difference_and_costs_no_query(sandbox: RunningSandbox) -> None:
    with counting_client(sandbox.url) as (client, queries):
        apply_plan(client, APPLIED)
        # Edits made by hand in PostHog:
        order = client.property_groups.find_by_name("order")
        flags = client.property_groups.find_by_name("flags")
        assert order is not None
        assert flags is not None
        client.property_groups.update(
            order.id,
            properties=[
                PropertyInput(name="amount", property_type=PropertyType.STRING, is_required=True),
                PropertyInput(name="note", property_type=PropertyType.STRING),
            ],
        )
        completed = client.event_definitions.get_by_name("order_completed")
        client.event_definitions.update(completed.id, enforcement_mode="allow")
        binding = client.event_schemas.find(
            event_definition=completed.id, property_group_id=flags.id
        )
        assert binding is not None
        client.event_schemas.delete(binding.id)
        extra = client.property_groups.create(
            name="utm", properties=[PropertyInput(name="utm_source", property_type="String")]
        )
        client.event_schemas.create(event_definition=completed.id, property_group_id=extra.id)
        client.property_groups.create(name="lonely", description="made by hand")

        report = run_audit(client, audit_options(plan=CURRENT, kinds="drift"))

    assert queries == []
    assert report.queries == 0
    found = {
        (item.code, item.group, item.event, item.property, item.severity)
        for item in report.findings_of(AuditKind.DRIFT)
    }
    assert found == {
        ("property_differs", "order", None, "amount", Severity.ERROR),
        ("property_missing", "order", None, "coupon", Severity.ERROR),
        ("property_extra", "order", None, "note", Severity.WARNING),
        ("missing_binding", "flags", "order_completed", None, Severity.ERROR),
        ("enforcement_differs", None, "order_completed", None, Severity.WARNING),
        ("extra_group", "legacy", None, None, Severity.WARNING),
        ("extra_binding", "utm", "order_completed", None, Severity.WARNING),
        ("unmanaged_group", "lonely", None, None, Severity.INFO),
        ("missing_event", None, "order_disputed", None, Severity.WARNING),
    }
    assert not report.passed
    message = next(item.message for item in report.findings if item.code == "property_differs")
    assert "type String in PostHog, Numeric in the plan" in message
    missing_event = next(item for item in report.findings if item.code == "missing_event")
    assert "order_disputed" in missing_event.message
