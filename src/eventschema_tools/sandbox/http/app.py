"""`create_app`: the sandbox as a Starlette ASGI application.

The app keeps its `Sandbox` (store, auth, limits, faults) at `app.state.sandbox`. Errors leave
every layer in PostHog's shape: `ApiError`s raised by routes, Starlette's own 404/405 for paths
the sandbox does not serve, and a PostHog-style 500 for anything unexpected (which is re-raised
after the response, so a bug is loud in tests). Nothing is redirected: the routes themselves take
their paths with or without the trailing slash, and any other path is a 404.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from eventschema_tools.sandbox.config import ConfigError, SandboxConfig
from eventschema_tools.sandbox.http.errors import (
    ApiError,
    error_body,
    method_not_allowed,
    not_found,
    server_error,
)
from eventschema_tools.sandbox.http.faults import FaultLayer
from eventschema_tools.sandbox.http.remote import AdminKeyGuard
from eventschema_tools.sandbox.http.routes import sandbox_routes
from eventschema_tools.sandbox.state import Sandbox


class SandboxApp(Starlette):
    """The sandbox application; its outer layers check keys on `/_sandbox/` and inject faults."""

    def __init__(self, sandbox: Sandbox, routes: Sequence[BaseRoute]) -> None:
        super().__init__(
            routes=list(routes),
            exception_handlers={
                ApiError: _api_error,
                HTTPException: _http_exception,
                Exception: _unexpected_error,
            },
        )
        # PostHog answers a path with or without its trailing slash and never redirects; Starlette
        # would answer a near miss with a 307 before any authentication.
        self.router.redirect_slashes = False
        self.state.sandbox = sandbox

    @property
    def sandbox(self) -> Sandbox:
        """The shared state of this instance."""
        return cast(Sandbox, self.state.sandbox)

    @property
    def config(self) -> SandboxConfig:
        """The configuration this instance serves."""
        return self.sandbox.config

    def build_middleware_stack(self) -> ASGIApp:
        inner = FaultLayer(super().build_middleware_stack(), self.sandbox.faults)
        return AdminKeyGuard(inner, self.sandbox)


def create_app(
    config: SandboxConfig | None = None,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    **overrides: Any,
) -> SandboxApp:
    """Build a sandbox application.

    Args:
        config: the configuration; the default serves project 1 to the demo key.
        extra_routes: more routes to serve after the built-in ones (they reach the shared state
            through `eventschema_tools.sandbox.state.sandbox_of(request)`).
        **overrides: `SandboxConfig` fields replacing those of `config`, e.g.
            `create_app(rate_limiting=False)`.

    Raises:
        ConfigError: for an unknown override or an invalid setting.
    """
    base = config or SandboxConfig()
    known = {field.name for field in dataclasses.fields(SandboxConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown sandbox setting(s) {unknown}; known: {sorted(known)}")
    resolved = dataclasses.replace(base, **overrides) if overrides else base
    return SandboxApp(Sandbox(resolved), [*sandbox_routes(), *extra_routes])


async def _api_error(request: Request, exc: Exception) -> Response:
    return cast(ApiError, exc).response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    status_code = cast(HTTPException, exc).status_code
    if status_code == 404:
        return not_found().response()
    if status_code == 405:
        return method_not_allowed(request.method).response()
    body = error_body("invalid_request", "error", str(cast(HTTPException, exc).detail))
    return JSONResponse(body, status_code=status_code)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    return server_error().response()
