"""Building routes the PostHog way: one path, several methods, checks before the handler.

`endpoint()` turns a path and a method→`Operation` map into a Starlette route. Each request is
authorised by `Sandbox.authorize` with the operation's scope (and rate-limit bucket) before the
handler runs. A method the path does not support is answered as PostHog answers it: 403 "This
action does not support Personal API Key access" for a scoped key, 405 for an unscoped one.

Like PostHog's router (`trailing_slash = r"/?"`) and its capture service, a route answers with and
without its trailing slash, from the same handler and with no redirect (`SlashOptionalRoute`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, compile_path

from eventschema_tools.sandbox.http.errors import method_not_allowed, not_found, permission_denied
from eventschema_tools.sandbox.http.throttle import API_BUCKET
from eventschema_tools.sandbox.state import RequestContext, sandbox_of

Handler = Callable[[Request, RequestContext], Awaitable[Response]]

_JSON: Final = "application/json"
ALL_METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class SlashOptionalRoute(Route):
    """A Starlette route matching its path with or without the trailing slash.

    `/api/projects/1/event_definitions` and `/api/projects/1/event_definitions/` reach the same
    endpoint directly, as in PostHog. `path`, `path_format` and `url_path_for` keep the path as
    written.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        stem = path.rstrip("/")
        if stem:
            pattern = compile_path(stem)[0].pattern
            # compile_path anchors with a final "$"; the slash goes in before it.
            self.path_regex = re.compile(pattern.removesuffix("$") + "/?$")


@dataclass(frozen=True)
class Operation:
    """A handler and the scope a personal API key needs to call it."""

    scope: str
    handler: Handler


def endpoint(
    path: str,
    operations: Mapping[str, Operation],
    *,
    bucket: str = API_BUCKET,
    name: str | None = None,
) -> Route:
    """A route serving `operations` (keyed by HTTP method) under `path`, trailing slash optional."""
    supported = dict(operations)
    if "GET" in supported:
        supported.setdefault("HEAD", supported["GET"])

    async def dispatch(request: Request) -> Response:
        sandbox = sandbox_of(request)
        operation = supported.get(request.method)
        if operation is None:
            key = sandbox.authenticate(request)
            if key.scoped:
                raise permission_denied("This action does not support Personal API Key access")
            sandbox.project_for_request(request, key)
            sandbox.check_rate_limit(key, bucket)
            raise method_not_allowed(request.method)
        context = sandbox.authorize(request, operation.scope, bucket=bucket)
        return await operation.handler(request, context)

    return SlashOptionalRoute(path, dispatch, methods=ALL_METHODS, name=name)


def json_response(data: Any, status_code: int = 200) -> JSONResponse:
    """A JSON response (compact, UTF-8, like DRF's renderer)."""
    return JSONResponse(data, status_code=status_code)


def records_response(data: Any, status_code: int = 200) -> Response:
    """Stored records (definitions, groups, schemas) as JSON: `json_response`'s bytes, faster.

    Records hold only strings, integers, booleans and nulls, for which msgspec writes exactly
    what `json.dumps` writes, in a tenth of the time; a page of 100 schemas is a quarter of a
    megabyte. Floats it writes differently (`1e16`, not `1e+16`; NaN as null), so anything that
    may hold one goes through `json_response`.
    """
    return Response(msgspec.json.encode(data), status_code=status_code, media_type=_JSON)


def no_content() -> Response:
    """204 with an empty body."""
    return Response(status_code=204)


def path_uuid(request: Request, name: str = "id") -> str:
    """A UUID path parameter in canonical form; a malformed one is a 404, as in PostHog."""
    try:
        return str(uuid.UUID(str(request.path_params[name])))
    except ValueError:
        raise not_found() from None
