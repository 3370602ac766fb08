"""Cursor paging over the client's lazy row iterators.

A cursor is an opaque token for an offset. A page at ``offset`` with ``limit`` rows costs one
request: the list's first ``offset + limit + 1`` rows are read and cut, and the extra row says
whether a next page exists. A ``limit`` of ``None`` is one page of every row from ``offset`` on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import TypeVar

from eventschema_tools.errors import InvalidInputError

__all__ = ["Window", "decode_cursor", "encode_cursor", "take", "take_async"]

T = TypeVar("T")


def encode_cursor(offset: int) -> str:
    """The opaque cursor of the page that starts at ``offset``."""
    raw = json.dumps({"offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for (0 for no cursor).

    Raises:
        InvalidInputError: the cursor was not produced by :func:`encode_cursor`.
    """
    if not cursor:
        return 0
    try:
        padded = cursor.strip() + "=" * (-len(cursor.strip()) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidInputError(
            "cursor is not one returned by a previous page; pass next_cursor unchanged, "
            "or leave it out to start from the first page",
            [("cursor", "unknown cursor")],
        )
    return offset


class Window:
    """The rows a page needs: ``limit`` rows after ``offset``, plus one to detect a next page.

    ``limit=None`` asks for every row after ``offset`` (and so never has a next page).
    """

    def __init__(self, cursor: str | None, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise InvalidInputError("limit must be at least 1", [("limit", "below 1")])
        self.offset = decode_cursor(cursor)
        self.limit = limit

    @property
    def rows_needed(self) -> int | None:
        """How many rows from the start to read (``None``: all of them)."""
        return None if self.limit is None else self.offset + self.limit + 1

    def cut(self, rows: Iterable[T]) -> tuple[list[T], str | None]:
        """This page's rows and the next page's cursor (``None`` on the last page)."""
        window = list(islice(rows, self.offset, self.rows_needed))
        if self.limit is not None and len(window) > self.limit:
            return window[: self.limit], encode_cursor(self.offset + self.limit)
        return window, None


def take(rows: Iterator[T], count: int | None) -> list[T]:
    """The first ``count`` rows of a lazy iterator, all when ``None`` (later pages are never
    requested)."""
    return list(islice(rows, count))


async def take_async(rows: AsyncIterator[T], count: int | None) -> list[T]:
    """The first ``count`` rows of a lazy async iterator (all when ``None``), closing it after."""
    taken: list[T] = []
    if count is not None and count < 1:
        return taken
    try:
        async for row in rows:
            taken.append(row)
            if count is not None and len(taken) >= count:
                break
    finally:
        close = getattr(rows, "aclose", None)
        if close is not None:
            await close()
    return taken
