"""The inference's decisions, property by property and group by group (pure: no sandbox)."""

from __future__ import annotations

import random

from eventschema_tools.inference.mining import ExistingGroup, mine_groups
from eventschema_tools.inference.model import PropertyEvidence
from eventschema_tools.inference.profile import property_evidence, property_spec
from eventschema_tools.inference.queries import KeyProfile, sample_ratio
from eventschema_tools.models import PropertyType
from eventschema_tools.tracking_plan.file import PropertySpec


def profile(key: str = "p", *, rows: int = 1000, nulls: int = 0, **counts: object) -> KeyProfile:
    fields: dict[str, object] = {
        "numbers": 0,
        "booleans": 0,
        "objects": 0,
        "strings": 0,
        "numeric_strings": 0,
        "boolean_strings": 0,
        "date_strings": 0,
        "shapes": {"ISO currency": 0, "UUID": 0, "ISO date": 0, "email": 0},
        "values": (),
        "low": None,
        "high": None,
    }
    fields.update(counts)
    fields.setdefault("distinct_strings", len(fields["values"]))  # type: ignore[arg-type]
    return KeyProfile(event="e", key=key, rows=rows, nulls=nulls, **fields)  # type: ignore[arg-type]


def test_numeric_strings_are_numeric_as_posthog_coerces_them() -> None:
    seen = property_evidence(
        profile(numbers=900, strings=100, numeric_strings=100, low=1, high=80), 1000, 0.995
    )
    assert (seen.type, seen.parse_share, seen.required) == ("Numeric", 1.0, True)
    rules = property_spec(seen).rules
    assert rules is not None
    assert rules.min == 0


def test_a_type_needs_99_5_percent_of_the_values() -> None:
    just = property_evidence(profile(numbers=995, strings=5), 1000, 0.995)
    short = property_evidence(profile(numbers=994, strings=6), 1000, 0.995)
    assert just.type == "Numeric"
    assert short.type == "String"


def test_required_follows_the_required_share() -> None:
    assert property_evidence(profile(rows=996, strings=996), 1000, 0.995).required
    assert not property_evidence(profile(rows=994, strings=994), 1000, 0.995).required
    assert property_evidence(profile(rows=900, strings=900), 1000, 0.9).required
    # A null value is a missing one.
    assert not property_evidence(profile(nulls=10, strings=990), 1000, 0.995).required


def test_booleans_dates_and_objects() -> None:
    assert (
        property_evidence(profile(booleans=600, strings=400, boolean_strings=400), 1000, 1).type
        == "Boolean"
    )
    dates = profile(strings=1000, date_strings=1000, shapes={"ISO date": 1000, "email": 0})
    assert property_evidence(dates, 1000, 1).type == "DateTime"
    assert property_evidence(profile(objects=1000), 1000, 1).type == "Object"


def test_low_cardinality_strings_become_enums_and_shapes_patterns() -> None:
    plans = property_evidence(profile(strings=1000, values=("free", "team")), 1000, 1)
    assert plans.enum == ["free", "team"]
    rare = property_evidence(profile(rows=15, strings=15, values=("a", "b")), 15, 1)
    assert rare.enum is None  # too few events per value to call it an enum
    currency = property_evidence(
        profile(strings=1000, values=("EUR", "USD"), shapes={"ISO currency": 1000, "email": 0}),
        1000,
        1,
    )
    assert currency.enum is None
    assert currency.pattern == "^[A-Z]{3}$"
    assert currency.shape == "ISO currency"


def test_email_like_values_are_flagged_and_never_copied() -> None:
    seen = property_evidence(
        profile(strings=1000, values=("a@example.com",), shapes={"email": 3}), 1000, 1
    )
    assert seen.possible_pii
    assert seen.values is None
    assert seen.enum is None
    assert seen.distinct_values is None


def test_sample_ratios() -> None:
    assert sample_ratio(0.1) == (1, 10)
    assert sample_ratio(0.25) == (1, 4)
    assert sample_ratio(0.333) == (333, 1000)
    assert sample_ratio(1 / 7) == (1, 7)


def evidence(name: str, kind: str = "String", *, required: bool = True) -> PropertyEvidence:
    return PropertyEvidence(
        name=name, type=kind, parse_share=1.0, presence=1.0 if required else 0.5, required=required
    )


def shop() -> dict[str, dict[str, PropertyEvidence]]:
    context = [evidence("workspace_id"), evidence("workspace_plan"), evidence("seats", "Numeric")]
    cart = [evidence("cart_id"), evidence("total", "Numeric")]
    events = {
        "checkout_started": [*context, *cart],
        "checkout_completed": [*context, *cart, evidence("order_id")],
        "item_added": [*context, *cart, evidence("sku")],
        "page_viewed": [*context],
        "logged_in": [evidence("workspace_id"), evidence("seats", "Numeric")],
    }
    return {event: {item.name: item for item in props} for event, props in events.items()}


def test_properties_that_travel_together_become_shared_groups() -> None:
    groups, bound = mine_groups(shop(), dict.fromkeys(shop(), 100))
    by_name = {group.name: group for group in groups}
    context = by_name["workspace_context"]
    assert context.source == "shared"
    assert set(context.properties) == {"workspace_id", "workspace_plan", "seats"}
    assert context.events == ["checkout_completed", "checkout_started", "item_added", "page_viewed"]
    assert bound["checkout_completed"][0] == "workspace_context"
    assert bound["logged_in"] == ["logged_in"]  # too little in common to share
    cart = next(group for group in groups if "cart_id" in group.properties)
    assert cart.name == "checkout"
    assert cart.events == ["checkout_completed", "checkout_started", "item_added"]


def test_mining_does_not_depend_on_input_order() -> None:
    first = mine_groups(shop(), dict.fromkeys(shop(), 100))
    events = list(shop().items())
    random.Random(3).shuffle(events)
    shuffled = {event: dict(reversed(list(props.items()))) for event, props in events}
    assert mine_groups(shuffled, dict.fromkeys(shop(), 100)) == first


def test_existing_groups_are_reused_where_events_carry_them() -> None:
    cart = ExistingGroup(
        "Cart",
        {
            "cart_id": PropertySpec(type=PropertyType.STRING, required=True),
            "total": PropertySpec(type=PropertyType.NUMERIC),
            "coupon": PropertySpec(type=PropertyType.STRING),
        },
        "PostHog",
    )
    wrong = ExistingGroup("Wrong", {"seats": PropertySpec(type=PropertyType.STRING)}, "PostHog")
    order = ExistingGroup(
        "Order",
        {
            "order_id": PropertySpec(type=PropertyType.STRING, required=True),
            "refund": PropertySpec(type=PropertyType.NUMERIC, required=True),
        },
        "PostHog",
    )
    groups, bound = mine_groups(
        shop(), dict.fromkeys(shop(), 100), [cart, wrong, order], ["Cart", "Wrong", "Order"]
    )
    reused = groups[0]
    assert (reused.name, reused.source) == ("Cart", "existing")
    # Two of its three properties, with their types, on each of these events.
    assert reused.events == ["checkout_completed", "checkout_started", "item_added"]
    # Wrong types, or a required property some event lacks: not reused.
    assert {group.name for group in groups}.isdisjoint({"Wrong", "Order"})
    assert "Cart" in bound["checkout_started"]


def test_new_names_never_clash_with_existing_ones_in_any_case() -> None:
    groups, _ = mine_groups(shop(), dict.fromkeys(shop(), 100), taken_names=["Workspace_Context"])
    assert "workspace_context_2" in {group.name for group in groups}
