"""Pydantic models of PostHog's schema-management API.

Two families live here:

* **Response models** (``EventSchema``, ``PropertyGroup``, ``SchemaProperty``,
  ``EventDefinition``, ...) mirror what PostHog returns. They accept fields PostHog adds later
  (``extra="allow"``), so a newer server never breaks an older client.
* **Request models** (``PropertyInput``, ``PropertyGroupCreate``, ``EventSchemaCreate``, ...)
  validate input *before* any request is sent: UUIDs, property names (non-blank, at most 200
  characters after trimming), property types, duplicate property names. Their errors name the
  field and say why.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from eventschema_tools.errors import InvalidInputError, UnexpectedResponseError

__all__ = [
    "EnforcementMode",
    "EventDefinition",
    "EventDefinitionCreate",
    "EventDefinitionUpdate",
    "EventSchema",
    "EventSchemaCreate",
    "EventSchemaUpdate",
    "HogQLResult",
    "Page",
    "Project",
    "PropertyGroup",
    "PropertyGroupCreate",
    "PropertyGroupEvent",
    "PropertyGroupUpdate",
    "PropertyInput",
    "PropertyType",
    "SchemaProperty",
    "User",
    "UserBasic",
    "as_uuid",
    "parse_input",
    "parse_response",
]

MAX_PROPERTY_NAME_LENGTH = 200
MAX_GROUP_NAME_LENGTH = 400
MAX_EVENT_NAME_LENGTH = 400


class PropertyType(StrEnum):
    """The five property types PostHog's schema management knows."""

    DATETIME = "DateTime"
    STRING = "String"
    NUMERIC = "Numeric"
    BOOLEAN = "Boolean"
    OBJECT = "Object"


class EnforcementMode(StrEnum):
    """What ingestion does with events that break their schema."""

    ALLOW = "allow"
    REJECT = "reject"


class _Response(BaseModel):
    """Base of every response model: tolerant of fields PostHog adds later."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Request(BaseModel):
    """Base of every request model: strict about unknown fields, so typos fail early."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- responses -------------------------------------------------------------------------------


class UserBasic(_Response):
    """The short user object PostHog embeds as ``created_by`` and friends."""

    id: int | None = None
    uuid: UUID | None = None
    distinct_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class User(UserBasic):
    """``GET /api/users/@me/``: the user the API key belongs to."""


class Project(_Response):
    """``GET /api/projects/{id}/``: enough of a project for a connection check."""

    id: int
    name: str | None = None
    api_token: str | None = None


class SchemaProperty(_Response):
    """One typed property of a property group."""

    id: UUID | None = None
    name: str
    property_type: PropertyType
    is_required: bool = False
    is_optional_in_types: bool = False
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class PropertyGroupEvent(_Response):
    """An event definition a property group is bound to, as listed in ``PropertyGroup.events``."""

    id: UUID
    name: str


class PropertyGroup(_Response):
    """A named, reusable set of typed properties."""

    id: UUID
    name: str
    description: str = ""
    properties: list[SchemaProperty] = Field(default_factory=list)
    events: list[PropertyGroupEvent] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: UserBasic | None = None

    @field_validator("events", mode="before")
    @classmethod
    def _events_as_list(cls, value: Any) -> Any:
        # Older servers (and the published OpenAPI spec) type `events` as a string.
        return [] if value is None or isinstance(value, str) else value


class EventSchema(_Response):
    """A binding of one property group to one event definition.

    PostHog has no endpoint to read one event schema by id: use
    ``client.event_schemas.find(...)`` or list with ``event_definition=``.
    """

    id: UUID
    event_definition: UUID
    property_group: PropertyGroup
    created_at: datetime | None = None
    updated_at: datetime | None = None


class EventDefinition(_Response):
    """An event definition: one event name known to the project."""

    id: UUID
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    verified: bool | None = None
    hidden: bool | None = None
    enforcement_mode: EnforcementMode = EnforcementMode.ALLOW
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_seen_at: datetime | None = None


T = TypeVar("T")


class Page(_Response, Generic[T]):
    """One page of a DRF limit/offset list response."""

    count: int | None = None
    next: str | None = None
    previous: str | None = None
    results: list[T]


class HogQLResult(_Response):
    """The parts of PostHog's ``HogQLQueryResponse`` a caller needs."""

    columns: list[str] = Field(default_factory=list)
    results: list[list[Any]] = Field(default_factory=list)
    types: list[Any] = Field(default_factory=list)
    has_more: bool | None = Field(default=None, alias="hasMore")
    limit: int | None = None
    offset: int | None = None

    def rows(self) -> list[dict[str, Any]]:
        """Return the result rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.results]


# --- requests --------------------------------------------------------------------------------


def _trimmed_property_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("property name must not be blank")
    if len(name) > MAX_PROPERTY_NAME_LENGTH:
        raise ValueError(
            f"property name must be {MAX_PROPERTY_NAME_LENGTH} characters or less (got {len(name)})"
        )
    return name


PropertyName = Annotated[str, AfterValidator(_trimmed_property_name)]
GroupName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GROUP_NAME_LENGTH)
]
# Trimmed as PostHog's serializer trims it, so a create is reconciled under the stored name.
EventName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EVENT_NAME_LENGTH)
]


class PropertyInput(_Request):
    """A property to create inside a property group."""

    name: PropertyName
    property_type: PropertyType
    is_required: bool = False
    is_optional_in_types: bool = False
    description: str = ""


def _unique_property_names(properties: list[PropertyInput]) -> list[PropertyInput]:
    seen: set[str] = set()
    for prop in properties:
        if prop.name in seen:
            raise ValueError(
                f"property {prop.name!r} appears more than once; give each name once per group"
            )
        seen.add(prop.name)
    return properties


PropertyList = Annotated[list[PropertyInput], AfterValidator(_unique_property_names)]


class PropertyGroupCreate(_Request):
    """Body of ``POST schema_property_groups/``."""

    name: GroupName
    description: str = ""
    properties: PropertyList = Field(default_factory=list)


class PropertyGroupUpdate(_Request):
    """Body of ``PATCH schema_property_groups/{id}/``.

    Only the fields you set are sent. ``properties``, when set, **replaces** the group's whole
    property list (PostHog re-creates every property with a new id); leave it unset to keep them.
    """

    name: GroupName | None = None
    description: str | None = None
    properties: PropertyList | None = None


class EventSchemaCreate(_Request):
    """Body of ``POST event_schemas/``: bind a property group to an event definition."""

    event_definition: UUID
    property_group_id: UUID


class EventSchemaUpdate(_Request):
    """Body of ``PATCH event_schemas/{id}/``: move a binding to another event or group."""

    event_definition: UUID | None = None
    property_group_id: UUID | None = None


class EventDefinitionCreate(_Request):
    """Body of ``POST event_definitions/``."""

    name: EventName
    description: str | None = None
    tags: list[str] | None = None


class EventDefinitionUpdate(_Request):
    """Body of ``PATCH event_definitions/{id}/``."""

    description: str | None = None
    tags: list[str] | None = None
    verified: bool | None = None
    hidden: bool | None = None
    enforcement_mode: EnforcementMode | None = None

    @model_validator(mode="after")
    def _not_hidden_and_verified(self) -> EventDefinitionUpdate:
        if self.hidden and self.verified:
            raise ValueError("an event cannot be both hidden and verified: set only one of them")
        return self


M = TypeVar("M", bound=BaseModel)


def parse_input(model: type[M], **fields: Any) -> M:
    """Validate request input with ``model``, raising a readable error before any request.

    Raises:
        InvalidInputError: one or more fields are wrong; the message names each field and why.
    """
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = [
            (
                ".".join(str(part) for part in error["loc"]) or model.__name__,
                # pydantic prefixes our own validators' messages with "Value error, ".
                error["msg"].removeprefix("Value error, "),
            )
            for error in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(
            message if where == model.__name__ else f"{where}: {message}"
            for where, message in problems
        )
        raise InvalidInputError(f"invalid {model.__name__}: {summary}", problems) from None


def parse_response(model: type[M], data: Any) -> M:
    """Read a 2xx response body into ``model``.

    Raises:
        UnexpectedResponseError: the body does not fit the model (e.g. a value added by a newer
            PostHog); the message names the fields, never the request's headers.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted(
            {".".join(str(part) for part in error["loc"]) for error in exc.errors()[:5]}
        )
        raise UnexpectedResponseError(
            f"PostHog answered with a {model.__name__} this version cannot read "
            f"(fields: {', '.join(fields)}); upgrading eventschema-tools may help"
        ) from None


def as_uuid(value: UUID | str, field: str = "id") -> UUID:
    """Return ``value`` as a UUID, or raise :class:`InvalidInputError` naming ``field``."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value).strip())
    except ValueError:
        raise InvalidInputError(
            f"{field} must be a UUID like 0190a8e4-7c1b-7d2e-9f00-0123456789ab, got {value!r}",
            [(field, "not a valid UUID")],
        ) from None
