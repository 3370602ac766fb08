"""Cursor paging over the client's lazy row iterators.

A cursor is an opaque token for an offset. A page at ``offset`` with ``limit`` rows costs one
request: the list's first ``offset + limit + 1`` rows are read and cut, and the extra row says
whether a next page exists. A ``limit`` of ``None`` is one page of every row from ``offset`` on.

Cursors are signed with a key made when the process starts, so only cursors this process issued
are read back: a forged or edited one is refused in one sentence instead of sending the reader
arbitrarily far down a list. A cursor from before a restart is refused the same way; the caller
starts again from the first page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import Final, TypeVar

from eventschema_tools.errors import InvalidInputError

__all__ = ["Window", "decode_cursor", "encode_cursor", "take", "take_async"]

T = TypeVar("T")

_KEY: Final = secrets.token_bytes(32)
_TAG_BYTES: Final = 12
_SHOWN_CHARS: Final = 24


def _tag(offset: bytes) -> bytes:
    return hmac.new(_KEY, offset, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_cursor(offset: int) -> str:
    """The opaque cursor of the page that starts at ``offset``."""
    raw = str(offset).encode()
    return base64.urlsafe_b64encode(_tag(raw) + raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for (0 for no cursor).

    Raises:
        InvalidInputError: the cursor was not made by :func:`encode_cursor` in this process.
    """
    if not cursor:
        return 0
    text = cursor.strip()
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        token = b""
    tag, raw = token[:_TAG_BYTES], token[_TAG_BYTES:]
    if not raw.isdigit() or not hmac.compare_digest(tag, _tag(raw)):
        shown = text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}…"
        raise InvalidInputError(
            f"cursor {shown!r} is not one this server issued; start again without cursor",
            [("cursor", "not issued by this server")],
        )
    return int(raw)


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
