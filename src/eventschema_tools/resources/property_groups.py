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
    parse_response,
)
from eventschema_tools.resources._resource import Resource

if TYPE_CHECKING:
    # Used in the string generic parameters below, which ruff does not count as uses.
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient  # noqa: F401

__all__ = ["AsyncPropertyGroups", "PropertyGroups", "PropertySpec"]

PropertySpec = PropertyInput | Mapping[str, Any]
"""A property to send: a :class:`PropertyInput` or a dict with its keys (``name``, ``type``,
``required``, ``optional_in_types``, ``description``; PostHog's ``property_type``,
``is_required`` and ``is_optional_in_types`` are read too)."""


def _create_body(name: str, description: str, properties: Sequence[PropertySpec]) -> dict[str, Any]:
    # The entries go to the model as given, so whatever is wrong with one (a bare name, a
    # misspelt key) is reported by the one formatter of InvalidInputError.
    body = parse_input(
        PropertyGroupCreate, name=name, description=description, properties=properties
    )
    return body.to_api()


def _property_key(
    name: str, kind: str, required: bool, optional: bool, text: str
) -> tuple[Any, ...]:
    return (name, kind, required, optional, text.strip())


def _as_sent(group: PropertyGroup | None, body: Mapping[str, Any]) -> PropertyGroup | None:
    """``group`` when it holds what the create ``body`` asked for, else ``None``.

    Reconciling finds a group by name. One with other content was there before (or someone
    else made it): it is not our write, so the create must end with PostHog's "already exists"
    rather than return it. Text is compared trimmed, as PostHog stores it.
    """
    if group is None or group.description.strip() != str(body["description"]).strip():
        return None
    found = {
        _property_key(
            p.name, p.property_type.value, p.is_required, p.is_optional_in_types, p.description
        )
        for p in group.properties
    }
    sent = {
        _property_key(
            p["name"],
            p["property_type"],
            p["is_required"],
            p["is_optional_in_types"],
            p["description"],
        )
        for p in body["properties"]
    }
    return group if found == sent else None


def _update_body(
    name: str | None, description: str | None, properties: Sequence[PropertySpec] | None
) -> dict[str, Any]:
    fields = {"name": name, "description": description, "properties": properties}
    given = {key: value for key, value in fields.items() if value is not None}
    return parse_input(PropertyGroupUpdate, **given).to_api()


class PropertyGroups(Resource["EventSchemaClient"]):
    """Sync calls on property groups (``client.property_groups``)."""

    name = "schema_property_groups"

    def list(self, *, max_rows: int | None = None) -> Iterator[PropertyGroup]:
        """Iterate over all property groups, ordered by name (at most ``max_rows`` if given)."""
        for row in self._client.paginate(self._path(), max_rows=max_rows):
            yield parse_response(PropertyGroup, row)

    def get(self, id: UUID | str) -> PropertyGroup:
        """Return one property group with its properties and bound events."""
        return parse_response(PropertyGroup, self._client.request("GET", self._path(as_uuid(id))))

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
        by name before trying again (and counts as done only if the group found is the one
        sent: a group of that name with other content still fails with "already exists")."""
        body = _create_body(name, description, properties)
        data = self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: _as_sent(self.find_by_name(body["name"]), body),
        )
        return data if isinstance(data, PropertyGroup) else parse_response(PropertyGroup, data)

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
        return parse_response(PropertyGroup, data)

    def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Delete a group, its properties and every binding that uses it."""
        self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)


class AsyncPropertyGroups(Resource["AsyncEventSchemaClient"]):
    """Async calls on property groups (``client.property_groups``)."""

    name = "schema_property_groups"

    async def list(self, *, max_rows: int | None = None) -> AsyncIterator[PropertyGroup]:
        """Iterate over all property groups, ordered by name (at most ``max_rows`` if given)."""
        async for row in self._client.paginate(self._path(), max_rows=max_rows):
            yield parse_response(PropertyGroup, row)

    async def get(self, id: UUID | str) -> PropertyGroup:
        """Return one property group with its properties and bound events."""
        data = await self._client.request("GET", self._path(as_uuid(id)))
        return parse_response(PropertyGroup, data)

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
            reconcile=lambda: self._reconcile(body),
        )
        return data if isinstance(data, PropertyGroup) else parse_response(PropertyGroup, data)

    async def _reconcile(self, body: Mapping[str, Any]) -> PropertyGroup | None:
        return _as_sent(await self.find_by_name(body["name"]), body)

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
        return parse_response(PropertyGroup, data)

    async def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Delete a group, its properties and every binding that uses it."""
        await self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)
