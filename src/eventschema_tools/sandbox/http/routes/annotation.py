"""`/api/projects/{project_id}/annotations/`: list and create, as PostHog's `AnnotationsViewSet`.

Follows PostHog's serializer and viewset (`posthog/api/annotation.py`): the fields `id`,
`content`, `date_marker`, `creation_type`, `dashboard_item`, `dashboard_id`, `dashboard_name`,
`insight_short_id`, `insight_name`, `insight_derived_name`, `created_by`, `created_at`,
`updated_at`, `deleted`, `scope`; the list is newest `date_marker` first, paginated by
limit/offset (default 1,000), with `?search=` on `content`; scopes `annotation:read` and
`annotation:write`. The sandbox keeps annotations in memory (not in `--data-dir`), has no
dashboards or insights (those fields are null) and serves no retrieve, update or delete.
Not confirmed against PostHog: the exact length limit of `content` (the sandbox takes 400,
the model's `CharField` size).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.http.errors import validation_error
from eventschema_tools.sandbox.http.pagination import lenient_page, paginated
from eventschema_tools.sandbox.http.routing import Operation, endpoint, json_response
from eventschema_tools.sandbox.state import RequestContext, sandbox_of

__all__ = ["routes"]

READ: Final = "annotation:read"
WRITE: Final = "annotation:write"
MAX_CONTENT: Final = 400
SCOPES: Final = ("dashboard_item", "dashboard", "project", "organization", "recording")
CREATION_TYPES: Final = ("USR", "GIT")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _date_marker(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation_error("Datetime has wrong format.", attr="date_marker")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise validation_error(
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            attr="date_marker",
            code="invalid",
        ) from None
    return _iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _choice(body: dict[str, Any], field: str, choices: tuple[str, ...], default: str) -> str:
    value = body.get(field, default)
    if value not in choices:
        raise validation_error(
            f'"{value}" is not a valid choice.', attr=field, code="invalid_choice"
        )
    return str(value)


async def _create(request: Request, context: RequestContext) -> Response:
    sandbox = sandbox_of(request)
    body = await sandbox.read_json(request)
    if not isinstance(body, dict):
        raise validation_error("Invalid data. Expected a dictionary, but got list.")
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        raise validation_error("Not a valid string.", attr="content")
    if content is not None and len(content) > MAX_CONTENT:
        raise validation_error(
            f"Ensure this field has no more than {MAX_CONTENT} characters.",
            attr="content",
            code="max_length",
        )
    now = _iso(datetime.now(UTC))
    assert context.project is not None
    with sandbox.annotations_lock:
        made = sum(len(items) for items in sandbox.annotations.values())
        annotation = {
            "id": made + 1,
            "content": content,
            "date_marker": _date_marker(body.get("date_marker")),
            "creation_type": _choice(body, "creation_type", CREATION_TYPES, "USR"),
            "dashboard_item": None,
            "dashboard_id": None,
            "dashboard_name": None,
            "insight_short_id": None,
            "insight_name": None,
            "insight_derived_name": None,
            "created_by": {"id": sandbox.user.id, "email": sandbox.user.email},
            "created_at": now,
            "updated_at": now,
            "deleted": False,
            "scope": _choice(body, "scope", SCOPES, "dashboard_item"),
        }
        sandbox.annotations.setdefault(context.project.id, []).append(annotation)
    return json_response(annotation, status_code=201)


async def _list(request: Request, context: RequestContext) -> Response:
    assert context.project is not None
    sandbox = sandbox_of(request)
    search = request.query_params.get("search", "").lower()
    with sandbox.annotations_lock:
        found = [
            item
            for item in sandbox.annotations.get(context.project.id, [])
            if not search or search in (item["content"] or "").lower()
        ]
    found.sort(key=lambda item: item["date_marker"] or "", reverse=True)
    page = lenient_page(request)
    results = found[page.offset : page.offset + page.limit]
    return json_response(paginated(request, page, len(found), results))


def routes() -> list[BaseRoute]:
    """The annotation routes."""
    return [
        endpoint(
            "/api/projects/{project_id}/annotations/",
            {"GET": Operation(READ, _list), "POST": Operation(WRITE, _create)},
        )
    ]
