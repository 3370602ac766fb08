"""``/api/projects/{id}/event_schemas/``: bindings of property groups to event definitions.

PostHog has list, create, update and delete here, but **no retrieve**: ``find()`` reads one
binding by listing the event's bindings (one request, since an event rarely has more than a
page of them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventschema_tools._page_decoder import SchemaPageDecoder
from eventschema_tools.models import (
    EventSchema,
    EventSchemaCreate,
    EventSchemaUpdate,
    as_uuid,
    parse_input,
    parse_response,
)
from eventschema_tools.resources._resource import Resource

if TYPE_CHECKING:
    # Used in the string generic parameters below, which ruff does not count as uses.
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient  # noqa: F401

__all__ = ["AsyncEventSchemas", "EventSchemas"]


def _filter(event_definition: UUID | str | None) -> dict[str, Any]:
    if event_definition is None:
        return {}
    return {"event_definition": str(as_uuid(event_definition, "event_definition"))}


def _create_body(event_definition: UUID | str, property_group_id: UUID | str) -> dict[str, Any]:
    body = parse_input(
        EventSchemaCreate, event_definition=event_definition, property_group_id=property_group_id
    )
    return body.model_dump(mode="json")


def _update_body(
    event_definition: UUID | str | None, property_group_id: UUID | str | None
) -> dict[str, Any]:
    body = parse_input(
        EventSchemaUpdate, event_definition=event_definition, property_group_id=property_group_id
    )
    return body.model_dump(mode="json", exclude_none=True)


def _match(schema: EventSchema, property_group_id: UUID | str) -> bool:
    return schema.property_group.id == as_uuid(property_group_id, "property_group_id")


class EventSchemas(Resource["EventSchemaClient"]):
    """Sync calls on event schemas (``client.event_schemas``)."""

    name = "event_schemas"

    def list(
        self, *, event_definition: UUID | str | None = None, max_rows: int | None = None
    ) -> Iterator[EventSchema]:
        """Iterate over all event schemas, newest first, optionally of one event definition.

        Every page is read unless ``max_rows`` caps the rows (and the first request's size).
        Schemas of the same group share one ``PropertyGroup`` object: read, don't mutate them.
        """
        decoder = SchemaPageDecoder()
        pages = self._client.paginate_pages(
            self._path(), _filter(event_definition), max_rows=max_rows, decode=decoder.decode
        )
        for rows in pages:
            yield from decoder.schemas(rows)

    def find(
        self, *, event_definition: UUID | str, property_group_id: UUID | str
    ) -> EventSchema | None:
        """Return the binding of a group to an event, or ``None``.

        Costs one list request of the event's bindings (PostHog has no retrieve endpoint).
        """
        for schema in self.list(event_definition=event_definition):
            if _match(schema, property_group_id):
                return schema
        return None

    def create(
        self,
        *,
        event_definition: UUID | str,
        property_group_id: UUID | str,
        max_retries: int | None = None,
    ) -> EventSchema:
        """Bind a property group to an event definition.

        Safe under retries: if an attempt fails without an answer, the client looks for the
        binding before trying again, so exactly one exists and is returned.
        """
        body = _create_body(event_definition, property_group_id)
        data = self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: self.find(
                event_definition=event_definition, property_group_id=property_group_id
            ),
        )
        return data if isinstance(data, EventSchema) else parse_response(EventSchema, data)

    def update(
        self,
        id: UUID | str,
        *,
        event_definition: UUID | str | None = None,
        property_group_id: UUID | str | None = None,
        max_retries: int | None = None,
    ) -> EventSchema:
        """Move a binding to another event definition and/or property group (PATCH)."""
        path = self._path(as_uuid(id))
        body = _update_body(event_definition, property_group_id)
        data = self._client.request("PATCH", path, json=body, max_retries=max_retries)
        return parse_response(EventSchema, data)

    def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Remove a binding. Idempotent under retries: "already gone" after a retry is success."""
        self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)


class AsyncEventSchemas(Resource["AsyncEventSchemaClient"]):
    """Async calls on event schemas (``client.event_schemas``)."""

    name = "event_schemas"

    async def list(
        self, *, event_definition: UUID | str | None = None, max_rows: int | None = None
    ) -> AsyncIterator[EventSchema]:
        """Iterate over all event schemas, newest first, optionally of one event definition.

        Every page is read unless ``max_rows`` caps the rows (and the first request's size).
        Schemas of the same group share one ``PropertyGroup`` object: read, don't mutate them.
        """
        decoder = SchemaPageDecoder()
        pages = self._client.paginate_pages(
            self._path(), _filter(event_definition), max_rows=max_rows, decode=decoder.decode
        )
        async for rows in pages:
            for schema in decoder.schemas(rows):
                yield schema

    async def find(
        self, *, event_definition: UUID | str, property_group_id: UUID | str
    ) -> EventSchema | None:
        """Return the binding of a group to an event, or ``None`` (one list request)."""
        async for schema in self.list(event_definition=event_definition):
            if _match(schema, property_group_id):
                return schema
        return None

    async def create(
        self,
        *,
        event_definition: UUID | str,
        property_group_id: UUID | str,
        max_retries: int | None = None,
    ) -> EventSchema:
        """Bind a property group to an event definition (reconciled under retries)."""
        body = _create_body(event_definition, property_group_id)
        data = await self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: self.find(
                event_definition=event_definition, property_group_id=property_group_id
            ),
        )
        return data if isinstance(data, EventSchema) else parse_response(EventSchema, data)

    async def update(
        self,
        id: UUID | str,
        *,
        event_definition: UUID | str | None = None,
        property_group_id: UUID | str | None = None,
        max_retries: int | None = None,
    ) -> EventSchema:
        """Move a binding to another event definition and/or property group (PATCH)."""
        path = self._path(as_uuid(id))
        body = _update_body(event_definition, property_group_id)
        data = await self._client.request("PATCH", path, json=body, max_retries=max_retries)
        return parse_response(EventSchema, data)

    async def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Remove a binding. Idempotent under retries: "already gone" after a retry is success."""
        await self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)
