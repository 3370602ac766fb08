"""Timestamps as the sandbox stores them and as PostHog (DRF) renders them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_STORAGE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_storage(moment: datetime) -> str:
    """Fixed-width UTC text, so SQLite's text ordering is chronological ordering."""
    return moment.astimezone(UTC).strftime(_STORAGE_FORMAT)


def from_storage(text: str) -> datetime:
    """Parse a value written by `to_storage`."""
    return datetime.strptime(text, _STORAGE_FORMAT).replace(tzinfo=UTC)


_STORED_WIDTH = len("2026-11-26T17:00:00.000000Z")
_ZERO_FRACTION = ".000000Z"


def to_drf(text: str | None) -> str | None:
    """Render a stored timestamp the way DRF's DateTimeField does.

    DRF calls `isoformat()` and swaps `+00:00` for `Z`, so whole seconds carry no fraction:
    `2026-11-26T17:00:00Z`, `2026-11-26T17:00:00.123456Z`.
    """
    if text is None:
        return None
    # Stored text is already that rendering but for the zero fraction: slicing it gives the
    # same text as parsing it (tests/sandbox/test_sandbox_timestamps.py) without strptime,
    # which cost most of a list request (16 timestamps a row).
    if len(text) == _STORED_WIDTH and text[10] == "T" and text[19] == "." and text[-1] == "Z":
        return text[:19] + "Z" if text.endswith(_ZERO_FRACTION) else text
    rendered = from_storage(text).isoformat()
    return rendered.removesuffix("+00:00") + "Z"


class MonotonicClock:
    """UTC wall clock that never returns the same instant twice.

    Lists are ordered by creation time; two rows created within one clock tick would otherwise
    tie and page unpredictably.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """Return the current UTC time, at least one microsecond after the previous call."""
        with self._lock:
            current = datetime.now(UTC)
            if current <= self._last:
                current = self._last + timedelta(microseconds=1)
            self._last = current
            return current
