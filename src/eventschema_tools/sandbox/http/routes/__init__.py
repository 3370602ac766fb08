"""The sandbox's HTTP routes, one module per PostHog resource.

`sandbox_routes()` lists every route the app serves; a new resource module adds its `routes()`
to `_MODULE_ROUTES`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from eventschema_tools.sandbox.events import capture, query
from eventschema_tools.sandbox.http.routes import (
    admin,
    annotation,
    event_definitions,
    event_schemas,
    personal_api_keys,
    projects,
    property_groups,
)

_MODULE_ROUTES: tuple[Callable[[], list[BaseRoute]], ...] = (
    projects.routes,
    personal_api_keys.routes,
    event_definitions.routes,
    property_groups.routes,
    event_schemas.routes,
    annotation.routes,
    query.routes,
    capture.routes,
    admin.routes,
)


def sandbox_routes() -> list[BaseRoute]:
    """Every route of the sandbox, in matching order."""
    return [route for module_routes in _MODULE_ROUTES for route in module_routes()]
