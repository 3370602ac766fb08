"""The project's schema catalog by name: pages to read and single changes, as compact views.

:class:`AsyncCatalog` is what an interactive caller (the MCP server) needs on top of the
client: events and groups given by name or id (:mod:`.resolve`), pages with cursors, and
results as :mod:`.views`. Every method is one short sequence of
client calls; request costs are noted per method.

Example::

    async with AsyncEventSchemaClient.from_env() as client:
        catalog = AsyncCatalog(client)
        outcome = await catalog.bind(event="checkout_completed", group="billing")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from eventschema_tools.catalog.paging import Window, take_async
from eventschema_tools.catalog.resolve import AsyncResolver
from eventschema_tools.catalog.views import (
    BindingPage,
    BindingView,
    BindOutcome,
    EventPage,
    EventView,
    GroupPage,
    GroupSummary,
    GroupView,
    UnbindOutcome,
)
from eventschema_tools.errors import (
    BadRequestError,
    InvalidInputError,
    NotFoundError,
    UnknownNameError,
)
from eventschema_tools.models import EventSchema, PropertyGroup, as_uuid

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient
    from eventschema_tools.resources.property_groups import PropertySpec

__all__ = ["AsyncCatalog"]


class AsyncCatalog:
    """Read and change one project's event schemas and property groups by name.

    Args:
        client: the client of the project to act on.
    """

    def __init__(self, client: AsyncEventSchemaClient) -> None:
        self.client = client
        self.resolve = AsyncResolver(client)

    # --- event schemas --------------------------------------------------------------------------

    async def bindings(
        self, *, event: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> BindingPage:
        """One page of event schemas, newest first, optionally of one event (name or id).

        Costs one list request (plus one lookup when ``event`` is a name).
        """
        window = Window(cursor, limit)
        event_id = (await self.resolve.event(event)).id if event else None
        rows = self.client.event_schemas.list(
            event_definition=event_id, page_size=window.rows_needed
        )
        schemas, next_cursor = window.cut(await take_async(rows, window.rows_needed))
        return BindingPage(
            items=[BindingView.from_schema(s) for s in schemas], next_cursor=next_cursor
        )

    async def bind(self, *, event: str, group: str) -> BindOutcome:
        """Bind a group to an event; an existing binding is returned as is (``created=False``).

        Costs the two lookups and one create (one more list when the pair already exists).
        """
        event_definition = await self.resolve.event(event)
        property_group = await self.resolve.group(group)
        try:
            schema = await self.client.event_schemas.create(
                event_definition=event_definition.id, property_group_id=property_group.id
            )
        except BadRequestError as exc:
            existing = await self._find(exc, event_definition.id, property_group.id)
            return BindOutcome(binding=BindingView.from_schema(existing), created=False)
        return BindOutcome(binding=BindingView.from_schema(schema), created=True)

    async def _find(self, exc: BadRequestError, event_id: UUID, group_id: UUID) -> EventSchema:
        found = None
        if exc.is_duplicate:
            found = await self.client.event_schemas.find(
                event_definition=event_id, property_group_id=group_id
            )
        if found is None:
            raise exc
        return found

    async def move(
        self, schema_id: str, *, event: str | None = None, group: str | None = None
    ) -> BindingView:
        """Point an event schema at another event and/or group (names or ids).

        Raises:
            InvalidInputError: neither ``event`` nor ``group`` was given.
        """
        if event is None and group is None:
            raise InvalidInputError(
                "nothing to change: give the event and/or the group to move the schema to",
                [("event", "missing"), ("group", "missing")],
            )
        event_id = (await self.resolve.event(event)).id if event is not None else None
        group_id = (await self.resolve.group(group)).id if group is not None else None
        try:
            schema = await self.client.event_schemas.update(
                schema_id, event_definition=event_id, property_group_id=group_id
            )
        except NotFoundError:
            raise UnknownNameError("event schema", schema_id) from None
        return BindingView.from_schema(schema)

    async def unbind(
        self,
        *,
        schema_id: str | None = None,
        event: str | None = None,
        group: str | None = None,
    ) -> UnbindOutcome:
        """Delete one event schema, given by id or by its event and group (names or ids).

        The event and the group stay; only the binding goes.

        Raises:
            InvalidInputError: neither an id nor both the event and the group were given.
            UnknownNameError: no such event schema (nothing was deleted).
        """
        if schema_id is not None:
            target = as_uuid(schema_id, "schema_id")
            try:
                await self.client.event_schemas.delete(target)
            except NotFoundError:
                raise UnknownNameError("event schema", schema_id) from None
            return UnbindOutcome(deleted=True, id=target)
        if event is None or group is None:
            raise InvalidInputError(
                "say which event schema to delete: its id, or both the event and the group",
                [("schema_id", "missing")],
            )
        event_definition = await self.resolve.event(event)
        property_group = await self.resolve.group(group)
        schema = await self.client.event_schemas.find(
            event_definition=event_definition.id, property_group_id=property_group.id
        )
        if schema is None:
            raise UnknownNameError(
                "event schema", f"{property_group.name} on {event_definition.name}"
            )
        await self.client.event_schemas.delete(schema.id)
        return UnbindOutcome(
            deleted=True,
            id=schema.id,
            event_name=event_definition.name,
            group_name=property_group.name,
        )

    # --- property groups ------------------------------------------------------------------------

    async def groups(
        self, *, search: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> GroupPage:
        """One page of property groups by name; ``search`` keeps names containing it.

        Costs one list request (the group list is read whole and filtered here).
        """
        window = Window(cursor, limit)
        wanted = (search or "").strip().casefold()
        listed = [g async for g in self.client.property_groups.list()]
        matching = [g for g in listed if wanted in g.name.casefold()]
        page, next_cursor = window.cut(matching)
        return GroupPage(items=[GroupSummary.from_group(g) for g in page], next_cursor=next_cursor)

    async def group(self, ref: str) -> GroupView:
        """One property group (name or id) with its properties and bound events."""
        return GroupView.from_group(await self.resolve.group(ref))

    async def create_group(
        self, *, name: str, description: str = "", properties: Sequence[PropertySpec] = ()
    ) -> GroupView:
        """Create a property group (one request; input is checked before it is sent)."""
        created = await self.client.property_groups.create(
            name=name, description=description, properties=properties
        )
        return GroupView.from_group(created)

    async def update_group(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Sequence[PropertySpec] | None = None,
    ) -> GroupView:
        """Change a group (name or id). ``properties``, when given, replace the whole list.

        Raises:
            InvalidInputError: nothing to change was given.
        """
        if name is None and description is None and properties is None:
            raise InvalidInputError(
                "nothing to change: give a new name, description or properties",
                [("name", "missing")],
            )
        target: PropertyGroup = await self.resolve.group(ref)
        updated = await self.client.property_groups.update(
            target.id, name=name, description=description, properties=properties
        )
        return GroupView.from_group(updated)

    # --- event definitions ----------------------------------------------------------------------

    async def events(
        self, *, search: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> EventPage:
        """One page of event definitions (every word of ``search`` must match), with the
        groups bound to each.

        Costs one list request of events and one of groups.
        """
        window = Window(cursor, limit)
        rows = self.client.event_definitions.list(search=search, page_size=window.rows_needed)
        events, next_cursor = window.cut(await take_async(rows, window.rows_needed))
        groups = [g async for g in self.client.property_groups.list()]
        return EventPage(
            items=[EventView.from_event(e, groups) for e in events], next_cursor=next_cursor
        )
