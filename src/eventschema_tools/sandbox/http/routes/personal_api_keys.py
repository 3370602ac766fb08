"""`GET /api/personal_api_keys/@current/`: the key that made the request, its scopes and projects.

As in PostHog's `PersonalAPIKeyViewSet` (`PersonalApiKeySelfAccessPermission`), a personal API
key may only *retrieve itself*, and needs no scope for it; every other action on the path,
listing included, is 403 "This action does not support Personal API Key access". The answer
never carries the token: `value` is null and `mask_value` shows its first and last four
characters, as PostHog's `mask_key_value` does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.config import ALL_SCOPES, ApiKey
from eventschema_tools.sandbox.http.errors import not_found, permission_denied
from eventschema_tools.sandbox.http.identity import stable_uuid
from eventschema_tools.sandbox.http.routing import ALL_METHODS, SlashOptionalRoute, json_response
from eventschema_tools.sandbox.state import Sandbox, sandbox_of

CURRENT_KEY = "@current"
_NO_KEY_ACCESS = "This action does not support Personal API Key access"


def key_id(sandbox: Sandbox, key: ApiKey) -> str:
    """The key's public id: stable across restarts and derived from its position, not its token."""
    return stable_uuid(f"personal_api_key:{sandbox.config.api_keys.index(key)}")


def mask_token(token: str) -> str:
    """PostHog's masked form of a key: `phx_...abcd`, or all stars for a short token."""
    return "********" if len(token) < 16 else f"{token[:4]}...{token[-4:]}"


def render_key(sandbox: Sandbox, key: ApiKey) -> dict[str, Any]:
    """The key as `PersonalAPIKeySerializer` renders it (an unscoped key shows `["*"]`)."""
    return {
        "id": key_id(sandbox, key),
        "label": f"Sandbox key {sandbox.config.api_keys.index(key) + 1}",
        "value": None,
        "mask_value": mask_token(key.token),
        "created_at": None,
        "last_used_at": None,
        "user_id": sandbox.user.id,
        "scopes": list(key.scopes) or [ALL_SCOPES],
        "scoped_teams": list(key.projects) if key.projects is not None else [],
        "scoped_organizations": [],
        "last_rolled_at": None,
    }


async def _key_detail(request: Request) -> Response:
    sandbox = sandbox_of(request)
    key = sandbox.authenticate(request)
    if request.method not in ("GET", "HEAD"):
        raise permission_denied(_NO_KEY_ACCESS)
    sandbox.check_rate_limit(key)
    wanted = str(request.path_params["id"])
    if wanted not in (CURRENT_KEY, key_id(sandbox, key)):
        others = {key_id(sandbox, other) for other in sandbox.config.api_keys}
        # All sandbox keys belong to its one user: another key is found, then refused.
        raise permission_denied(_NO_KEY_ACCESS) if wanted in others else not_found()
    return json_response(render_key(sandbox, key))


async def _key_list(request: Request) -> Response:
    sandbox_of(request).authenticate(request)
    raise permission_denied(_NO_KEY_ACCESS)


def routes() -> list[BaseRoute]:
    """The personal API key routes: retrieve (itself only); anything else is refused."""
    return [
        SlashOptionalRoute("/api/personal_api_keys/", _key_list, methods=ALL_METHODS),
        SlashOptionalRoute("/api/personal_api_keys/{id}/", _key_detail, methods=ALL_METHODS),
    ]
