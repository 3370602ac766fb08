"""The project's schema catalog by name: pages to read and single changes, as compact views.

:class:`Catalog` (sync, used by the CLI) and :class:`AsyncCatalog` (used by the MCP server) are
what a caller needs on top of the client: events and groups given by name or id
(:mod:`.resolve`), pages with cursors (:mod:`.paging`), and results as :mod:`.views`. Both run
the same operations: each is written once below as sans-I/O steps (:mod:`.steps`), which check
the arguments before any request, decide what an answer means and build the view; the two
classes only hand them to their driver. So a call behaves the same from every face: binding a
pair that already exists returns the existing binding with ``created=False``, from the CLI, the
MCP server or Python. Request costs are noted per method.

Example::

    with EventSchemaClient.from_env() as client:
        outcome = Catalog(client).bind(event="checkout_completed", group="billing")

    async with AsyncEventSchemaClient.from_env() as client:
        outcome = await AsyncCatalog(client).bind(event="checkout_completed", group="billing")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from eventschema_tools.catalog.paging import Window
from eventschema_tools.catalog.resolve import AsyncResolver, Resolver, find_event, find_group
from eventschema_tools.catalog.steps import Steps, call, drive, drive_async, rows
from eventschema_tools.catalog.views import (
    BindingPage,
    BindingView,
    BindOutcome,
    EventDetail,
    EventPage,
    EventView,
    GroupDeleteOutcome,
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
from eventschema_tools.models import (
    EventDefinition,
    EventSchema,
    PropertyGroup,
    PropertyGroupUpdate,
    as_uuid,
    parse_input,
)

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient
    from eventschema_tools.resources.property_groups import PropertySpec

__all__ = ["AsyncCatalog", "Catalog", "check_group_change", "unbind_target"]

T = TypeVar("T")

# --- argument checks (pure, before any request) ----------------------------------------------


def unbind_target(
    schema_id: str | None, event: str | None, group: str | None
) -> UUID | tuple[str, str]:
    """Which event schema an unbind names: its id, or its (event, group) pair.

    Raises:
        InvalidInputError: a malformed id, or neither an id nor both the event and the group.
    """
    if schema_id is not None:
        return as_uuid(schema_id, "schema_id")
    if event is None or group is None:
        raise InvalidInputError(
            "say which event schema to delete: its id, or both the event and the group",
            [("schema_id", "missing")],
        )
    return event, group


def check_group_change(
    name: str | None, description: str | None, properties: Sequence[PropertySpec] | None
) -> None:
    """Check a group update (something to change, valid fields) before the group is looked up.

    Raises:
        InvalidInputError: nothing to change, or a field the API would refuse.
    """
    if name is None and description is None and properties is None:
        raise InvalidInputError(
            "nothing to change: give a new name, description or properties",
            [("name", "missing")],
        )
    given = {
        "name": name,
        "description": description,
        "properties": properties,
    }
    parse_input(PropertyGroupUpdate, **{k: v for k, v in given.items() if v is not None})


# --- the operations, as steps ----------------------------------------------------------------


def _bindings(event: str | None, cursor: str | None, limit: int | None) -> Steps[BindingPage]:
    window = Window(cursor, limit)
    event_id = (yield from find_event(event)).id if event else None
    schemas = yield from rows(
        lambda c: c.event_schemas.list(event_definition=event_id, max_rows=window.rows_needed),
        window.rows_needed,
    )
    page, next_cursor = window.cut(schemas)
    return BindingPage(items=[BindingView.from_schema(s) for s in page], next_cursor=next_cursor)


def _find_pair(event_id: UUID, group_id: UUID) -> Steps[EventSchema | None]:
    return call(
        lambda c: c.event_schemas.find(event_definition=event_id, property_group_id=group_id)
    )


def _bind(event: str, group: str) -> Steps[BindOutcome]:
    event_definition = yield from find_event(event)
    property_group = yield from find_group(group)
    event_id, group_id = event_definition.id, property_group.id
    try:
        schema = yield from call(
            lambda c: c.event_schemas.create(event_definition=event_id, property_group_id=group_id)
        )
    except BadRequestError as exc:
        refused = exc
    else:
        return BindOutcome(binding=BindingView.from_schema(schema), created=True)
    # PostHog answers a second binding of the same pair with a 400 ("already exists"): the
    # binding the caller wants is there, so it is the result, not an error.
    existing = (yield from _find_pair(event_id, group_id)) if refused.is_duplicate else None
    if existing is None:
        raise refused
    return BindOutcome(binding=BindingView.from_schema(existing), created=False)


def _move(schema_id: str, event: str | None, group: str | None) -> Steps[BindingView]:
    if event is None and group is None:
        raise InvalidInputError(
            "nothing to change: give the event and/or the group to move the schema to",
            [("event", "missing"), ("group", "missing")],
        )
    target = as_uuid(schema_id, "schema_id")
    event_id = (yield from find_event(event)).id if event is not None else None
    group_id = (yield from find_group(group)).id if group is not None else None
    try:
        schema = yield from call(
            lambda c: c.event_schemas.update(
                target, event_definition=event_id, property_group_id=group_id
            )
        )
    except NotFoundError:
        raise UnknownNameError("event schema", schema_id) from None
    return BindingView.from_schema(schema)


def _pair(event: str, group: str) -> Steps[tuple[EventDefinition, PropertyGroup, EventSchema]]:
    event_definition = yield from find_event(event)
    property_group = yield from find_group(group)
    schema = yield from _find_pair(event_definition.id, property_group.id)
    if schema is None:
        raise UnknownNameError("event schema", f"{property_group.name} on {event_definition.name}")
    return event_definition, property_group, schema


def _binding(event: str, group: str) -> Steps[BindingView]:
    return BindingView.from_schema((yield from _pair(event, group))[2])


def _delete_schema(schema_id: UUID) -> Steps[None]:
    try:
        yield from call(lambda c: c.event_schemas.delete(schema_id))
    except NotFoundError:
        raise UnknownNameError("event schema", str(schema_id)) from None


def _unbind(schema_id: str | None, event: str | None, group: str | None) -> Steps[UnbindOutcome]:
    target = unbind_target(schema_id, event, group)
    if isinstance(target, UUID):
        yield from _delete_schema(target)
        return UnbindOutcome(deleted=True, id=target)
    event_definition, property_group, schema = yield from _pair(*target)
    try:
        yield from _delete_schema(schema.id)
    except UnknownNameError:
        # Unbound meanwhile: deleted only if a fresh read finds the pair bound again.
        again = yield from _find_pair(event_definition.id, property_group.id)
        if again is None:
            raise
        schema = again
        yield from _delete_schema(schema.id)
    return UnbindOutcome(
        deleted=True,
        id=schema.id,
        event_name=event_definition.name,
        group_name=property_group.name,
    )


def _groups(search: str | None, cursor: str | None, limit: int | None) -> Steps[GroupPage]:
    window = Window(cursor, limit)
    wanted = (search or "").strip().casefold()
    listed = yield from rows(lambda c: c.property_groups.list())
    page, next_cursor = window.cut(g for g in listed if wanted in g.name.casefold())
    return GroupPage(items=[GroupSummary.from_group(g) for g in page], next_cursor=next_cursor)


def _group(ref: str) -> Steps[GroupView]:
    return GroupView.from_group((yield from find_group(ref)))


def _create_group(
    name: str, description: str, properties: Sequence[PropertySpec]
) -> Steps[GroupView]:
    created = yield from call(
        lambda c: c.property_groups.create(
            name=name, description=description, properties=properties
        )
    )
    return GroupView.from_group(created)


def _update_group(
    ref: str,
    name: str | None,
    description: str | None,
    properties: Sequence[PropertySpec] | None,
) -> Steps[GroupView]:
    # Imported here: the tracking_plan package loads the planning machinery, which the client
    # (through the catalog steps it shares) does not need to start.
    from eventschema_tools.tracking_plan.ownership import keep_markers

    check_group_change(name, description, properties)
    target = yield from find_group(ref)
    # New words keep the group's ownership markers: dropping a plan's marker would make that
    # plan see the group as unowned ("takes ownership") and hide it from its prune.
    text = None if description is None else keep_markers(description, target.description)
    updated = yield from call(
        lambda c: c.property_groups.update(
            target.id, name=name, description=text, properties=properties
        )
    )
    return GroupView.from_group(updated)


def _delete_group(ref: str) -> Steps[GroupDeleteOutcome]:
    target = yield from find_group(ref)
    try:
        yield from call(lambda c: c.property_groups.delete(target.id))
    except NotFoundError:
        raise UnknownNameError("property group", ref) from None
    return GroupDeleteOutcome(
        deleted=True,
        id=target.id,
        name=target.name,
        events=[event.name for event in target.events],
    )


def _events(search: str | None, cursor: str | None, limit: int | None) -> Steps[EventPage]:
    window = Window(cursor, limit)
    listed = yield from rows(
        lambda c: c.event_definitions.list(search=search, max_rows=window.rows_needed),
        window.rows_needed,
    )
    events, next_cursor = window.cut(listed)
    groups = yield from rows(lambda c: c.property_groups.list())
    return EventPage(
        items=[EventView.from_event(e, groups) for e in events], next_cursor=next_cursor
    )


def _event(ref: str) -> Steps[EventDetail]:
    event = yield from find_event(ref)
    schemas = yield from rows(lambda c: c.event_schemas.list(event_definition=event.id))
    return EventDetail.from_schemas(event, schemas)


# --- the two faces -----------------------------------------------------------------------------


class Catalog:
    """Read and change one project's event schemas and property groups by name (sync).

    Events and groups are given by name (exact) or id. A ``limit`` of ``None`` reads every row
    as one page. Every method checks its arguments before the first request.

    Args:
        client: the client of the project to act on.
    """

    def __init__(self, client: EventSchemaClient) -> None:
        self.client = client
        self.resolve = Resolver(client)

    def _run(self, steps: Steps[T]) -> T:
        return drive(self.client, steps)

    # --- event schemas ------------------------------------------------------------------------

    def bindings(
        self, *, event: str | None = None, cursor: str | None = None, limit: int | None = 50
    ) -> BindingPage:
        """One page of event schemas, newest first, optionally of one event (name or id).

        Costs one list request (plus one lookup when ``event`` is a name).
        """
        return self._run(_bindings(event, cursor, limit))

    def binding(self, *, event: str, group: str) -> BindingView:
        """The event schema that binds ``group`` to ``event`` (names or ids).

        Raises:
            UnknownNameError: the event or group does not exist, or the pair is not bound.
        """
        return self._run(_binding(event, group))

    def bind(self, *, event: str, group: str) -> BindOutcome:
        """Bind a group to an event; an existing binding is returned as is (``created=False``).

        Costs the two lookups and one create (one more lookup when the pair already exists).
        """
        return self._run(_bind(event, group))

    def move(
        self, schema_id: str, *, event: str | None = None, group: str | None = None
    ) -> BindingView:
        """Point an event schema at another event and/or group (names or ids).

        Raises:
            InvalidInputError: neither ``event`` nor ``group`` was given, or a malformed id.
            UnknownNameError: no such event schema, event or group.
        """
        return self._run(_move(schema_id, event, group))

    def unbind(
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
        return self._run(_unbind(schema_id, event, group))

    # --- property groups ----------------------------------------------------------------------

    def groups(
        self, *, search: str | None = None, cursor: str | None = None, limit: int | None = 50
    ) -> GroupPage:
        """One page of property groups by name; ``search`` keeps names containing it.

        Costs one list request (the group list is read whole and filtered here).
        """
        return self._run(_groups(search, cursor, limit))

    def group(self, ref: str) -> GroupView:
        """One property group (name or id) with its properties and bound events."""
        return self._run(_group(ref))

    def create_group(
        self, *, name: str, description: str = "", properties: Sequence[PropertySpec] = ()
    ) -> GroupView:
        """Create a property group (one request; input is checked before it is sent)."""
        return self._run(_create_group(name, description, properties))

    def update_group(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Sequence[PropertySpec] | None = None,
    ) -> GroupView:
        """Change a group (name or id). ``properties``, when given, replace the whole list.

        A new ``description`` replaces the words only: the ownership markers the group carries
        (a tracking plan's, another tool's) are kept.

        Raises:
            InvalidInputError: nothing to change was given, or invalid fields (nothing sent).
        """
        return self._run(_update_group(ref, name, description, properties))

    def delete_group(self, ref: str) -> GroupDeleteOutcome:
        """Delete a property group (name or id), its properties and every binding that uses it.

        Costs the lookup and one delete.
        """
        return self._run(_delete_group(ref))

    # --- event definitions --------------------------------------------------------------------

    def events(
        self, *, search: str | None = None, cursor: str | None = None, limit: int | None = 50
    ) -> EventPage:
        """One page of event definitions (every word of ``search`` must match), with the
        groups bound to each.

        Costs one list request of events and one of groups.
        """
        return self._run(_events(search, cursor, limit))

    def event(self, ref: str) -> EventDetail:
        """One event definition (name or id) with its event schemas.

        Costs the lookup and one list request.
        """
        return self._run(_event(ref))


class AsyncCatalog:
    """The async twin of :class:`Catalog`: the same methods, results and errors.

    Args:
        client: the client of the project to act on.
    """

    def __init__(self, client: AsyncEventSchemaClient) -> None:
        self.client = client
        self.resolve = AsyncResolver(client)

    async def _run(self, steps: Steps[T]) -> T:
        return await drive_async(self.client, steps)

    # --- event schemas ------------------------------------------------------------------------

    async def bindings(
        self, *, event: str | None = None, cursor: str | None = None, limit: int | None = 50
    ) -> BindingPage:
        """Async twin of :meth:`Catalog.bindings`."""
        return await self._run(_bindings(event, cursor, limit))

    async def binding(self, *, event: str, group: str) -> BindingView:
        """Async twin of :meth:`Catalog.binding`."""
        return await self._run(_binding(event, group))

    async def bind(self, *, event: str, group: str) -> BindOutcome:
        """Async twin of :meth:`Catalog.bind`."""
        return await self._run(_bind(event, group))

    async def move(
        self, schema_id: str, *, event: str | None = None, group: str | None = None
    ) -> BindingView:
        """Async twin of :meth:`Catalog.move`."""
        return await self._run(_move(schema_id, event, group))

    async def unbind(
        self,
        *,
        schema_id: str | None = None,
        event: str | None = None,
        group: str | None = None,
    ) -> UnbindOutcome:
        """Async twin of :meth:`Catalog.unbind`."""
        return await self._run(_unbind(schema_id, event, group))

    # --- property groups ----------------------------------------------------------------------

    async def groups(
        self, *, search: str | None = None, cursor: str | None = None, limit: int | None = 50
    ) -> GroupPage:
        """Async twin of :meth:`Catalog.groups`."""
        return await self._run(_groups(search, cursor, limit))

    async def group(self, ref: str) -> GroupView:
        """Async twin of :meth:`Catalog.group`."""
        return await self._run(_group(ref))

    async def create_group(
        self, *, name: str, description: str = "", properties: Sequence[PropertySpec] = ()
    ) -> GroupView:
        """Async twin of :meth:`Catalog.create_group`."""
        return await self._run(_create_group(name, description, properties))

    async def update_group(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Sequence[PropertySpec] | None = None,
    ) -> GroupView:
        """Async twin of :meth:`Catalog.update_group`."""
        return await self._run(_update_group(ref, name, description, properties))

    async def delete_group(self, ref: str) -> GroupDeleteOutcome:
        """Async twin of :meth:`Catalog.delete_group`."""
        return await self._run(_delete_group(ref))

    # --- event definitions --------------------------------------------------------------------

    async def events(
        self, *, search: str | None = None, cursor: str | None = None, limit: int | None = 50
    ) -> EventPage:
        """Async twin of :meth:`Catalog.events`."""
        return await self._run(_events(search, cursor, limit))

    async def event(self, ref: str) -> EventDetail:
        """Async twin of :meth:`Catalog.event`."""
        return await self._run(_event(ref))
