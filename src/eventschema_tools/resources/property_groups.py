"""``/api/projects/{id}/schema_property_groups/``: reusable sets of typed properties.

Updating ``properties`` **replaces the whole list**: PostHog deletes every property and creates
the given ones with new ids, in one transaction. Leave ``properties`` out to keep them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventschema_tools.models import (
    PropertyGroup,
    PropertyGroupCreate,
    PropertyGroupUpdate,
    PropertyInput,
    as_uuid,
    parse_input,
)
from eventschema_tools.resources._resource import Resource

if TYPE_CHECKING:
    # Used in the string generic parameters below, which ruff does not count as uses.
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient  # noqa: F401

__all__ = ["AsyncPropertyGroups", "PropertyGroups", "PropertySpec"]

PropertySpec = PropertyInput | Mapping[str, Any]
"""A property to send: a :class:`PropertyInput` or a dict with the same keys."""


def _properties(properties: Sequence[PropertySpec] | None) -> list[Any] | None:
    if properties is None:
        return None
    return [p.model_dump() if isinstance(p, PropertyInput) else dict(p) for p in properties]


def _create_body(name: str, description: str, properties: Sequence[PropertySpec]) -> dict[str, Any]:
    body = parse_input(
        PropertyGroupCreate,
        name=name,
        description=description,
        properties=_properties(properties),
    )
    return body.model_dump(mode="json")


def _update_body(
    name: str | None, description: str | None, properties: Sequence[PropertySpec] | None
) -> dict[str, Any]:
    fields = {"name": name, "description": description, "properties": _properties(properties)}
    given = {key: value for key, value in fields.items() if value is not None}
    return parse_input(PropertyGroupUpdate, **given).model_dump(mode="json", exclude_unset=True)


class PropertyGroups(Resource["EventSchemaClient"]):
    """Sync calls on property groups (``client.property_groups``)."""

    name = "schema_property_groups"

    def list(self, *, page_size: int | None = None) -> Iterator[PropertyGroup]:
        """Iterate over all property groups, ordered by name."""
        for row in self._client.paginate(self._path(), page_size=page_size):
            yield PropertyGroup.model_validate(row)

    def get(self, id: UUID | str) -> PropertyGroup:
        """Return one property group with its properties and bound events."""
        return PropertyGroup.model_validate(self._client.request("GET", self._path(as_uuid(id))))

    def find_by_name(self, name: str) -> PropertyGroup | None:
        """Return the group with exactly this name, or ``None`` (reads the group list)."""
        return next((group for group in self.list() if group.name == name.strip()), None)

    def create(
        self,
        *,
        name: str,
        description: str = "",
        properties: Sequence[PropertySpec] = (),
        max_retries: int | None = None,
    ) -> PropertyGroup:
        """Create a property group. Safe under retries: an unanswered create is looked up
        by name before trying again."""
        body = _create_body(name, description, properties)
        data = self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: self.find_by_name(body["name"]),
        )
        return data if isinstance(data, PropertyGroup) else PropertyGroup.model_validate(data)

    def update(
        self,
        id: UUID | str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Sequence[PropertySpec] | None = None,
        max_retries: int | None = None,
    ) -> PropertyGroup:
        """Change a group (PATCH). ``properties``, when given, replaces the whole list."""
        path = self._path(as_uuid(id))
        body = _update_body(name, description, properties)
        data = self._client.request("PATCH", path, json=body, max_retries=max_retries)
        return PropertyGroup.model_validate(data)

    def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Delete a group, its properties and every binding that uses it."""
        self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)


class AsyncPropertyGroups(Resource["AsyncEventSchemaClient"]):
    """Async calls on property groups (``client.property_groups``)."""

    name = "schema_property_groups"

    async def list(self, *, page_size: int | None = None) -> AsyncIterator[PropertyGroup]:
        """Iterate over all property groups, ordered by name."""
        async for row in self._client.paginate(self._path(), page_size=page_size):
            yield PropertyGroup.model_validate(row)

    async def get(self, id: UUID | str) -> PropertyGroup:
        """Return one property group with its properties and bound events."""
        data = await self._client.request("GET", self._path(as_uuid(id)))
        return PropertyGroup.model_validate(data)

    async def find_by_name(self, name: str) -> PropertyGroup | None:
        """Return the group with exactly this name, or ``None`` (reads the group list)."""
        async for group in self.list():
            if group.name == name.strip():
                return group
        return None

    async def create(
        self,
        *,
        name: str,
        description: str = "",
        properties: Sequence[PropertySpec] = (),
        max_retries: int | None = None,
    ) -> PropertyGroup:
        """Create a property group (reconciled by name under retries)."""
        body = _create_body(name, description, properties)
        data = await self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: self.find_by_name(body["name"]),
        )
        return data if isinstance(data, PropertyGroup) else PropertyGroup.model_validate(data)

    async def update(
        self,
        id: UUID | str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Sequence[PropertySpec] | None = None,
        max_retries: int | None = None,
    ) -> PropertyGroup:
        """Change a group (PATCH). ``properties``, when given, replaces the whole list."""
        path = self._path(as_uuid(id))
        body = _update_body(name, description, properties)
        data = await self._client.request("PATCH", path, json=body, max_retries=max_retries)
        return PropertyGroup.model_validate(data)

    async def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Delete a group, its properties and every binding that uses it."""
        await self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)
