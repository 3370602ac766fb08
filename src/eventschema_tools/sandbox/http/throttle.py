"""Per-key rate limits with DRF's sliding-window throttle semantics.

Each bucket (`api` for the schema endpoints, `query` for HogQL) has one or more windows, e.g.
480/minute and 4800/hour. A request is allowed only if every window has room; windows that had
room record it even when another window refuses (DRF evaluates every throttle), and a refused
request is not recorded. The wait reported is the longest time until the oldest request in a full
window leaves it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from eventschema_tools.sandbox.config import RateLimit

API_BUCKET: Final = "api"
QUERY_BUCKET: Final = "query"


class Throttle:
    """Sliding-window limits per (bucket, key); thread-safe; switchable off."""

    def __init__(
        self,
        limits: Mapping[str, Sequence[RateLimit]],
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {bucket: tuple(windows) for bucket, windows in limits.items()}
        self._enabled = enabled
        self._clock = clock
        self._lock = threading.Lock()
        self._history: dict[tuple[str, str, int], deque[float]] = {}
        self._refused = 0

    @property
    def enabled(self) -> bool:
        """Whether limits are enforced."""
        return self._enabled

    def limits(self, bucket: str) -> tuple[RateLimit, ...]:
        """The windows of a bucket (empty for an unknown bucket: unlimited)."""
        return self._limits.get(bucket, ())

    def hit(self, key: str, bucket: str = API_BUCKET) -> float | None:
        """Record a request for `key`; return None if allowed, else seconds to wait."""
        if not self._enabled:
            return None
        now = self._clock()
        waits: list[float] = []
        with self._lock:
            for index, window in enumerate(self.limits(bucket)):
                history = self._history.setdefault((bucket, key, index), deque())
                while history and history[0] <= now - window.period_seconds:
                    history.popleft()
                if len(history) >= window.requests:
                    waits.append(window.period_seconds - (now - history[0]))
                else:
                    history.append(now)
            if waits:
                self._refused += 1
        return max(waits) if waits else None

    @property
    def refused(self) -> int:
        """Requests refused since start or the last reset."""
        with self._lock:
            return self._refused

    def reset_refused(self) -> None:
        """Zero the refused-request counter (the windows are kept)."""
        with self._lock:
            self._refused = 0
