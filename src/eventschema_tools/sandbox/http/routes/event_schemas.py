"""`/api/projects/{project_id}/event_schemas/`: property groups bound to event definitions.

Follows PostHog's `EventSchemaViewSet` and serializer:

- list (newest first, `?event_definition=<uuid>` filter), create, PUT, PATCH, DELETE; no
  retrieve route, so GET on one schema is refused like any unsupported method;
- responses embed the full `property_group`; `property_group_id` is write-only;
- ids of another project are "does not exist"; malformed ids get Django's UUID message;
- the (event, group) pair is unique: DRF's unique-together validator answers 400 with code
  `unique`; after it, the serializer's own `validate()` refuses any request that sends both
  fields for a pair that already exists, which includes a PUT repeating the schema's own pair;
- a malformed `?event_definition=` reaches the database filter in PostHog and fails there as an
  unhandled error, so it answers 500.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.http.errors import not_found, server_error, validation_error
from eventschema_tools.sandbox.http.fields import Serializer, UUIDRelatedField
from eventschema_tools.sandbox.http.pagination import lenient_page, paginated
from eventschema_tools.sandbox.http.routes.property_groups import READ, WRITE, render_property_group
from eventschema_tools.sandbox.http.routing import (
    Operation,
    endpoint,
    no_content,
    path_uuid,
    records_response,
)
from eventschema_tools.sandbox.state import RequestContext, Sandbox, sandbox_of
from eventschema_tools.sandbox.storage.store import (
    EventSchemaRecord,
    PropertyGroupRecord,
    UniqueViolation,
)
from eventschema_tools.sandbox.storage.timestamps import to_drf

UNIQUE_PAIR_MESSAGE: Final = (
    "The fields event_definition, property_group_id must make a unique set."
)


def render_event_schema(record: EventSchemaRecord, group: object = None) -> dict[str, Any]:
    """An event schema as PostHog returns it (no `property_group_id`: it is write-only).

    ``group`` is the group's rendering when the caller already has it (a list page).
    """
    return {
        "id": record.id,
        "event_definition": record.event_definition_id,
        "property_group": render_property_group(record.property_group) if group is None else group,
        "created_at": to_drf(record.created_at),
        "updated_at": to_drf(record.updated_at),
    }


class _GroupJSON:
    """Each property group's JSON, kept while the store hands out the same record for it.

    A group is most of a schema's rendering, and schemas share groups. The store returns one
    record object per group until the next write (`Store._groups`), so a page can reuse the
    group's encoded bytes: the same object means the same group, a new object a fresh encoding.
    """

    _LIMIT: Final = 4096

    def __init__(self) -> None:
        self._encoded: dict[str, tuple[PropertyGroupRecord, msgspec.Raw]] = {}

    def encoded(self, group: PropertyGroupRecord) -> msgspec.Raw:
        kept = self._encoded.get(group.id)
        if kept is not None and kept[0] is group:
            return kept[1]
        if len(self._encoded) >= self._LIMIT:
            self._encoded.clear()
        raw = msgspec.Raw(msgspec.json.encode(render_property_group(group)))
        self._encoded[group.id] = (group, raw)
        return raw


_GROUP_JSON: Final = _GroupJSON()


def _serializer(sandbox: Sandbox, project_id: int) -> Serializer:
    store = sandbox.store
    return Serializer(
        {
            "event_definition": UUIDRelatedField(
                lambda definition_id: store.has_event_definition(project_id, definition_id)
            ),
            "property_group_id": UUIDRelatedField(
                lambda group_id: store.has_property_group(project_id, group_id)
            ),
        }
    )


async def list_schemas(request: Request, context: RequestContext) -> Response:
    page = lenient_page(request)
    definition_filter = request.query_params.get("event_definition") or None
    if definition_filter is not None:
        try:
            definition_filter = str(uuid.UUID(definition_filter))
        except ValueError:
            raise server_error() from None
    count, schemas = sandbox_of(request).store.list_event_schemas(
        context.project_id, page.limit, page.offset, definition_filter
    )
    rendered = [
        render_event_schema(schema, _GROUP_JSON.encoded(schema.property_group))
        for schema in schemas
    ]
    return records_response(paginated(request, page, count, rendered))


async def create_schema(request: Request, context: RequestContext) -> Response:
    sandbox = sandbox_of(request)
    data = _serializer(sandbox, context.project_id).parse(await sandbox.read_json(request))
    definition_id, group_id = str(data["event_definition"]), str(data["property_group_id"])
    if sandbox.store.event_schema_pair_exists(definition_id, group_id):
        raise validation_error(UNIQUE_PAIR_MESSAGE, code="unique")
    try:
        schema = sandbox.store.create_event_schema(context.project_id, definition_id, group_id)
    except UniqueViolation:
        raise validation_error(UNIQUE_PAIR_MESSAGE, code="unique") from None
    return records_response(render_event_schema(schema), status_code=201)


async def replace_schema(request: Request, context: RequestContext) -> Response:
    return await _update_schema(request, context, partial=False)


async def patch_schema(request: Request, context: RequestContext) -> Response:
    return await _update_schema(request, context, partial=True)


async def delete_schema(request: Request, context: RequestContext) -> Response:
    if not sandbox_of(request).store.delete_event_schema(context.project_id, path_uuid(request)):
        raise not_found()
    return no_content()


async def _update_schema(request: Request, context: RequestContext, *, partial: bool) -> Response:
    sandbox = sandbox_of(request)
    schema_id = path_uuid(request)
    current = sandbox.store.get_event_schema(context.project_id, schema_id)
    if current is None:
        raise not_found()
    data = _serializer(sandbox, context.project_id).parse(
        await sandbox.read_json(request), partial=partial
    )
    definition_id = str(data.get("event_definition", current.event_definition_id))
    group_id = str(data.get("property_group_id", current.property_group.id))
    changed = definition_id != current.event_definition_id or group_id != current.property_group.id
    if changed and sandbox.store.event_schema_pair_exists(
        definition_id, group_id, excluding=schema_id
    ):
        raise validation_error(UNIQUE_PAIR_MESSAGE, code="unique")
    if (
        "event_definition" in data
        and "property_group_id" in data
        and sandbox.store.event_schema_pair_exists(definition_id, group_id)
    ):
        group = sandbox.store.get_property_group(context.project_id, group_id)
        group_name = "" if group is None else group.name
        raise validation_error(
            f"Property group '{group_name}' is already added to this event schema"
        )
    try:
        updated = sandbox.store.update_event_schema(
            context.project_id, schema_id, definition_id, group_id
        )
    except UniqueViolation:
        raise validation_error(UNIQUE_PAIR_MESSAGE, code="unique") from None
    if updated is None:
        raise not_found()
    return records_response(render_event_schema(updated))


def routes() -> list[BaseRoute]:
    """The event-schema routes."""
    base = "/api/projects/{project_id}/event_schemas/"
    return [
        endpoint(
            base, {"GET": Operation(READ, list_schemas), "POST": Operation(WRITE, create_schema)}
        ),
        endpoint(
            base + "{id}/",
            {
                "PUT": Operation(WRITE, replace_schema),
                "PATCH": Operation(WRITE, patch_schema),
                "DELETE": Operation(WRITE, delete_schema),
            },
        ),
    ]
