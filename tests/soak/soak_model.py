"""The soak's oracle: the expected state of a project, kept in plain Python.

Nothing here imports the code under test. A `Model` holds what one workload partition should
have created (objects whose names start with its prefix); `read_store` reads what the sandbox
really holds straight from its SQLite store, and `compare` lists every difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eventschema_tools.sandbox.storage.store import DefinitionQuery, Store

# (name, type, required): the soak never sets optional_in_types or property descriptions.
Prop = tuple[str, str, bool]

PROJECT_ID = 1
_EVERYTHING = 1_000_000


@dataclass
class Group:
    """An expected property group."""

    id: str
    name: str
    description: str
    properties: frozenset[Prop]
    plan_owned: bool = False


@dataclass
class Event:
    """An expected event definition ("" and no description are the same to PostHog's UI)."""

    id: str
    name: str
    description: str = ""


@dataclass
class Model:
    """Expected groups, events and bindings of one partition (names starting with `prefix`).

    `bindings` maps (event id, group id) to the binding's id, or None while it is unknown
    (bulk bind and apply do not return the ids they create).
    """

    prefix: str
    groups: dict[str, Group] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    bindings: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def group_named(self, name: str) -> Group | None:
        """The expected group with this name."""
        return next((group for group in self.groups.values() if group.name == name), None)

    def event_named(self, name: str) -> Event | None:
        """The expected event with this name."""
        return next((event for event in self.events.values() if event.name == name), None)

    def delete_group(self, group_id: str) -> None:
        """A group goes, and every binding that uses it with it."""
        del self.groups[group_id]
        self.bindings = {pair: s for pair, s in self.bindings.items() if pair[1] != group_id}

    def delete_event(self, event_id: str) -> None:
        """An event definition goes, and every binding of it with it."""
        del self.events[event_id]
        self.bindings = {pair: s for pair, s in self.bindings.items() if pair[0] != event_id}

    def bindings_of_group(self, group_id: str) -> set[str]:
        """Ids of the events bound to a group."""
        return {event_id for event_id, bound_group in self.bindings if bound_group == group_id}

    def schema_ids(self) -> dict[str, tuple[str, str]]:
        """Known binding ids and their (event id, group id)."""
        return {schema: pair for pair, schema in self.bindings.items() if schema is not None}


@dataclass(frozen=True)
class Snapshot:
    """What the sandbox holds, normalised like the model."""

    groups: dict[str, Group]
    events: dict[str, Event]
    bindings: dict[tuple[str, str], str]


def read_store(store: Store) -> Snapshot:
    """Read every group, event definition and binding of the project straight from the store.

    The reads run in one store transaction: the server keeps writing from its own thread, and
    a listing made of several statements could otherwise see a group deleted half-way.
    """
    with store.transaction():
        _, group_rows = store.list_property_groups(PROJECT_ID, _EVERYTHING, 0)
        _, event_rows = store.list_event_definitions(
            PROJECT_ID, DefinitionQuery(limit=_EVERYTHING, offset=0)
        )
        _, schema_rows = store.list_event_schemas(PROJECT_ID, _EVERYTHING, 0)
    groups = {
        row.id: Group(
            id=row.id,
            name=row.name,
            description=row.description,
            properties=frozenset((p.name, p.property_type, p.is_required) for p in row.properties),
        )
        for row in group_rows
    }
    events = {
        row.id: Event(id=row.id, name=row.name, description=row.description or "")
        for row in event_rows
    }
    bindings = {(row.event_definition_id, row.property_group.id): row.id for row in schema_rows}
    return Snapshot(groups, events, bindings)


def _partition(snapshot: Snapshot, prefix: str) -> Snapshot:
    groups = {k: g for k, g in snapshot.groups.items() if g.name.startswith(prefix)}
    events = {k: e for k, e in snapshot.events.items() if e.name.startswith(prefix)}
    bindings = {pair: s for pair, s in snapshot.bindings.items() if pair[0] in events}
    return Snapshot(groups, events, bindings)


def compare(model: Model, snapshot: Snapshot) -> list[str]:
    """Every difference between a partition's model and the sandbox's state of it."""
    live = _partition(snapshot, model.prefix)
    problems: list[str] = []
    problems += _compare_objects("group", model.groups, live.groups, _group_view)
    problems += _compare_objects("event", model.events, live.events, _event_view)
    for pair in sorted(model.bindings.keys() - live.bindings.keys()):
        problems.append(f"lost binding {_pair_name(model, pair)}")
    for pair in sorted(live.bindings.keys() - model.bindings.keys()):
        problems.append(f"unexpected binding {pair} (id {live.bindings[pair]})")
    for pair, schema in model.bindings.items():
        if schema is not None and pair in live.bindings and live.bindings[pair] != schema:
            problems.append(f"binding {_pair_name(model, pair)} has id {live.bindings[pair]}")
    return problems


def strays(snapshot: Snapshot, prefixes: Iterable[str]) -> list[str]:
    """Objects no partition created (a create that landed under a name nobody asked for)."""
    known = tuple(prefixes)
    names = [g.name for g in snapshot.groups.values()] + [e.name for e in snapshot.events.values()]
    return [f"stray object {name!r}" for name in names if not name.startswith(known)]


def _group_view(group: Group) -> tuple[Any, ...]:
    return (group.name, group.description, group.properties)


def _event_view(event: Event) -> tuple[Any, ...]:
    return (event.name, event.description)


def _compare_objects(
    kind: str, expected: dict[str, Any], live: dict[str, Any], view: Any
) -> list[str]:
    problems = [f"lost {kind} {expected[k].name!r}" for k in sorted(expected.keys() - live.keys())]
    problems += [
        f"unexpected {kind} {live[k].name!r}" for k in sorted(live.keys() - expected.keys())
    ]
    for key in sorted(expected.keys() & live.keys()):
        if view(expected[key]) != view(live[key]):
            problems.append(f"{kind} {key}: expected {view(expected[key])}, got {view(live[key])}")
    return problems


def _pair_name(model: Model, pair: tuple[str, str]) -> str:
    event = model.events.get(pair[0])
    group = model.groups.get(pair[1])
    return f"{group.name if group else pair[1]!r} -> {event.name if event else pair[0]!r}"
