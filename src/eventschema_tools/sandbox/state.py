"""The `Sandbox`: what every route shares, kept on the app as `app.state.sandbox`.

Routes (including ones added later, such as event capture or the query endpoint) reach the
store, authentication, rate limits and faults through it::

    sandbox = sandbox_of(request)
    context = sandbox.authorize(request, "query:read", bucket=QUERY_BUCKET)
    body = await sandbox.read_json(request)
    sandbox.store.touch_event_definitions(context.project_id, names, seen_at)
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Final, cast

from starlette.requests import Request

from eventschema_tools.sandbox.config import ApiKey, Project, SandboxConfig
from eventschema_tools.sandbox.events.store import EventStore
from eventschema_tools.sandbox.http.errors import (
    body_too_large,
    invalid_personal_api_key,
    not_authenticated,
    not_found,
    parse_error,
    permission_denied,
    throttled,
    unsupported_media_type,
)
from eventschema_tools.sandbox.http.faults import FaultInjector
from eventschema_tools.sandbox.http.identity import SANDBOX_USER, SandboxUser
from eventschema_tools.sandbox.http.json_text import loads_json
from eventschema_tools.sandbox.http.throttle import API_BUCKET, QUERY_BUCKET, Throttle
from eventschema_tools.sandbox.storage.sdk_day import SDK_SEEDS
from eventschema_tools.sandbox.storage.seed import load_seed
from eventschema_tools.sandbox.storage.store import Store

CURRENT_PROJECT: Final = "@current"
_BEARER: Final = re.compile(r"^Bearer\s+(\S.+)$")


@dataclass(frozen=True)
class RequestContext:
    """Who is calling and for which project (None on routes outside a project)."""

    key: ApiKey
    project: Project | None
    user: SandboxUser

    @property
    def project_id(self) -> int:
        """The project's id; only valid on project routes."""
        if self.project is None:
            raise RuntimeError("this route is not under /api/projects/{project_id}/")
        return self.project.id


class Sandbox:
    """Configuration, storage, authentication, limits and faults of one sandbox instance."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store.open(config.data_dir)
        self.events = EventStore(config.data_dir)
        self.user = SANDBOX_USER
        self.throttle = Throttle(
            {API_BUCKET: config.rate_limits, QUERY_BUCKET: config.query_rate_limits},
            enabled=config.rate_limiting,
        )
        self.faults = FaultInjector(config.faults)
        self._keys = {key.token: key for key in config.api_keys}
        self._projects_by_token = {project.api_token: project for project in config.projects}
        self.day_to_send = False
        """True while a `demo-day` seed's events wait to be sent once the server listens."""
        self.day_stored = threading.Event()
        """Clear while a serving sandbox sends its `demo-day` day: HogQL queries wait for it."""
        self.day_stored.set()
        # Annotations live in memory only (routes/annotation.py): per project, in order made.
        self.annotations: dict[int, list[dict[str, Any]]] = {}
        self.annotations_lock = threading.Lock()
        if config.seed is not None:
            loaded = load_seed(
                config.seed, self.store, config.projects[0].id, self.user.id, self.events
            )
            self.day_to_send = loaded and config.seed in SDK_SEEDS

    def close(self) -> None:
        """Release the databases."""
        self.store.close()
        self.events.close()

    def authenticate(self, request: Request) -> ApiKey:
        """The personal API key of a request, or the 401 PostHog sends."""
        match = _BEARER.match(request.headers.get("authorization", ""))
        if match is None:
            raise not_authenticated()
        key = self._keys.get(match.group(1).strip())
        if key is None:
            raise invalid_personal_api_key()
        return key

    def authorize(
        self, request: Request, scope: str, *, bucket: str = API_BUCKET
    ) -> RequestContext:
        """Run PostHog's checks in PostHog's order and return the request's context.

        401 (key) → 404/403 (project, when the route has `{project_id}`) → 403 (scope) → 429
        (rate limit of `bucket`, counted per key).
        """
        key = self.authenticate(request)
        project = self.project_for_request(request, key)
        if not key.allows(scope):
            raise permission_denied(f"API key missing required scope '{scope}'")
        self.check_rate_limit(key, bucket)
        return RequestContext(key=key, project=project, user=self.user)

    def project_for_request(self, request: Request, key: ApiKey) -> Project | None:
        """Resolve `{project_id}` (a number or `@current`), checking the key may use it."""
        raw = request.path_params.get("project_id")
        if raw is None:
            return None
        return self.resolve_project(str(raw), key)

    def resolve_project(self, raw: str, key: ApiKey) -> Project:
        """A served project from a path value; 404 when unknown, 403 when the key may not use it."""
        project: Project | None
        if raw == CURRENT_PROJECT:
            project = self.current_project(key)
        else:
            project = self.config.project(int(raw)) if raw.isdigit() else None
        if project is None:
            raise not_found()
        if key.projects is not None and project.id not in key.projects:
            raise permission_denied(
                f"API key does not have access to the requested project: ID {project.id}."
            )
        return project

    def current_project(self, key: ApiKey) -> Project:
        """`@current`: the key's first project, else the sandbox's first project."""
        if key.projects:
            project = self.config.project(key.projects[0])
            if project is not None:
                return project
        return self.config.projects[0]

    def check_rate_limit(self, key: ApiKey, bucket: str = API_BUCKET) -> None:
        """Count a request against the key's budget in `bucket`; 429 when it is spent."""
        wait = self.throttle.hit(key.token, bucket)
        if wait is not None:
            raise throttled(wait)

    def project_for_token(self, token: str) -> Project | None:
        """The project a public `phc_` project token belongs to (for event capture)."""
        return self._projects_by_token.get(token)

    async def read_json(self, request: Request) -> object:
        """The request body as JSON, with DRF's parsing rules and the sandbox's size limit.

        An empty body is `{}`; only `application/json` is parsed (415 otherwise); invalid JSON,
        including NaN/Infinity and nesting deeper than `json_text.MAX_JSON_DEPTH`, is DRF's 400
        `parse_error`; a body over the limit is a 413.
        """
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise body_too_large(limit)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise body_too_large(limit)
        if not body:
            return {}
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise unsupported_media_type(content_type)
        try:
            return loads_json(bytes(body).decode("utf-8"))
        except ValueError as error:
            raise parse_error(str(error)) from None


def sandbox_of(request: Request) -> Sandbox:
    """The `Sandbox` serving a request."""
    return cast(Sandbox, request.app.state.sandbox)
