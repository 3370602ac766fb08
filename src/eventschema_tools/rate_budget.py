"""Client-side pacing under PostHog's per-key rate windows.

PostHog allows a personal API key 480 requests a minute and 4,800 an hour on the schema
endpoints (and about 120 HogQL queries an hour). A :class:`RateBudget` makes callers wait for a
free slot in every window before a request leaves, across all threads and asyncio tasks that
share it, so bulk work runs at the edge of the budget instead of bouncing off 429s.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyrate_limiter import Limiter, Rate

from eventschema_tools.config import RateLimit

__all__ = ["RateBudget"]

# The server counts a request when it arrives, the client when it leaves; latency jitter can put
# one request more into the server's window than into ours. A little slack on each window keeps
# the server's count under its limit.
_WINDOW_SLACK_SECONDS = 1.0


class RateBudget:
    """A shared request budget over one or more sliding windows.

    Args:
        limits: the windows, e.g. ``(RateLimit(480, 60), RateLimit(4800, 3600))``. Empty means
            no pacing.
    """

    def __init__(self, limits: Sequence[RateLimit]) -> None:
        self.limits = tuple(limits)
        rates = [
            Rate(limit.count, int((limit.seconds + _WINDOW_SLACK_SECONDS) * 1000))
            for limit in sorted(self.limits, key=lambda item: item.seconds)
        ]
        self._limiter = Limiter(rates) if rates else None

    def acquire(self) -> None:
        """Block the calling thread until a request may be sent."""
        if self._limiter is not None:
            self._limiter.try_acquire("requests", blocking=True)

    async def acquire_async(self) -> None:
        """Wait, without blocking the event loop, until a request may be sent."""
        if self._limiter is not None:
            await self._limiter.try_acquire_async("requests", blocking=True)

    def __repr__(self) -> str:
        return f"RateBudget({list(self.limits)!r})"
