"""Serving other machines: which hosts are loopback, and the key check on `/_sandbox/` routes.

The sandbox's demo key is public and its `/_sandbox/` routes change how it behaves, so it serves
loopback only unless `SandboxConfig.allow_remote` (the CLI's `--allow-remote`) is set. With it,
every `/_sandbox/` route needs a personal API key of the sandbox, checked by `AdminKeyGuard` on
the path prefix, so a route added later under `/_sandbox/` is covered too.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from eventschema_tools.sandbox.config import ConfigError
from eventschema_tools.sandbox.http.errors import ApiError
from eventschema_tools.sandbox.http.faults import ADMIN_PREFIX
from eventschema_tools.sandbox.state import Sandbox

__all__ = ["AdminKeyGuard", "check_bind", "is_loopback"]

_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """Whether binding `host` serves this machine only (127.0.0.0/8, ::1 or `localhost`)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote: bool) -> None:
    """Refuse to serve `host` when it is not loopback and remote use was not allowed.

    Raises:
        ConfigError: naming `--allow-remote`, before anything is bound.
    """
    if allow_remote or is_loopback(host):
        return
    shown = host or "''"
    raise ConfigError(
        f"bind address {shown} is not a loopback address: serving other machines needs "
        "--allow-remote (Python: allow_remote=True), and then every /_sandbox/ route needs an "
        "API key"
    )


class AdminKeyGuard:
    """ASGI layer answering 401, as the API routes do, to `/_sandbox/` requests without a key.

    Active only when the sandbox allows remote use; it checks the path the router matches, so
    no spelling of a `/_sandbox/` path gets past it.
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.sandbox.config.allow_remote
            and scope["path"].startswith(ADMIN_PREFIX)
        ):
            try:
                self.sandbox.authenticate(Request(scope))
            except ApiError as refused:
                await refused.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)
