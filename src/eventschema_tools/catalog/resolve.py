"""Find event definitions and property groups by name or id, suggesting close names on a miss.

People and assistants name things (``checkout_completed``, ``billing``); the API wants UUIDs.
A reference that parses as a UUID is looked up by id, anything else by exact name. When
nothing matches, :class:`~eventschema_tools.errors.UnknownNameError` carries the existing names
closest to what was asked for, so the caller can correct a typo in one step.

Costs: an event by name is one ``by_name`` request (plus a few bounded searches on a miss);
a group by name reads the group list once (groups are few).

The lookups are written once as steps (:func:`find_event`, :func:`find_group`, see
:mod:`.steps`); :class:`Resolver` and :class:`AsyncResolver` run them with either client.

Example::

    resolver = Resolver(client)
    event = resolver.event("checkout_completed")
    group = resolver.group("billing")
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING
from uuid import UUID

from eventschema_tools.catalog.steps import Steps, call, drive, drive_async, rows
from eventschema_tools.errors import NotFoundError, UnknownNameError
from eventschema_tools.models import EventDefinition, PropertyGroup

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "AsyncResolver",
    "Resolver",
    "close_names",
    "find_event",
    "find_group",
    "is_uuid",
    "search_terms",
]

MAX_SUGGESTIONS = 5
# Rows read per suggestion search: enough to rank, small enough to stay one cheap request.
SEARCH_ROWS = 100
_WORDS = re.compile(r"[^\W_]{3,}", re.UNICODE)


def is_uuid(ref: str) -> bool:
    """Whether ``ref`` is written as a UUID (and so names an object by id)."""
    try:
        UUID(ref.strip())
    except ValueError:
        return False
    return True


def close_names(name: str, candidates: Iterable[str], limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Existing names closest to ``name``, best first; case never hides a match.

    Names equal to ``name`` but for case come first (all of them: ``Checkout`` and
    ``CHECKOUT`` may both exist), then names by similarity, then names that contain the given
    one (or are contained in it); every comparison ignores case.
    """
    wanted = name.strip().casefold()
    spellings: dict[str, list[str]] = {}
    for candidate in dict.fromkeys(candidates):
        spellings.setdefault(candidate.casefold(), []).append(candidate)
    ranked = [wanted] if wanted in spellings else []
    ranked += difflib.get_close_matches(wanted, list(spellings), n=limit, cutoff=0.6)
    ranked += [folded for folded in spellings if wanted and (wanted in folded or folded in wanted)]
    names = (spelling for folded in dict.fromkeys(ranked) for spelling in spellings[folded])
    return list(islice(names, limit))


def search_terms(name: str) -> list[str]:
    """Searches that find names close to ``name``: the name itself, then its two longest words.

    PostHog's event search matches substrings, so a typo in one word is still found through
    the other words.
    """
    words = sorted(set(_WORDS.findall(name)), key=len, reverse=True)[:2]
    return list(dict.fromkeys([name.strip(), *words]))


def _group_by_name(groups: Iterable[PropertyGroup], name: str) -> PropertyGroup:
    listed = list(groups)
    for group in listed:
        if group.name == name.strip():
            return group
    raise UnknownNameError("property group", name, close_names(name, (g.name for g in listed)))


def find_event(ref: str) -> Steps[EventDefinition]:
    """The event definition named ``ref`` (or with id ``ref``), as steps for a driver.

    Raises:
        UnknownNameError: no such event; ``suggestions`` lists close names.
    """
    try:
        if is_uuid(ref):
            return (yield from call(lambda c: c.event_definitions.get(ref)))
        return (yield from call(lambda c: c.event_definitions.get_by_name(ref)))
    except NotFoundError:
        suggestions = [] if is_uuid(ref) else (yield from _event_suggestions(ref))
        raise UnknownNameError("event", ref, suggestions) from None


def find_group(ref: str) -> Steps[PropertyGroup]:
    """The property group named ``ref`` (or with id ``ref``), as steps for a driver.

    Raises:
        UnknownNameError: no such group; ``suggestions`` lists close names.
    """
    if not is_uuid(ref):
        return _group_by_name((yield from rows(lambda c: c.property_groups.list())), ref)
    try:
        return (yield from call(lambda c: c.property_groups.get(ref)))
    except NotFoundError:
        raise UnknownNameError("property group", ref) from None


def _event_suggestions(ref: str) -> Steps[list[str]]:
    seen: list[str] = []
    for term in search_terms(ref):
        seen += [event.name for event in (yield from _search(term))]
    return close_names(ref, seen)


def _search(term: str) -> Steps[list[EventDefinition]]:
    return rows(lambda c: c.event_definitions.list(search=term, max_rows=SEARCH_ROWS), SEARCH_ROWS)


class Resolver:
    """Name-or-id lookups on a :class:`EventSchemaClient` (sync twin of :class:`AsyncResolver`)."""

    def __init__(self, client: EventSchemaClient) -> None:
        self._client = client

    def event(self, ref: str) -> EventDefinition:
        """Return the event definition named ``ref`` (or with id ``ref``).

        Raises:
            UnknownNameError: no such event; ``suggestions`` lists close names.
        """
        return drive(self._client, find_event(ref))

    def group(self, ref: str) -> PropertyGroup:
        """Return the property group named ``ref`` (or with id ``ref``).

        Raises:
            UnknownNameError: no such group; ``suggestions`` lists close names.
        """
        return drive(self._client, find_group(ref))


class AsyncResolver:
    """Name-or-id lookups on an :class:`AsyncEventSchemaClient` (the steps of :class:`Resolver`)."""

    def __init__(self, client: AsyncEventSchemaClient) -> None:
        self._client = client

    async def event(self, ref: str) -> EventDefinition:
        """Async twin of :meth:`Resolver.event`."""
        return await drive_async(self._client, find_event(ref))

    async def group(self, ref: str) -> PropertyGroup:
        """Async twin of :meth:`Resolver.group`."""
        return await drive_async(self._client, find_group(ref))
