"""``diff(desired, live) -> Plan``: pure, and the read-then-diff helpers around it.

Groups are identified by name, properties compared as sets of (name, type, required,
optional_in_types, description) because PostHog replaces a group's whole property list on
update. Descriptions are compared without ownership markers. Prune and ownership rules are
described in :mod:`.ownership` and :mod:`eventschema_tools.tracking_plan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from eventschema_tools.models import (
    EnforcementMode,
    EventDefinition,
    PropertyGroup,
    PropertyInput,
    SchemaProperty,
)
from eventschema_tools.tracking_plan.changes import (
    Change,
    CreateBinding,
    CreateEvent,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    Notice,
    NoticeKind,
    Plan,
    PropertyChange,
    UpdateEvent,
    UpdateGroup,
)
from eventschema_tools.tracking_plan.file import EventSpec, PropertyGroupSpec, TrackingPlan
from eventschema_tools.tracking_plan.impact import classify, stale_acknowledgements
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.ownership import (
    foreign_marker,
    owner_plan,
    visible_description,
    with_marker,
)

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = ["compute_plan", "compute_plan_async", "diff", "event_change", "group_change"]

_ACTION_ORDER = {
    "create_group": 0,
    "update_group": 1,
    "create_event": 2,
    "update_event": 3,
    "create_binding": 4,
    "delete_binding": 5,
    "delete_group": 6,
}


_PropertyKey = tuple[str, str, bool, bool, str]


def _inputs(spec: PropertyGroupSpec) -> list[PropertyInput]:
    return [
        PropertyInput(
            name=name,
            type=prop.type,
            required=prop.required,
            optional_in_types=prop.optional_in_types,
            description=prop.description,
        )
        for name, prop in sorted(spec.properties.items())
    ]


def _key(prop: PropertyInput | SchemaProperty) -> _PropertyKey:
    return (
        prop.name,
        prop.property_type.value,
        prop.is_required,
        prop.is_optional_in_types,
        prop.description or "",
    )


def _as_input(prop: SchemaProperty) -> PropertyInput:
    return PropertyInput(
        name=prop.name,
        type=prop.property_type,
        required=prop.is_required,
        optional_in_types=prop.is_optional_in_types,
        description=prop.description or "",
    )


def _property_changes(
    before: Sequence[SchemaProperty], after: Sequence[PropertyInput]
) -> list[PropertyChange]:
    old = {prop.name: _as_input(prop) for prop in before}
    new = {prop.name: prop for prop in after}
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old or name not in new or _key(old[name]) != _key(new[name]):
            changes.append(PropertyChange(name=name, before=old.get(name), after=new.get(name)))
    return changes


def group_change(
    current: PropertyGroup,
    description: str,
    wanted: Sequence[PropertyInput],
    plan_id: str,
    *,
    adopt: bool = False,
) -> UpdateGroup | Notice | None:
    """What bringing an existing group to the plan takes (pure).

    Args:
        current: the group in PostHog.
        description: the plan's description for it, without markers.
        wanted: the plan's properties for it.
        plan_id: the plan's id.
        adopt: mark a matching group that carries no marker as this plan's.

    Returns:
        ``None`` when it already matches; an :class:`UpdateGroup`; or a :class:`Notice`:
        ``kept`` (matches, but another plan or tool owns it) or a blocking ``conflict`` (differs,
        and another plan or tool owns it).
    """
    name = current.name
    subject = f'group "{name}"'
    owner = owner_plan(current.description)
    foreign = foreign_marker(current.description)
    same_properties = {_key(p) for p in current.properties} == {_key(p) for p in wanted}
    before = visible_description(current.description)
    same_description = before == description.strip()
    if same_properties and same_description:
        if foreign is not None or owner not in (None, plan_id):
            who = f"another tool ({foreign})" if foreign else f"plan '{owner}'"
            return Notice(
                kind="kept",
                subject=subject,
                reason=f"matches the plan but is owned by {who}: this plan will not change it",
            )
        if adopt and owner is None:
            return UpdateGroup(
                group=name,
                group_id=current.id,
                description=with_marker(description, plan_id, current.description),
                description_before=before,
                description_after=before,
                adopt=True,
            )
        return None
    if foreign is not None:
        reason = (
            f"managed by another tool ({foreign}); change it there, or remove it from this plan"
        )
        return Notice(kind="conflict", subject=subject, reason=reason, blocking=True)
    if owner is not None and owner != plan_id:
        reason = f"owned by plan '{owner}'; change it in that plan, or remove it from this one"
        return Notice(kind="conflict", subject=subject, reason=reason, blocking=True)
    rewrite_description = not same_description or owner != plan_id
    return UpdateGroup(
        group=name,
        group_id=current.id,
        description=(
            with_marker(description, plan_id, current.description) if rewrite_description else None
        ),
        properties=None if same_properties else list(wanted),
        description_before=before,
        description_after=description.strip(),
        property_changes=[] if same_properties else _property_changes(current.properties, wanted),
        adopt=owner is None,
    )


def event_change(
    current: EventDefinition,
    enforcement: EnforcementMode | None,
    description: str | None,
) -> UpdateEvent | Notice | None:
    """What setting an existing event's enforcement and description takes (pure; ``None``
    leaves a setting alone): nothing, an :class:`UpdateEvent`, or a blocking ``conflict``
    :class:`Notice` when another tool manages the event."""
    name = current.name
    enforcement = (
        enforcement if enforcement is not None and enforcement != current.enforcement_mode else None
    )
    description = (
        description
        if description is not None and description != (current.description or "")
        else None
    )
    if enforcement is None and description is None:
        return None
    foreign = foreign_marker(tags=current.tags)
    if foreign is not None:
        return Notice(
            kind="conflict",
            subject=f'event "{name}"',
            reason=f"managed by another tool (tag {foreign}); change its settings there",
            blocking=True,
        )
    return UpdateEvent(
        event=name,
        event_id=current.id,
        enforcement_mode=enforcement,
        description=description,
        enforcement_before=current.enforcement_mode if enforcement else None,
        description_before=(current.description or "") if description is not None else None,
    )


@dataclass
class _Diff:
    desired: TrackingPlan
    live: LiveState
    prune: bool
    create_events: bool
    adopt: bool
    changes: list[Change] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    written_groups: set[str] = field(default_factory=set)

    def run(self) -> Plan:
        for name, group in sorted(self.desired.property_groups.items()):
            self._group(name, group)
        for name, event in sorted(self.desired.events.items()):
            self._event(name, event)
        self._leftovers()
        self.changes.sort(key=lambda change: _ACTION_ORDER[change.action])
        impacts = classify(self.changes, self.desired, self.live)
        return Plan(
            plan_id=self.desired.plan_id,
            changes=self.changes,
            notices=self.notices,
            live_bindings=len(self.live.bindings),
            impacts=impacts,
            stale_acknowledgements=stale_acknowledgements(self.desired, impacts),
        )

    @property
    def plan_id(self) -> str:
        return self.desired.plan_id

    def _group(self, name: str, spec: PropertyGroupSpec) -> None:
        wanted = _inputs(spec)
        current = self.live.groups_by_name.get(name)
        if current is None:
            self.written_groups.add(name)
            self.changes.append(
                CreateGroup(
                    group=name,
                    description=with_marker(spec.description, self.plan_id),
                    properties=wanted,
                )
            )
            return
        outcome = group_change(current, spec.description, wanted, self.plan_id, adopt=self.adopt)
        if isinstance(outcome, Notice):
            self.notices.append(outcome)
        elif outcome is not None:
            self.written_groups.add(name)
            self.changes.append(outcome)

    def _event(self, name: str, spec: EventSpec) -> None:
        current = self.live.events_by_name.get(name)
        if current is None:
            if not self.create_events:
                self._notice(
                    "blocked",
                    f'event "{name}"',
                    "no event definition with this name in the project: send the event once, "
                    "or apply with --create-events",
                    blocking=True,
                )
                return
            self.changes.append(CreateEvent(event=name, description=spec.description))
            if spec.enforcement not in (None, EnforcementMode.ALLOW):
                self.changes.append(UpdateEvent(event=name, enforcement_mode=spec.enforcement))
        else:
            self._event_settings(name, spec, current)
        for group in spec.groups:
            live_group = self.live.groups_by_name.get(group)
            event_id = current.id if current else None
            group_id = live_group.id if live_group else None
            if event_id and group_id and (event_id, group_id) in self.live.bindings:
                continue
            self.changes.append(
                CreateBinding(event=name, group=group, event_id=event_id, group_id=group_id)
            )

    def _event_settings(self, name: str, spec: EventSpec, current: EventDefinition) -> None:
        outcome = event_change(current, spec.enforcement, spec.description)
        if isinstance(outcome, Notice):
            self.notices.append(outcome)
        elif outcome is not None:
            self.changes.append(outcome)

    def _leftovers(self) -> None:
        """Groups and bindings in PostHog that the plan does not list: prune or report."""
        wanted_pairs = self.desired.bindings()
        for group in self.live.groups:
            owner = owner_plan(group.description)
            foreign = foreign_marker(group.description)
            ours = foreign is None and (owner == self.plan_id or group.name in self.written_groups)
            subject = f'group "{group.name}"'
            if group.name not in self.desired.property_groups:
                if foreign is None and owner == self.plan_id:
                    if self.prune:
                        self.changes.append(
                            DeleteGroup(
                                group=group.name, group_id=group.id, bindings=len(group.events)
                            )
                        )
                    else:
                        self._notice("not_pruned", subject, "owned by this plan but not in it")
                continue
            extra = [e for e in group.events if (e.name, group.name) not in wanted_pairs]
            if not extra:
                continue
            if not ours:
                why = (
                    f"managed by another tool ({foreign})" if foreign else "not owned by this plan"
                )
                self._notice(
                    "kept",
                    subject,
                    f"{len(extra)} binding(s) not in the plan kept: the group is {why}",
                )
                continue
            for bound in extra:
                self._extra_binding(group, bound.id, bound.name)

    def _extra_binding(self, group: PropertyGroup, event_id: UUID, event_name: str) -> None:
        subject = f'binding "{group.name}" → "{event_name}"'
        event = self.live.events_by_id.get(event_id)
        foreign = foreign_marker(tags=event.tags) if event else None
        if foreign is not None:
            self._notice("kept", subject, f"the event is managed by another tool (tag {foreign})")
        elif self.prune:
            self.changes.append(
                DeleteBinding(
                    event=event_name, group=group.name, event_id=event_id, group_id=group.id
                )
            )
        else:
            self._notice("not_pruned", subject, "bound in PostHog but not in the plan")

    def _notice(
        self, kind: NoticeKind, subject: str, reason: str, *, blocking: bool = False
    ) -> None:
        self.notices.append(Notice(kind=kind, subject=subject, reason=reason, blocking=blocking))


def diff(
    desired: TrackingPlan,
    live: LiveState,
    *,
    prune: bool = False,
    create_events: bool = False,
    adopt: bool = False,
) -> Plan:
    """Compute the changes that bring ``live`` to ``desired`` (pure: no I/O).

    Args:
        desired: the tracking plan.
        live: the project's current state.
        prune: also delete groups this plan owns but no longer lists, and bindings of owned
            groups the plan does not list.
        create_events: create event definitions the plan names but the project lacks
            (otherwise their bindings and settings are reported as blocked).
        adopt: write this plan's ownership marker on listed groups that match the plan but
            carry no marker yet (so a later prune may delete them).

    Raises:
        ValueError: ``prune`` with a live state that holds only some event definitions.
    """
    if prune and not live.complete_events:
        raise ValueError(
            "prune needs every event definition: read the live state with event_names=None"
        )
    return _Diff(desired, live, prune, create_events, adopt).run()


def _event_names_needed(desired: TrackingPlan, prune: bool) -> set[str] | None:
    return None if prune else set(desired.events)


def compute_plan(
    client: EventSchemaClient,
    desired: TrackingPlan,
    *,
    prune: bool = False,
    create_events: bool = False,
    adopt: bool = False,
) -> Plan:
    """Read the live state (fewest requests) and diff it against ``desired``.

    Args:
        client: the client of the project.
        desired: the tracking plan.
        prune: see :func:`diff`.
        create_events: see :func:`diff`.
        adopt: see :func:`diff`.
    """
    live = LiveState.read(client, event_names=_event_names_needed(desired, prune))
    return diff(desired, live, prune=prune, create_events=create_events, adopt=adopt)


async def compute_plan_async(
    client: AsyncEventSchemaClient,
    desired: TrackingPlan,
    *,
    prune: bool = False,
    create_events: bool = False,
    adopt: bool = False,
) -> Plan:
    """Async twin of :func:`compute_plan`."""
    live = await LiveState.read_async(client, event_names=_event_names_needed(desired, prune))
    return diff(desired, live, prune=prune, create_events=create_events, adopt=adopt)
