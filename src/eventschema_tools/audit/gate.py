"""The conformance gate: are these events healthy enough for downstream jobs to use?

An event *conforms* when every required property of the groups bound to it is present with a
type PostHog's ingestion accepts; in other words, when ``reject`` enforcement would keep it.
The gate measures, per event over a recent window, the share of conforming events, and passes
when every named event reaches the threshold with enough volume to judge. It costs one audit
of the ``enforcement`` kind: the live state reads plus one HogQL query for up to a few hundred
bound events.

Example::

    options = gate_options(events=["checkout_completed"], threshold=0.99, window="1h")
    gate = check_conformance(client, options)
    if not gate.passed:
        print([e.event for e in gate.events if e.status is not EventStatus.HEALTHY])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from eventschema_tools.audit.model import (
    AuditKind,
    AuditReport,
    Finding,
    Severity,
    format_rate,
    parse_window,
)
from eventschema_tools.audit.run import AuditOptions, audit_options, run_audit, run_audit_async
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.file import TrackingPlan

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "ConformanceGate",
    "EventHealth",
    "EventStatus",
    "GateOptions",
    "check_conformance",
    "check_conformance_async",
    "gate_options",
]


class EventStatus(StrEnum):
    """One event's standing at the gate (see :class:`EventHealth`)."""

    HEALTHY = "healthy"
    BELOW_THRESHOLD = "below_threshold"
    TOO_FEW_EVENTS = "too_few_events"
    NO_SCHEMA = "no_schema"


class EventHealth(BaseModel):
    """One event's standing at the gate.

    Attributes:
        event: The event name.
        status: ``healthy``; ``below_threshold`` (the rate is under the threshold);
            ``too_few_events`` (fewer than ``min_events`` in the window, so not judged yet);
            ``no_schema`` (no property group is bound to it: it can never be judged).
        events: How many of these events arrived in the window.
        conforming: How many of them conform.
        rate: ``conforming / events``, or ``None`` with no events.
    """

    model_config = ConfigDict(frozen=True)

    event: str
    status: EventStatus
    events: int = 0
    conforming: int = 0
    rate: float | None = None


class ConformanceGate(BaseModel):
    """The gate's verdict over the named events.

    Attributes:
        generated_at: When the underlying audit ran (UTC).
        project_id: The project measured.
        window: The window, as given (``1h``).
        threshold: The lowest share of conforming events that passes.
        min_events: The fewest events in the window needed to judge an event.
        passed: True when every named event is ``healthy``.
        events: One entry per named event, in the order given.
        queries: HogQL queries spent.
    """

    model_config = ConfigDict(frozen=True)

    generated_at: datetime
    project_id: str
    window: str
    threshold: float
    min_events: int
    passed: bool
    events: list[EventHealth]
    queries: int

    def summary(self) -> str:
        """One line per event, e.g. ``checkout_completed: 98.0% of 500 conform (healthy)``."""
        return "; ".join(_describe(item) for item in self.events)

    def findings(self) -> list[Finding]:
        """An error finding (``below_threshold``, of the enforcement audit) per event under the
        threshold: what alerts keep as incidents while the gate waits."""
        return [
            Finding(
                severity=Severity.ERROR,
                kind=AuditKind.ENFORCEMENT,
                code="below_threshold",
                event=item.event,
                counts={"events": item.events, "conforming": item.conforming},
                rates={"violations": 1 - (item.rate or 0.0)},
                message=f"Only {format_rate(item.rate or 0.0)} of {item.events} "
                f'"{item.event}" events in the last {self.window} conform; the gate needs '
                f"{format_rate(self.threshold)}.",
                fix="Fix the missing or mistyped required properties the audit lists for "
                "this event; the gate passes once enough events conform.",
            )
            for item in self.events
            if item.status is EventStatus.BELOW_THRESHOLD
        ]


@dataclass(frozen=True)
class GateOptions:
    """Validated gate settings (see :func:`gate_options`).

    Attributes:
        events: The events to grade, in the order given.
        threshold: The lowest share of conforming events that passes.
        window: The window, as given (``1h``).
        min_events: The fewest events in the window needed to judge an event.
        audit: The ``enforcement`` audit that measures them (with the plan, if one was given).
    """

    events: tuple[str, ...]
    threshold: float
    window: str
    min_events: int
    audit: AuditOptions


def gate_options(
    *,
    events: str | Sequence[str],
    threshold: float,
    window: str = "1h",
    min_events: int = 1,
    plan: TrackingPlan | str | Path | None = None,
) -> GateOptions:
    """Validate gate settings before anything is sent.

    Args:
        events: Event names, as a list or ``"a,b"``.
        threshold: The lowest share of conforming events that passes, from 0 to 1.
        window: How far back to look: ``30m``, ``1h``, ``1d``...
        min_events: The fewest events in the window needed to judge an event (0 or more).
        plan: Judge against this tracking plan's schemas (or plan file's) instead of the live
            project's.

    Raises:
        InvalidInputError: no events, a threshold outside 0..1, a bad window or ``min_events``.
        PlanFileError: the plan file is unreadable or invalid.
    """
    items = events.split(",") if isinstance(events, str) else list(events)
    names = tuple(dict.fromkeys(name.strip() for name in items if name.strip()))
    problems = []
    if not names:
        problems.append(("events", "give at least one event name"))
    if isinstance(threshold, bool) or not 0 <= threshold <= 1:
        problems.append(
            ("threshold", f"must be a fraction from 0 to 1 (0.99 is 99%), got {threshold!r}")
        )
    if isinstance(min_events, bool) or not isinstance(min_events, int) or min_events < 0:
        problems.append(("min_events", f"must be a whole number, 0 or more, got {min_events!r}"))
    if problems:
        summary = "; ".join(f"{where}: {message}" for where, message in problems)
        raise InvalidInputError(f"invalid conformance gate: {summary}", problems)
    parse_window(window)
    audit = audit_options(plan=plan, kinds=[AuditKind.ENFORCEMENT], window=window)
    return GateOptions(names, float(threshold), window.strip(), min_events, audit)


def judge(report: AuditReport, options: GateOptions) -> ConformanceGate:
    """Grade the named events from an audit report that holds their live numbers (pure)."""
    stats = {item.event: item for item in report.events}
    verdicts = []
    for name in options.events:
        item = stats.get(name)
        if item is None:
            verdicts.append(EventHealth(event=name, status=EventStatus.NO_SCHEMA))
            continue
        conforming = item.events - item.would_reject
        rate = conforming / item.events if item.events else None
        status = EventStatus.HEALTHY
        if rate is None or item.events < options.min_events:
            status = EventStatus.TOO_FEW_EVENTS
        elif rate < options.threshold:
            status = EventStatus.BELOW_THRESHOLD
        verdicts.append(
            EventHealth(
                event=name, status=status, events=item.events, conforming=conforming, rate=rate
            )
        )
    return ConformanceGate(
        generated_at=report.generated_at,
        project_id=report.project_id,
        window=options.window,
        threshold=options.threshold,
        min_events=options.min_events,
        passed=all(verdict.status is EventStatus.HEALTHY for verdict in verdicts),
        events=verdicts,
        queries=report.queries,
    )


def check_conformance(client: EventSchemaClient, options: GateOptions) -> ConformanceGate:
    """Measure the named events' conformance over the window and grade it.

    Args:
        client: The client of the project.
        options: The gate, from :func:`gate_options` (which checks every setting before
            anything is sent).

    Raises:
        EventSchemaError: an API error.
    """
    return judge(run_audit(client, options.audit), options)


async def check_conformance_async(
    client: AsyncEventSchemaClient, options: GateOptions
) -> ConformanceGate:
    """Async twin of :func:`check_conformance` (same parameters, same verdict)."""
    return judge(await run_audit_async(client, options.audit), options)


def _describe(item: EventHealth) -> str:
    if item.status is EventStatus.NO_SCHEMA:
        return f"{item.event}: no schema is bound to it"
    if item.rate is None:
        return f"{item.event}: no events in the window ({item.status})"
    return f"{item.event}: {item.rate:.1%} of {item.events} conform ({item.status})"
