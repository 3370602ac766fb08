"""The enforcement ratchet: ``allow`` → ``reject`` once the data says so, and back on a regression.

An event opts in with a ``ratchet:`` entry in the plan (off otherwise). Each run, for every such
event of the project:

* in ``allow``: when its conformance held ``slo`` over the ``soak`` period, bucket by bucket and
  with at least ``min_events`` events, since its schemas last changed (the soak gate of
  :mod:`eventschema_tools.audit.soak`), it moves to ``reject``;
* in ``reject``: when, over the last ``window``, a bucket's conformance is clearly under
  ``allow_below`` (events ``reject`` dropped count as not conforming, from the ingestion
  warnings), it moves back to ``allow`` so that no more events are lost.

Everything else stays as it is. Each switch carries its evidence (the soak verdict of the event:
counts, rate, worst bucket) and can be stored in the audit history directory
(``ratchet-<project>-<time>.json``) and sent to the alert targets as a finding
(``enforcement_ratcheted`` / ``enforcement_released``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.alerts.incidents import IncidentState, IncidentStore, Transition
from eventschema_tools.alerts.notify import Alerting, NotifyResult
from eventschema_tools.audit.history import history_file_name, store_in_history
from eventschema_tools.audit.model import (
    AuditKind,
    AuditReport,
    AuditWindow,
    Finding,
    Severity,
    format_rate,
)
from eventschema_tools.audit.soak import (
    EventSoak,
    SoakOptions,
    SoakStatus,
    SoakVerdict,
    check_soak,
    check_soak_async,
    soak_options,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode
from eventschema_tools.tracking_plan.apply import ApplyReport, apply, apply_async
from eventschema_tools.tracking_plan.changes import Plan, UpdateEvent
from eventschema_tools.tracking_plan.environments import check_client, select_environment
from eventschema_tools.tracking_plan.file import RatchetSpec, TrackingPlan
from eventschema_tools.tracking_plan.live import LiveState

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "REGRESSION_MIN_EVENTS",
    "RatchetMove",
    "RatchetOptions",
    "RatchetReport",
    "RatchetStep",
    "notify_ratchet",
    "ratchet",
    "ratchet_async",
    "ratchet_options",
    "store_ratchet",
]

REGRESSION_MIN_EVENTS: Final = 10
"""The fewest events (with the dropped ones) the regression window needs to judge a regression."""

SWITCHED_TO_REJECT: Final = "enforcement_ratcheted"
SWITCHED_TO_ALLOW: Final = "enforcement_released"


class RatchetMove(StrEnum):
    """What the ratchet did with one event."""

    TO_REJECT = "to_reject"
    TO_ALLOW = "to_allow"
    KEEP = "keep"
    MISSING = "missing"


class RatchetStep(BaseModel):
    """One ratcheted event in one run.

    Attributes:
        event: The event name.
        before: Its enforcement mode before the run (``None``: no event definition).
        after: Its mode after the run (the same as ``before`` unless it moved).
        move: ``to_reject``, ``to_allow``, ``keep`` or ``missing``.
        reason: Why, in one sentence with the numbers.
        evidence: The soak verdict the decision rests on (``None`` for ``missing``).
        settings: The event's ``ratchet:`` entry.
    """

    model_config = ConfigDict(frozen=True)

    event: str
    before: EnforcementMode | None
    after: EnforcementMode | None
    move: RatchetMove
    reason: str
    evidence: EventSoak | None = None
    settings: RatchetSpec

    @property
    def switched(self) -> bool:
        """Whether the event moved."""
        return self.move in (RatchetMove.TO_REJECT, RatchetMove.TO_ALLOW)


class RatchetReport(BaseModel):
    """One run of the ratchet over a project.

    Attributes:
        generated_at: When it ran (UTC).
        project_id: The project.
        environment: The plan's environment it ran in (``None``: the connection's project).
        dry_run: Whether the switches were only decided, not made.
        steps: One per ratcheted event, by name.
        writes: The enforcement changes the switches make.
        report: What was applied (``None`` on a dry run or when nothing moved).
        queries: HogQL queries spent.
    """

    model_config = ConfigDict(frozen=True)

    generated_at: datetime
    project_id: str
    environment: str | None = None
    dry_run: bool = False
    steps: list[RatchetStep] = Field(default_factory=list)
    writes: Plan = Field(default_factory=Plan)
    report: ApplyReport | None = None
    queries: int = 0

    def switches(self) -> list[RatchetStep]:
        """The steps that moved an event."""
        return [step for step in self.steps if step.switched]

    def summary(self) -> str:
        """One line: how many events moved each way and how many stayed."""
        up = sum(step.move is RatchetMove.TO_REJECT for step in self.steps)
        down = sum(step.move is RatchetMove.TO_ALLOW for step in self.steps)
        verb = "would move" if self.dry_run else "moved"
        return (
            f"Ratchet: {up} {verb} to reject, {down} {verb} back to allow, "
            f"{len(self.steps) - up - down} unchanged."
        )

    def findings(self) -> list[Finding]:
        """Each switch as a warning finding of the enforcement audit, for the alert targets."""
        return [_finding(step) for step in self.switches()]

    def audit_report(self) -> AuditReport:
        """The switches as an audit report that measured nothing else (no audit kind ran, so
        recording it resolves no other incident)."""
        findings = self.findings()
        return AuditReport(
            generated_at=self.generated_at,
            project_id=self.project_id,
            kinds=[],
            source="live",
            window=AuditWindow(
                label="now", seconds=0, since=self.generated_at, until=self.generated_at
            ),
            fail_on=Severity.ERROR,
            passed=True,
            counts_by_severity={Severity.WARNING: len(findings)} if findings else {},
            queries=self.queries,
            findings=findings,
        )


def _finding(step: RatchetStep) -> Finding:
    evidence = step.evidence
    counts = {"events": evidence.events, "conforming": evidence.conforming} if evidence else {}
    if evidence is not None and evidence.dropped:
        counts["dropped"] = evidence.dropped
    rates = {"conforming": evidence.rate} if evidence and evidence.rate is not None else {}
    to_reject = step.move is RatchetMove.TO_REJECT
    return Finding(
        severity=Severity.WARNING,
        kind=AuditKind.ENFORCEMENT,
        code=SWITCHED_TO_REJECT if to_reject else SWITCHED_TO_ALLOW,
        event=step.event,
        counts=counts,
        rates=rates,
        message=f'The ratchet moved "{step.event}" to {step.after}: {step.reason}',
        fix=(
            "Nothing to do: events that miss a required property are now dropped at ingestion."
            if to_reject
            else "Fix the events the conformance audit lists; the ratchet moves the event to "
            "reject again once it has held its SLO for the soak period."
        ),
    )


@dataclass(frozen=True)
class RatchetOptions:
    """Validated ratchet settings (see :func:`ratchet_options`).

    Attributes:
        plan: The plan whose ``ratchet:`` entries say which events move.
        environment: The plan's environment to run in (``None``: the client's project).
        events: The ratcheted events, with their settings.
        dry_run: Decide and report, but switch nothing.
    """

    plan: TrackingPlan
    environment: str | None
    events: tuple[tuple[str, RatchetSpec], ...]
    dry_run: bool = False


def ratchet_options(
    plan: TrackingPlan, *, environment: str | None = None, dry_run: bool = False
) -> RatchetOptions:
    """Validate a ratchet run before anything is sent.

    Raises:
        InvalidInputError: an environment the plan does not define, or no event of the plan
            ratchets there.
    """
    if environment is not None:
        select_environment(plan, environment)
    events = tuple(
        (name, spec.ratchet)
        for name, spec in sorted(plan.events.items())
        if spec.ratchet is not None and spec.ratchet.runs_in(environment)
    )
    if not events:
        where = f" in environment {environment!r}" if environment else ""
        raise InvalidInputError(
            f"no event of the plan ratchets{where}: add a ratchet: entry to an event (e.g. "
            "ratchet: {slo: 0.99, soak: 7d}); see docs/environments.md#the-enforcement-ratchet",
            [("ratchet", "none configured")],
        )
    return RatchetOptions(plan, environment, events, dry_run)


# --- deciding (pure) -----------------------------------------------------------------------------

_Check = tuple[list[str], SoakOptions]


def _checks(options: RatchetOptions, live: LiveState) -> tuple[list[_Check], list[_Check]]:
    """The soak checks of the events in allow and the regression checks of those in reject,
    one per distinct setting."""
    soaks: dict[SoakOptions, list[str]] = {}
    regressions: dict[SoakOptions, list[str]] = {}
    for name, spec in options.events:
        definition = live.events_by_name.get(name)
        if definition is None:
            continue
        if definition.enforcement_mode is EnforcementMode.ALLOW:
            key = soak_options(slo=spec.slo, soak=spec.soak, min_events=spec.min_events)
            soaks.setdefault(key, []).append(name)
        else:
            key = soak_options(
                slo=spec.allow_below,
                soak=spec.window,
                min_events=REGRESSION_MIN_EVENTS,
                settled=False,
            )
            regressions.setdefault(key, []).append(name)
    return (
        [(names, key) for key, names in soaks.items()],
        [(names, key) for key, names in regressions.items()],
    )


def _steps(
    options: RatchetOptions, live: LiveState, verdicts: Sequence[SoakVerdict]
) -> list[RatchetStep]:
    judged = {item.event: (verdict, item) for verdict in verdicts for item in verdict.events}
    steps = []
    for name, spec in options.events:
        definition = live.events_by_name.get(name)
        if definition is None:
            steps.append(
                RatchetStep(
                    event=name,
                    before=None,
                    after=None,
                    move=RatchetMove.MISSING,
                    reason="the project has no event definition with this name yet",
                    settings=spec,
                )
            )
            continue
        before = definition.enforcement_mode
        verdict, item = judged[name]
        sentence = verdict.describe(item)
        if before is EnforcementMode.ALLOW:
            move = RatchetMove.TO_REJECT if item.status is SoakStatus.HELD else RatchetMove.KEEP
            reason = (
                f"conformance held {format_rate(spec.slo)} for {spec.soak}: {sentence}"
                if move is RatchetMove.TO_REJECT
                else f"not yet: {sentence}"
            )
        else:
            regressed = item.status is SoakStatus.BELOW_SLO
            move = RatchetMove.TO_ALLOW if regressed else RatchetMove.KEEP
            reason = (
                f"regression in the last {spec.window}: {sentence}"
                if regressed
                else f"no regression in the last {spec.window}: {sentence}"
            )
        after = {
            RatchetMove.TO_REJECT: EnforcementMode.REJECT,
            RatchetMove.TO_ALLOW: EnforcementMode.ALLOW,
        }.get(move, before)
        steps.append(
            RatchetStep(
                event=name,
                before=before,
                after=after,
                move=move,
                reason=reason,
                evidence=item,
                settings=spec,
            )
        )
    return steps


def _writes(plan_id: str, live: LiveState, steps: Sequence[RatchetStep]) -> Plan:
    return Plan(
        plan_id=plan_id,
        changes=[
            UpdateEvent(
                event=step.event,
                event_id=live.events_by_name[step.event].id,
                enforcement_mode=step.after,
                enforcement_before=step.before,
            )
            for step in steps
            if step.switched
        ],
    )


def _report(
    options: RatchetOptions,
    client: EventSchemaClient | AsyncEventSchemaClient,
    live: LiveState,
    verdicts: Sequence[SoakVerdict],
    moment: datetime,
) -> RatchetReport:
    steps = _steps(options, live, verdicts)
    return RatchetReport(
        generated_at=moment,
        project_id=str(client.project_id),
        environment=options.environment,
        dry_run=options.dry_run,
        steps=steps,
        writes=_writes(options.plan.plan_id, live, steps),
        queries=sum(verdict.queries for verdict in verdicts),
    )


def _names(options: RatchetOptions) -> list[str]:
    return [name for name, _ in options.events]


def _all(checks: tuple[list[_Check], list[_Check]]) -> Iterator[_Check]:
    yield from checks[0]
    yield from checks[1]


# --- the two drivers -----------------------------------------------------------------------------


def ratchet(
    client: EventSchemaClient, options: RatchetOptions, *, now: datetime | None = None
) -> RatchetReport:
    """Decide each ratcheted event's move and make the switches (unless ``dry_run``).

    Args:
        client: The client of the project (of ``options.environment`` when it is set).
        options: From :func:`ratchet_options`.
        now: The end of the soak and regression periods (default: now).

    Raises:
        ConfigurationError: the client does not reach the environment's project.
        EventSchemaError: an API error.
    """
    if options.environment is not None:
        check_client(options.plan, options.environment, client)
    moment = now or datetime.now(UTC)
    live = LiveState.read(client, event_names=_names(options))
    verdicts = [
        check_soak(client, names, settings, now=moment, live=live)
        for names, settings in _all(_checks(options, live))
    ]
    result = _report(options, client, live, verdicts, moment)
    if options.dry_run or result.writes.is_empty:
        return result
    return result.model_copy(update={"report": apply(client, result.writes)})


async def ratchet_async(
    client: AsyncEventSchemaClient, options: RatchetOptions, *, now: datetime | None = None
) -> RatchetReport:
    """Async twin of :func:`ratchet`."""
    if options.environment is not None:
        check_client(options.plan, options.environment, client)
    moment = now or datetime.now(UTC)
    live = await LiveState.read_async(client, event_names=_names(options))
    verdicts = [
        await check_soak_async(client, names, settings, now=moment, live=live)
        for names, settings in _all(_checks(options, live))
    ]
    result = _report(options, client, live, verdicts, moment)
    if options.dry_run or result.writes.is_empty:
        return result
    return result.model_copy(update={"report": await apply_async(client, result.writes)})


def store_ratchet(report: RatchetReport, directory: str | Path) -> Path:
    """Keep ``report`` in the audit history ``directory`` as ``ratchet-<project>-<time>.json``
    (beside the audit reports, which it never replaces as their baseline)."""
    name = history_file_name("ratchet", report.project_id, report.generated_at)
    return store_in_history(report, Path(directory), name)


def notify_ratchet(
    alerts: Alerting,
    client: EventSchemaClient,
    report: RatchetReport,
    *,
    plan: TrackingPlan | None = None,
) -> NotifyResult:
    """Send each switch to the alert targets as an incident, once.

    A switch resolves the incident of the event's previous switch the other way (a regression
    that moved it back to ``allow`` is over once it ratchets to ``reject`` again), so the next
    switch of the same kind is news again.
    """
    names = [target.name for target in alerts.targets_for(client)]
    opposite = {
        RatchetMove.TO_REJECT: SWITCHED_TO_ALLOW,
        RatchetMove.TO_ALLOW: SWITCHED_TO_REJECT,
    }
    resolved: list[tuple[int, Transition]] = []
    with IncidentStore.open(alerts.incidents) as store:
        open_incidents = store.incidents(
            states=[IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.MUTED],
            project_id=report.project_id,
        )
        for step in report.switches():
            for incident in open_incidents:
                finding = incident.finding
                if finding.event == step.event and finding.code == opposite[step.move]:
                    store.resolve(
                        incident.id,
                        targets=names,
                        now=report.generated_at,
                        note=f"the ratchet moved it to {step.after}",
                    )
                    resolved.append((incident.id, Transition.RESOLVED))
    notified = alerts.notify(client, report.audit_report(), events=[], plan=plan)
    return replace(notified, transitions=[*resolved, *notified.transitions])
