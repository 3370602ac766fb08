"""The soak gate: has an event's conformance stayed above an SLO for a whole period?

The conformance gate (:mod:`.gate`) asks whether events conform over one window; the soak gate
asks whether they *kept* conforming, bucket by bucket, since the schemas they are judged by
last changed. Promotion between environments and the enforcement ratchet both wait on it.

For each event, over the soak period ``[now - soak, now)``:

* the schemas bound to it must not have changed during the period (the newest ``updated_at``
  of its groups and ``created_at`` of its bindings is before its start): a change restarts the
  soak (``too_recent``, with the time it ends);
* at least ``min_events`` events must have arrived (``too_few_events``);
* the share that conforms over the whole period must reach the SLO, and no bucket (an hour, or
  a 24th of a shorter period) may be clearly below it: a bucket fails when the upper end of the
  95 % Wilson interval of its rate is under the SLO, so three bad events out of ten fail an
  hour at 99 % and one out of ten does not (``below_slo``, naming the worst bucket).

An event *conforms* as at the conformance gate: every required property present and of a type
ingestion accepts (what ``reject`` keeps). Events that ``reject`` dropped never reach the events
table, so the ``schema_validation_failed`` ingestion warnings of the period are counted too
(``system.ingestion_warnings``), as non-conforming, whatever the event's mode is now (it may
have been ``reject`` for part of the period). A warning carries the time it was ingested.

Costs: the live state (groups, bindings, the events' definitions), then one HogQL query per run
of events whose rows (events x buckets) fit in one answer, and one query of ingestion warnings.
Times are explicit (``toUnixTimestamp`` bounds), not the server's ``now()``, so a run can be
replayed for a given ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from eventschema_tools.audit.confidence import wilson_interval
from eventschema_tools.audit.expectations import EventExpectation, expectations, state_from_live
from eventschema_tools.audit.model import format_rate, parse_window
from eventschema_tools.audit.queries import (
    EVENT_INDEX,
    MAX_QUERY_CHARS,
    MAX_ROWS,
    HogQLQuery,
    QuerySteps,
    QueryValues,
    drive_queries,
    drive_queries_async,
    slot_columns,
    split_into_queries,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode, EventSchema
from eventschema_tools.tracking_plan.live import LiveState

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "DEFAULT_MIN_EVENTS",
    "DEFAULT_SLO",
    "DEFAULT_SOAK",
    "EventSoak",
    "SoakBucket",
    "SoakOptions",
    "SoakStatus",
    "SoakVerdict",
    "check_soak",
    "check_soak_async",
    "soak_options",
    "soak_steps",
]

DEFAULT_SLO: Final = 0.99
DEFAULT_SOAK: Final = "24h"
DEFAULT_MIN_EVENTS: Final = 50
MAX_SOAK: Final = timedelta(days=90)
_MAX_BUCKET_SECONDS: Final = 3600
_BUCKETS_IN_SHORT_SOAK: Final = 24
EVENTS_PER_QUERY: Final = 200
WARNING_TYPE: Final = "schema_validation_failed"


class SoakStatus(StrEnum):
    """One event's standing at the soak gate."""

    HELD = "held"
    BELOW_SLO = "below_slo"
    TOO_FEW_EVENTS = "too_few_events"
    TOO_RECENT = "too_recent"
    NO_SCHEMA = "no_schema"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class SoakBucket(_Model):
    """One bucket of the soak period: when it starts, how many events arrived, how many
    conform (events ``reject`` dropped count as arrived and not conforming)."""

    start: datetime
    events: int
    conforming: int

    @property
    def rate(self) -> float:
        """The share that conforms (1.0 without events)."""
        return self.conforming / self.events if self.events else 1.0


class EventSoak(_Model):
    """One event over the soak period.

    Attributes:
        event: The event name.
        status: ``held``, ``below_slo``, ``too_few_events``, ``too_recent`` or ``no_schema``.
        events: Events that arrived in the period (with those ``reject`` dropped).
        conforming: How many of them conform.
        dropped: How many ``reject`` dropped (from the ingestion warnings).
        enforcement: The event's enforcement mode in the project.
        changed_at: When the schemas it is judged by last changed (``None``: unknown).
        worst: The bucket most surely below the SLO: the lowest upper end of the 95 % interval
            of its rate.
        failing_buckets: Buckets clearly below the SLO.
    """

    event: str
    status: SoakStatus
    events: int = 0
    conforming: int = 0
    dropped: int = 0
    enforcement: EnforcementMode = EnforcementMode.ALLOW
    changed_at: datetime | None = None
    worst: SoakBucket | None = None
    failing_buckets: int = 0

    @property
    def rate(self) -> float | None:
        """The share that conforms over the period (``None`` without events)."""
        return self.conforming / self.events if self.events else None


class SoakVerdict(_Model):
    """The soak gate's verdict over the named events.

    Attributes:
        project_id: The project measured.
        since: Start of the soak period (UTC).
        until: Its end: the time the gate was asked for.
        soak: The period, as given (``24h``).
        slo: The lowest conforming share that passes.
        min_events: The fewest events an event needs in the period.
        bucket_seconds: The length of a bucket.
        passed: Every event ``held``.
        events: One entry per named event, in the order given.
        queries: HogQL queries spent.
    """

    project_id: str
    since: datetime
    until: datetime
    soak: str
    slo: float
    min_events: int
    bucket_seconds: int
    passed: bool
    events: list[EventSoak]
    queries: int

    def failing(self) -> list[EventSoak]:
        """The events that did not hold."""
        return [item for item in self.events if item.status is not SoakStatus.HELD]

    def describe(self, item: EventSoak) -> str:
        """One sentence on one event, with its numbers."""
        name = f'"{item.event}"'
        if item.status is SoakStatus.NO_SCHEMA:
            return f"{name} has no schema bound in project {self.project_id}"
        if item.status is SoakStatus.TOO_RECENT and item.changed_at is not None:
            ends = item.changed_at + timedelta(seconds=_seconds(self.soak))
            return (
                f"{name}: its schemas changed at {_moment(item.changed_at)}; the {self.soak} "
                f"soak ends at {_moment(ends)}"
            )
        rate = item.rate
        measured = (
            f"{format_rate(rate)} of {item.events} conform over the last {self.soak}"
            if rate is not None
            else f"no events in the last {self.soak}"
        )
        if item.dropped:
            measured += f" ({item.dropped} dropped by reject)"
        if item.status is SoakStatus.TOO_FEW_EVENTS:
            return f"{name}: {measured}; the soak needs at least {self.min_events}"
        if item.status is SoakStatus.BELOW_SLO:
            worst = item.worst
            where = (
                f"; worst at {_moment(worst.start)}: {format_rate(worst.rate)} of {worst.events}"
                if worst is not None
                else ""
            )
            return f"{name}: {measured}{where}; the SLO is {format_rate(self.slo)}"
        return f"{name}: {measured} (held)"

    def summary(self) -> str:
        """What failed, one event per line (or that every event held)."""
        failing = self.failing()
        if not failing:
            return (
                f"every event held {format_rate(self.slo)} over the last {self.soak} "
                f"({len(self.events)} event{'s' if len(self.events) != 1 else ''})"
            )
        return "\n".join(self.describe(item) for item in failing)


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _seconds(label: str) -> int:
    return int(parse_window(label).total_seconds())


@dataclass(frozen=True)
class SoakOptions:
    """Validated soak settings (see :func:`soak_options`)."""

    slo: float
    soak: str
    soak_seconds: int
    min_events: int
    settled: bool = True

    @property
    def bucket_seconds(self) -> int:
        """An hour, or a 24th of a soak shorter than a day (at least a minute)."""
        return max(60, min(_MAX_BUCKET_SECONDS, self.soak_seconds // _BUCKETS_IN_SHORT_SOAK))

    @property
    def buckets(self) -> int:
        """How many buckets the period holds."""
        return math.ceil(self.soak_seconds / self.bucket_seconds)


def soak_options(
    *,
    slo: float = DEFAULT_SLO,
    soak: str = DEFAULT_SOAK,
    min_events: int = DEFAULT_MIN_EVENTS,
    settled: bool = True,
) -> SoakOptions:
    """Validate soak settings before anything is sent.

    Args:
        slo: The lowest share of conforming events that passes, from 0 to 1 (0.99 is 99 %).
        soak: How long conformance must have held: ``6h``, ``24h``, ``7d``... (at most 90 days).
        min_events: The fewest events an event needs in the period to be judged.
        settled: Require the schemas to be unchanged over the period (``too_recent``
            otherwise); off, the period is judged whatever changed in it (a regression check).

    Raises:
        InvalidInputError: an SLO outside 0..1, a bad period or ``min_events``.
    """
    problems = []
    if isinstance(slo, bool) or not isinstance(slo, int | float) or not 0 <= slo <= 1:
        problems.append(("slo", f"must be a fraction from 0 to 1 (0.99 is 99%), got {slo!r}"))
    if isinstance(min_events, bool) or not isinstance(min_events, int) or min_events < 1:
        problems.append(("min_events", f"must be a whole number, 1 or more, got {min_events!r}"))
    if problems:
        summary = "; ".join(f"{where}: {message}" for where, message in problems)
        raise InvalidInputError(f"invalid soak: {summary}", problems)
    period = parse_window(soak)
    if period > MAX_SOAK:
        raise InvalidInputError(
            f"invalid soak: {soak!r} is longer than 90 days", [("soak", "out of range")]
        )
    return SoakOptions(float(slo), soak.strip(), int(period.total_seconds()), min_events, settled)


# --- queries ---------------------------------------------------------------------------------


def _conformance_query(
    chunk: Sequence[EventExpectation], since: int, until: int, bucket_seconds: int
) -> HogQLQuery:
    values = QueryValues([item.event for item in chunk], until - since)
    values.data.update(since=since, until=until, bucket_seconds=bucket_seconds)
    slots, reject = slot_columns(chunk, values)
    columns = [
        "event",
        "intDiv(toUnixTimestamp(timestamp) - {since}, {bucket_seconds}) AS bucket",
        f"countIf(({EVENT_INDEX} AS ei) > 0) AS total",
        *slots,
        f"countIf({reject}) AS would_reject",
    ]
    query = (
        "SELECT " + ",\n  ".join(columns) + "\nFROM events\n"
        "WHERE event IN {events} AND toUnixTimestamp(timestamp) >= {since}"
        " AND toUnixTimestamp(timestamp) < {until}\n"
        f"GROUP BY event, bucket\nORDER BY event, bucket\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, values.data)


def _warnings_query(events: Sequence[str], since: int, until: int, bucket: int) -> HogQLQuery:
    query = (
        "SELECT JSONExtractString(details, 'eventName') AS event,\n"
        "  intDiv(toUnixTimestamp(timestamp) - {since}, {bucket_seconds}) AS bucket,\n"
        "  count() AS dropped\n"
        "FROM system.ingestion_warnings\n"
        "WHERE type = {warning_type} AND toUnixTimestamp(timestamp) >= {since}"
        " AND toUnixTimestamp(timestamp) < {until}\n"
        "  AND JSONExtractString(details, 'eventName') IN {events}\n"
        f"GROUP BY event, bucket\nORDER BY event, bucket\nLIMIT {MAX_ROWS}"
    )
    values = {
        "events": list(events),
        "since": since,
        "until": until,
        "bucket_seconds": bucket,
        "warning_type": WARNING_TYPE,
    }
    return HogQLQuery(query, values)


_Counts = dict[tuple[str, int], list[int]]


def _changed_at(live: LiveState, schemas: Sequence[EventSchema]) -> dict[str, datetime]:
    """Per event, when what it is judged by last changed: its groups and its bindings."""
    moments: dict[str, datetime] = {}

    def note(event: str, moment: datetime | None) -> None:
        if moment is not None and (event not in moments or moment > moments[event]):
            moments[event] = moment

    names = {event.id: event.name for group in live.groups for event in group.events}
    for group in live.groups:
        for bound in group.events:
            note(bound.name, group.updated_at or group.created_at)
    for schema in schemas:
        name = names.get(schema.event_definition)
        if name is not None:
            note(name, schema.created_at)
    return moments


def soak_steps(
    events: Sequence[str],
    options: SoakOptions,
    live: LiveState,
    schemas: Sequence[EventSchema],
    *,
    project_id: str,
    now: datetime,
) -> QuerySteps[SoakVerdict]:
    """The soak gate as sans-I/O steps over a project's live state and its bindings."""
    # Whole seconds, rounded up: what arrived in the second of ``now`` belongs to the period.
    until = math.ceil(now.timestamp())
    since = until - options.soak_seconds
    bucket = options.bucket_seconds
    state = state_from_live(live)
    bound = set(state.bound_events)
    expected = {item.event: item for item in expectations(state, events) if item.event in bound}
    judged = [expected[name] for name in events if name in expected]
    per_query = max(1, min(EVENTS_PER_QUERY, MAX_ROWS // (options.buckets + 1)))
    batches = split_into_queries(
        judged,
        lambda chunk: _conformance_query(chunk, since, until, bucket),
        max_chars=MAX_QUERY_CHARS,
        max_items=per_query,
    )
    counts: _Counts = {}
    queries = 0
    for query, _ in batches:
        result = yield query
        queries += 1
        for row in result.rows():
            key = (str(row["event"]), int(row["bucket"]))
            counts[key] = [int(row["total"]), int(row["would_reject"]), 0]
    modes = {event.name: event.enforcement_mode for event in live.events}
    # Whatever the mode is now: an event may have been in reject for part of the period.
    if judged:
        result = yield _warnings_query([item.event for item in judged], since, until, bucket)
        queries += 1
        for row in result.rows():
            key = (str(row["event"]), int(row["bucket"]))
            counts.setdefault(key, [0, 0, 0])[2] += int(row["dropped"])
    changed = _changed_at(live, schemas)
    start = datetime.fromtimestamp(since, UTC)
    verdicts = [
        _judge(
            name,
            expected.get(name),
            counts,
            options,
            start,
            modes.get(name, EnforcementMode.ALLOW),
            changed.get(name),
        )
        for name in events
    ]
    return SoakVerdict(
        project_id=project_id,
        since=start,
        until=datetime.fromtimestamp(until, UTC),
        soak=options.soak,
        slo=options.slo,
        min_events=options.min_events,
        bucket_seconds=bucket,
        passed=all(item.status is SoakStatus.HELD for item in verdicts),
        events=verdicts,
        queries=queries,
    )


def _judge(
    name: str,
    expected: EventExpectation | None,
    counts: _Counts,
    options: SoakOptions,
    start: datetime,
    enforcement: EnforcementMode,
    changed_at: datetime | None,
) -> EventSoak:
    if expected is None:
        return EventSoak(event=name, status=SoakStatus.NO_SCHEMA, enforcement=enforcement)
    buckets = [
        SoakBucket(
            start=start + timedelta(seconds=index * options.bucket_seconds),
            events=stored + dropped,
            conforming=stored - rejected,
        )
        for (event, index), (stored, rejected, dropped) in sorted(counts.items())
        if event == name and stored + dropped > 0
    ]
    total = sum(item.events for item in buckets)
    conforming = sum(item.conforming for item in buckets)
    dropped = sum(c[2] for (event, _), c in counts.items() if event == name)
    failing = [
        item for item in buckets if wilson_interval(item.conforming, item.events)[1] < options.slo
    ]
    # The surest bad bucket: the lowest upper end of its interval (0 of 3 is less sure than
    # 0 of 30).
    worst = min(
        buckets, key=lambda item: wilson_interval(item.conforming, item.events)[1], default=None
    )
    status = SoakStatus.HELD
    if options.settled and changed_at is not None and changed_at > start:
        status = SoakStatus.TOO_RECENT
    elif total < options.min_events:
        status = SoakStatus.TOO_FEW_EVENTS
    elif failing or conforming / total < options.slo:
        status = SoakStatus.BELOW_SLO
    return EventSoak(
        event=name,
        status=status,
        events=total,
        conforming=conforming,
        dropped=dropped,
        enforcement=enforcement,
        changed_at=changed_at,
        worst=worst,
        failing_buckets=len(failing),
    )


# --- the two drivers -------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InvalidInputError(
            "now must be an aware datetime (e.g. datetime.now(UTC))", [("now", "naive")]
        )
    return now


def check_soak(
    client: EventSchemaClient,
    events: Sequence[str],
    options: SoakOptions,
    *,
    now: datetime | None = None,
    live: LiveState | None = None,
) -> SoakVerdict:
    """Has each event's conformance held the SLO over the soak period?

    Args:
        client: The client of the project (staging, for a promotion).
        events: The event names to judge.
        options: From :func:`soak_options`.
        now: The end of the soak period (default: now); for replays and simulated time.
        live: The project's live state, when the caller has read it already.

    Raises:
        InvalidInputError: a naive ``now``.
        EventSchemaError: an API error.
    """
    moment = _now(now)
    state = live if live is not None else LiveState.read(client, event_names=list(events))
    schemas = list(client.event_schemas.list())
    steps = soak_steps(
        list(events), options, state, schemas, project_id=str(client.project_id), now=moment
    )
    return drive_queries(client, steps)


async def check_soak_async(
    client: AsyncEventSchemaClient,
    events: Sequence[str],
    options: SoakOptions,
    *,
    now: datetime | None = None,
    live: LiveState | None = None,
) -> SoakVerdict:
    """Async twin of :func:`check_soak` (same parameters, same verdict)."""
    moment = _now(now)
    state = (
        live if live is not None else await LiveState.read_async(client, event_names=list(events))
    )
    schemas = [schema async for schema in client.event_schemas.list()]
    steps = soak_steps(
        list(events), options, state, schemas, project_id=str(client.project_id), now=moment
    )
    return await drive_queries_async(client, steps)
