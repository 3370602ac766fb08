"""pull describes a project exactly: pull → file → plan shows no changes."""

from __future__ import annotations

import pytest
from plan_test_helpers import Recorded

from eventschema_tools.tracking_plan import LiveState, diff, keep_local_fields, pull_async
from eventschema_tools.tracking_plan.file import dump_plan, parse_plan
from eventschema_tools.tracking_plan.ownership import marker

pytestmark = pytest.mark.anyio

IAC = "<!-- iac:property-groups:billing iac:hash:1 -->"


async def _seed_by_hand(live: Recorded) -> None:
    """A project edited in the UI and by other tools, not by apply."""
    client = live.client
    events = {
        name: await client.event_definitions.create(name=name)
        for name in ("order_paid", "Signed Up", "page_viewed", "$pageview", "never_bound")
    }
    billing = await client.property_groups.create(
        name="billing",
        description=f"Billing properties\n\n{IAC}",
        properties=[
            {"name": "amount", "property_type": "Numeric", "is_required": True},
            {"name": "currency", "property_type": "String", "description": "ISO 4217"},
            {
                "name": "workspace_id",
                "property_type": "String",
                "is_required": True,
                "is_optional_in_types": True,
            },
        ],
    )
    web = await client.property_groups.create(
        name="Web Context",
        description=f"Set by the web SDK\n\n{marker('web')}",
        properties=[
            {"name": "has spaces", "property_type": "Boolean"},
            {"name": "$current_url", "property_type": "String"},
            {"name": "seen_at", "property_type": "DateTime"},
            {"name": "payload", "property_type": "Object"},
        ],
    )
    await client.property_groups.create(name="empty group")
    for event, group in [("order_paid", billing), ("order_paid", web), ("$pageview", web)]:
        await client.event_schemas.create(
            event_definition=events[event].id, property_group_id=group.id
        )
    await client.event_definitions.update(
        events["Signed Up"].id, enforcement_mode="reject", description="A person signed up"
    )
    await client.event_definitions.update(events["order_paid"].id, description="Paid")


async def test_pull_then_plan_shows_no_changes(live: Recorded) -> None:
    await _seed_by_hand(live)

    pulled = await pull_async(live.client)
    text = dump_plan(pulled)
    reread = parse_plan(text)
    live_state = await LiveState.read_async(live.client)

    assert reread == pulled
    assert diff(reread, live_state).is_empty
    assert diff(reread, live_state, prune=True).is_empty
    assert reread.plan_id == "web"  # taken from the ownership markers
    assert set(reread.events) == {"order_paid", "$pageview", "Signed Up"}
    assert reread.property_groups["billing"].description == "Billing properties"
    assert reread.events["Signed Up"].enforcement == "reject"
    assert reread.events["order_paid"].groups == ["Web Context", "billing"]


async def test_pull_over_an_existing_file_keeps_value_rules_and_plan_id(live: Recorded) -> None:
    await _seed_by_hand(live)
    previous = parse_plan(
        """
version: 1
plan_id: checkout-team
property_groups:
  billing:
    properties:
      amount: {type: Numeric, required: true, rules: {min: 0}}
      currency: {type: Numeric, rules: {min: 1}}
      gone: {type: String, rules: {enum: [a]}}
"""
    )

    merged = keep_local_fields(await pull_async(live.client), previous)

    billing = merged.property_groups["billing"].properties
    assert billing["amount"].rules is not None
    assert billing["amount"].rules.min == 0
    assert billing["currency"].rules is None  # its type changed in PostHog: the rule no longer fits
    assert "gone" not in billing
    assert merged.plan_id == "web"
