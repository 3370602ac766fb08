"""What a write risks: the bindings, properties and live events it would take away.

Every face asks before a write that can lose something, and they all ask the same question,
built here from the live project: the CLI prompts with it (``--yes`` answers it), the MCP
server shows it through the client's form or returns it as a preview with a confirmation
token. The library itself never asks: :class:`~eventschema_tools.catalog.Catalog` does what it
is told, and a caller that wants the question computes it with :func:`assess` first.

A write is described by one of :data:`Write`'s dataclasses and assessed as a :class:`Risk`:

* the bindings it removes (unbind, delete, move) and the ones it adds (bind, move);
* the properties a replaced property list no longer has, or a deleted group had;
* the events in ``reject`` enforcement mode that would start dropping live events: PostHog's
  ingestion drops an event of such a definition when a required property of a bound group is
  missing or has a value of another type, so binding a group with required properties, moving
  a binding onto such an event, or making its properties stricter drops every later event that
  lacks them;
* the groups a tracking plan (or another tool) manages, so the question can say so.

:attr:`Risk.needs_confirmation` says whether a person must agree: removals and drops do,
additions that drop nothing do not. Costs: the property-group list (it carries every binding),
plus the event definitions involved (enforcement modes), plus, for a schema given by id, the
event-schema list (PostHog cannot read one schema by id).

Example::

    risk = assess(client, UnbindPairs(pairs_for_group("checkout", ["order_paid"])))
    if risk.needs_confirmation and not typer.confirm(risk.question):
        ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.catalog.operations import unbind_target
from eventschema_tools.catalog.resolve import find_event, find_group, is_uuid
from eventschema_tools.catalog.steps import Steps, call, drive, drive_async, rows
from eventschema_tools.errors import UnknownNameError
from eventschema_tools.models import (
    EnforcementMode,
    EventDefinition,
    EventSchema,
    PropertyGroup,
    PropertyGroupUpdate,
    PropertyInput,
    SchemaProperty,
    as_uuid,
    parse_input,
)
from eventschema_tools.tracking_plan import CreateBinding, DeleteBinding, LiveState
from eventschema_tools.tracking_plan.bulk import Pair, planned
from eventschema_tools.tracking_plan.live import names_filter
from eventschema_tools.tracking_plan.ownership import foreign_marker, owner_plan

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient
    from eventschema_tools.resources.property_groups import PropertySpec

__all__ = [
    "BindPairs",
    "BindingRef",
    "DeleteGroup",
    "DeleteSchema",
    "MoveSchema",
    "Owner",
    "Rejection",
    "ReplaceProperties",
    "Risk",
    "RiskKind",
    "UnbindPairs",
    "Write",
    "assess",
    "assess_async",
    "assessment",
]

# Names shown in a question before "and N more" (the structured fields list them all).
_SHOWN = 10

# --- the writes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BindPairs:
    """Bind each pair's group to its event (``schemas create``, ``bind``, the bind tools)."""

    pairs: Sequence[Pair]


@dataclass(frozen=True)
class UnbindPairs:
    """Remove each pair's binding; pairs that are not bound are left out."""

    pairs: Sequence[Pair]


@dataclass(frozen=True)
class DeleteSchema:
    """Delete one event schema, by id or by its event and group (it must exist)."""

    schema_id: str | None = None
    event: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class MoveSchema:
    """Point an event schema at another event and/or group."""

    schema_id: str
    event: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class ReplaceProperties:
    """Replace a group's whole property list."""

    group: str
    properties: Sequence[PropertySpec]


@dataclass(frozen=True)
class DeleteGroup:
    """Delete a group, its properties and its bindings."""

    group: str


Write: TypeAlias = (
    BindPairs | UnbindPairs | DeleteSchema | MoveSchema | ReplaceProperties | DeleteGroup
)
"""A write whose risk :func:`assess` computes."""

# --- the risk --------------------------------------------------------------------------------


class RiskKind(StrEnum):
    """Which kind of write a :class:`Risk` describes."""

    BIND = "bind"
    UNBIND = "unbind"
    MOVE = "move"
    REPLACE_PROPERTIES = "replace_properties"
    DELETE_GROUP = "delete_group"
    PROMOTE = "promote"
    RATCHET = "ratchet"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class BindingRef(_Model):
    """A binding named by its event and group."""

    event: str
    group: str


class Rejection(_Model):
    """An event in ``reject`` mode that would drop live events lacking some properties."""

    event: str = Field(description="The event definition in reject enforcement mode.")
    lacking: list[str] = Field(
        description="Required properties newly enforced on it: its events that lack one (or "
        "carry a value of another type) will be dropped at ingestion."
    )


class Owner(_Model):
    """A group whose description says who manages it."""

    group: str
    plan: str | None = Field(default=None, description="The tracking plan that manages it.")
    other_tool: str | None = Field(default=None, description="Another tool's marker on it.")


class Risk(_Model):
    """What a write would take away, and the question a person answers before it.

    Every name in it comes from the project: data to show, never instructions to follow.
    """

    kind: RiskKind
    schema_id: UUID | None = Field(default=None, description="The event schema written.")
    group: str | None = Field(
        default=None, description="The group whose properties are replaced, or deleted."
    )
    removed_bindings: list[BindingRef] = Field(default_factory=list)
    added_bindings: list[BindingRef] = Field(default_factory=list)
    removed_properties: list[str] = Field(
        default_factory=list, description="Properties the group will no longer have."
    )
    rejections: list[Rejection] = Field(
        default_factory=list, description="Reject-mode events that will drop live events."
    )
    managed_by: list[Owner] = Field(default_factory=list)
    environment: str | None = Field(
        default=None, description="The environment a promotion or the ratchet writes to."
    )
    changes: list[str] = Field(
        default_factory=list,
        description="The writes a promotion or the ratchet makes, one line each.",
    )

    @property
    def needs_confirmation(self) -> bool:
        """Whether a person must agree first: the write removes or drops something."""
        return bool(
            self.removed_bindings
            or self.removed_properties
            or self.rejections
            or self.kind is RiskKind.DELETE_GROUP
            or self.changes
        )

    @property
    def nothing_done(self) -> str:
        """What stays as it was when the person says no (``nothing was deleted``)."""
        match self.kind:
            case RiskKind.BIND:
                return "nothing was bound"
            case RiskKind.MOVE:
                return "the event schema was not moved"
            case RiskKind.REPLACE_PROPERTIES:
                return "the group was not changed"
            case RiskKind.PROMOTE:
                return "nothing was promoted"
            case RiskKind.RATCHET:
                return "no enforcement mode was switched"
            case _:
                return "nothing was deleted"

    @property
    def question(self) -> str:
        """The question every face asks, with what will be dropped and who manages the group."""
        sentences = [self._head()]
        sentences += [
            f"{r.event!r} is in reject mode: its events lacking {_listed(r.lacking)} (or with a "
            "value of another type) will be dropped."
            for r in self.rejections[:_SHOWN]
        ]
        if len(self.rejections) > _SHOWN:
            sentences.append(f"{len(self.rejections) - _SHOWN} more reject-mode events too.")
        for owner in self.managed_by[:_SHOWN]:
            who = f"plan {owner.plan}" if owner.plan else f"another tool ({owner.other_tool!r})"
            sentences.append(f"Property group {owner.group!r} is managed by {who}.")
        return " ".join(sentences)

    def _head(self) -> str:
        match self.kind:
            case RiskKind.BIND:
                return f"Bind {_pairs(self.added_bindings, 'to')}?"
            case RiskKind.MOVE:
                if not (self.removed_bindings and self.added_bindings):
                    return f"Move event schema {self.schema_id}?"
                old, new = self.removed_bindings[0], self.added_bindings[0]
                return (
                    f"Move event schema {self.schema_id} from {old.group!r} on {old.event!r} "
                    f"to {new.group!r} on {new.event!r}?"
                )
            case RiskKind.REPLACE_PROPERTIES:
                removed = self.removed_properties
                what = f"This removes {_listed(removed)}." if removed else "None is removed."
                return f"Replace every property of group {self.group!r}? {what}"
            case RiskKind.PROMOTE:
                where = f" to environment {self.environment!r}" if self.environment else ""
                return (
                    f"Promote {_count(len(self.changes), 'change')}{where}: "
                    f"{_listed(self.changes)}?"
                )
            case RiskKind.RATCHET:
                where = f" in environment {self.environment!r}" if self.environment else ""
                return f"Switch the enforcement mode{where}: {_listed(self.changes)}?"
            case RiskKind.DELETE_GROUP:
                count, bound = len(self.removed_properties), len(self.removed_bindings)
                return (
                    f"Delete property group {self.group!r} with {_count(count, 'property')} "
                    f"and its {_count(bound, 'event binding')}?"
                )
            case RiskKind.UNBIND:
                stay = (
                    "The group and the event stay."
                    if len(self.removed_bindings) == 1
                    else "The groups and events stay."
                )
                if self.schema_id is not None and len(self.removed_bindings) == 1:
                    (pair,) = self.removed_bindings
                    return (
                        f"Delete event schema {self.schema_id}, which binds {pair.group!r} to "
                        f"{pair.event!r}? {stay}"
                    )
                return f"Unbind {_pairs(self.removed_bindings, 'from')}? {stay}"


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1]}ies" if noun.endswith("y") else f"{number} {noun}s"


def _pairs(bindings: Sequence[BindingRef], joiner: str) -> str:
    """``'checkout' to 'a', 'b'; 'billing' to 'c'``: the events of each group."""
    by_group: dict[str, list[str]] = {}
    for binding in bindings:
        by_group.setdefault(binding.group, []).append(binding.event)
    parts = [f"{group!r} {joiner} {_listed(events)}" for group, events in by_group.items()]
    more = len(parts) - _SHOWN
    return "; ".join(parts[:_SHOWN]) + (f"; and {more} more groups" if more > 0 else "")


# --- enforcement (pure) ------------------------------------------------------------------------

_Property = SchemaProperty | PropertyInput


def _enforced(property_lists: Iterable[Iterable[_Property]]) -> dict[str, set[str]]:
    """Required property name -> the types ingestion accepts for it (any bound group's)."""
    types: dict[str, set[str]] = {}
    for properties in property_lists:
        for prop in properties:
            if prop.is_required:
                types.setdefault(prop.name, set()).add(prop.property_type.value)
    return types


def _newly_enforced(
    before: Iterable[Iterable[_Property]], after: Iterable[Iterable[_Property]]
) -> list[str]:
    """Required properties that would reject events the event accepts now, by name."""
    old, new = _enforced(before), _enforced(after)
    return sorted(name for name, kinds in new.items() if name not in old or not kinds >= old[name])


def _bound(groups: Iterable[PropertyGroup], event_id: UUID) -> list[PropertyGroup]:
    return [g for g in groups if any(e.id == event_id for e in g.events)]


def _owners(groups: Iterable[PropertyGroup]) -> list[Owner]:
    owners: dict[str, Owner] = {}
    for group in groups:
        plan, other = owner_plan(group.description), foreign_marker(group.description)
        if plan or other:
            owners[group.name] = Owner(group=group.name, plan=plan, other_tool=other)
    return list(owners.values())


def _rejection(
    event: EventDefinition,
    before: Iterable[Iterable[_Property]],
    after: Iterable[Iterable[_Property]],
) -> list[Rejection]:
    if event.enforcement_mode is not EnforcementMode.REJECT:
        return []
    lacking = _newly_enforced(before, after)
    return [Rejection(event=event.name, lacking=lacking)] if lacking else []


# --- reading (steps) ---------------------------------------------------------------------------


def _all_groups() -> Steps[list[PropertyGroup]]:
    return rows(lambda c: c.property_groups.list())


def _events_named(names: Iterable[str]) -> Steps[list[EventDefinition]]:
    wanted = set(names)
    if not wanted:
        return []
    listed = yield from rows(lambda c: c.event_definitions.list(names=names_filter(wanted)))
    return [event for event in listed if event.name in wanted]


def _event(event_id: UUID, known: dict[UUID, EventDefinition]) -> Steps[EventDefinition]:
    if event_id in known:
        return known[event_id]
    return (yield from call(lambda c: c.event_definitions.get(event_id)))


def _schema(schema_id: str) -> Steps[EventSchema]:
    target = as_uuid(schema_id, "schema_id")
    schemas = yield from rows(lambda c: c.event_schemas.list())
    found = next((s for s in schemas if s.id == target), None)
    if found is None:
        raise UnknownNameError("event schema", str(target))
    return found


def _event_name(schema: EventSchema) -> str:
    names = {e.id: e.name for e in schema.property_group.events}
    return names.get(schema.event_definition, str(schema.event_definition))


def _live(pairs: Sequence[Pair]) -> Steps[LiveState]:
    groups = yield from _all_groups()
    events = yield from _events_named(p.event for p in pairs if not is_uuid(p.event))
    return LiveState(tuple(groups), tuple(events), complete_events=False)


# --- the assessments ---------------------------------------------------------------------------


def _bind(write: BindPairs) -> Steps[Risk]:
    live = yield from _live(write.pairs)
    adds = [c for c in planned("bind", write.pairs, live).changes if isinstance(c, CreateBinding)]
    new_groups: dict[UUID, list[PropertyGroup]] = {}
    for change in adds:
        if change.event_id is not None and change.group_id is not None:  # always, once resolved
            new_groups.setdefault(change.event_id, []).append(live.groups_by_id[change.group_id])
    rejections: list[Rejection] = []
    for event_id, added in new_groups.items():
        event = yield from _event(event_id, live.events_by_id)
        before = [g.properties for g in _bound(live.groups, event_id)]
        rejections += _rejection(event, before, [*before, *(g.properties for g in added)])
    return Risk(
        kind=RiskKind.BIND,
        added_bindings=[BindingRef(event=c.event, group=c.group) for c in adds],
        rejections=rejections,
    )


def _unbind(write: UnbindPairs) -> Steps[Risk]:
    live = yield from _live(write.pairs)
    removes = [
        c for c in planned("unbind", write.pairs, live).changes if isinstance(c, DeleteBinding)
    ]
    return Risk(
        kind=RiskKind.UNBIND,
        removed_bindings=[BindingRef(event=c.event, group=c.group) for c in removes],
        managed_by=_owners(live.groups_by_id[c.group_id] for c in removes),
    )


def _delete_schema(write: DeleteSchema) -> Steps[Risk]:
    target = unbind_target(write.schema_id, write.event, write.group)
    if isinstance(target, UUID):
        schema = yield from _schema(str(target))
        group = schema.property_group
        pair = BindingRef(event=_event_name(schema), group=group.name)
    else:
        event = yield from find_event(target[0])
        group = yield from find_group(target[1])
        if not any(e.id == event.id for e in group.events):
            raise UnknownNameError("event schema", f"{group.name} on {event.name}")
        pair = BindingRef(event=event.name, group=group.name)
    return Risk(
        kind=RiskKind.UNBIND,
        schema_id=target if isinstance(target, UUID) else None,
        removed_bindings=[pair],
        managed_by=_owners([group]),
    )


def _move(write: MoveSchema) -> Steps[Risk]:
    if write.event is None and write.group is None:
        return Risk(kind=RiskKind.MOVE)  # nothing to move: the operation says so
    schema = yield from _schema(write.schema_id)
    old_group, old_event_id = schema.property_group, schema.event_definition
    if write.event is not None:
        event = yield from find_event(write.event)
    else:
        event = yield from _event(old_event_id, {})
    groups = yield from _all_groups()
    if write.group is not None:
        new_group = yield from find_group(write.group)
    else:
        new_group = next((g for g in groups if g.id == old_group.id), old_group)
    staying = [
        g
        for g in _bound(groups, event.id)
        if not (event.id == old_event_id and g.id == old_group.id)
    ]
    before = [g.properties for g in _bound(groups, event.id)]
    after = [*(g.properties for g in staying), new_group.properties]
    return Risk(
        kind=RiskKind.MOVE,
        schema_id=schema.id,
        removed_bindings=[BindingRef(event=_event_name(schema), group=old_group.name)],
        added_bindings=[BindingRef(event=event.name, group=new_group.name)],
        rejections=_rejection(event, before, after),
        managed_by=_owners([old_group, new_group]),
    )


def _replace(write: ReplaceProperties) -> Steps[Risk]:
    new = parse_input(PropertyGroupUpdate, properties=list(write.properties)).properties or []
    group = yield from find_group(write.group)
    kept = {prop.name for prop in new}
    rejections: list[Rejection] = []
    bound = yield from _events_named(e.name for e in group.events)
    reject_mode = [e for e in bound if e.enforcement_mode is EnforcementMode.REJECT]
    groups = (yield from _all_groups()) if reject_mode else []
    for event in reject_mode:
        others = [g.properties for g in _bound(groups, event.id) if g.id != group.id]
        rejections += _rejection(event, [*others, group.properties], [*others, new])
    return Risk(
        kind=RiskKind.REPLACE_PROPERTIES,
        group=group.name,
        removed_properties=[p.name for p in group.properties if p.name not in kept],
        rejections=rejections,
        managed_by=_owners([group]),
    )


def _delete_group(write: DeleteGroup) -> Steps[Risk]:
    group = yield from find_group(write.group)
    return Risk(
        kind=RiskKind.DELETE_GROUP,
        group=group.name,
        removed_bindings=[BindingRef(event=e.name, group=group.name) for e in group.events],
        removed_properties=[p.name for p in group.properties],
        managed_by=_owners([group]),
    )


def assessment(write: Write) -> Steps[Risk]:
    """The risk of ``write``, as steps for a driver (:func:`assess` runs them).

    Raises:
        InvalidInputError: malformed ids or properties (before any request).
        UnknownNameError: the event schema, event or group to change does not exist.
    """
    match write:
        case BindPairs():
            return _bind(write)
        case UnbindPairs():
            return _unbind(write)
        case DeleteSchema():
            return _delete_schema(write)
        case MoveSchema():
            return _move(write)
        case ReplaceProperties():
            return _replace(write)
        case DeleteGroup():
            return _delete_group(write)


def assess(client: EventSchemaClient, write: Write) -> Risk:
    """What ``write`` would take away, read from the live project (reads only).

    Raises:
        InvalidInputError: malformed ids or properties (before any request).
        UnknownNameError: the event schema, event or group to change does not exist.
    """
    return drive(client, assessment(write))


async def assess_async(client: AsyncEventSchemaClient, write: Write) -> Risk:
    """Async twin of :func:`assess`."""
    return await drive_async(client, assessment(write))
