"""diff() case table, against the sandbox: set up a "before" plan, diff an "after" plan, check
the planned changes and notices, apply them, and check that a second diff is empty."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from plan_test_helpers import Recorded, actions, edited, notices

from eventschema_tools.tracking_plan import UpdateGroup, apply_async

pytestmark = pytest.mark.anyio

BEFORE = """
version: 1
property_groups:
  checkout:
    description: Checkout properties
    properties:
      order_id: {type: String, required: true, description: Order number}
      amount: {type: Numeric, required: true}
  user:
    properties:
      plan: {type: String}
events:
  order_paid: {groups: [checkout, user], enforcement: allow, description: Paid}
  signed_up: {groups: [user]}
  page_viewed: {groups: []}
"""


def edit(*replacements: tuple[str, str]) -> str:
    """BEFORE with each (old, new) replacement applied (each must match)."""
    return edited(BEFORE, *replacements)


@dataclass(frozen=True)
class Case:
    after: str
    changes: set[tuple[str, str]]
    notices: set[tuple[str, str]] = field(default_factory=set)
    options: dict[str, Any] = field(default_factory=dict)


ORDER_PAID = ("update_event", 'event "order_paid"')
CHECKOUT = ("update_group", 'group "checkout"')

CASES = {
    "no-op": Case(BEFORE, set()),
    "create group": Case(
        edit(("  user:\n", "  refunds:\n    properties:\n      reason: {type: String}\n  user:\n")),
        {("create_group", 'group "refunds"')},
    ),
    "add property (whole list replaced)": Case(
        edit(("      amount:", "      coupon: {type: String}\n      amount:")), {CHECKOUT}
    ),
    "remove property": Case(
        edit(("      amount: {type: Numeric, required: true}\n", "")), {CHECKOUT}
    ),
    "change property type": Case(
        edit(("amount: {type: Numeric", "amount: {type: String")), {CHECKOUT}
    ),
    "change required": Case(
        edit(("amount: {type: Numeric, required: true}", "amount: {type: Numeric}")), {CHECKOUT}
    ),
    "set optional_in_types": Case(
        edit(("required: true}", "required: true, optional_in_types: true}")), {CHECKOUT}
    ),
    "change property description": Case(
        edit(("description: Order number", "description: Order id")), {CHECKOUT}
    ),
    "change group description only": Case(
        edit(("Checkout properties", "Every checkout event")), {CHECKOUT}
    ),
    "bind an existing event": Case(
        edit(("page_viewed: {groups: []}", "page_viewed: {groups: [user]}")),
        {("create_binding", 'binding "user" → "page_viewed"')},
    ),
    "unbind without prune: reported, not done": Case(
        edit(("signed_up: {groups: [user]}", "signed_up: {groups: []}")),
        set(),
        {("not_pruned", 'binding "user" → "signed_up"')},
    ),
    "unbind with prune": Case(
        edit(("signed_up: {groups: [user]}", "signed_up: {groups: []}")),
        {("delete_binding", 'binding "user" → "signed_up"')},
        options={"prune": True},
    ),
    "drop a group without prune: reported, not done": Case(
        edit(
            ("  user:\n    properties:\n      plan: {type: String}\n", ""),
            ("[checkout, user]", "[checkout]"),
            ("signed_up: {groups: [user]}", "signed_up: {groups: []}"),
        ),
        set(),
        {("not_pruned", 'group "user"')},
    ),
    "drop a group with prune: one delete, bindings go with it": Case(
        edit(
            ("  user:\n    properties:\n      plan: {type: String}\n", ""),
            ("[checkout, user]", "[checkout]"),
            ("signed_up: {groups: [user]}", "signed_up: {groups: []}"),
        ),
        {("delete_group", 'group "user"')},
        options={"prune": True},
    ),
    "enforcement allow → reject": Case(
        edit(("enforcement: allow", "enforcement: reject")), {ORDER_PAID}
    ),
    "enforcement left out: not managed": Case(edit(("enforcement: allow, ", "")), set()),
    "event description": Case(
        edit(("description: Paid", "description: Customer paid")), {ORDER_PAID}
    ),
    "event description left out: not managed": Case(edit((", description: Paid", "")), set()),
    "new event without --create-events: blocked": Case(
        edit(("  page_viewed:", "  refund_issued: {groups: [checkout]}\n  page_viewed:")),
        set(),
        {("blocked", 'event "refund_issued"')},
    ),
    "new event with --create-events": Case(
        edit(
            (
                "  page_viewed:",
                "  refund_issued: {groups: [checkout], enforcement: reject}\n  page_viewed:",
            )
        ),
        {
            ("create_event", 'event "refund_issued"'),
            ("update_event", 'event "refund_issued"'),
            ("create_binding", 'binding "checkout" → "refund_issued"'),
        },
        options={"create_events": True},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
async def test_diff_case(live: Recorded, case: Case) -> None:
    _, setup = await live.apply(BEFORE, create_events=True)
    assert setup.ok, setup

    plan = await live.plan(case.after, **case.options)

    assert actions(plan) == case.changes
    assert notices(plan) == case.notices
    report = await apply_async(live.client, plan)
    assert [item.status for item in report.items] == ["done"] * len(case.changes)
    live.reset()
    again = await live.plan(case.after, **case.options)
    assert again.is_empty
    assert live.writes == []


async def test_property_update_sends_the_whole_list(live: Recorded) -> None:
    await live.apply(BEFORE, create_events=True)

    plan = await live.plan(edit(("      amount:", "      coupon: {type: String}\n      amount:")))

    (change,) = plan.changes
    assert isinstance(change, UpdateGroup)
    assert change.description is None
    assert [p.name for p in change.properties or []] == ["amount", "coupon", "order_id"]
    assert [(c.name, c.before, c.after is not None) for c in change.property_changes] == [
        ("coupon", None, True)
    ]
    group = await live.client.property_groups.find_by_name("checkout")
    assert group is not None
    await apply_async(live.client, plan)
    after = await live.client.property_groups.get(group.id)
    assert {p.name: p.property_type.value for p in after.properties} == {
        "amount": "Numeric",
        "coupon": "String",
        "order_id": "String",
    }


async def test_property_order_in_the_file_is_not_a_change(live: Recorded) -> None:
    await live.apply(BEFORE, create_events=True)
    reordered = edit(
        (
            "      order_id: {type: String, required: true, description: Order number}\n"
            "      amount: {type: Numeric, required: true}\n",
            "      amount: {type: Numeric, required: true}\n"
            "      order_id: {type: String, required: true, description: Order number}\n",
        )
    )

    assert (await live.plan(reordered)).is_empty


async def test_reject_refused_by_posthog_fails_that_item_and_the_rest_continue(
    recorded: Any,
) -> None:
    live = recorded(reject_mode_allowed=False)
    await live.apply(BEFORE, create_events=True)
    after = edit(
        ("enforcement: allow", "enforcement: reject"),
        ("page_viewed: {groups: []}", "page_viewed: {groups: [user]}"),
    )

    _, report = await live.apply(after)

    by_subject = {item.subject: item for item in report.items}
    refused = by_subject['event "order_paid"']
    assert refused.status == "failed"
    assert refused.status_code == 400
    assert "schema-enforcement-reject" in refused.detail
    assert by_subject['binding "user" → "page_viewed"'].status == "done"
    assert not report.ok
    assert actions(await live.plan(after)) == {ORDER_PAID}
