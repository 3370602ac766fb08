"""Compact, name-first views of the schema catalog, for people and assistants to read.

The API answers with ids and nested objects (an event schema embeds its whole group but names
its event only by UUID). A view puts the names next to the ids and keeps what a reader needs
to decide the next step: which events carry which groups, which properties are required, and
where the next page starts. Every view is built from the API models by a ``from_...``
constructor, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.models import (
    EnforcementMode,
    EventDefinition,
    EventSchema,
    PropertyGroup,
    PropertyType,
    SchemaProperty,
)

__all__ = [
    "BindOutcome",
    "BindingPage",
    "BindingView",
    "EventDetail",
    "EventPage",
    "EventRef",
    "EventView",
    "GroupDeleteOutcome",
    "GroupPage",
    "GroupSummary",
    "GroupView",
    "PropertyView",
    "UnbindOutcome",
]

_NEXT_CURSOR = Field(
    default=None,
    description="Pass this as `cursor` to get the next page; null on the last page.",
)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PropertyView(_View):
    """One typed property of a property group."""

    name: str
    type: PropertyType
    required: bool = Field(description="Events missing this property break the schema.")
    optional_in_types: bool = Field(
        default=False, description="Required at runtime but optional in generated types."
    )
    description: str = ""

    @classmethod
    def from_property(cls, prop: SchemaProperty) -> PropertyView:
        """The view of an API property."""
        return cls(
            name=prop.name,
            type=prop.property_type,
            required=prop.is_required,
            optional_in_types=prop.is_optional_in_types,
            description=prop.description,
        )


def _properties(group: PropertyGroup) -> list[PropertyView]:
    return [PropertyView.from_property(prop) for prop in group.properties]


class EventRef(_View):
    """An event definition named by id and name."""

    id: UUID
    name: str


class BindingView(_View):
    """An event schema: one property group bound to one event definition."""

    id: UUID = Field(description="Event schema id (for update_event_schema / delete_event_schema).")
    event_id: UUID
    event_name: str | None = Field(description="Name of the event; null if PostHog omitted it.")
    group_id: UUID
    group_name: str
    properties: list[PropertyView] = Field(description="The group's properties.")
    created_at: datetime | None = None

    @classmethod
    def from_schema(cls, schema: EventSchema) -> BindingView:
        """The view of an API event schema (its event name comes from the embedded group)."""
        group = schema.property_group
        names = {event.id: event.name for event in group.events}
        return cls(
            id=schema.id,
            event_id=schema.event_definition,
            event_name=names.get(schema.event_definition),
            group_id=group.id,
            group_name=group.name,
            properties=_properties(group),
            created_at=schema.created_at,
        )

    @property
    def event_label(self) -> str:
        """The event's name, or its id when PostHog did not name it."""
        return self.event_name or str(self.event_id)


class BindingPage(_View):
    """One page of event schemas."""

    items: list[BindingView]
    next_cursor: str | None = _NEXT_CURSOR


class BindOutcome(_View):
    """The binding of a group to an event, and whether this call created it."""

    binding: BindingView
    created: bool = Field(description="False when the group was already bound to the event.")

    def summary(self) -> str:
        """One sentence for people; an existing binding is reported with the word ``exists``,
        as the bulk ``bind`` reports it."""
        binding = self.binding
        pair = f"{binding.group_name!r} to {binding.event_label!r} (schema {binding.id})"
        if self.created:
            return f"Bound {pair}."
        return f"Already bound {pair}: exists, nothing changed."


class UnbindOutcome(_View):
    """What a delete of an event schema removed."""

    deleted: bool
    id: UUID = Field(description="Id of the event schema that was removed.")
    event_name: str | None = None
    group_name: str | None = None

    def summary(self) -> str:
        """One sentence for people."""
        return f"Deleted event schema {self.id}."


class GroupDeleteOutcome(_View):
    """What a delete of a property group removed: the group and every binding that used it."""

    deleted: bool
    id: UUID = Field(description="Id of the property group that was removed.")
    name: str
    events: list[str] = Field(description="Names of the events the group was unbound from.")

    def summary(self) -> str:
        """One sentence for people."""
        return f"Deleted property group {self.name!r} ({self.id})."


class GroupSummary(_View):
    """A property group in a list: its size and the events it is bound to."""

    id: UUID
    name: str
    description: str = ""
    property_count: int
    required_properties: list[str]
    events: list[str] = Field(description="Names of the events this group is bound to.")

    @classmethod
    def from_group(cls, group: PropertyGroup) -> GroupSummary:
        """The summary of an API property group."""
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            property_count=len(group.properties),
            required_properties=[prop.name for prop in group.properties if prop.is_required],
            events=[event.name for event in group.events],
        )


class GroupPage(_View):
    """One page of property groups, ordered by name."""

    items: list[GroupSummary]
    next_cursor: str | None = _NEXT_CURSOR


class GroupView(_View):
    """A property group with all its properties and the events it is bound to."""

    id: UUID
    name: str
    description: str = ""
    properties: list[PropertyView]
    events: list[EventRef] = Field(description="Events this group is bound to.")
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_group(cls, group: PropertyGroup) -> GroupView:
        """The view of an API property group."""
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            properties=_properties(group),
            events=[EventRef(id=event.id, name=event.name) for event in group.events],
            created_at=group.created_at,
            updated_at=group.updated_at,
        )


class EventView(_View):
    """An event definition and the property groups bound to it."""

    id: UUID
    name: str
    description: str | None = None
    verified: bool | None = None
    hidden: bool | None = None
    enforcement_mode: EnforcementMode = EnforcementMode.ALLOW
    last_seen_at: datetime | None = None
    property_groups: list[str] = Field(description="Names of the groups bound to this event.")

    @classmethod
    def from_event(cls, event: EventDefinition, groups: Iterable[PropertyGroup]) -> EventView:
        """The view of an API event definition; ``groups`` are all the project's groups."""
        return cls(
            id=event.id,
            name=event.name,
            description=event.description,
            verified=event.verified,
            hidden=event.hidden,
            enforcement_mode=event.enforcement_mode,
            last_seen_at=event.last_seen_at,
            property_groups=[
                group.name for group in groups if any(e.id == event.id for e in group.events)
            ],
        )


class EventPage(_View):
    """One page of event definitions."""

    items: list[EventView]
    next_cursor: str | None = _NEXT_CURSOR


class EventDetail(_View):
    """An event definition and its event schemas (each bound group with its properties)."""

    event: EventView
    schemas: list[BindingView] = Field(description="Event schemas of this event, newest first.")

    @classmethod
    def from_schemas(cls, event: EventDefinition, schemas: Iterable[EventSchema]) -> EventDetail:
        """The detail of ``event`` from its event schemas (whose groups name their events)."""
        listed = list(schemas)
        groups = sorted((schema.property_group for schema in listed), key=lambda g: g.name)
        return cls(
            event=EventView.from_event(event, groups),
            schemas=[BindingView.from_schema(schema) for schema in listed],
        )
