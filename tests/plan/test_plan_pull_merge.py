"""``pull_merge``: refresh a hand-written plan from PostHog, keeping its comments and layout.

Only what the file manages is refreshed: its groups, its events and the bindings of its
groups. Other live groups stay out (unless ``add_new``), comments and formatting survive, and
planning the refreshed file shows no changes for what it manages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plan_test_helpers import Recorded

from eventschema_tools.models import PropertyInput
from eventschema_tools.tracking_plan import LiveState, diff, pull_merge, pull_merge_async
from eventschema_tools.tracking_plan.file import load_plan, parse_plan

pytestmark = pytest.mark.anyio

HAND_WRITTEN = """\
# Checkout tracking, owned by the payments team.
version: 1
plan_id: payments

property_groups:
  # What every checkout event carries.
  Checkout:
    description: The cart and payment of an order.    # shown in PostHog
    properties:
      cart_id: {type: String, required: true}   # from the cart service
      coupon_code: {type: String}
      currency: {type: String, required: true, rules: {pattern: "^[A-Z]{3}$"}}
      item_count: {type: Numeric, required: true}
      items: {type: Object, description: Line items.}
      revenue:
        type: Numeric
        required: true
        description: Order total in `currency`.
        rules: {min: 0}   # refunds are separate events

# The money event; its enforcement stays in the UI.
events:
  checkout_completed:
    groups: [Checkout]
# end of plan
"""

COMMENTS = [
    "# Checkout tracking, owned by the payments team.",
    "# What every checkout event carries.",
    "# shown in PostHog",
    "# from the cart service",
    "# refunds are separate events",
    "# The money event; its enforcement stays in the UI.",
]


@pytest.fixture
def demo(recorded: Callable[..., Recorded]) -> Recorded:
    return recorded(seed="demo")


async def change_checkout_live(demo: Recorded) -> None:
    """In the UI: coupon_code becomes required and a tax property is added."""
    client = demo.client
    group = await client.property_groups.find_by_name("Checkout")
    assert group is not None
    properties: list[Any] = [
        PropertyInput(
            name=prop.name,
            property_type=prop.property_type,
            is_required=prop.is_required or prop.name == "coupon_code",
            description=prop.description,
        )
        for prop in group.properties
    ]
    properties.append(PropertyInput(name="tax", property_type="Numeric"))
    await client.property_groups.update(group.id, properties=properties)


async def test_a_live_change_to_a_managed_group_keeps_comments_and_leaves_other_groups_out(
    demo: Recorded, tmp_path: Path
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    await change_checkout_live(demo)

    merged = await pull_merge_async(demo.client, path)

    for comment in COMMENTS:
        assert comment in merged.text
    assert merged.text.rstrip().endswith("# end of plan")
    assert "coupon_code: {type: String, required: true}" in merged.text
    assert "tax: {type: Numeric}" in merged.text
    assert "User identity" not in merged.text
    plan = parse_plan(merged.text)
    assert set(plan.property_groups) == {"Checkout"}
    assert plan.property_groups["Checkout"].properties["revenue"].rules is not None
    assert plan.events["checkout_completed"].groups == ["Checkout"]
    assert plan.events["checkout_completed"].enforcement is None
    assert plan.plan_id == "payments"
    assert merged.updated == ["group Checkout"]
    assert merged.added == ["event checkout_started"]
    live = await LiveState.read_async(demo.client)
    assert diff(plan, live).changes == []


async def test_unchanged_entries_keep_their_exact_text(demo: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    first = await pull_merge_async(demo.client, path)
    path.write_text(first.text, encoding="utf-8")

    again = await pull_merge_async(demo.client, path)

    assert not again.changed
    assert again.text == first.text
    assert "      revenue:\n        type: Numeric\n" in first.text


async def test_what_only_the_file_knows_of_an_event_stays(demo: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    text = HAND_WRITTEN.replace(
        "    groups: [Checkout]\n",
        "    groups: [Checkout]\n    owner: payments-team\n    tags: [revenue]\n"
        "    forbidden_properties: [card_number]\n"
        "    ratchet: {slo: 0.995, soak: 3d}   # reject once it has earned it\n",
    )
    path.write_text(text, encoding="utf-8")
    await change_checkout_live(demo)

    merged = await pull_merge_async(demo.client, path)

    event = parse_plan(merged.text).events["checkout_completed"]
    assert (event.owner, event.tags, event.forbidden_properties) == (
        "payments-team",
        ["revenue"],
        ["card_number"],
    )
    assert event.ratchet is not None
    assert (event.ratchet.slo, event.ratchet.soak) == (0.995, "3d")
    assert event.enforcement is None
    assert "# reject once it has earned it" in merged.text


async def test_add_new_brings_in_the_other_live_groups_and_events(
    demo: Recorded, tmp_path: Path
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")

    merged = await pull_merge_async(demo.client, path, add_new=True)

    plan = parse_plan(merged.text)
    assert {"Checkout", "User identity", "Product"} <= set(plan.property_groups)
    assert plan.events["checkout_completed"].groups == ["Checkout", "User identity"]
    assert merged.text.startswith("# Checkout tracking, owned by the payments team.")
    assert merged.text.rstrip().endswith("# end of plan")


async def test_entries_gone_from_posthog_are_removed_and_reported(
    demo: Recorded, tmp_path: Path
) -> None:
    path = tmp_path / "plan.yaml"
    text = HAND_WRITTEN.replace(
        "# The money event",
        "  # Deleted in the UI.\n  Retired:\n    properties:\n      x: {type: String}\n\n"
        "# The money event",
    ).replace("    groups: [Checkout]\n", "    groups: [Checkout, Retired]\n")
    path.write_text(text, encoding="utf-8")

    merged = await pull_merge_async(demo.client, path)

    assert merged.removed == ["group Retired"]
    assert "Retired" not in merged.text
    assert "# The money event; its enforcement stays in the UI." in merged.text


async def test_a_json_plan_is_merged_keeping_its_key_order(demo: Recorded, tmp_path: Path) -> None:
    yaml_path = tmp_path / "plan.yaml"
    yaml_path.write_text(HAND_WRITTEN, encoding="utf-8")
    data = load_plan(yaml_path).model_dump(mode="json", by_alias=True, exclude_none=True)
    data = {"events": data["events"], "version": 1, "property_groups": data["property_groups"]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    await change_checkout_live(demo)

    merged = await pull_merge_async(demo.client, path)

    written = json.loads(merged.text)
    assert list(written) == ["events", "version", "property_groups"]
    assert list(written["property_groups"]) == ["Checkout"]
    assert written["property_groups"]["Checkout"]["properties"]["coupon_code"]["required"]
    assert merged.text.startswith('{\n    "events"')


def test_the_sync_twin_merges_the_same(tmp_path: Path) -> None:
    from eventschema_tools import EventSchemaClient
    from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox

    path = tmp_path / "plan.yaml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    with (
        run_sandbox(rate_limiting=False, seed="demo") as server,
        EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=server.url) as client,
    ):
        merged = pull_merge(client, path)

    assert merged.added == ["event checkout_started"]
    assert "# from the cart service" in merged.text
