"""``pull``: describe a live project as a tracking plan, so that planning it shows no changes.

:func:`pull` describes the whole project. :func:`pull_merge` refreshes an existing plan file
instead: only what the file manages (its groups, its events, and the events bound to its
groups) is brought up to date, and the file keeps its comments and layout
(:mod:`.merge`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode
from eventschema_tools.tracking_plan.file import (
    DEFAULT_PLAN_ID,
    PLAN_ID_PATTERN,
    EventSpec,
    PropertyGroupSpec,
    PropertySpec,
    TrackingPlan,
    parse_plan,
    plan_format,
    read_plan_text,
)
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.ownership import owner_plan, visible_description

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "MergedPlan",
    "check_plan_id",
    "keep_local_fields",
    "merge_plan",
    "plan_from_live",
    "pull",
    "pull_async",
    "pull_merge",
    "pull_merge_async",
]


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
    check_plan_id(plan_id)
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

    PostHog does not store value ``rules`` or the privacy policy; a pull over an existing file
    keeps each property's rules (when the property still exists with the same type), its
    ``pii`` decision, the ``forbidden_properties`` lists, each event's ``ratchet``, the
    ``environments`` and the file's
    ``plan_id``.
    """
    groups = {}
    for name, group in pulled.property_groups.items():
        old = previous.property_groups.get(name)
        properties = {}
        for prop_name, prop in group.properties.items():
            old_prop = old.properties.get(prop_name) if old else None
            if old_prop is not None and old_prop.rules is not None and old_prop.type == prop.type:
                prop = prop.model_copy(update={"rules": old_prop.rules})
            if old_prop is not None and old_prop.pii is not None:
                prop = prop.model_copy(
                    update={"pii": old_prop.pii, "pii_reason": old_prop.pii_reason}
                )
            properties[prop_name] = prop
        groups[name] = group.model_copy(update={"properties": properties})
    events = {}
    for name, event in pulled.events.items():
        kept = previous.events.get(name)
        if kept is not None and kept.ratchet is not None:
            # The ratchet owns the mode: the pulled one is its latest decision, not the plan's.
            event = event.model_copy(update={"ratchet": kept.ratchet, "enforcement": None})
        if kept is not None and kept.forbidden_properties:
            event = event.model_copy(update={"forbidden_properties": kept.forbidden_properties})
        events[name] = event
    plan_id = previous.plan_id if pulled.plan_id == DEFAULT_PLAN_ID else pulled.plan_id
    return pulled.model_copy(
        update={
            "property_groups": groups,
            "events": events,
            "plan_id": plan_id,
            "forbidden_properties": previous.forbidden_properties,
            "environments": previous.environments,
        }
    )


@dataclass(frozen=True)
class MergedPlan:
    """An existing plan file refreshed from PostHog by :func:`pull_merge`.

    Attributes:
        plan: the refreshed plan.
        text: the file's new text (comments and layout kept; JSON keeps key order).
        updated: entries whose content changed, as ``group NAME`` or ``event NAME``.
        added: entries added (events bound to a managed group, or new ones with ``add_new``).
        removed: entries the file listed that PostHog no longer has.
    """

    plan: TrackingPlan
    text: str
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the file's content changes."""
        return bool(self.updated or self.added or self.removed)


def merge_plan(
    previous: TrackingPlan,
    live: LiveState,
    *,
    add_new: bool = False,
    plan_id: str | None = None,
) -> TrackingPlan:
    """``previous`` brought up to date with ``live``, for what it manages only (pure).

    What the plan manages: its groups (each one's description and properties, value ``rules``
    kept while a property keeps its type), its events, and the bindings of its groups, so an
    event newly bound to one of its groups is added with just its ``groups``. An event's
    ``description`` and ``enforcement`` stay unmanaged when the file leaves them out. Groups
    and events PostHog no longer has are dropped; other live groups and events stay out unless
    ``add_new``. ``plan_id`` replaces the file's.

    Raises:
        InvalidInputError: ``plan_id`` is not a valid plan id.
    """
    check_plan_id(plan_id)
    pulled = keep_local_fields(plan_from_live(live), previous)
    names = list(previous.property_groups)
    if add_new:
        names += [name for name in pulled.property_groups if name not in names]
    groups = {
        name: pulled.property_groups[name] for name in names if name in pulled.property_groups
    }
    bound = {name for name, spec in pulled.events.items() if set(spec.groups) & groups.keys()}
    wanted = list(previous.events)
    wanted += sorted(bound - set(wanted))
    if add_new:
        wanted += [name for name in pulled.events if name not in wanted]
    live_events = {event.name: event for event in live.events}
    events: dict[str, EventSpec] = {}
    for name in wanted:
        event = live_events.get(name)
        if event is None and name not in pulled.events:
            continue
        live_spec = pulled.events.get(name, EventSpec())
        old = previous.events.get(name)
        in_groups = set(live_spec.groups) & groups.keys()
        kept_order = [group for group in (old.groups if old else []) if group in in_groups]
        spec = EventSpec(groups=kept_order + sorted(in_groups - set(kept_order)))
        description = (event.description or "") if event is not None else None
        enforcement = event.enforcement_mode if event is not None else None
        if old is not None:
            # What only the file knows (owner, tags, acknowledgements, forbidden properties,
            # the ratchet) stays as the file has it.
            spec = old.model_copy(
                update={
                    "groups": spec.groups,
                    "description": description if old.description is not None else None,
                    "enforcement": enforcement if old.enforcement is not None else None,
                }
            )
        elif add_new:
            spec = spec.model_copy(
                update={"description": live_spec.description, "enforcement": live_spec.enforcement}
            )
        events[name] = spec
    return previous.model_copy(
        update={
            "plan_id": plan_id or previous.plan_id,
            "property_groups": groups,
            "events": events,
        }
    )


def pull_merge(
    client: EventSchemaClient,
    path: str | Path,
    *,
    add_new: bool = False,
    plan_id: str | None = None,
) -> MergedPlan:
    """Refresh the plan file at ``path`` from PostHog, keeping its comments and layout.

    The file is read, not written: write ``result.text`` (the CLI replaces it atomically).
    See :func:`merge_plan` for what is refreshed.

    Raises:
        PlanFileError: the file is not a valid plan.
        InvalidInputError: ``plan_id`` is not a valid plan id.
        EventSchemaError: the file cannot be edited in place.
    """
    previous, text, fmt = _read_existing(path, plan_id)
    return _merged(previous, text, fmt, LiveState.read(client), add_new, plan_id)


async def pull_merge_async(
    client: AsyncEventSchemaClient,
    path: str | Path,
    *,
    add_new: bool = False,
    plan_id: str | None = None,
) -> MergedPlan:
    """Async twin of :func:`pull_merge`."""
    previous, text, fmt = _read_existing(path, plan_id)
    return _merged(previous, text, fmt, await LiveState.read_async(client), add_new, plan_id)


def _read_existing(
    path: str | Path, plan_id: str | None
) -> tuple[TrackingPlan, str, Literal["yaml", "json"]]:
    check_plan_id(plan_id)
    text = read_plan_text(path)
    previous = parse_plan(text, str(path))
    return previous, text, plan_format(text, str(path))


def _merged(
    previous: TrackingPlan,
    text: str,
    fmt: Literal["yaml", "json"],
    live: LiveState,
    add_new: bool,
    plan_id: str | None,
) -> MergedPlan:
    # The layout editor (and ruamel.yaml) loads only when a file is merged: every CLI command
    # imports this module.
    from eventschema_tools.tracking_plan.merge import rewrite_plan_text

    merged = merge_plan(previous, live, add_new=add_new, plan_id=plan_id)
    changes = _entry_changes(previous, merged)
    new_text = rewrite_plan_text(text, previous, merged, fmt=fmt) if merged != previous else text
    return MergedPlan(plan=merged, text=new_text, **changes)


def _entry_changes(previous: TrackingPlan, merged: TrackingPlan) -> dict[str, list[str]]:
    changes: dict[str, list[str]] = {"updated": [], "added": [], "removed": []}
    sections = (
        ("group", previous.property_groups, merged.property_groups),
        ("event", previous.events, merged.events),
    )
    for kind, old, new in sections:
        for name in new:
            if name not in old:
                changes["added"].append(f"{kind} {name}")
            elif old[name] != new[name]:
                changes["updated"].append(f"{kind} {name}")
        changes["removed"] += [f"{kind} {name}" for name in old if name not in new]
    return changes


def check_plan_id(plan_id: str | None) -> None:
    """Raise :class:`InvalidInputError` unless ``plan_id`` is ``None`` or a valid plan id."""
    if plan_id is not None and not re.match(PLAN_ID_PATTERN, plan_id):
        raise InvalidInputError(
            f"plan id {plan_id!r} is not valid: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
            [("plan_id", "invalid")],
        )
