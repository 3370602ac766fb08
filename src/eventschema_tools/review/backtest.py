"""Replay today's and the proposed expectations over recent events, side by side.

One HogQL query per run of at most 200 changed events (and under the query size budget) counts,
per event, day, ``$lib`` and SDK version, the events each set of expectations would let
through reject enforcement: a required property missing or not coercible to its type drops the
event. Both sets are built by the audit's own column builder
(:func:`~eventschema_tools.audit.queries.slot_columns`), so the backtest and the audit agree on
PostHog's coercion rules. Events whose expectations do not change are not queried at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.audit.expectations import EventExpectation
from eventschema_tools.audit.queries import (
    EVENT_INDEX,
    MAX_QUERY_CHARS,
    MAX_ROWS,
    WINDOW_FILTER,
    HogQLQuery,
    QuerySteps,
    QueryValues,
    drive_queries,
    drive_queries_async,
    slot_columns,
    split_into_queries,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import HogQLResult

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "DEFAULT_BACKTEST_DAYS",
    "EVENTS_PER_QUERY",
    "MAX_BACKTEST_DAYS",
    "Backtest",
    "BacktestEvent",
    "DayDrops",
    "VersionSlice",
    "backtest_queries",
    "backtest_steps",
    "check_days",
    "decode_backtest",
    "run_backtest",
    "run_backtest_async",
]

EVENTS_PER_QUERY: Final = 200
"""The most changed events one backtest query covers."""

DEFAULT_BACKTEST_DAYS: Final = 7
MAX_BACKTEST_DAYS: Final = 90
"""The longest backtest window, in days (a day of every changed event's versions is a row)."""

# A slice must hold this many events (or 1 % of the event's, if more) to be called the worst:
# one broken event out of three is noise, not a release.
_SLICE_MIN_EVENTS: Final = 10
_SLICE_MIN_SHARE: Final = 0.01

_CURRENT: Final = "c_"
_PROPOSED: Final = "p_"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class DayDrops(_Model):
    """One day of one event (``toDate(timestamp)``: the project's time zone in PostHog): how
    many arrived and how many the proposal rejects."""

    day: date
    events: int
    would_reject: int


class VersionSlice(_Model):
    """The events of one SDK (``$lib``) and version (``$lib_version``, else ``$app_version``;
    empty when unset), and how many the proposal rejects."""

    lib: str
    version: str
    events: int
    would_reject: int

    @property
    def rate(self) -> float:
        """The share of the slice's events the proposal rejects."""
        return self.would_reject / self.events if self.events else 0.0


class BacktestEvent(_Model):
    """One changed event over the window, under today's expectations and the proposal's.

    Attributes:
        event: The event name.
        events: How many arrived in the window.
        rejected_now: How many today's schemas would reject (a required property missing or of
            the wrong type); dropped only when the event is in ``reject`` mode.
        rejected_proposed: How many the proposed schemas would reject.
        enforcement_now: Today's enforcement mode.
        enforcement_proposed: The mode after the change.
        by_day: Per day, the events and what the proposal rejects.
        worst_slice: The SDK version the proposal rejects most of (``None`` when it rejects
            nothing).
    """

    event: str
    events: int
    rejected_now: int
    rejected_proposed: int
    enforcement_now: str
    enforcement_proposed: str
    by_day: list[DayDrops] = Field(default_factory=list)
    worst_slice: VersionSlice | None = None

    @property
    def conforming_now(self) -> float:
        """The share of the events today's schemas accept (1.0 without events)."""
        return 1 - self.rejected_now / self.events if self.events else 1.0

    @property
    def conforming_proposed(self) -> float:
        """The share of the events the proposed schemas accept (1.0 without events)."""
        return 1 - self.rejected_proposed / self.events if self.events else 1.0

    @property
    def dropped(self) -> int:
        """What the proposal drops: what it rejects when the event will be in reject mode."""
        return self.rejected_proposed if self.enforcement_proposed == "reject" else 0


class Backtest(_Model):
    """Today's and the proposed expectations replayed over the last ``days`` days.

    Attributes:
        days: The window, in days.
        since: Its start (UTC).
        until: Its end (UTC, when the run started).
        events: One entry per changed event, by name.
        queries: HogQL queries sent.
        query_bound: The most this run could send: ⌈changed events / 200⌉ + 1.
        notes: Anything the reader should know (a truncated answer).
    """

    days: int
    since: datetime
    until: datetime
    events: list[BacktestEvent] = Field(default_factory=list)
    queries: int = 0
    query_bound: int = 1
    notes: list[str] = Field(default_factory=list)


_Pair = tuple[EventExpectation, EventExpectation]


def _pairs(
    current: Sequence[EventExpectation], proposed: Sequence[EventExpectation]
) -> list[_Pair]:
    """Each event of either side with both its expectations (nothing expected where a side
    lacks it), sorted by name."""
    now = {item.event: item for item in current}
    then = {item.event: item for item in proposed}
    return [
        (now.get(name, EventExpectation(name, ())), then.get(name, EventExpectation(name, ())))
        for name in sorted(now.keys() | then.keys())
    ]


def _backtest_query(pairs: Sequence[_Pair], window_seconds: int) -> HogQLQuery:
    values = QueryValues([now.event for now, _ in pairs], window_seconds)
    current, current_rejects = slot_columns([now for now, _ in pairs], values, _CURRENT)
    proposed, proposed_rejects = slot_columns([then for _, then in pairs], values, _PROPOSED)
    columns = [
        "event",
        "toDate(timestamp) AS day",
        "JSONExtractString(properties, '$lib') AS lib",
        "coalesce(nullIf(JSONExtractString(properties, '$lib_version'), ''),"
        " JSONExtractString(properties, '$app_version')) AS version",
        f"countIf(({EVENT_INDEX} AS ei) > 0) AS total",
        *current,
        f"countIf({current_rejects}) AS {_CURRENT}would_reject",
        *proposed,
        f"countIf({proposed_rejects}) AS {_PROPOSED}would_reject",
    ]
    query = (
        "SELECT " + ",\n  ".join(columns) + "\nFROM events\n"
        f"WHERE event IN {{events}} AND {WINDOW_FILTER}\n"
        "GROUP BY event, day, lib, version\nORDER BY event, day, lib, version\n"
        f"LIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, values.data)


def backtest_queries(
    current: Sequence[EventExpectation],
    proposed: Sequence[EventExpectation],
    days: int,
    *,
    max_chars: int = MAX_QUERY_CHARS,
) -> list[tuple[HogQLQuery, list[_Pair]]]:
    """The queries of a backtest: at most 200 events each, each under ``max_chars``.

    Args:
        current: Today's expectations of the changed events.
        proposed: Their expectations after the change (an event on one side only expects
            nothing on the other).
        days: How many days back to read.
        max_chars: Size budget of one query.
    """
    return split_into_queries(
        _pairs(current, proposed),
        lambda chunk: _backtest_query(chunk, days * 86_400),
        max_chars=max_chars,
        max_items=EVENTS_PER_QUERY,
    )


def check_days(days: object) -> None:
    """Refuse a backtest window that is not 1 to :data:`MAX_BACKTEST_DAYS` whole days."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BACKTEST_DAYS:
        raise InvalidInputError(
            f"backtest days must be a whole number from 1 to {MAX_BACKTEST_DAYS}; got {days!r}"
        )


def backtest_steps(
    current: Sequence[EventExpectation],
    proposed: Sequence[EventExpectation],
    days: int,
    *,
    now: datetime | None = None,
) -> QuerySteps[Backtest]:
    """The backtest as sans-I/O steps (see :data:`~eventschema_tools.audit.queries.QuerySteps`).

    Raises:
        InvalidInputError: ``days`` outside 1 to :data:`MAX_BACKTEST_DAYS` (before any query).
    """
    check_days(days)
    until = now or datetime.now(UTC)
    batches = backtest_queries(current, proposed, days)
    events: list[BacktestEvent] = []
    notes: list[str] = []
    for query, pairs in batches:
        result: HogQLResult = yield query
        if len(result.results) >= MAX_ROWS:
            notes.append(
                f"a query returned {MAX_ROWS:,} rows, PostHog's most: some days or versions of "
                f"{pairs[0][0].event}..{pairs[-1][0].event} are missing; backtest fewer days"
            )
        events += decode_backtest(result, pairs)
    return Backtest(
        days=days,
        since=until - timedelta(days=days),
        until=until,
        events=events,
        queries=len(batches),
        query_bound=math.ceil(len(_pairs(current, proposed)) / EVENTS_PER_QUERY) + 1,
        notes=notes,
    )


def decode_backtest(
    result: HogQLResult, pairs: Sequence[tuple[EventExpectation, EventExpectation]]
) -> list[BacktestEvent]:
    """Turn a backtest query's rows into one :class:`BacktestEvent` per pair of ``pairs`` (the
    chunk :func:`backtest_queries` gave with the query); events without rows count zero."""
    by_event: dict[str, list[dict[str, object]]] = {}
    for row in result.rows():
        by_event.setdefault(str(row.get("event")), []).append(row)
    return [_decoded(now, then, by_event.get(now.event, [])) for now, then in pairs]


def _decoded(
    now: EventExpectation, then: EventExpectation, rows: Sequence[dict[str, object]]
) -> BacktestEvent:
    days: dict[date, list[int]] = {}
    slices: dict[tuple[str, str], list[int]] = {}
    total = rejected_now = rejected_proposed = 0
    for row in rows:
        count = _number(row.get("total"))
        before = _number(row.get(f"{_CURRENT}would_reject"))
        after = _number(row.get(f"{_PROPOSED}would_reject"))
        total, rejected_now, rejected_proposed = (
            total + count,
            rejected_now + before,
            rejected_proposed + after,
        )
        day = days.setdefault(_day(row.get("day")), [0, 0])
        day[0], day[1] = day[0] + count, day[1] + after
        key = (str(row.get("lib") or ""), str(row.get("version") or ""))
        part = slices.setdefault(key, [0, 0])
        part[0], part[1] = part[0] + count, part[1] + after
    return BacktestEvent(
        event=now.event,
        events=total,
        rejected_now=rejected_now,
        rejected_proposed=rejected_proposed,
        enforcement_now=now.enforcement_mode,
        enforcement_proposed=then.enforcement_mode,
        by_day=[DayDrops(day=d, events=n, would_reject=r) for d, (n, r) in sorted(days.items())],
        worst_slice=_worst(slices, total),
    )


def _worst(slices: dict[tuple[str, str], list[int]], total: int) -> VersionSlice | None:
    rejecting = [
        VersionSlice(lib=lib, version=version, events=count, would_reject=rejected)
        for (lib, version), (count, rejected) in slices.items()
        if rejected
    ]
    least = max(_SLICE_MIN_EVENTS, math.ceil(total * _SLICE_MIN_SHARE))
    # Small slices are noise, unless there is nothing else to name.
    candidates = [item for item in rejecting if item.events >= least] or rejecting
    if not candidates:
        return None
    return min(candidates, key=lambda s: (-s.rate, -s.events, s.lib, s.version))


def _number(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) and str(value) else 0


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def run_backtest(
    client: EventSchemaClient,
    current: Sequence[EventExpectation],
    proposed: Sequence[EventExpectation],
    days: int,
) -> Backtest:
    """Run :func:`backtest_steps` with ``client`` (one query per 200 changed events)."""
    return drive_queries(client, backtest_steps(current, proposed, days))


async def run_backtest_async(
    client: AsyncEventSchemaClient,
    current: Sequence[EventExpectation],
    proposed: Sequence[EventExpectation],
    days: int,
) -> Backtest:
    """Async twin of :func:`run_backtest`."""
    return await drive_queries_async(client, backtest_steps(current, proposed, days))
