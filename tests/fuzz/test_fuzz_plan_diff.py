"""Fuzz `plan.diff`, which is pure: two invariants over random plans and random projects.

1. A project that already looks exactly like the plan needs no change: ``diff(x, live(x))`` is
   empty, with or without prune.
2. Applying a plan's changes to a plain model of the project (`World`, written here from what
   each change means, not from the plan code) reaches the plan: every group, property, event
   setting and binding the plan asks for is there, groups owned by another tool or plan are
   untouched, nothing the plan does not own is deleted, and diffing again gives no change.

Names and descriptions are drawn from wide text: quotes, braces, commas, newlines, unicode.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import yaml
from fuzz_settings import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from eventschema_tools.models import EventDefinition, PropertyGroup
from eventschema_tools.tracking_plan import (
    CreateBinding,
    CreateEvent,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    LiveState,
    Plan,
    UpdateEvent,
    UpdateGroup,
    diff,
)
from eventschema_tools.tracking_plan.file import PlanFileError, TrackingPlan, parse_plan

PLAN_ID = "fuzz-plan"
TYPES = ("String", "Numeric", "Boolean", "DateTime", "Object")

names = st.text(min_size=1, max_size=10).map(str.strip).filter(bool)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["<!-- a note -->", "a <!-- b --> c", "<!--", "-->", "iac:x", "eventschema:"]),
).map(str.strip)
properties = st.dictionaries(
    names,
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(TYPES),
            "required": st.booleans(),
            "optional_in_types": st.booleans(),
            "description": texts,
        }
    ),
    max_size=3,
)


def ours(plan_id: str) -> str:
    """Our ownership marker, as documented."""
    return f"<!-- eventschema:plan={plan_id} -->"


FOREIGN = "<!-- iac:property-groups:x iac:hash:abc -->"
MARKERS = (ours(PLAN_ID), ours("other-plan"), FOREIGN)


def visible(description: str) -> str:
    """A description without the ownership markers this test writes."""
    for marker in MARKERS:
        description = description.replace(marker, "")
    return description.strip()


@st.composite
def tracking_plans(draw: st.DrawFn, group_names: list[str] | None = None) -> TrackingPlan:
    groups = draw(
        st.dictionaries(
            st.sampled_from(group_names) if group_names else names,
            st.fixed_dictionaries({"description": texts, "properties": properties}),
            max_size=4,
        )
    )
    events: dict[str, Any] = {}
    for event in draw(st.lists(names, max_size=4, unique=True)):
        spec: dict[str, Any] = {
            "groups": draw(st.lists(st.sampled_from(sorted(groups)), unique=True)) if groups else []
        }
        enforcement = draw(st.sampled_from([None, "allow", "reject"]))
        if enforcement:
            spec["enforcement"] = enforcement
        description = draw(st.none() | texts)
        if description is not None:
            spec["description"] = description
        events[event] = spec
    return TrackingPlan.model_validate(
        {"version": 1, "plan_id": PLAN_ID, "property_groups": groups, "events": events}
    )


@dataclass
class World:
    """A project as plain data: groups and events by id, bindings as (event id, group id)."""

    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    bindings: set[tuple[str, str]] = field(default_factory=set)

    def group_id(self, name: str) -> str:
        return next(gid for gid, group in self.groups.items() if group["name"] == name)

    def event_id(self, name: str) -> str:
        return next(eid for eid, event in self.events.items() if event["name"] == name)

    def add_group(self, name: str, description: str, props: list[dict[str, Any]]) -> str:
        group_id = str(uuid.uuid4())
        self.groups[group_id] = {"name": name, "description": description, "properties": props}
        return group_id

    def add_event(self, name: str, **settings: Any) -> str:
        event_id = str(uuid.uuid4())
        self.events[event_id] = {
            "name": name,
            "description": None,
            "tags": [],
            "enforcement_mode": "allow",
            **settings,
        }
        return event_id

    def live(self) -> LiveState:
        groups = tuple(
            PropertyGroup.model_validate(
                {
                    "id": gid,
                    **group,
                    "events": [
                        {"id": eid, "name": self.events[eid]["name"]}
                        for eid, bound in sorted(self.bindings)
                        if bound == gid
                    ],
                }
            )
            for gid, group in self.groups.items()
        )
        events = tuple(
            EventDefinition.model_validate({"id": eid, **event})
            for eid, event in self.events.items()
        )
        return LiveState(groups, events)

    def apply(self, plan: Plan) -> None:
        """Make each change as its model documents it (phases in order)."""
        for change in plan.changes:
            self._change(change)

    def _change(self, change: Any) -> None:
        match change:
            case CreateGroup():
                props = [p.to_api() for p in change.properties]
                self.add_group(change.group, change.description, props)
            case UpdateGroup():
                group = self.groups[str(change.group_id)]
                if change.description is not None:
                    group["description"] = change.description
                if change.properties is not None:
                    group["properties"] = [p.to_api() for p in change.properties]
            case DeleteGroup():
                del self.groups[str(change.group_id)]
                self.bindings = {b for b in self.bindings if b[1] != str(change.group_id)}
            case CreateEvent():
                self.add_event(change.event, description=change.description)
            case UpdateEvent():
                event_id = str(change.event_id) if change.event_id else self.event_id(change.event)
                event = self.events[event_id]
                if change.enforcement_mode is not None:
                    event["enforcement_mode"] = change.enforcement_mode.value
                if change.description is not None:
                    event["description"] = change.description
            case CreateBinding():
                event_id = str(change.event_id) if change.event_id else self.event_id(change.event)
                group_id = str(change.group_id) if change.group_id else self.group_id(change.group)
                assert (event_id, group_id) not in self.bindings, f"binding twice: {change}"
                self.bindings.add((event_id, group_id))
            case DeleteBinding():
                pair = (str(change.event_id), str(change.group_id))
                assert pair in self.bindings, f"deleting a binding that is not there: {change}"
                self.bindings.discard(pair)


def _spec_properties(spec_properties: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "property_type": prop.type.value,
            "is_required": prop.required,
            "is_optional_in_types": prop.optional_in_types,
            "description": prop.description,
        }
        for name, prop in spec_properties.items()
    ]


def world_of(plan: TrackingPlan) -> World:
    """The project a successful apply of `plan` leaves (built by hand, not by the plan code)."""
    world = World()
    for name, group in plan.property_groups.items():
        description = "\n\n".join(p for p in (group.description, ours(plan.plan_id)) if p)
        world.add_group(name, description, _spec_properties(group.properties))
    for name, event in plan.events.items():
        settings: dict[str, Any] = {"description": event.description}
        if event.enforcement is not None:
            settings["enforcement_mode"] = event.enforcement.value
        event_id = world.add_event(name, **settings)
        world.bindings |= {(event_id, world.group_id(group)) for group in event.groups}
    return world


def _property_set(props: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (
            p["name"],
            p["property_type"],
            p["is_required"],
            p["is_optional_in_types"],
            p["description"] or "",
        )
        for p in props
    }


@fuzz_settings()
@given(plan=tracking_plans(), prune=st.booleans())
def test_a_project_that_matches_the_plan_needs_no_change(plan: TrackingPlan, prune: bool) -> None:
    result = diff(plan, world_of(plan).live(), prune=prune, create_events=True)
    assert result.changes == [], result.changes
    assert result.blocked == [], result.blocked


OWNERS = ("ours", "unmarked", "other plan", "foreign")


@st.composite
def projects(draw: st.DrawFn, group_names: list[str], event_names: list[str]) -> World:
    """A random project: groups under various owners, events, some foreign-tagged, bindings."""
    world = World()
    for name in draw(st.lists(st.sampled_from(group_names), unique=True)):
        owner = draw(st.sampled_from(OWNERS))
        text = draw(texts)
        marker = {
            "ours": ours(PLAN_ID),
            "unmarked": "",
            "other plan": ours("other-plan"),
            "foreign": FOREIGN,
        }[owner]
        description = "\n\n".join(part for part in (text, marker) if part)
        props = _spec_properties(
            TrackingPlan.model_validate(
                {"version": 1, "property_groups": {"g": {"properties": draw(properties)}}}
            )
            .property_groups["g"]
            .properties
        )
        world.add_group(name, description, props)
    for name in draw(st.lists(st.sampled_from(event_names), unique=True)):
        tags = ["iac:event-definitions:x"] if draw(st.integers(0, 4)) == 0 else []
        world.add_event(
            name,
            tags=tags,
            description=draw(st.none() | texts),
            enforcement_mode=draw(st.sampled_from(["allow", "reject"])),
        )
    for event_id in world.events:
        for group_id in world.groups:
            if draw(st.booleans()):
                world.bindings.add((event_id, group_id))
    return world


@st.composite
def plan_and_project(draw: st.DrawFn) -> tuple[TrackingPlan, World]:
    group_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    event_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    plan = draw(tracking_plans(group_names))
    plan_events = dict(zip(event_names, plan.events.values(), strict=False))
    plan = plan.model_copy(update={"events": plan_events})
    return plan, draw(projects(group_names, event_names))


@fuzz_settings()
@given(case=plan_and_project())
def test_applying_the_changes_reaches_the_plan_and_touches_nothing_else(
    case: tuple[TrackingPlan, World],
) -> None:
    plan, world = case
    before = World(
        {k: {**v} for k, v in world.groups.items()},
        {k: {**v} for k, v in world.events.items()},
        set(world.bindings),
    )
    first = diff(plan, world.live(), prune=True, create_events=True)
    for kind in sorted({change.action for change in first.changes}):
        hypothesis.event(f"plan has {kind}")
    hypothesis.event(f"blocked: {bool(first.blocked)}")
    world.apply(first)

    again = diff(plan, world.live(), prune=True, create_events=True)
    assert again.changes == [], again.changes
    blocked = {notice.subject for notice in first.blocked}
    assert {notice.subject for notice in again.blocked} == blocked

    by_name = {group["name"]: (gid, group) for gid, group in world.groups.items()}
    written = {
        change.group
        for change in first.changes
        if isinstance(change, CreateGroup)
        or (isinstance(change, UpdateGroup) and change.description is not None)
    }
    for name, spec in plan.property_groups.items():
        if f'group "{name}"' in blocked:
            continue
        gid, group = by_name[name]
        assert visible(group["description"]) == spec.description
        if name in written:  # groups that already matched keep their owner
            assert ours(PLAN_ID) in group["description"]
        assert _property_set(group["properties"]) == _property_set(
            _spec_properties(spec.properties)
        )
    for gid, group in before.groups.items():
        owner = "ours" if ours(PLAN_ID) in group["description"] else None
        if owner is None and group["name"] not in plan.property_groups:
            assert world.groups.get(gid) == group, "a group the plan does not own changed"
        if "iac:" in group["description"] or ours("other-plan") in group["description"]:
            assert world.groups.get(gid) == group, "another owner's group changed"
    assert before.events.keys() <= world.events.keys(), "an event definition was deleted"
    events = {event["name"]: eid for eid, event in world.events.items()}
    for name, spec in plan.events.items():
        event = world.events[events[name]]
        for group in spec.groups:
            assert (events[name], by_name[group][0]) in world.bindings
        if event["tags"] and f'event "{name}"' in blocked:
            continue
        if spec.enforcement is not None:
            assert event["enforcement_mode"] == spec.enforcement.value
        if spec.description is not None:
            assert (event["description"] or "") == spec.description


@pytest.mark.parametrize(
    "description",
    [
        "<!-- eventschema:plan=other -->",
        "Checkout <!-- eventschema:plan=web -->",
        "<!-- iac:property-groups:checkout iac:hash:0a1b -->",
        "before <!--\n iac:property-groups:x --> after",
    ],
)
def test_a_group_description_with_an_ownership_marker_is_refused(description: str) -> None:
    """A marker in the plan's own text would make the group look owned by someone else (or by
    another plan) once applied, so every later plan would see a conflict: refuse it upfront."""
    text = yaml.safe_dump({"version": 1, "property_groups": {"g": {"description": description}}})
    with pytest.raises(PlanFileError, match="marker"):
        parse_plan(text, "marker.yaml")
