"""A snapshot of a project's groups, bindings and event definitions, read with few requests.

The property-group list carries every binding (each group's ``events``), so a snapshot costs
the group list plus the event definitions the plan names: one ``names=`` request when the names
fit in one URL, else the whole list with large pages. The event-schema list (whose rows embed a
full group each) is not read at all.

PostHog pages lists by limit and offset, so a list read in several pages while others write may
skip a row (one removed above the cursor moves every later row up). A list that fit in one page
was one query and is trusted; a longer one is read again until two reads agree
(:func:`read_settled`). Event definitions are not read twice (new events arrive all the time):
a bound event the list skipped is read by id instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, TypeVar
from uuid import UUID

from eventschema_tools.errors import EventSchemaError, NotFoundError
from eventschema_tools.models import EventDefinition, PropertyGroup

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = ["LiveState", "names_filter", "one_page", "read_settled", "read_settled_async"]

# Event names sent in one `names=` filter; more than this and the whole list is read instead.
_NAMES_FILTER_MAX_CHARS = 1500
# Reads of a list spanning several pages before giving up on two that agree.
_SETTLE_READS = 5


class _Row(Protocol):
    @property
    def id(self) -> UUID: ...


R = TypeVar("R", bound=_Row)


def one_page(rows: Sequence[object], page_size: int) -> bool:
    """Whether a listing read with ``page_size`` rows a page fit in its first page: then the
    server answered it with one query, and no write can have shifted it."""
    return len(rows) < page_size


def _settled(rows: Sequence[_Row], previous: frozenset[UUID] | None, page_size: int) -> bool:
    """Whether a listing can be trusted: it fit in one page, or it holds the same rows as the
    read before it."""
    return one_page(rows, page_size) or frozenset(row.id for row in rows) == previous


def _unsettled(what: str) -> EventSchemaError:
    return EventSchemaError(
        f"the {what} list kept changing while it was read ({_SETTLE_READS} reads): other "
        "writers are busy on this project; try again"
    )


def read_settled(read: Callable[[], Iterator[R]], page_size: int, what: str) -> list[R]:
    """Read a list until it can be trusted (see the module's docstring).

    Args:
        read: starts one read of the whole list.
        page_size: rows per page of that read.
        what: the list's name, for the error.

    Raises:
        EventSchemaError: no two reads agreed.
    """
    previous: frozenset[UUID] | None = None
    for _ in range(_SETTLE_READS):
        rows = list(read())
        if _settled(rows, previous, page_size):
            return rows
        previous = frozenset(row.id for row in rows)
    raise _unsettled(what)


async def read_settled_async(
    read: Callable[[], AsyncIterator[R]], page_size: int, what: str
) -> list[R]:
    """Async twin of :func:`read_settled`."""
    previous: frozenset[UUID] | None = None
    for _ in range(_SETTLE_READS):
        rows = [row async for row in read()]
        if _settled(rows, previous, page_size):
            return rows
        previous = frozenset(row.id for row in rows)
    raise _unsettled(what)


def _unlisted(groups: Iterable[PropertyGroup], events: Iterable[EventDefinition]) -> list[UUID]:
    """Bound events the event list did not show (it shifted while it was read)."""
    listed = {event.id for event in events}
    return sorted({bound.id for group in groups for bound in group.events} - listed)


def names_filter(names: Collection[str]) -> list[str] | None:
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
        groups = tuple(
            read_settled(client.property_groups.list, client.page_size, "property group")
        )
        if event_names is not None and not event_names:
            return cls(groups, (), complete_events=False)
        names = names_filter(event_names) if event_names is not None else None
        events = tuple(client.event_definitions.list(names=names))
        if event_names is None:
            for event_id in _unlisted(groups, events):
                try:
                    events += (client.event_definitions.get(event_id),)
                except NotFoundError:
                    continue  # deleted meanwhile, and its bindings with it
        return cls._of(groups, events, event_names)

    @classmethod
    async def read_async(
        cls, client: AsyncEventSchemaClient, *, event_names: Collection[str] | None = None
    ) -> LiveState:
        """Async twin of :meth:`read`."""
        groups = tuple(
            await read_settled_async(
                client.property_groups.list, client.page_size, "property group"
            )
        )
        if event_names is not None and not event_names:
            return cls(groups, (), complete_events=False)
        names = names_filter(event_names) if event_names is not None else None
        events = tuple([event async for event in client.event_definitions.list(names=names)])
        if event_names is None:
            for event_id in _unlisted(groups, events):
                try:
                    events += (await client.event_definitions.get(event_id),)
                except NotFoundError:
                    continue  # deleted meanwhile, and its bindings with it
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
