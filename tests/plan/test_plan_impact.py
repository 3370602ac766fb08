"""Every change the diff can make has a class: breaking, risky or safe (against the sandbox).

Each case applies BEFORE, plans an edit of it, and checks the (level, kind) of every impact;
the last test checks that the cases together produce every kind there is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from plan_test_helpers import Recorded, edited

from eventschema_tools.models import PropertyInput
from eventschema_tools.tracking_plan.changes import Plan
from eventschema_tools.tracking_plan.file import parse_plan
from eventschema_tools.tracking_plan.impact import (
    LEVEL_OF,
    ImpactKind,
    rule_impacts,
    stale_acknowledgements,
)

pytestmark = pytest.mark.anyio

BEFORE = """
version: 1
property_groups:
  checkout:
    description: Checkout properties
    properties:
      order_id: {type: String, required: true, optional_in_types: true, description: Order number}
      amount: {type: Numeric, required: true}
      coupon: {type: String}
  user:
    properties:
      plan: {type: String}
  spare:
    properties:
      note: {type: String}
events:
  order_paid: {groups: [checkout, user], enforcement: allow, description: Paid}
  signed_up: {groups: [user], enforcement: reject}
  page_viewed: {groups: []}
"""


def edit(*replacements: tuple[str, str]) -> str:
    """BEFORE with each (old, new) replacement applied (each must match)."""
    return edited(BEFORE, *replacements)


@dataclass(frozen=True)
class Case:
    after: str
    impacts: set[tuple[str, str, tuple[str, ...]]]  # (level, kind, events)
    options: dict[str, Any] = field(default_factory=dict)


PAID = ("order_paid",)
CASES = {
    "optional property made required": Case(
        edit(("coupon: {type: String}", "coupon: {type: String, required: true}")),
        {("breaking", "property_required", PAID)},
    ),
    "required property added": Case(
        edit(("      coupon:", "      tax: {type: Numeric, required: true}\n      coupon:")),
        {("breaking", "property_required", PAID)},
    ),
    "optional property added": Case(
        edit(("      coupon:", "      tax: {type: Numeric}\n      coupon:")),
        {("safe", "property_added", PAID)},
    ),
    "property removed from a bound group": Case(
        edit(("      coupon: {type: String}\n", "")),
        {("breaking", "property_removed", PAID)},
    ),
    "type changed": Case(
        edit(("amount: {type: Numeric", "amount: {type: String")),
        {("breaking", "type_changed", PAID)},
    ),
    "required made optional": Case(
        edit(("amount: {type: Numeric, required: true}", "amount: {type: Numeric}")),
        {("safe", "property_optional", PAID)},
    ),
    "optional_in_types dropped": Case(
        edit(("required: true, optional_in_types: true,", "required: true,")),
        {("risky", "optional_in_types_dropped", PAID)},
    ),
    "optional_in_types added": Case(
        edit(
            (
                "amount: {type: Numeric, required: true}",
                "amount: {type: Numeric, required: true, optional_in_types: true}",
            )
        ),
        {("safe", "optional_in_types_added", PAID)},
    ),
    "descriptions": Case(
        edit(
            ("Checkout properties", "Every checkout event"),
            ("description: Order number", "description: Order id"),
            ("description: Paid", "description: Customer paid"),
        ),
        {
            ("safe", "description_changed", ()),
        },
    ),
    "a change in a group no event is bound to reaches no event": Case(
        edit(("note: {type: String}", "note: {type: Numeric, required: true}")),
        {("safe", "type_changed", ()), ("safe", "property_required", ())},
    ),
    "group created": Case(
        edit(("  spare:", "  refunds:\n    properties:\n      reason: {type: String}\n  spare:")),
        {("safe", "group_created", ())},
    ),
    "unbound group deleted": Case(
        edit(("  spare:\n    properties:\n      note: {type: String}\n", "")),
        {("safe", "group_deleted", ())},
        options={"prune": True},
    ),
    "bound group deleted: each binding goes": Case(
        edit(
            ("  user:\n    properties:\n      plan: {type: String}\n", ""),
            ("[checkout, user]", "[checkout]"),
            ("signed_up: {groups: [user]", "signed_up: {groups: []"),
        ),
        {
            ("breaking", "group_unbound", PAID),
            ("breaking", "group_unbound", ("signed_up",)),
        },
        options={"prune": True},
    ),
    "binding removed": Case(
        edit(("signed_up: {groups: [user]", "signed_up: {groups: []")),
        {("breaking", "group_unbound", ("signed_up",))},
        options={"prune": True},
    ),
    "binding that requires nothing new": Case(
        edit(("page_viewed: {groups: []}", "page_viewed: {groups: [user]}")),
        {("safe", "binding_created", ("page_viewed",))},
    ),
    "binding that adds required properties: flagged in allow mode": Case(
        edit(("page_viewed: {groups: []}", "page_viewed: {groups: [checkout]}")),
        {("risky", "property_required", ("page_viewed",))},
    ),
    "binding that adds required properties: dropped in reject mode": Case(
        edit(
            ("page_viewed: {groups: []}", "page_viewed: {groups: [checkout], enforcement: reject}")
        ),
        {
            ("breaking", "property_required", ("page_viewed",)),
            ("breaking", "enforcement_reject", ("page_viewed",)),
        },
    ),
    "switched to reject": Case(
        edit(("enforcement: allow", "enforcement: reject")),
        {("breaking", "enforcement_reject", PAID)},
    ),
    "switched back to allow": Case(
        edit(("[user], enforcement: reject", "[user], enforcement: allow")),
        {("safe", "enforcement_allow", ("signed_up",))},
    ),
    "event created: nothing it does reaches an event that has sent anything": Case(
        edit(
            (
                "  page_viewed:",
                "  refund_issued: {groups: [checkout], enforcement: reject}\n  page_viewed:",
            )
        ),
        {
            ("safe", "event_created", ()),
            ("safe", "property_required", ()),
            ("safe", "enforcement_reject", ()),
        },
        options={"create_events": True},
    ),
    "a group bound to events outside the plan reaches them": Case(
        edit(
            ("  signed_up: {groups: [user], enforcement: reject}\n", ""),
            ("plan: {type: String}", "plan: {type: Numeric}"),
        ),
        {("breaking", "type_changed", ("order_paid", "signed_up"))},
    ),
}


def _seen(plan: Any) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(i.level, i.kind.value, tuple(i.events)) for i in plan.impacts}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
async def test_every_change_is_classified(live: Recorded, case: Case) -> None:
    _, setup = await live.apply(BEFORE, create_events=True)
    assert setup.ok, setup

    plan = await live.plan(case.after, **case.options)

    assert _seen(plan) == case.impacts
    assert plan.changes, "each case changes something"
    assert all(impact.acknowledged is None for impact in plan.impacts)


async def test_adopting_a_group_is_safe(live: Recorded) -> None:
    await live.client.property_groups.create(
        name="legacy", properties=[PropertyInput(name="id", type="String")]
    )

    plan = await live.plan(
        "version: 1\nproperty_groups:\n  legacy: {properties: {id: {type: String}}}\n",
        adopt=True,
    )

    assert _seen(plan) == {("safe", "group_adopted", ())}


ACKNOWLEDGED = edit(
    ("coupon: {type: String}", "coupon: {type: String, required: true}"),
    ("enforcement: allow", "enforcement: reject"),
    (
        "    description: Checkout properties\n",
        "    description: Checkout properties\n    allow_breaking:\n"
        "      - {change: property_required, property: coupon, reason: every client sends it}\n"
        "      - {change: type_changed, property: amount, reason: no longer needed}\n",
    ),
    (
        "description: Paid}",
        "description: Paid,\n    allow_breaking: [{change: enforcement_reject, reason: audited}]}",
    ),
)


async def test_acknowledged_changes_pass_the_gate_and_unused_entries_are_stale(
    live: Recorded,
) -> None:
    await live.apply(BEFORE, create_events=True)

    plan = await live.plan(ACKNOWLEDGED)

    reasons = {impact.kind.value: impact.acknowledged for impact in plan.impacts}
    assert reasons == {
        "property_required": "every client sends it",
        "enforcement_reject": "audited",
    }
    assert plan.unacknowledged("breaking") == []
    assert plan.review_summary() == "Review: 2 breaking (2 acknowledged), 0 risky, 0 safe."
    (stale,) = plan.stale_acknowledgements
    assert (stale.subject, stale.change, stale.property) == (
        'group "checkout"',
        "type_changed",
        "amount",
    )


async def test_the_gate_counts_only_what_is_not_acknowledged(live: Recorded) -> None:
    await live.apply(BEFORE, create_events=True)

    plan = await live.plan(
        edit(
            ("coupon: {type: String}", "coupon: {type: String, required: true}"),
            ("required: true, optional_in_types: true,", "required: true,"),
        )
    )

    assert [i.kind.value for i in plan.unacknowledged("breaking")] == ["property_required"]
    assert {i.kind.value for i in plan.unacknowledged("risky")} == {
        "property_required",
        "optional_in_types_dropped",
    }
    assert plan.unacknowledged("never") == []


RULES_BEFORE = """
version: 1
property_groups:
  checkout:
    properties:
      plan: {type: String, rules: {enum: [free, pro, team]}}
      seats: {type: Numeric, rules: {min: 0, max: 500}}
      code: {type: String}
events:
  order_paid: {groups: [checkout]}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("enum: [free, pro, team]", "enum: [free, pro]", {("risky", "rule_tightened")}),
        ("enum: [free, pro, team]", "enum: [free, pro, team, max]", {("safe", "rule_loosened")}),
        ("min: 0, max: 500", "min: 1, max: 500", {("risky", "rule_tightened")}),
        ("min: 0, max: 500", "min: 0", {("safe", "rule_loosened")}),
        (
            "code: {type: String}",
            "code: {type: String, rules: {pattern: '^[A-Z]+$'}}",
            {("risky", "rule_tightened")},
        ),
        ("min: 0, max: 500", "min: 0, max: 500", set()),
    ],
)
def test_value_rules_are_compared_with_the_plan_files_earlier_version(
    old: str, new: str, expected: set[tuple[str, str]]
) -> None:
    base = parse_plan(RULES_BEFORE)
    desired = parse_plan(RULES_BEFORE.replace(old, new))

    impacts = rule_impacts(base, desired)

    assert {(impact.level, impact.kind.value) for impact in impacts} == expected
    assert all(impact.events == ["order_paid"] for impact in impacts)


def test_every_kind_has_a_level_and_a_case() -> None:
    produced = {kind for case in CASES.values() for _, kind, _ in case.impacts}
    produced |= {"group_adopted", "rule_tightened", "rule_loosened"}
    assert produced == {kind.value for kind in ImpactKind}
    assert set(LEVEL_OF) == set(ImpactKind)


def test_a_rule_acknowledgement_is_judged_only_against_a_base() -> None:
    acknowledged = RULES_BEFORE.replace(
        "  checkout:\n    properties:",
        "  checkout:\n"
        "    allow_breaking: [{change: rule_tightened, property: plan, reason: gone}]\n"
        "    properties:",
    )
    desired = parse_plan(acknowledged.replace("enum: [free, pro, team]", "enum: [free, team]"))

    assert stale_acknowledgements(desired, []) == [], "without a base nothing can tell"
    reviewed = Plan().with_rules_from(parse_plan(RULES_BEFORE), desired)
    assert [(i.kind.value, i.acknowledged) for i in reviewed.impacts] == [
        ("rule_tightened", "gone")
    ]
    assert reviewed.stale_acknowledgements == []
    unchanged = Plan().with_rules_from(desired, desired)
    assert [s.change for s in unchanged.stale_acknowledgements] == ["rule_tightened"]
