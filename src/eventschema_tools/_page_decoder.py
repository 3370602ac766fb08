"""Pages of event schemas decoded and typed with each distinct property group validated once.

Every binding embeds its whole property group, and a group is usually bound to many events, so
one list response repeats the same group object many times. The decoder reads a page once,
leaving each group as a slice of the body (``msgspec.Raw``: located, nothing built) and reading
the rows' other values (rows with exactly PostHog's fields straight into strings, other rows in
one parse per page); it validates each *distinct* group once straight from its bytes, and all
rows of the page in one call. Bindings whose group has the same bytes share one
``PropertyGroup`` for the whole listing.

The models and the result are those of plain per-row validation: anything the fast path cannot
take exactly (a body that is not a page of objects, a group that is not an object or does not
validate, a row that does not validate) goes through that plain path, which yields the rows
before the bad one and raises the same error at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from eventschema_tools._base_client import BaseClient
from eventschema_tools.models import EventSchema, PropertyGroup, parse_response

__all__ = ["SchemaPageDecoder"]

_GROUP = "property_group"
_GROUP_KEY_BYTES = 96


class _KnownRow(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A row with exactly the fields PostHog sends, its scalars read straight into strings
    (strings and slices cannot form cycles, so the garbage collector need not track it)."""

    id: str
    event_definition: str
    property_group: msgspec.Raw
    created_at: str | None
    updated_at: str | None


class _KnownPage(msgspec.Struct):
    """The two parts of a list response that paging reads, every row of the known shape."""

    results: list[_KnownRow]
    next: msgspec.Raw = msgspec.Raw(b"null")


class _AnyPage(msgspec.Struct):
    """A list response whose rows have other fields too: every value left as a slice."""

    results: list[dict[str, msgspec.Raw]]
    next: msgspec.Raw = msgspec.Raw(b"null")


_KNOWN_PAGE = msgspec.json.Decoder(_KnownPage)
_ANY_PAGE = msgspec.json.Decoder(_AnyPage)
_SCHEMAS = TypeAdapter(list[EventSchema])


class SchemaPageDecoder:
    """Decodes the pages of one event schema listing into :class:`EventSchema` models.

    ``decode`` turns a response into a page whose rows hold validated groups (the client's
    paging reads it as usual); ``schemas`` turns a page's rows into models.
    """

    def __init__(self) -> None:
        self._groups: dict[bytes, tuple[bytes, PropertyGroup]] = {}
        self._by_group_id: dict[object, tuple[Any, PropertyGroup]] = {}

    def decode(self, response: httpx.Response) -> Any:
        """The page as ``{"results": rows, "next": link}``, each row's group already a model;
        the plainly decoded body whenever the fast path cannot take the page exactly."""
        try:
            return self._page(response.content)
        except (msgspec.DecodeError, ValueError):  # ValidationError is a ValueError
            return BaseClient.decode(response)

    def _page(self, body: bytes) -> dict[str, Any]:
        if not body.isascii():
            # The plain parser refuses text that is not UTF-8; msgspec does not look inside
            # the values it leaves as slices.
            body.decode("utf-8")
        try:
            page = _KNOWN_PAGE.decode(body)
        except msgspec.ValidationError:
            return self._any_page(body)
        rows = [
            {
                "id": row.id,
                "event_definition": row.event_definition,
                _GROUP: self._group(row.property_group),
                "created_at": row.created_at,
                "updated_at": row.updated_at,
            }
            for row in page.results
        ]
        return {"results": rows, "next": from_json(bytes(page.next))}

    def _any_page(self, body: bytes) -> dict[str, Any]:
        page = _ANY_PAGE.decode(body)
        groups = [self._group(row.get(_GROUP)) for row in page.results]
        # One parse for every other value of the page, by the parser that reads other bodies.
        others = [value for row in page.results for key, value in row.items() if key != _GROUP]
        decoded = iter(from_json(b"[" + b",".join(others) + b"]", cache_strings="keys"))
        rows = [
            {key: group if key == _GROUP else next(decoded) for key in row}
            for row, group in zip(page.results, groups, strict=True)
        ]
        return {"results": rows, "next": from_json(bytes(page.next))}

    def _group(self, raw: msgspec.Raw | None) -> PropertyGroup:
        """The group of these bytes, validated once per listing.

        Raises:
            ValueError: the group is missing, not an object, or does not validate.
        """
        if raw is None:
            raise ValueError("a row without a property group")
        data = bytes(raw)
        # Keyed by the opening bytes (its id comes first): hashing whole groups costs more
        # than validating a few, and equal bytes are still checked in full.
        key = data[:_GROUP_KEY_BYTES]
        known = self._groups.get(key)
        if known is not None and known[0] == data:
            return known[1]
        if not data.startswith(b"{"):
            raise ValueError("a property group that is not an object")
        group = PropertyGroup.model_validate_json(data)
        self._groups[key] = (data, group)
        return group

    def schemas(self, rows: list[dict[str, Any]]) -> Iterator[EventSchema]:
        """The rows of one page as models, validated in one call when every group is a model.

        Raises:
            UnexpectedResponseError: a row does not fit the models (after the rows before it).
        """
        if all(isinstance(row.get(_GROUP), PropertyGroup) for row in rows):
            try:
                return iter(_SCHEMAS.validate_python(rows))
            except ValidationError:
                pass
        return map(self._schema, rows)

    def _schema(self, row: dict[str, Any]) -> EventSchema:
        """One row, validated alone; its group once per listing when it is a dict equal to the
        last one seen under its id."""
        raw = row.get(_GROUP)
        if not isinstance(raw, dict):
            return parse_response(EventSchema, row)
        cached = self._by_group_id.get(raw.get("id"))
        if cached is None or cached[0] != raw:
            cached = (raw, parse_response(PropertyGroup, raw))
            self._by_group_id[raw.get("id")] = cached
        return parse_response(EventSchema, {**row, _GROUP: cached[1]})
