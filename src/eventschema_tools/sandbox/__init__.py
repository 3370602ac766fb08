"""A PostHog-compatible sandbox server for schema management.

It emulates PostHog's event-schema, property-group and event-definition API (messages, codes,
status codes, ordering, pagination, auth scopes, rate limits) on SQLite, with seeded fault
injection for testing clients. Typical use::

    from eventschema_tools.sandbox import create_app, run_sandbox

    app = create_app()                      # for httpx.ASGITransport(app=app)
    with run_sandbox(seed="demo") as sandbox:
        print(sandbox.url)                  # http://127.0.0.1:<free port>

Names are imported on first use, so reading `eventschema_tools.sandbox.config` (as the CLI does
to check its options) does not load the server and its dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventschema_tools._lazy import lazy_attributes

if TYPE_CHECKING:
    from eventschema_tools.sandbox.config import (
        DEMO_API_KEY,
        DEMO_PROJECT_ID,
        DEMO_PROJECT_TOKEN,
        ApiKey,
        ConfigError,
        Project,
        RateLimit,
        SandboxConfig,
        parse_rate_limits,
    )
    from eventschema_tools.sandbox.http.app import SandboxApp, create_app
    from eventschema_tools.sandbox.http.faults import (
        DroppedConnection,
        FaultConfig,
        FaultSpecError,
        parse_fault_spec,
    )
    from eventschema_tools.sandbox.http.server import RunningSandbox, run_sandbox, serve
    from eventschema_tools.sandbox.state import RequestContext, Sandbox, sandbox_of

_HOMES = {
    "eventschema_tools.sandbox.http.app": ("SandboxApp", "create_app"),
    "eventschema_tools.sandbox.config": (
        "DEMO_API_KEY",
        "DEMO_PROJECT_ID",
        "DEMO_PROJECT_TOKEN",
        "ApiKey",
        "ConfigError",
        "Project",
        "RateLimit",
        "SandboxConfig",
        "parse_rate_limits",
    ),
    "eventschema_tools.sandbox.http.faults": (
        "DroppedConnection",
        "FaultConfig",
        "FaultSpecError",
        "parse_fault_spec",
    ),
    "eventschema_tools.sandbox.http.server": ("RunningSandbox", "run_sandbox", "serve"),
    "eventschema_tools.sandbox.state": ("RequestContext", "Sandbox", "sandbox_of"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "DEMO_API_KEY",
    "DEMO_PROJECT_ID",
    "DEMO_PROJECT_TOKEN",
    "ApiKey",
    "ConfigError",
    "DroppedConnection",
    "FaultConfig",
    "FaultSpecError",
    "Project",
    "RateLimit",
    "RequestContext",
    "RunningSandbox",
    "Sandbox",
    "SandboxApp",
    "SandboxConfig",
    "create_app",
    "parse_fault_spec",
    "parse_rate_limits",
    "run_sandbox",
    "sandbox_of",
    "serve",
]


__getattr__ = lazy_attributes(__name__, _MODULE_OF, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
