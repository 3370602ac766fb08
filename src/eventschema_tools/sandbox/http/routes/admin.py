"""Sandbox-only admin routes under `/_sandbox/` (no PostHog equivalent, no authentication).

- `GET /_sandbox/faults`: the faults in force; `PUT` replaces them (a JSON object of
  `FaultConfig` fields, missing ones at their defaults) and restarts the seeded generator;
  `DELETE` switches faults off.
- `GET /_sandbox/stats`: requests seen, faults injected per kind, responses per status and
  requests refused by the rate limiter; `DELETE` resets the counters.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.http.errors import validation_error
from eventschema_tools.sandbox.http.faults import FaultConfig, FaultSpecError
from eventschema_tools.sandbox.http.routing import SlashOptionalRoute, json_response, no_content
from eventschema_tools.sandbox.state import sandbox_of


async def faults(request: Request) -> Response:
    injector = sandbox_of(request).faults
    if request.method == "PUT":
        body = await sandbox_of(request).read_json(request)
        if not isinstance(body, Mapping):
            raise validation_error("Send a JSON object of fault settings.")
        try:
            injector.configure(FaultConfig.from_mapping(body))
        except FaultSpecError as error:
            raise validation_error(str(error)) from None
    elif request.method == "DELETE":
        injector.configure(FaultConfig())
    return json_response(injector.config.as_dict())


async def stats(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.method == "DELETE":
        sandbox.faults.reset_stats()
        sandbox.throttle.reset_refused()
        return no_content()
    return json_response({**sandbox.faults.stats(), "rate_limited": sandbox.throttle.refused})


def routes() -> list[BaseRoute]:
    """The admin routes."""
    return [
        SlashOptionalRoute("/_sandbox/faults", faults, methods=["GET", "PUT", "DELETE"]),
        SlashOptionalRoute("/_sandbox/stats", stats, methods=["GET", "DELETE"]),
    ]
