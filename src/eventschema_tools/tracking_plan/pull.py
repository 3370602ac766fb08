"""``pull``: describe a live project as a tracking plan, so that planning it shows no changes."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode
from eventschema_tools.tracking_plan.file import (
    DEFAULT_PLAN_ID,
    PLAN_ID_PATTERN,
    EventSpec,
    PropertyGroupSpec,
    PropertySpec,
    TrackingPlan,
)
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.ownership import owner_plan, visible_description

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = ["keep_local_fields", "plan_from_live", "pull", "pull_async"]


def plan_from_live(live: LiveState, *, plan_id: str | None = None) -> TrackingPlan:
    """The tracking plan that describes ``live`` exactly (pure).

    Every group is included (descriptions without markers); an event is included when a group
    is bound to it or its enforcement is ``reject``, with its enforcement mode and, when set,
    its description. ``diff(plan_from_live(live), live)`` is empty.

    Args:
        live: a snapshot with every event definition.
        plan_id: the plan id to write; default: the one in the groups' markers, if any.

    Raises:
        InvalidInputError: ``plan_id`` is not a valid plan id.
    """
    if plan_id is not None and not re.match(PLAN_ID_PATTERN, plan_id):
        raise InvalidInputError(
            f"plan id {plan_id!r} is not valid: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
            [("plan_id", "invalid")],
        )
    owners = Counter(owner_plan(group.description) for group in live.groups)
    owners.pop(None, None)
    chosen = plan_id or (owners.most_common(1)[0][0] if owners else DEFAULT_PLAN_ID)
    groups = {
        group.name: PropertyGroupSpec(
            description=visible_description(group.description),
            properties={
                prop.name: PropertySpec(
                    type=prop.property_type,
                    required=prop.is_required,
                    optional_in_types=prop.is_optional_in_types,
                    description=prop.description or "",
                )
                for prop in group.properties
            },
        )
        for group in live.groups
    }
    bound: dict[str, set[str]] = {}
    for group in live.groups:
        for bound_event in group.events:
            bound.setdefault(bound_event.name, set()).add(group.name)
    events: dict[str, EventSpec] = {}
    for event in live.events:
        if event.name in bound or event.enforcement_mode == EnforcementMode.REJECT:
            events[event.name] = EventSpec(
                groups=sorted(bound.get(event.name, ())),
                description=event.description or None,
                enforcement=event.enforcement_mode,
            )
    for name, group_names in bound.items():
        events.setdefault(name, EventSpec(groups=sorted(group_names)))
    return TrackingPlan.model_validate(
        {
            "version": 1,
            "plan_id": chosen,
            "property_groups": groups,
            "events": events,
        }
    )


def pull(client: EventSchemaClient, *, plan_id: str | None = None) -> TrackingPlan:
    """Read the whole project and describe it as a tracking plan (see :func:`plan_from_live`)."""
    return plan_from_live(LiveState.read(client), plan_id=plan_id)


async def pull_async(client: AsyncEventSchemaClient, *, plan_id: str | None = None) -> TrackingPlan:
    """Async twin of :func:`pull`."""
    return plan_from_live(await LiveState.read_async(client), plan_id=plan_id)


def keep_local_fields(pulled: TrackingPlan, previous: TrackingPlan) -> TrackingPlan:
    """Carry what only the plan file knows into a freshly pulled plan.

    PostHog does not store value ``rules``; a pull over an existing file keeps each property's
    rules (when the property still exists with the same type) and the file's ``plan_id``.
    """
    groups = {}
    for name, group in pulled.property_groups.items():
        old = previous.property_groups.get(name)
        properties = {}
        for prop_name, prop in group.properties.items():
            old_prop = old.properties.get(prop_name) if old else None
            if old_prop is not None and old_prop.rules is not None and old_prop.type == prop.type:
                prop = prop.model_copy(update={"rules": old_prop.rules})
            properties[prop_name] = prop
        groups[name] = group.model_copy(update={"properties": properties})
    plan_id = previous.plan_id if pulled.plan_id == DEFAULT_PLAN_ID else pulled.plan_id
    return pulled.model_copy(update={"property_groups": groups, "plan_id": plan_id})
