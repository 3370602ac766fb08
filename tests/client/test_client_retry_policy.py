"""The pure half of the retry policy: what is retried, how long to wait, what may have landed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from eventschema_tools._retry import RetryPolicy, is_ambiguous, is_retryable, parse_retry_after
from eventschema_tools.errors import (
    APIConnectionError,
    APITimeoutError,
    EventSchemaError,
    InvalidInputError,
    make_status_error,
)

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def _status(code: int, retry_after: float | None = None) -> EventSchemaError:
    return make_status_error(
        status_code=code, method="POST", path="/api/x/", body=None, retry_after=retry_after
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("12", 12.0, id="seconds"),
        pytest.param(" 1.5 ", 1.5, id="fraction"),
        pytest.param("-3", 0.0, id="negative"),
        pytest.param(format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0, id="date"),
        pytest.param(format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0, id="past"),
        pytest.param("soon", None, id="garbage"),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("error", "retryable", "ambiguous"),
    [
        pytest.param(_status(400), False, False, id="400"),
        pytest.param(_status(401), False, False, id="401"),
        pytest.param(_status(404), False, False, id="404"),
        pytest.param(_status(408), True, False, id="408"),
        pytest.param(_status(429), True, False, id="429-decided-before-the-view"),
        pytest.param(_status(500), True, True, id="500"),
        pytest.param(_status(503), True, True, id="503"),
        pytest.param(
            APIConnectionError("x", method="POST", path="/", request_sent=False),
            True,
            False,
            id="refused-before-sending",
        ),
        pytest.param(
            APIConnectionError("x", method="POST", path="/", request_sent=True),
            True,
            True,
            id="dropped-after-sending",
        ),
        pytest.param(APITimeoutError("x", method="POST", path="/"), True, True, id="timeout"),
        pytest.param(InvalidInputError("x"), False, False, id="bad-input"),
    ],
)
def test_which_failures_are_retried_and_which_may_hide_a_write(
    error: EventSchemaError, retryable: bool, ambiguous: bool
) -> None:
    assert (is_retryable(error), is_ambiguous(error)) == (retryable, ambiguous)


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=4.0, jitter=0.25)
    rng = random.Random(1)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert base * 0.75 <= min(delays) <= max(delays) <= base
        assert max(delays) - min(delays) > base * 0.1  # jitter really spreads retries


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_retry_after=10.0)

    assert policy.delay_for(_status(429, retry_after=3.0), attempt=1) == 3.0
    assert policy.delay_for(_status(503, retry_after=2.0), attempt=4) == 2.0
    assert policy.delay_for(_status(429, retry_after=300.0), attempt=1) == 10.0
    assert policy.delay_for(_status(429), attempt=1) <= 0.5


def test_per_call_max_retries_overrides_the_policy() -> None:
    policy = RetryPolicy(max_retries=4)

    assert policy.stop().max_attempt_number == 5  # type: ignore[attr-defined]
    assert policy.stop(0).max_attempt_number == 1  # type: ignore[attr-defined]
