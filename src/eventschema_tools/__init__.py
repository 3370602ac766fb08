"""eventschema-tools: keep PostHog event schemas under control.

The public surface::

    from eventschema_tools import EventSchemaClient, AsyncEventSchemaClient

Importing this package never imports Airflow or the MCP SDK.
"""

from typing import TYPE_CHECKING, Any

from eventschema_tools._version import __version__
from eventschema_tools.config import ClientSettings
from eventschema_tools.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    EventSchemaError,
    InternalServerError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnsafeURLError,
)
from eventschema_tools.models import (
    EnforcementMode,
    EventDefinition,
    EventSchema,
    HogQLResult,
    PropertyGroup,
    PropertyInput,
    PropertyType,
    SchemaProperty,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncEventSchemaClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientSettings",
    "ConfigurationError",
    "EnforcementMode",
    "EventDefinition",
    "EventSchema",
    "EventSchemaClient",
    "EventSchemaError",
    "HogQLResult",
    "InternalServerError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "PropertyGroup",
    "PropertyInput",
    "PropertyType",
    "RateLimitError",
    "SchemaProperty",
    "UnsafeURLError",
    "__version__",
]

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient


def __getattr__(name: str) -> Any:
    # The clients bring the HTTP stack (httpx, tenacity, the rate limiter); loading them on
    # first use keeps importing the models, errors or the MCP server cheap.
    if name in {"AsyncEventSchemaClient", "EventSchemaClient"}:
        from eventschema_tools import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
