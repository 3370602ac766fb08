"""`/api/projects/{project_id}/event_definitions/`: the project's events, as PostHog Cloud has them.

Responses use the enterprise serializer's fields (`EnterpriseEventDefinition`). Behaviour follows
`EventDefinitionViewSet`:

- list filters `search` (every whitespace-separated term must match, case-insensitively; results
  ordered by name length first), `names` (repeated or comma-separated), `tags` and
  `excluded_properties` (JSON lists), `event_type` (`event`, `event_custom`, `event_posthog`),
  `exclude_hidden` and `ordering`; `limit`/`offset` are validated (400 on bad values); default
  order `-last_seen_at::date, name`;
- create takes `name` (writable on POST only); definitions created this way have null
  `created_at`/`last_seen_at` until an event is ingested, and description "" unless given;
- a definition created by ingestion lists with a null description until it is read by id or
  `by_name`, or changed: that gives it PostHog's enterprise extension and the description "";
- PATCH/PUT: `description`, `tags`, `owner`, `verified`, `hidden`, `enforcement_mode`,
  `default_columns`; hidden and verified together → 400; setting one clears the other;
- `by_name/?name=` answers plain `{"detail": ...}` bodies for its 400 and 404;
- DELETE cascades to the definition's event schemas.
"""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.http.errors import (
    not_found,
    plain_detail,
    server_error,
    validation_error,
)
from eventschema_tools.sandbox.http.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    Field,
    IntegerRelatedField,
    ListField,
    Serializer,
    fail,
    non_field_error,
)
from eventschema_tools.sandbox.http.identity import render_user_basic, user_for_id
from eventschema_tools.sandbox.http.pagination import paginated, strict_page
from eventschema_tools.sandbox.http.routes.property_groups import READ, WRITE
from eventschema_tools.sandbox.http.routing import (
    Operation,
    endpoint,
    no_content,
    path_uuid,
    records_response,
)
from eventschema_tools.sandbox.state import RequestContext, Sandbox, sandbox_of
from eventschema_tools.sandbox.storage.store import (
    DEFINITION_ORDERING_FIELDS,
    DefinitionQuery,
    EventDefinitionRecord,
    UniqueViolation,
)
from eventschema_tools.sandbox.storage.timestamps import to_drf, to_storage

ENFORCEMENT_MODES: Final = ("allow", "reject")
EVENT_TYPES: Final = ("event", "event_custom", "event_posthog")
# PostHog accepts these enum values too and serves them as plain `event`.
_EVENT_TYPE_ALIASES: Final = ("all", "action_event")
REJECT_FLAG_MESSAGE: Final = (
    'Setting schema enforcement mode to "reject" requires the '
    "schema-enforcement-reject feature flag"
)


def render_event_definition(record: EventDefinitionRecord) -> dict[str, Any]:
    """An event definition with the fields of PostHog's enterprise serializer."""
    return {
        "id": record.id,
        "name": record.name,
        "owner": render_user_basic(user_for_id(record.owner_id)),
        "description": record.description,
        "tags": list(record.tags),
        "created_at": to_drf(record.created_at),
        "updated_at": to_drf(record.updated_at),
        "updated_by": render_user_basic(user_for_id(record.updated_by_id)),
        "last_seen_at": to_drf(record.last_seen_at),
        "last_updated_at": to_drf(record.updated_at),
        "verified": record.verified,
        "verified_at": to_drf(record.verified_at),
        "verified_by": render_user_basic(user_for_id(record.verified_by_id)),
        "hidden": record.hidden,
        "enforcement_mode": record.enforcement_mode,
        "is_action": False,
        "action_id": None,
        "is_calculating": False,
        "last_calculated_at": None,
        "created_by": None,
        "post_to_slack": False,
        "default_columns": list(record.default_columns),
        "media_preview_urls": [],
    }


def _serializer(sandbox: Sandbox, project_id: int, *, creating: bool) -> Serializer:
    fields: dict[str, Field] = {}
    if creating:

        def unique_name(name: str) -> str:
            if sandbox.store.get_event_definition_by_name(project_id, name) is not None:
                fail(f"Event definition with name '{name}' already exists", "invalid")
            return name

        fields["name"] = CharField(max_length=400, validators=[unique_name])
    fields.update(
        owner=IntegerRelatedField(
            lambda user_id: user_for_id(user_id) is not None, required=False, allow_null=True
        ),
        description=CharField(allow_blank=True, allow_null=True, required=False),
        tags=ListField(CharField(), required=False),
        verified=BooleanField(required=False),
        hidden=BooleanField(required=False, allow_null=True),
        enforcement_mode=ChoiceField(ENFORCEMENT_MODES, required=False),
        post_to_slack=BooleanField(default=False),
        default_columns=ListField(CharField(), required=False),
    )

    def hidden_and_verified(values: dict[str, object]) -> None:
        if values.get("hidden") and values.get("verified"):
            raise non_field_error("An event cannot be both hidden and verified")

    def reject_needs_flag(values: dict[str, object]) -> None:
        if values.get("enforcement_mode") == "reject" and not sandbox.config.reject_mode_allowed:
            raise non_field_error(REJECT_FLAG_MESSAGE)

    return Serializer(fields, checks=[hidden_and_verified, reject_needs_flag])


def _columns(values: dict[str, object]) -> dict[str, object]:
    """Validated fields to store columns (tags normalised as PostHog's `tagify` does)."""
    columns: dict[str, object] = {}
    for name, value in values.items():
        if name in ("name", "post_to_slack"):
            continue
        if name == "tags" and isinstance(value, list):
            columns["tags"] = sorted({str(tag).strip().lower() for tag in value})
        elif name == "owner":
            columns["owner_id"] = value
        else:
            columns[name] = value
    return columns


async def list_definitions(request: Request, context: RequestContext) -> Response:
    params = request.query_params
    event_type = params.get("event_type", "event")
    if event_type in _EVENT_TYPE_ALIASES:
        event_type = "event"
    elif event_type not in EVENT_TYPES:
        raise validation_error(
            f"Not a valid event type. Use one of: {', '.join(EVENT_TYPES)}.", attr="event_type"
        )
    ordering: list[tuple[str, bool]] = []
    for value in (part for raw in params.getlist("ordering") for part in raw.split(",")):
        if value and value.replace("-", "") in DEFINITION_ORDERING_FIELDS:
            ordering.append((value.replace("-", ""), "-" in value))
    page = strict_page(request)
    query = DefinitionQuery(
        search=params.get("search"),
        names=tuple(
            dict.fromkeys(n for raw in params.getlist("names") for n in raw.split(",") if n)
        ),
        excluded_names=_excluded_names(params.get("excluded_properties")),
        tags=_tag_filter(params.get("tags")),
        event_type=event_type,
        exclude_hidden=params.get("exclude_hidden", "false").lower() == "true",
        ordering=tuple(ordering),
        limit=page.limit,
        offset=page.offset,
    )
    count, definitions = sandbox_of(request).store.list_event_definitions(context.project_id, query)
    return records_response(
        paginated(request, page, count, [render_event_definition(d) for d in definitions])
    )


def _tag_filter(raw: str | None) -> tuple[str, ...]:
    """`?tags=` is a JSON list of tag names; anything else is ignored, as PostHog does."""
    try:
        decoded = json.loads(raw) if raw else []
    except (ValueError, RecursionError):
        return ()
    if not isinstance(decoded, list):
        return ()
    return tuple(tag for tag in decoded if isinstance(tag, str))


def _excluded_names(raw: str | None) -> tuple[str, ...]:
    """`?excluded_properties=` is a JSON list of names; PostHog fails with a 500 on bad JSON."""
    if not raw:
        return ()
    try:
        decoded = json.loads(raw)
        return tuple(dict.fromkeys(str(name) for name in decoded))
    except (TypeError, ValueError, RecursionError):
        raise server_error() from None


async def create_definition(request: Request, context: RequestContext) -> Response:
    sandbox = sandbox_of(request)
    serializer = _serializer(sandbox, context.project_id, creating=True)
    values = serializer.parse(await sandbox.read_json(request))
    columns = _columns(values)
    columns["updated_by_id"] = context.user.id
    if columns.get("verified"):
        columns.update(
            verified_by_id=context.user.id,
            verified_at=to_storage(sandbox.store.clock.now()),
            hidden=False,
        )
    if columns.get("hidden"):
        columns.update(verified=False, verified_by_id=None, verified_at=None)
    try:
        definition = sandbox.store.create_event_definition(
            context.project_id, str(values["name"]), columns
        )
    except UniqueViolation:
        raise validation_error(
            f"Event definition with name '{values['name']}' already exists", attr="name"
        ) from None
    return records_response(render_event_definition(definition), status_code=201)


async def retrieve_definition(request: Request, context: RequestContext) -> Response:
    definition = sandbox_of(request).store.promote_event_definition(
        context.project_id, path_uuid(request)
    )
    if definition is None:
        raise not_found()
    return records_response(render_event_definition(definition))


async def replace_definition(request: Request, context: RequestContext) -> Response:
    return await _update_definition(request, context, partial=False)


async def patch_definition(request: Request, context: RequestContext) -> Response:
    return await _update_definition(request, context, partial=True)


async def delete_definition(request: Request, context: RequestContext) -> Response:
    store = sandbox_of(request).store
    if not store.delete_event_definition(context.project_id, path_uuid(request)):
        raise not_found()
    return no_content()


async def definition_by_name(request: Request, context: RequestContext) -> Response:
    name = request.query_params.get("name")
    if not name:
        raise plain_detail(400, "Query parameter 'name' is required")
    store = sandbox_of(request).store
    found = store.get_event_definition_by_name(context.project_id, name)
    definition = (
        None if found is None else store.promote_event_definition(found.project_id, found.id)
    )
    if definition is None:
        raise plain_detail(404, f"Event definition with name '{name}' not found")
    return records_response(render_event_definition(definition))


async def _update_definition(
    request: Request, context: RequestContext, *, partial: bool
) -> Response:
    sandbox = sandbox_of(request)
    definition_id = path_uuid(request)
    current = sandbox.store.promote_event_definition(context.project_id, definition_id)
    if current is None:
        raise not_found()
    serializer = _serializer(sandbox, context.project_id, creating=False)
    columns = _columns(serializer.parse(await sandbox.read_json(request), partial=partial))
    columns["updated_by_id"] = context.user.id
    if columns.get("hidden"):
        columns.update(verified=False, verified_by_id=None, verified_at=None)
    elif columns.get("verified"):
        columns["hidden"] = False
    if "verified" in columns:
        if columns["verified"] and not current.verified:
            columns.update(
                verified_by_id=context.user.id, verified_at=to_storage(sandbox.store.clock.now())
            )
        elif not columns["verified"]:
            columns.update(verified_by_id=None, verified_at=None)
        else:
            # Re-verifying keeps the original verifier and time.
            del columns["verified"]
    updated = sandbox.store.update_event_definition(context.project_id, definition_id, columns)
    if updated is None:
        raise not_found()
    return records_response(render_event_definition(updated))


def routes() -> list[BaseRoute]:
    """The event-definition routes (`by_name/` before `{id}/`, which would capture it)."""
    base = "/api/projects/{project_id}/event_definitions/"
    return [
        endpoint(
            base,
            {"GET": Operation(READ, list_definitions), "POST": Operation(WRITE, create_definition)},
        ),
        endpoint(base + "by_name/", {"GET": Operation(READ, definition_by_name)}),
        endpoint(
            base + "{id}/",
            {
                "GET": Operation(READ, retrieve_definition),
                "PUT": Operation(WRITE, replace_definition),
                "PATCH": Operation(WRITE, patch_definition),
                "DELETE": Operation(WRITE, delete_definition),
            },
        ),
    ]
