"""The freshness gate: have these events arrived recently?

The most common tracking failure is not a wrong type but an event that quietly stops after a
release. The freshness gate asks, in one HogQL query for any number of events, whether each named
event arrived at least ``min_events`` times within the last ``within`` (``30m``, ``6h``...), and
when it was last seen. It needs no schema: any event name can be watched. The Airflow
``EventFreshnessSensor`` waits on it; ``eventschema freshness`` exits 4 while it fails.

Example::

    options = freshness_options(events=["checkout_completed"], within="30m")
    check = check_freshness(client, options)
    if not check.passed:
        print(check.summary())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from eventschema_tools.audit.model import parse_window
from eventschema_tools.audit.queries import (
    QuerySteps,
    decode_event_volumes,
    drive_queries,
    drive_queries_async,
    event_volume_query,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import HogQLResult

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "MAX_FRESHNESS_EVENTS",
    "EventFreshness",
    "FreshnessCheck",
    "FreshnessOptions",
    "check_freshness",
    "check_freshness_async",
    "freshness_options",
    "freshness_steps",
]

MAX_FRESHNESS_EVENTS: Final = 1000
"""The most events one check watches (their names travel in the query's values)."""


class EventFreshness(BaseModel):
    """One event at the freshness gate.

    Attributes:
        event: The event name.
        events: How many arrived within the window.
        last_seen: When the latest of them arrived (UTC); ``None`` when none did.
        fresh: Whether at least ``min_events`` arrived within the window.
    """

    model_config = ConfigDict(frozen=True)

    event: str
    events: int = 0
    last_seen: datetime | None = None
    fresh: bool = False


class FreshnessCheck(BaseModel):
    """The freshness gate's verdict.

    Attributes:
        checked_at: When the check ran (UTC).
        within: The window, as given (``30m``).
        min_events: The fewest arrivals within the window that count as fresh.
        passed: True when every named event is fresh.
        events: One entry per named event, in the order given.
        queries: HogQL queries spent (always 1).
    """

    model_config = ConfigDict(frozen=True)

    checked_at: datetime
    within: str
    min_events: int
    passed: bool
    events: list[EventFreshness]
    queries: int = 1

    @property
    def stale(self) -> list[str]:
        """The names of the events that are not fresh."""
        return [item.event for item in self.events if not item.fresh]

    def summary(self) -> str:
        """One clause per event, e.g. ``checkout_completed: 12 in the last 30m, latest 4m ago
        (fresh)``."""
        return "; ".join(_describe(item, self.within, self.checked_at) for item in self.events)


@dataclass(frozen=True)
class FreshnessOptions:
    """Validated freshness settings (see :func:`freshness_options`)."""

    events: tuple[str, ...]
    within: str
    within_seconds: int
    min_events: int


def freshness_options(
    *, events: str | Sequence[str], within: str = "1h", min_events: int = 1
) -> FreshnessOptions:
    """Validate freshness settings before anything is sent.

    Args:
        events: Event names, as a list or ``"a,b"`` (at most :data:`MAX_FRESHNESS_EVENTS`).
        within: How recent: ``30m``, ``6h``, ``1d``...
        min_events: The fewest arrivals within the window that count as fresh (1 or more).

    Raises:
        InvalidInputError: no events, too many, a bad window or ``min_events``.
    """
    items = events.split(",") if isinstance(events, str) else list(events)
    names = tuple(dict.fromkeys(str(name).strip() for name in items if str(name).strip()))
    problems = []
    if not names:
        problems.append(("events", "give at least one event name"))
    elif len(names) > MAX_FRESHNESS_EVENTS:
        problems.append(
            ("events", f"at most {MAX_FRESHNESS_EVENTS} events a check, got {len(names)}")
        )
    if isinstance(min_events, bool) or not isinstance(min_events, int) or min_events < 1:
        problems.append(("min_events", f"must be a whole number, 1 or more, got {min_events!r}"))
    if problems:
        summary = "; ".join(f"{where}: {message}" for where, message in problems)
        raise InvalidInputError(f"invalid freshness check: {summary}", problems)
    window = parse_window(within)
    return FreshnessOptions(names, within.strip(), int(window.total_seconds()), min_events)


def freshness_steps(
    options: FreshnessOptions, *, now: datetime | None = None
) -> QuerySteps[FreshnessCheck]:
    """The check as sans-I/O steps: one query, then the verdict."""
    checked_at = now or datetime.now(UTC)
    result: HogQLResult = yield event_volume_query(options.within_seconds, options.events)
    seen = {volume.event: volume for volume in decode_event_volumes(result)}
    verdicts = []
    for name in options.events:
        volume = seen.get(name)
        count = volume.events if volume else 0
        verdicts.append(
            EventFreshness(
                event=name,
                events=count,
                last_seen=volume.last_seen if volume else None,
                fresh=count >= options.min_events,
            )
        )
    return FreshnessCheck(
        checked_at=checked_at,
        within=options.within,
        min_events=options.min_events,
        passed=all(item.fresh for item in verdicts),
        events=verdicts,
    )


def check_freshness(client: EventSchemaClient, options: FreshnessOptions) -> FreshnessCheck:
    """Check in one HogQL query that each named event arrived within the window.

    Args:
        client: The client of the project (its key needs ``query:read``).
        options: From :func:`freshness_options` (which checks every setting first).

    Raises:
        EventSchemaError: an API error.
    """
    return drive_queries(client, freshness_steps(options))


async def check_freshness_async(
    client: AsyncEventSchemaClient, options: FreshnessOptions
) -> FreshnessCheck:
    """Async twin of :func:`check_freshness` (same parameters, same verdict)."""
    return await drive_queries_async(client, freshness_steps(options))


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment) / timedelta(seconds=1)))
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _describe(item: EventFreshness, within: str, now: datetime) -> str:
    verdict = "fresh" if item.fresh else "stale"
    if item.last_seen is None:
        return f"{item.event}: none in the last {within} ({verdict})"
    last = _ago(item.last_seen, now)
    return f"{item.event}: {item.events:,} in the last {within}, latest {last} ({verdict})"
