"""``POST /api/projects/{id}/query/``: HogQL queries.

Names and other values reach the query only through ``values`` placeholders (``{event}`` in the
query text), never by string formatting. Queries have their own, small rate budget
(about 120 an hour per key), which the client paces separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import HogQLResult, parse_response
from eventschema_tools.resources._resource import Resource

if TYPE_CHECKING:
    # Used in the string generic parameters below, which ruff does not count as uses.
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient  # noqa: F401

__all__ = ["AsyncQuery", "QueryResource"]


def _body(query: str, values: Mapping[str, Any] | None) -> dict[str, Any]:
    if not query or not query.strip():
        raise InvalidInputError("query must not be blank", [("query", "blank")])
    hogql: dict[str, Any] = {"kind": "HogQLQuery", "query": query}
    if values:
        hogql["values"] = dict(values)
    return {"query": hogql, "refresh": "blocking"}


class QueryResource(Resource["EventSchemaClient"]):
    """Sync HogQL queries (``client.query``)."""

    name = "query"

    def hogql(self, query: str, *, values: Mapping[str, Any] | None = None) -> HogQLResult:
        """Run a HogQL query and return its rows (a read: retried like a GET)."""
        data = self._client.request(
            "POST", self._path(), json=_body(query, values), safe_to_repeat=True
        )
        return parse_response(HogQLResult, data)


class AsyncQuery(Resource["AsyncEventSchemaClient"]):
    """Async HogQL queries (``client.query``)."""

    name = "query"

    async def hogql(self, query: str, *, values: Mapping[str, Any] | None = None) -> HogQLResult:
        """Run a HogQL query and return its rows (a read: retried like a GET)."""
        data = await self._client.request(
            "POST", self._path(), json=_body(query, values), safe_to_repeat=True
        )
        return parse_response(HogQLResult, data)
