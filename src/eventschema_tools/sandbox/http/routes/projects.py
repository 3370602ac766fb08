"""`GET /api/projects/{project_id}/` and `GET /api/users/@me/`: enough for a connection check.

Both need their own scopes in PostHog (`project:read`, `user:read`); `/users/@me/` is exempt
from per-key project restrictions.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.http.identity import render_me, render_project
from eventschema_tools.sandbox.http.routing import Operation, endpoint, json_response
from eventschema_tools.sandbox.state import RequestContext, sandbox_of


async def retrieve_project(request: Request, context: RequestContext) -> Response:
    assert context.project is not None
    return json_response(render_project(context.project))


async def retrieve_me(request: Request, context: RequestContext) -> Response:
    sandbox = sandbox_of(request)
    allowed = [
        project
        for project in sandbox.config.projects
        if context.key.projects is None or project.id in context.key.projects
    ]
    return json_response(render_me(context.user, sandbox.current_project(context.key), allowed))


def routes() -> list[BaseRoute]:
    """The project and user routes."""
    return [
        endpoint("/api/users/@me/", {"GET": Operation("user:read", retrieve_me)}),
        endpoint(
            "/api/projects/{project_id}/", {"GET": Operation("project:read", retrieve_project)}
        ),
    ]
