"""Prune deletes only what this plan owns; objects with another tool's marker stay untouched."""

from __future__ import annotations

import pytest
from plan_test_helpers import Recorded, actions, notices

from eventschema_tools.tracking_plan import UpdateGroup
from eventschema_tools.tracking_plan.ownership import (
    foreign_marker,
    marker,
    owner_plan,
    visible_description,
    with_marker,
)

pytestmark = pytest.mark.anyio

IAC = "<!-- iac:property-groups:billing iac:hash:9f2c41 -->"
PROPS = [{"name": "id", "property_type": "String"}]

OURS = """
version: 1
plan_id: web
property_groups:
  ours: {properties: {id: {type: String}}}
  ours_too: {properties: {id: {type: String}}}
events:
  e1: {groups: [ours, ours_too]}
"""

EMPTY = "version: 1\nplan_id: web\n"


async def _foreign_objects(live: Recorded) -> dict[str, str]:
    """Groups created outside this plan, by name → description, each bound to event e1."""
    client = live.client
    descriptions = {
        "made_in_ui": "Created by hand",
        "posthog_definitions": f"Billing properties\n\n{IAC}",
        "other_plan": f"Mobile app\n\n{marker('mobile')}",
        "ours_and_iac": f"Shared\n\n{IAC}\n\n{marker('web')}",
    }
    event = await client.event_definitions.get_by_name("e1")
    for name, description in descriptions.items():
        group = await client.property_groups.create(
            name=name, description=description, properties=PROPS
        )
        await client.event_schemas.create(event_definition=event.id, property_group_id=group.id)
    return descriptions


async def _groups(live: Recorded) -> dict[str, str]:
    return {group.name: group.description async for group in live.client.property_groups.list()}


async def test_prune_deletes_only_groups_owned_by_this_plan(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    foreign = await _foreign_objects(live)

    plan, report = await live.apply(EMPTY, prune=True)

    assert actions(plan) == {("delete_group", 'group "ours"'), ("delete_group", 'group "ours_too"')}
    assert report.ok
    assert await _groups(live) == foreign  # descriptions byte for byte, markers included


async def test_prune_keeps_bindings_of_groups_it_does_not_own(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    await _foreign_objects(live)
    only_ours = OURS.replace("e1: {groups: [ours, ours_too]}", "e1: {groups: [ours]}")

    plan = await live.plan(only_ours, prune=True)

    assert actions(plan) == {("delete_binding", 'binding "ours_too" → "e1"')}
    assert ("kept", 'group "made_in_ui"') not in notices(plan)  # not in the plan: silent


async def test_binding_on_an_event_owned_by_another_tool_is_kept(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    e1 = await live.client.event_definitions.get_by_name("e1")
    await live.client.event_definitions.update(e1.id, tags=["iac:event-definitions:e1"])
    without_binding = OURS.replace("e1: {groups: [ours, ours_too]}", "e1: {groups: [ours]}")

    plan, report = await live.apply(without_binding, prune=True)

    assert plan.is_empty
    assert notices(plan) == {("kept", 'binding "ours_too" → "e1"')}
    assert report.ok


async def test_group_with_another_tools_marker_is_never_rewritten(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    foreign = await _foreign_objects(live)
    changed = OURS.replace(
        "property_groups:\n",
        "property_groups:\n  posthog_definitions: {properties: {id: {type: Numeric}}}\n",
    )

    plan, report = await live.apply(changed)

    assert plan.is_empty
    (conflict,) = plan.blocked
    assert (conflict.kind, conflict.subject) == ("conflict", 'group "posthog_definitions"')
    assert "iac:property-groups:billing" in conflict.reason
    assert not report.ok
    assert (await _groups(live))["posthog_definitions"] == foreign["posthog_definitions"]


async def test_group_owned_by_another_plan_is_a_conflict(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    await _foreign_objects(live)
    changed = OURS.replace(
        "property_groups:\n",
        "property_groups:\n  other_plan: {properties: {id: {type: Numeric}}}\n",
    )

    plan = await live.plan(changed)

    (conflict,) = plan.blocked
    assert conflict.subject == 'group "other_plan"'
    assert "owned by plan 'mobile'" in conflict.reason


async def test_matching_foreign_group_listed_in_the_plan_is_a_no_op(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    await _foreign_objects(live)
    same = OURS.replace(
        "property_groups:\n",
        "property_groups:\n  posthog_definitions:\n    description: Billing properties\n"
        "    properties: {id: {type: String}}\n",
    )

    plan = await live.plan(same)

    assert plan.is_empty
    assert plan.blocked == []
    assert ("kept", 'group "posthog_definitions"') in notices(plan)
    kept = next(n for n in plan.notices if n.subject == 'group "posthog_definitions"')
    assert "owned by another tool" in kept.reason


async def test_rewriting_an_unowned_group_takes_ownership_then_prune_may_delete_it(
    live: Recorded,
) -> None:
    await live.apply(OURS, create_events=True)
    await _foreign_objects(live)
    listed = OURS.replace(
        "property_groups:\n",
        "property_groups:\n  made_in_ui:\n    description: Created by hand, now in git\n"
        "    properties: {id: {type: String}}\n",
    )

    plan, report = await live.apply(listed)

    (change,) = plan.changes
    assert isinstance(change, UpdateGroup)
    assert change.adopt
    assert report.ok
    description = (await _groups(live))["made_in_ui"]
    assert owner_plan(description) == "web"
    assert visible_description(description) == "Created by hand, now in git"
    pruned, _ = await live.apply(OURS, prune=True)
    assert ("delete_group", 'group "made_in_ui"') in actions(pruned)


async def test_adopt_marks_matching_groups_without_other_changes(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    await _foreign_objects(live)
    listed = OURS.replace(
        "property_groups:\n",
        "property_groups:\n  made_in_ui:\n    description: Created by hand\n"
        "    properties: {id: {type: String}}\n",
    )
    assert (await live.plan(listed)).is_empty

    plan, report = await live.apply(listed, adopt=True)

    assert actions(plan) == {("update_group", 'group "made_in_ui"')}
    assert report.ok
    groups = await _groups(live)
    assert owner_plan(groups["made_in_ui"]) == "web"
    assert visible_description(groups["made_in_ui"]) == "Created by hand"
    assert (await live.plan(listed, adopt=True)).is_empty


async def test_event_settings_owned_by_another_tool_are_not_changed(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    e1 = await live.client.event_definitions.get_by_name("e1")
    await live.client.event_definitions.update(e1.id, tags=["iac:event-definitions:e1"])

    plan, _ = await live.apply(
        OURS.replace("[ours, ours_too]}", "[ours, ours_too], enforcement: reject}")
    )

    assert notices(plan) == {("conflict", 'event "e1"')}
    assert (await live.client.event_definitions.get(e1.id)).enforcement_mode == "allow"


def test_markers_round_trip_and_foreign_text_is_kept_verbatim() -> None:
    current = f"Old text\n\n{IAC}"

    written = with_marker("  New text ", "web", current)

    assert written == f"New text\n\n{IAC}\n\n{marker('web')}"
    assert owner_plan(written) == "web"
    assert foreign_marker(written) == IAC
    assert visible_description(written) == "New text"
    assert foreign_marker(None, ["team:growth", "iac:event-definitions:x"]) == (
        "iac:event-definitions:x"
    )
    assert owner_plan("<!-- not a marker -->") is None


async def test_a_bare_iac_token_outside_a_comment_also_means_hands_off(live: Recorded) -> None:
    await live.apply(OURS, create_events=True)
    mangled = f"Billing iac:property-groups:billing\n\n{marker('web')}"
    group = await live.client.property_groups.create(name="mangled", description=mangled)

    plan, _ = await live.apply(EMPTY, prune=True)

    assert ("delete_group", 'group "mangled"') not in actions(plan)
    assert (await live.client.property_groups.get(group.id)).description == mangled
