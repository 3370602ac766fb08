"""The retry policy, shared by the sync and async clients.

Pure decisions only: which failures are worth another attempt, how long to wait, and whether a
failed write may have landed anyway. The clients run the attempts with tenacity's ``Retrying`` /
``AsyncRetrying`` built from the same :class:`RetryPolicy`, so both faces behave the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState, retry_if_exception
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from eventschema_tools.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
)

__all__ = [
    "RetryPolicy",
    "is_ambiguous",
    "is_connect_failure",
    "is_retryable",
    "parse_retry_after",
    "retry_notice",
]

_RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


def is_retryable(exc: BaseException) -> bool:
    """True for failures another attempt may cure: no response, 408, 429 and 5xx."""
    if isinstance(exc, APIConnectionError):
        return True
    return isinstance(exc, APIStatusError) and (
        exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
    )


def is_connect_failure(exc: BaseException | None) -> bool:
    """True when no connection could be opened at all: refused, unknown host, unreachable.

    Such failures are a wrong host or port far more often than a passing outage, so they get
    at most :attr:`RetryPolicy.max_connect_retries` retries; timeouts get the full count.
    """
    return (
        isinstance(exc, APIConnectionError)
        and not isinstance(exc, APITimeoutError)
        and not exc.request_sent
    )


def retry_notice(exc: BaseException | None, delay: float, retry: int) -> str:
    """The one line that says a request is being tried again, and why (without the hint of
    what to check: that belongs to the final error, if the retries do not cure it)."""
    why = str(exc) if exc is not None else "no result"
    if isinstance(exc, APIConnectionError) and exc.hint:
        why = why.removesuffix(f" — {exc.hint}")
    return f"retrying in {delay:.1f}s (retry {retry}) after: {why}"


def is_ambiguous(exc: BaseException) -> bool:
    """True when a write may have been applied although the caller saw a failure.

    A 429 is decided before the view runs, so it is not ambiguous; a dropped connection, a
    timeout or a 5xx after the request was sent may hide a committed write.
    """
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, InternalServerError)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds, or ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts to make and how long to wait between them.

    Attributes:
        max_retries: attempts after the first one.
        max_connect_retries: at most this many of them when no connection could be opened
            (see :func:`is_connect_failure`), so a wrong host fails in about a second.
        initial_delay: the first backoff delay, in seconds.
        max_delay: the cap of the exponential backoff, in seconds.
        max_retry_after: the longest ``Retry-After`` the client honours, in seconds.
        jitter: share of each backoff delay drawn at random (0 to 1), to spread retries.
    """

    max_retries: int = 4
    max_connect_retries: int = 1
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``attempt`` (1-based): capped exponential with jitter."""
        base = min(self.max_delay, self.initial_delay * 2.0 ** max(0, attempt - 1))
        draw = (rng or random.Random()).random()
        return base * (1 - self.jitter * draw)

    def delay_for(self, exc: BaseException | None, attempt: int) -> float:
        """Delay before the next attempt after ``exc``: ``Retry-After`` wins when given."""
        if isinstance(exc, RateLimitError | InternalServerError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return self.backoff(attempt)

    def stop(self, max_retries: int | None = None) -> stop_base:
        """Tenacity stop condition for this policy (or a per-call ``max_retries``)."""
        retries = self.max_retries if max_retries is None else max_retries
        return _StopForPolicy(retries, min(retries, self.max_connect_retries))

    def retry(self) -> retry_base:
        """Tenacity retry condition: :func:`is_retryable` failures only."""
        return retry_if_exception(is_retryable)

    def wait(self) -> wait_base:
        """Tenacity wait strategy honouring ``Retry-After``."""
        return _WaitForPolicy(self)


class _StopForPolicy(stop_base):
    def __init__(self, retries: int, connect_retries: int) -> None:
        self._retries = retries
        self._connect_retries = connect_retries
        self.max_attempt_number = retries + 1

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        limit = self._connect_retries if is_connect_failure(exc) else self._retries
        return retry_state.attempt_number > limit


class _WaitForPolicy(wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        return float(self._policy.delay_for(exc, retry_state.attempt_number))
