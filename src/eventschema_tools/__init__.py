"""eventschema-tools: keep PostHog event schemas under control.

The public surface::

    from eventschema_tools import EventSchemaClient, AsyncEventSchemaClient

Importing this package never imports Airflow or the MCP SDK.
"""

from eventschema_tools._version import __version__
from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient
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
