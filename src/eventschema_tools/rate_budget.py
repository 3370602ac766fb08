"""Client-side pacing under PostHog's per-key rate windows.

PostHog allows a personal API key 480 requests a minute and 4,800 an hour on the schema
endpoints (and about 120 HogQL queries an hour). A :class:`RateBudget` makes callers wait for a
free slot in every window before a request leaves, across all threads and asyncio tasks that
share it, so bulk work runs at the edge of the budget instead of bouncing off 429s.

The first request of a budget can never have to wait (every window has room for one), so the
limiter is built at the second, which counts the first as sent then: later than it was, so the
count is stricter than the server's, never laxer. A command that sends one request does not
load the rate-limiting library at all (with what it imports, about 40 ms of the 0.3 s a CLI
command takes to start).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eventschema_tools.config import RateLimit

if TYPE_CHECKING:
    from pyrate_limiter import Limiter

__all__ = ["RateBudget", "window_ms"]

# The server counts a request when it arrives, the client when it leaves; latency jitter can put
# one request more into the server's window than into ours. A little slack on each window keeps
# the server's count under its limit: a tenth of the window, at most one second (so 480/minute
# paces as 480 per 61 s, and a scaled-down 20/second as 20 per 1.1 s, not 20 per 2 s).
_WINDOW_SLACK_SHARE = 0.1
_MAX_WINDOW_SLACK_SECONDS = 1.0


def window_ms(seconds: float) -> int:
    """The client-side length of a server window of ``seconds``, slack included, in ms."""
    slack = min(_MAX_WINDOW_SLACK_SECONDS, seconds * _WINDOW_SLACK_SHARE)
    return int((seconds + slack) * 1000)


class RateBudget:
    """A shared request budget over one or more sliding windows.

    Args:
        limits: the windows, e.g. ``(RateLimit(480, 60), RateLimit(4800, 3600))``. Empty means
            no pacing.
    """

    def __init__(self, limits: Sequence[RateLimit]) -> None:
        self.limits = tuple(limits)
        self._lock = threading.Lock()
        self._limiter: Limiter | None = None
        self._first_sent = False
        self._closed = False

    def acquire(self) -> None:
        """Block the calling thread until a request may be sent."""
        limiter = self._pacing()
        if limiter is not None:
            limiter.try_acquire(_ITEM, blocking=True)

    async def acquire_async(self) -> None:
        """Wait, without blocking the event loop, until a request may be sent."""
        limiter = self._pacing()
        if limiter is not None:
            await limiter.try_acquire_async(_ITEM, blocking=True)

    def close(self) -> None:
        """Stop the limiter's background leak thread; the budget must not be used afterwards."""
        with self._lock:
            self._closed = True
            if self._limiter is not None:
                self._limiter.close()
                self._limiter = None

    def _pacing(self) -> Limiter | None:
        """The limiter the next request waits on; ``None`` when it cannot have to wait."""
        limiter = self._limiter
        if limiter is not None or not self.limits:
            return limiter
        with self._lock:
            if self._limiter is None and not self._closed:
                if not self._first_sent:
                    self._first_sent = True
                    return None
                self._limiter = _limiter(self.limits)
                self._limiter.try_acquire(_ITEM, blocking=False)  # the first request
            return self._limiter

    def __repr__(self) -> str:
        return f"RateBudget({list(self.limits)!r})"


_ITEM = "requests"


def _limiter(limits: Sequence[RateLimit]) -> Limiter:
    from pyrate_limiter import Limiter, Rate

    rates = [
        Rate(limit.count, window_ms(limit.seconds))
        for limit in sorted(limits, key=lambda item: item.seconds)
    ]
    return Limiter(rates)
