"""eventschema-tools: keep PostHog event schemas under control.

The public surface::

    from eventschema_tools import EventSchemaClient, AsyncEventSchemaClient

Importing this package never imports Airflow or the MCP SDK.
"""

from typing import TYPE_CHECKING

from eventschema_tools._lazy import lazy_attributes
from eventschema_tools._version import __version__
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
    from eventschema_tools.config import ClientSettings
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

# Where each name that is loaded on first use lives. The clients bring the HTTP stack (httpx,
# tenacity), the settings and the models their validators:
# loading them on first use keeps importing one submodule (the errors, the command line) cheap.
_LAZY: dict[str, str] = {
    "AsyncEventSchemaClient": "eventschema_tools.client",
    "EventSchemaClient": "eventschema_tools.client",
    "ClientSettings": "eventschema_tools.config",
    **dict.fromkeys(
        [
            "EnforcementMode",
            "EventDefinition",
            "EventSchema",
            "HogQLResult",
            "PropertyGroup",
            "PropertyInput",
            "PropertyType",
            "SchemaProperty",
        ],
        "eventschema_tools.models",
    ),
}

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
