"""Pydantic models of PostHog's schema-management API.

Two families live here:

* **Response models** (``EventSchema``, ``PropertyGroup``, ``SchemaProperty``,
  ``EventDefinition``, ...) mirror what PostHog returns. They accept fields PostHog adds later
  (``extra="allow"``), so a newer server never breaks an older client.
* **Request models** (``PropertyInput``, ``PropertyGroupCreate``, ``EventSchemaCreate``, ...)
  validate input *before* any request is sent: UUIDs, property names (non-blank, at most 200
  characters after trimming), property types, duplicate property names. A mistake comes back as
  an :class:`~eventschema_tools.errors.InvalidInputError` of one sentence that names the field
  as the caller spelled it, the wrong value and a fix (``did you mean 'Numeric'?``).

A property is spelled the same in and out: ``name``, ``type``, ``required``,
``optional_in_types`` and ``description``, as the views show it and the tracking plan writes it.
:class:`PropertyInput` also reads PostHog's own names (``property_type``, ``is_required``,
``is_optional_in_types``), and :meth:`PropertyInput.to_api` writes them for the request body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Generic, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
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


class _Choice(StrEnum):
    """A string enumeration whose errors can suggest the value a wrong word meant."""

    @classmethod
    def synonyms(cls) -> Mapping[str, str]:
        """Other words for the values (lower case), offered as ``did you mean`` hints only."""
        return {}


# What people write for a property type elsewhere (JSON Schema, SQL, Python, TypeScript).
_TYPE_SYNONYMS: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        ("number", "int", "integer", "float", "double", "decimal", "bigint", "long"), "Numeric"
    ),
    **dict.fromkeys(("str", "text", "varchar", "char", "uuid", "enum"), "String"),
    **dict.fromkeys(("bool",), "Boolean"),
    **dict.fromkeys(("date", "time", "timestamp", "datetime64"), "DateTime"),
    **dict.fromkeys(("dict", "map", "json", "array", "list", "struct", "record"), "Object"),
}


class PropertyType(_Choice):
    """The five property types PostHog's schema management knows."""

    DATETIME = "DateTime"
    STRING = "String"
    NUMERIC = "Numeric"
    BOOLEAN = "Boolean"
    OBJECT = "Object"

    @classmethod
    def synonyms(cls) -> Mapping[str, str]:
        """Other words for the types: ``Integer`` or ``number`` mean ``Numeric``."""
        return _TYPE_SYNONYMS


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


def _in_any_case(choice: type[StrEnum]) -> BeforeValidator:
    """Read a value of ``choice`` in any case (``numeric`` is ``Numeric``), as people type it."""

    def canonical(value: Any) -> Any:
        if isinstance(value, str):
            wanted = value.strip().casefold()
            return next((m for m in choice if m.value.casefold() == wanted), value)
        return value

    return BeforeValidator(canonical)


_TypeInAnyCase = Annotated[PropertyType, _in_any_case(PropertyType)]
_EnforcementInAnyCase = Annotated[EnforcementMode, _in_any_case(EnforcementMode)]


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


# Its docstring is the description MCP clients read in the tool schemas; the other spelling it
# accepts is documented in the module docstring and on the properties below.
class PropertyInput(_Request):
    """A property to create inside a property group."""

    name: PropertyName = Field(
        description=f"Property name as events send it (at most {MAX_PROPERTY_NAME_LENGTH} "
        "characters)."
    )
    type: _TypeInAnyCase = Field(
        validation_alias=AliasChoices("type", "property_type"),
        description="One of String, Numeric, Boolean, DateTime, Object.",
    )
    required: bool = Field(
        default=False,
        validation_alias=AliasChoices("required", "is_required"),
        description="Events without this property break the schema.",
    )
    optional_in_types: bool = Field(
        default=False,
        validation_alias=AliasChoices("optional_in_types", "is_optional_in_types"),
        description="Required at runtime but optional in generated types.",
    )
    description: str = Field(default="", description="What the property holds.")

    # PostHog's names, read as input too (``{"property_type": "String"}`` still works).
    @property
    def property_type(self) -> PropertyType:
        """``type``, under PostHog's name for it."""
        return self.type

    @property
    def is_required(self) -> bool:
        """``required``, under PostHog's name for it."""
        return self.required

    @property
    def is_optional_in_types(self) -> bool:
        """``optional_in_types``, under PostHog's name for it."""
        return self.optional_in_types

    def to_api(self) -> dict[str, Any]:
        """The property as PostHog's API spells it, for a request body."""
        return {
            "name": self.name,
            "property_type": self.type.value,
            "is_required": self.required,
            "is_optional_in_types": self.optional_in_types,
            "description": self.description,
        }


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

    def to_api(self) -> dict[str, Any]:
        """The JSON body PostHog expects."""
        return {
            "name": self.name,
            "description": self.description,
            "properties": [prop.to_api() for prop in self.properties],
        }


class PropertyGroupUpdate(_Request):
    """Body of ``PATCH schema_property_groups/{id}/``.

    Only the fields you set are sent. ``properties``, when set, **replaces** the group's whole
    property list (PostHog re-creates every property with a new id); leave it unset to keep them.
    """

    name: GroupName | None = None
    description: str | None = None
    properties: PropertyList | None = None

    def to_api(self) -> dict[str, Any]:
        """The JSON body PostHog expects: only the fields that were set."""
        body = self.model_dump(mode="json", exclude_unset=True, exclude={"properties"})
        if "properties" in self.model_fields_set and self.properties is not None:
            body["properties"] = [prop.to_api() for prop in self.properties]
        return body


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
    enforcement_mode: _EnforcementInAnyCase | None = None

    @model_validator(mode="after")
    def _not_hidden_and_verified(self) -> EventDefinitionUpdate:
        if self.hidden and self.verified:
            raise ValueError("an event cannot be both hidden and verified: set only one of them")
        return self


M = TypeVar("M", bound=BaseModel)


def parse_input(model: type[M], **fields: Any) -> M:
    """Validate request input with ``model``, raising a readable error before any request.

    Raises:
        InvalidInputError: one or more fields are wrong; the message is one sentence about the
            first (field, wrong value, fix) and ``problems`` lists them all.
    """
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInputError.from_validation_error(exc, model, fields) from None


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
