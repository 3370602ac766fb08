"""``/api/projects/{id}/event_definitions/``: the project's events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventschema_tools.errors import InvalidInputError, NotFoundError
from eventschema_tools.models import (
    EnforcementMode,
    EventDefinition,
    EventDefinitionCreate,
    EventDefinitionUpdate,
    as_uuid,
    parse_input,
    parse_response,
)
from eventschema_tools.resources._resource import Resource

if TYPE_CHECKING:
    # Used in the string generic parameters below, which ruff does not count as uses.
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient  # noqa: F401

__all__ = ["AsyncEventDefinitions", "EventDefinitions"]


def _list_params(search: str | None, names: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if search:
        params["search"] = search
    if names is not None:
        if isinstance(names, str):
            raise InvalidInputError("names must be a list of event names, not one string")
        params["names"] = ",".join(names)
    return params


def _by_name_params(name: str) -> dict[str, Any]:
    if not name or not name.strip():
        raise InvalidInputError("event name must not be blank", [("name", "blank")])
    return {"name": name}


def _create_body(name: str, description: str | None, tags: Sequence[str] | None) -> dict[str, Any]:
    body = parse_input(
        EventDefinitionCreate,
        name=name,
        description=description,
        tags=list(tags) if tags is not None else None,
    )
    return body.model_dump(mode="json", exclude_none=True)


def _as_sent(event: EventDefinition | None, body: dict[str, Any]) -> EventDefinition | None:
    """``event`` when its description is the one the create ``body`` sent, else ``None``.

    Reconciling finds an event by name; one with another description was there before, so it
    is not our write and the create must end with PostHog's "already exists".
    """
    if event is None or "description" not in body:
        return event
    return event if (event.description or "").strip() == body["description"].strip() else None


def _update_body(**fields: Any) -> dict[str, Any]:
    given = {key: value for key, value in fields.items() if value is not None}
    if not given:
        raise InvalidInputError(
            "nothing to update: give description, tags, verified, hidden or enforcement_mode"
        )
    return parse_input(EventDefinitionUpdate, **given).model_dump(mode="json", exclude_unset=True)


class EventDefinitions(Resource["EventSchemaClient"]):
    """Sync calls on event definitions (``client.event_definitions``)."""

    name = "event_definitions"

    def list(
        self,
        *,
        search: str | None = None,
        names: Sequence[str] | None = None,
        max_rows: int | None = None,
    ) -> Iterator[EventDefinition]:
        """Iterate over event definitions; ``search`` matches every word, ``names`` exactly.

        Every page is read unless ``max_rows`` caps the rows (and the first request's size).
        """
        rows = self._client.paginate(self._path(), _list_params(search, names), max_rows=max_rows)
        for row in rows:
            yield parse_response(EventDefinition, row)

    def get(self, id: UUID | str) -> EventDefinition:
        """Return one event definition by id."""
        data = self._client.request("GET", self._path(as_uuid(id)))
        return parse_response(EventDefinition, data)

    def get_by_name(self, name: str) -> EventDefinition:
        """Return the event definition with exactly this name.

        Raises:
            NotFoundError: no event of that name in the project.
        """
        data = self._client.request("GET", self._path("by_name"), params=_by_name_params(name))
        return parse_response(EventDefinition, data)

    def _find(self, name: str) -> EventDefinition | None:
        try:
            return self.get_by_name(name)
        except NotFoundError:
            return None

    def create(
        self,
        *,
        name: str,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        max_retries: int | None = None,
    ) -> EventDefinition:
        """Create an event definition (reconciled by name under retries)."""
        body = _create_body(name, description, tags)
        data = self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: _as_sent(self._find(body["name"]), body),
        )
        return data if isinstance(data, EventDefinition) else parse_response(EventDefinition, data)

    def update(
        self,
        id: UUID | str,
        *,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        verified: bool | None = None,
        hidden: bool | None = None,
        enforcement_mode: EnforcementMode | str | None = None,
        max_retries: int | None = None,
    ) -> EventDefinition:
        """Change an event definition (PATCH); only the given fields are sent."""
        path = self._path(as_uuid(id))
        body = _update_body(
            description=description,
            tags=list(tags) if tags is not None else None,
            verified=verified,
            hidden=hidden,
            enforcement_mode=enforcement_mode,
        )
        data = self._client.request("PATCH", path, json=body, max_retries=max_retries)
        return parse_response(EventDefinition, data)

    def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Delete an event definition and its bindings."""
        self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)


class AsyncEventDefinitions(Resource["AsyncEventSchemaClient"]):
    """Async calls on event definitions (``client.event_definitions``)."""

    name = "event_definitions"

    async def list(
        self,
        *,
        search: str | None = None,
        names: Sequence[str] | None = None,
        max_rows: int | None = None,
    ) -> AsyncIterator[EventDefinition]:
        """Iterate over event definitions; ``search`` matches every word, ``names`` exactly.

        Every page is read unless ``max_rows`` caps the rows (and the first request's size).
        """
        rows = self._client.paginate(self._path(), _list_params(search, names), max_rows=max_rows)
        async for row in rows:
            yield parse_response(EventDefinition, row)

    async def get(self, id: UUID | str) -> EventDefinition:
        """Return one event definition by id."""
        data = await self._client.request("GET", self._path(as_uuid(id)))
        return parse_response(EventDefinition, data)

    async def get_by_name(self, name: str) -> EventDefinition:
        """Return the event definition with exactly this name (NotFoundError if none)."""
        params = _by_name_params(name)
        data = await self._client.request("GET", self._path("by_name"), params=params)
        return parse_response(EventDefinition, data)

    async def _find(self, name: str) -> EventDefinition | None:
        try:
            return await self.get_by_name(name)
        except NotFoundError:
            return None

    async def _reconcile(self, body: dict[str, Any]) -> EventDefinition | None:
        return _as_sent(await self._find(body["name"]), body)

    async def create(
        self,
        *,
        name: str,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        max_retries: int | None = None,
    ) -> EventDefinition:
        """Create an event definition (reconciled by name under retries)."""
        body = _create_body(name, description, tags)
        data = await self._client.request(
            "POST",
            self._path(),
            json=body,
            max_retries=max_retries,
            reconcile=lambda: self._reconcile(body),
        )
        return data if isinstance(data, EventDefinition) else parse_response(EventDefinition, data)

    async def update(
        self,
        id: UUID | str,
        *,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        verified: bool | None = None,
        hidden: bool | None = None,
        enforcement_mode: EnforcementMode | str | None = None,
        max_retries: int | None = None,
    ) -> EventDefinition:
        """Change an event definition (PATCH); only the given fields are sent."""
        path = self._path(as_uuid(id))
        body = _update_body(
            description=description,
            tags=list(tags) if tags is not None else None,
            verified=verified,
            hidden=hidden,
            enforcement_mode=enforcement_mode,
        )
        data = await self._client.request("PATCH", path, json=body, max_retries=max_retries)
        return parse_response(EventDefinition, data)

    async def delete(self, id: UUID | str, *, max_retries: int | None = None) -> None:
        """Delete an event definition and its bindings."""
        await self._client.request("DELETE", self._path(as_uuid(id)), max_retries=max_retries)
