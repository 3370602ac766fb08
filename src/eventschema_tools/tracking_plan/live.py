"""A snapshot of a project's groups, bindings and event definitions, read with few requests.

The property-group list carries every binding (each group's ``events``), so a snapshot costs
the group list plus the event definitions the plan names: one ``names=`` request when the names
fit in one URL, else the whole list with large pages. The event-schema list (whose rows embed a
full group each) is not read at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING
from uuid import UUID

from eventschema_tools.models import EventDefinition, PropertyGroup

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = ["LiveState"]

# Event names sent in one `names=` filter; more than this and the whole list is read instead.
_NAMES_FILTER_MAX_CHARS = 1500


def _names_filter(names: Collection[str]) -> list[str] | None:
    """The ``names=`` filter for these event names, or ``None`` to read the whole list.

    PostHog splits ``names`` on commas, so names with a comma force the whole list; so does a
    set of names too long for one URL (several filtered pages would cost more than the list).
    """
    ordered = sorted(names)
    if any("," in name for name in ordered) or sum(len(n) + 1 for n in ordered) > (
        _NAMES_FILTER_MAX_CHARS
    ):
        return None
    return ordered


@dataclass(frozen=True)
class LiveState:
    """A snapshot of a project's property groups, bindings and event definitions.

    Attributes:
        groups: every property group, with its properties and bound events.
        events: the event definitions read (all of them, or the ones asked for).
        complete_events: False when only some event definitions were read.
    """

    groups: tuple[PropertyGroup, ...] = ()
    events: tuple[EventDefinition, ...] = ()
    complete_events: bool = True

    @cached_property
    def groups_by_name(self) -> dict[str, PropertyGroup]:
        """Groups by name."""
        return {group.name: group for group in self.groups}

    @cached_property
    def groups_by_id(self) -> dict[UUID, PropertyGroup]:
        """Groups by id."""
        return {group.id: group for group in self.groups}

    @cached_property
    def events_by_name(self) -> dict[str, EventDefinition]:
        """Event definitions by name."""
        return {event.name: event for event in self.events}

    @cached_property
    def events_by_id(self) -> dict[UUID, EventDefinition]:
        """Event definitions by id."""
        return {event.id: event for event in self.events}

    @cached_property
    def bindings(self) -> set[tuple[UUID, UUID]]:
        """Every binding as (event definition id, group id)."""
        return {(event.id, group.id) for group in self.groups for event in group.events}

    @classmethod
    def read(
        cls, client: EventSchemaClient, *, event_names: Collection[str] | None = None
    ) -> LiveState:
        """Read a snapshot with the fewest requests (lists use the client's ``page_size``).

        Args:
            client: the client.
            event_names: the event definitions needed; ``None`` reads them all.
        """
        groups = tuple(client.property_groups.list())
        if event_names is not None and not event_names:
            return cls(groups, (), complete_events=False)
        names = _names_filter(event_names) if event_names is not None else None
        events = tuple(client.event_definitions.list(names=names))
        return cls._of(groups, events, event_names)

    @classmethod
    async def read_async(
        cls, client: AsyncEventSchemaClient, *, event_names: Collection[str] | None = None
    ) -> LiveState:
        """Async twin of :meth:`read`."""
        groups = tuple([group async for group in client.property_groups.list()])
        if event_names is not None and not event_names:
            return cls(groups, (), complete_events=False)
        names = _names_filter(event_names) if event_names is not None else None
        events = tuple([event async for event in client.event_definitions.list(names=names)])
        return cls._of(groups, events, event_names)

    @classmethod
    def _of(
        cls,
        groups: tuple[PropertyGroup, ...],
        events: tuple[EventDefinition, ...],
        wanted: Collection[str] | None,
    ) -> LiveState:
        if wanted is None:
            return cls(groups, events, complete_events=True)
        keep = set(wanted)
        return cls(groups, tuple(e for e in events if e.name in keep), complete_events=False)
