"""`/api/projects/{project_id}/schema_property_groups/`: named sets of typed properties.

Follows PostHog's `SchemaPropertyGroupViewSet` and its serializer:

- list ordered by name; create; retrieve; PUT/PATCH; DELETE (cascading to the group's
  properties and to every event schema that uses the group);
- create is not atomic: the group row is written first and each property after it, so a
  duplicate property name fails the request with "Could not create property group due to a
  database error." and leaves the group (and earlier properties) behind;
- PUT/PATCH copy only `name` and `description`; `properties`, when sent, replaces the whole list
  in one transaction (incoming property ids are read-only and ignored, so every property gets a
  new id), and an empty list removes them all;
- duplicate group names answer "... already exists for this team" on create and
  "... already exists" on update, under `attr` `name`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.http.errors import not_found, validation_error
from eventschema_tools.sandbox.http.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    NestedListField,
    Serializer,
    fail,
)
from eventschema_tools.sandbox.http.identity import render_user_basic, user_for_id
from eventschema_tools.sandbox.http.pagination import lenient_page, paginated
from eventschema_tools.sandbox.http.routing import (
    Operation,
    endpoint,
    no_content,
    path_uuid,
    records_response,
)
from eventschema_tools.sandbox.state import RequestContext, sandbox_of
from eventschema_tools.sandbox.storage.store import (
    GROUP_PROPERTY_NAME,
    GROUP_TEAM_NAME,
    NewProperty,
    PropertyGroupRecord,
    PropertyRecord,
    UniqueViolation,
)
from eventschema_tools.sandbox.storage.timestamps import to_drf

PROPERTY_TYPES: Final = ("DateTime", "String", "Numeric", "Boolean", "Object")
MAX_PROPERTY_NAME_LENGTH: Final = 200
READ: Final = "event_definition:read"
WRITE: Final = "event_definition:write"

# PostHog recovers the property name from PostgreSQL's error detail with this pattern.
_DUPLICATE_DETAIL: Final = re.compile(r"\(property_group_id, name\)=\([^,]+, ([^)]+)\)")


def _validate_property_name(value: str) -> str:
    if not value or not value.strip():
        fail("Property name is required", "invalid")
    cleaned = value.strip()
    if len(cleaned) > MAX_PROPERTY_NAME_LENGTH:
        fail(f"Property name must be {MAX_PROPERTY_NAME_LENGTH} characters or less", "invalid")
    return cleaned


PROPERTY_SERIALIZER: Final = Serializer(
    {
        "name": CharField(max_length=400, validators=[_validate_property_name]),
        "property_type": ChoiceField(PROPERTY_TYPES),
        "is_required": BooleanField(required=False),
        "is_optional_in_types": BooleanField(required=False),
        "description": CharField(allow_blank=True, required=False),
    }
)

GROUP_SERIALIZER: Final = Serializer(
    {
        "name": CharField(max_length=400),
        "description": CharField(allow_blank=True, required=False),
        "properties": NestedListField(PROPERTY_SERIALIZER, required=False),
    }
)


def render_property(record: PropertyRecord) -> dict[str, Any]:
    """A property as PostHog returns it."""
    return {
        "id": record.id,
        "name": record.name,
        "property_type": record.property_type,
        "is_required": record.is_required,
        "is_optional_in_types": record.is_optional_in_types,
        "description": record.description,
        "created_at": to_drf(record.created_at),
        "updated_at": to_drf(record.updated_at),
    }


def render_property_group(record: PropertyGroupRecord) -> dict[str, Any]:
    """A property group with its properties and bound events, as PostHog returns it."""
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "properties": [render_property(item) for item in record.properties],
        "events": [{"id": event.id, "name": event.name} for event in record.events],
        "created_at": to_drf(record.created_at),
        "updated_at": to_drf(record.updated_at),
        "created_by": render_user_basic(user_for_id(record.created_by_id)),
    }


async def list_groups(request: Request, context: RequestContext) -> Response:
    page = lenient_page(request)
    count, groups = sandbox_of(request).store.list_property_groups(
        context.project_id, page.limit, page.offset
    )
    return records_response(
        paginated(request, page, count, [render_property_group(g) for g in groups])
    )


async def create_group(request: Request, context: RequestContext) -> Response:
    sandbox = sandbox_of(request)
    data = GROUP_SERIALIZER.parse(await sandbox.read_json(request))
    try:
        group = sandbox.store.create_property_group(
            context.project_id,
            str(data["name"]),
            str(data.get("description", "")),
            _new_properties(data.get("properties", [])),
            context.user.id,
        )
    except UniqueViolation as violation:
        if violation.constraint == GROUP_TEAM_NAME:
            raise validation_error(
                "A property group with this name already exists for this team", attr="name"
            ) from None
        raise validation_error("Could not create property group due to a database error.") from None
    return records_response(render_property_group(group), status_code=201)


async def retrieve_group(request: Request, context: RequestContext) -> Response:
    group = sandbox_of(request).store.get_property_group(context.project_id, path_uuid(request))
    if group is None:
        raise not_found()
    return records_response(render_property_group(group))


async def replace_group(request: Request, context: RequestContext) -> Response:
    return await _update_group(request, context, partial=False)


async def patch_group(request: Request, context: RequestContext) -> Response:
    return await _update_group(request, context, partial=True)


async def delete_group(request: Request, context: RequestContext) -> Response:
    if not sandbox_of(request).store.delete_property_group(context.project_id, path_uuid(request)):
        raise not_found()
    return no_content()


async def _update_group(request: Request, context: RequestContext, *, partial: bool) -> Response:
    sandbox = sandbox_of(request)
    group_id = path_uuid(request)
    if not sandbox.store.has_property_group(context.project_id, group_id):
        raise not_found()
    data = GROUP_SERIALIZER.parse(await sandbox.read_json(request), partial=partial)
    properties = data.get("properties")
    try:
        group = sandbox.store.update_property_group(
            context.project_id,
            group_id,
            name=cast(str | None, data.get("name")),
            description=cast(str | None, data.get("description")),
            properties=None if properties is None else _new_properties(properties),
        )
    except UniqueViolation as violation:
        raise _update_conflict(violation, group_id) from None
    if group is None:
        raise not_found()
    return records_response(render_property_group(group))


def _update_conflict(violation: UniqueViolation, group_id: str) -> Exception:
    if violation.constraint == GROUP_PROPERTY_NAME:
        detail = f"Key (property_group_id, name)=({group_id}, {violation.value}) already exists."
        match = _DUPLICATE_DETAIL.search(detail)
        message = (
            f"A property named '{match.group(1)}' already exists in this group"
            if match
            else "A property with this name already exists in this group"
        )
        return validation_error(message, attr="properties")
    if violation.constraint == GROUP_TEAM_NAME:
        return validation_error("A property group with this name already exists", attr="name")
    return validation_error("Could not update property group due to a database error.")


def _new_properties(items: object) -> list[NewProperty]:
    """Validated property dicts to rows; absent keys (PATCH) take the model defaults."""
    rows: list[NewProperty] = []
    for item in cast(list[Mapping[str, object]], items):
        rows.append(
            NewProperty(
                name=str(item.get("name", "")),
                property_type=str(item.get("property_type", "")),
                is_required=bool(item.get("is_required", False)),
                is_optional_in_types=bool(item.get("is_optional_in_types", False)),
                description=str(item.get("description", "")),
            )
        )
    return rows


def routes() -> list[BaseRoute]:
    """The property-group routes."""
    base = "/api/projects/{project_id}/schema_property_groups/"
    return [
        endpoint(
            base, {"GET": Operation(READ, list_groups), "POST": Operation(WRITE, create_group)}
        ),
        endpoint(
            base + "{id}/",
            {
                "GET": Operation(READ, retrieve_group),
                "PUT": Operation(WRITE, replace_group),
                "PATCH": Operation(WRITE, patch_group),
                "DELETE": Operation(WRITE, delete_group),
            },
        ),
    ]
