"""Schema audits: drift, hygiene, conformance, enforcement, volume and privacy, in few queries.

Example::

    from eventschema_tools import EventSchemaClient
    from eventschema_tools.audit.run import audit_options, run_audit

    options = audit_options(plan="tracking-plan.yaml", window="24h")  # checked before any request
    with EventSchemaClient.from_env() as client:
        report = run_audit(client, options)
    print(report.passed, len(report.findings))

The six audits (:class:`AuditKind`):

* **drift**: the tracking plan against the live project (needs a plan): missing or extra groups,
  property differences, missing or extra bindings, enforcement differences.
* **hygiene**: groups bound to no event, events seen in the window with no schema (with their
  volume), bound events not seen for ``stale_after_days``, groups with identical properties, a
  property with conflicting types across the groups bound to one event.
* **conformance**: per bound event over the window, its volume; per property the missing rate
  (required ones), the wrong-type rate under PostHog's coercion rules and the rate of value-rule
  violations (plan only); the share of events carrying unexpected properties. Each finding
  carries its evidence: offending values, example events, the releases behind it.
* **enforcement**: what ``reject`` enforcement would have dropped, per event (count and share).
* **volume**: planned events that stopped, fell or spiked against the same hours of the three
  weeks before, and optional properties whose carry rate fell (``audit.volume``).
* **privacy** (only when named): personal data in any property of any event, and the plan's
  forbidden properties, one query per 200 event names (``audit.privacy``).

With a plan, conformance and enforcement check the plan's schemas (with its value rules);
without one, the live project's. Everything the audit decides is pure (``audit_rules``,
``audit_queries``); this module only reads the live state, sends the queries and stores the
history. A full audit takes 4 HogQL queries for plans of hundreds of events (one per kind of
question), more only when a query would exceed PostHog's size or row limits. With ``sample``,
the queries read a share of the people (HogQL's ``SAMPLE``) and rates carry 95 % intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from eventschema_tools.audit.evidence import EvidenceContext
from eventschema_tools.audit.expectations import (
    EventExpectation,
    SchemaState,
    expectations,
    state_from_live,
    state_from_plan,
)
from eventschema_tools.audit.history import compare, latest_report, store_report
from eventschema_tools.audit.model import (
    MAX_VOLUME_WINDOW,
    REPORT_SCHEMA_VERSION,
    AuditKind,
    AuditReport,
    AuditWindow,
    EventConformance,
    Finding,
    FindingChange,
    HistoryComparison,
    PropertyConformance,
    Severity,
    parse_kinds,
    parse_sample,
    parse_severity,
    parse_window,
)
from eventschema_tools.audit.privacy import (
    PropertyValues,
    decode_privacy,
    privacy_findings,
    privacy_queries,
)
from eventschema_tools.audit.queries import (
    MAX_ROWS,
    EventVolume,
    KeyCount,
    QuerySteps,
    conformance_queries,
    decode_conformance,
    decode_event_volumes,
    decode_property_breakdown,
    drive_queries,
    drive_queries_async,
    event_volume_query,
    property_breakdown_chunks,
    property_breakdown_query,
    re2_problem,
    unexpected_counts,
)
from eventschema_tools.audit.rules import (
    conformance_findings,
    drift_findings,
    enforcement_findings,
    hygiene_findings,
    sort_findings,
)
from eventschema_tools.audit.thresholds import Thresholds, load_thresholds
from eventschema_tools.audit.volume import decode_volume, volume_findings, volume_queries
from eventschema_tools.catalog.resolve import close_names
from eventschema_tools.codegen.drift import generated_drift_findings
from eventschema_tools.codegen.output import CodegenManifest, read_manifest
from eventschema_tools.errors import InvalidInputError, UnknownNameError
from eventschema_tools.tracking_plan import LiveState, diff
from eventschema_tools.tracking_plan.file import TrackingPlan, load_plan

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AuditKind",
    "AuditOptions",
    "AuditReport",
    "AuditWindow",
    "EventConformance",
    "Finding",
    "FindingChange",
    "HistoryComparison",
    "PropertyConformance",
    "Severity",
    "Thresholds",
    "audit_options",
    "run_audit",
    "run_audit_async",
]

AuditSteps = QuerySteps[AuditReport]


@dataclass(frozen=True)
class AuditOptions:
    """What an audit run does, validated before any request.

    Attributes:
        kinds: The audits to run.
        window: How far back conformance, enforcement and event volumes look.
        window_label: The window as given (``24h``).
        thresholds: The limits that grade findings.
        fail_on: The lowest severity that fails the audit.
        plan: The tracking plan, if any.
        plan_path: Where the plan was read from, if it was read from a file.
        history_dir: Where reports are kept (``None``: no history).
        events: Only these bound events are measured (``None``: every bound event).
        sample: Read this share of people with HogQL's ``SAMPLE`` (``None``: every event).
        show_values: Put raw offending values in the evidence instead of fingerprints.
        generated: The manifest of generated code the drift audit also compares with the
            project (``eventschema codegen``), if any.
    """

    kinds: tuple[AuditKind, ...]
    window: timedelta
    window_label: str
    thresholds: Thresholds
    fail_on: Severity
    plan: TrackingPlan | None = None
    plan_path: str | None = None
    history_dir: Path | None = None
    events: tuple[str, ...] | None = None
    sample: float | None = None
    show_values: bool = False
    generated: CodegenManifest | None = None


def audit_options(
    *,
    plan: TrackingPlan | str | Path | None = None,
    kinds: str | Sequence[str] | None = None,
    window: str = "24h",
    thresholds: Thresholds | str | Path | None = None,
    fail_on: Severity | str = Severity.ERROR,
    history_dir: str | Path | None = None,
    events: str | Sequence[str] | None = None,
    sample: float | str | None = None,
    show_values: bool = False,
    generated: CodegenManifest | str | Path | None = None,
) -> AuditOptions:
    """Validate audit settings; every mistake is reported before anything is sent.

    Args:
        plan: A tracking plan, or the path of a plan file.
        kinds: Audits to run, as ``"drift,hygiene"`` or a list; ``None`` runs all of them
            (drift only when a plan is given).
        window: ``30m``, ``24h``, ``7d``, ``2w``...
        thresholds: Limits, or the path of a thresholds file (default: :class:`Thresholds`).
        fail_on: ``warning`` or ``error`` (or ``info``).
        history_dir: Keep each report there and compare with the previous one.
        events: Measure only these bound events (``"a,b"`` or a list); default all.
        sample: Read this share (0-1] of the people with HogQL's ``SAMPLE``; every rate then
            carries a 95 % interval and is graded on the interval (see ``docs/audits.md``).
        show_values: Show offending values raw in the evidence (default: fingerprints).
        generated: Generated code (its manifest, module or folder) whose expectations the
            drift audit compares with the live project too; drift then needs no plan.

    Raises:
        InvalidInputError: unknown kinds, a bad window or severity, drift without a plan, a
            bad thresholds file, an empty event list, a sample outside (0, 1], a volume
            window longer than 7 days.
        PlanFileError: the plan file is unreadable or invalid (e.g. it binds unknown groups).
    """
    chosen = parse_kinds(list(kinds) if kinds is not None and not isinstance(kinds, str) else kinds)
    span = parse_window(window)
    severity = parse_severity(fail_on) if isinstance(fail_on, str) else fail_on
    limits = (
        thresholds
        if isinstance(thresholds, Thresholds)
        else load_thresholds(thresholds)
        if thresholds is not None
        else Thresholds()
    )
    plan_path = None
    if plan is not None and not isinstance(plan, TrackingPlan):
        plan_path = str(plan)
        plan = load_plan(plan)
    if plan is not None:
        _check_patterns(plan)
    manifest = (
        read_manifest(Path(generated))
        if generated is not None and not isinstance(generated, CodegenManifest)
        else generated
    )
    if plan is None and manifest is None and AuditKind.DRIFT in chosen:
        if kinds:
            raise InvalidInputError(
                "the drift audit compares a tracking plan (or generated code) with the project: "
                "give a plan (--plan FILE) or generated code (--generated DIR), or leave drift "
                "out of --kinds",
                [("kinds", "drift needs a plan")],
            )
        chosen = [kind for kind in chosen if kind != AuditKind.DRIFT]
    if AuditKind.VOLUME in chosen and span > MAX_VOLUME_WINDOW and kinds:
        raise InvalidInputError(
            f"the volume audit compares the window with the same hours of the 3 weeks before "
            f"it, so the window can be at most 7d (got {window.strip()}): use --window 7d or "
            "less, or leave volume out of --kinds",
            [("window", "longer than 7d for volume")],
        )
    if AuditKind.VOLUME in chosen and span > MAX_VOLUME_WINDOW:
        chosen = [kind for kind in chosen if kind != AuditKind.VOLUME]
    return AuditOptions(
        kinds=tuple(chosen),
        window=span,
        window_label=window.strip(),
        thresholds=limits,
        fail_on=severity,
        plan=plan,
        plan_path=plan_path,
        history_dir=Path(history_dir) if history_dir is not None else None,
        events=_event_names(events),
        sample=parse_sample(sample),
        show_values=bool(show_values),
        generated=manifest,
    )


def _event_names(events: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if events is None:
        return None
    names = events.split(",") if isinstance(events, str) else list(events)
    chosen = tuple(sorted({name.strip() for name in names if name.strip()}))
    if not chosen:
        raise InvalidInputError(
            "events is empty: name at least one event, or leave it out to audit every bound event",
            [("events", "empty")],
        )
    return chosen


def run_audit(client: EventSchemaClient, options: AuditOptions) -> AuditReport:
    """Run audits against a project and return the report.

    Args:
        client: The client of the project to audit.
        options: What to audit, from :func:`audit_options` (which checks every setting
            before anything is sent).

    Raises:
        UnknownNameError: ``options.events`` names an event without a schema.
        EventSchemaError: an API error while reading the project or querying events.
    """
    _check_options(options)
    live = LiveState.read(client)
    steps = _audit_steps(options, live, _context(client, options), datetime.now(UTC))
    report = drive_queries(client, steps)
    return _with_history(report, options)


async def run_audit_async(client: AsyncEventSchemaClient, options: AuditOptions) -> AuditReport:
    """Async twin of :func:`run_audit` (same parameters, same report)."""
    _check_options(options)
    live = await LiveState.read_async(client)
    steps = _audit_steps(options, live, _context(client, options), datetime.now(UTC))
    report = await drive_queries_async(client, steps)
    return _with_history(report, options)


def _context(
    client: EventSchemaClient | AsyncEventSchemaClient, options: AuditOptions
) -> EvidenceContext:
    return EvidenceContext(client.host, str(client.project_id), options.show_values)


def _check_options(options: object) -> None:
    if not isinstance(options, AuditOptions):
        raise TypeError(
            f"options must come from audit_options(...), got {type(options).__name__}: "
            "e.g. run_audit(client, audit_options(plan=..., window='24h'))"
        )


def _with_history(report: AuditReport, options: AuditOptions) -> AuditReport:
    if options.history_dir is None:
        return report
    previous = latest_report(options.history_dir, report.project_id)
    if previous is not None:
        findings, comparison = compare(report.findings, report.kinds, previous)
        report = report.model_copy(update={"findings": findings, "history": comparison})
    store_report(report, options.history_dir)
    return report


def _bound(events: tuple[str, ...] | None, bound: Sequence[str]) -> tuple[str, ...] | None:
    """The requested events, each checked to carry a schema (close names suggested if not)."""
    if events is None:
        return None
    for name in events:
        if name not in bound:
            raise UnknownNameError("event with a schema", name, close_names(name, bound, limit=3))
    return events


def _check_patterns(plan: TrackingPlan) -> None:
    problems = []
    for group, spec in plan.property_groups.items():
        for name, prop in spec.properties.items():
            pattern = prop.rules.pattern if prop.rules else None
            problem = re2_problem(pattern) if pattern else None
            if problem:
                problems.append((f"{group}.{name}", problem))
    if problems:
        listed = "; ".join(f"{where} uses {what}" for where, what in problems)
        raise InvalidInputError(
            f"value-rule patterns that HogQL cannot run: {listed}. ClickHouse matches with RE2, "
            "which has no lookarounds, backreferences, atomic groups or possessive quantifiers; "
            "rewrite the pattern without them",
            [(where, what) for where, what in problems],
        )


# --- the audit itself: pure, driven one query at a time ----------------------------------------


def _audit_steps(
    options: AuditOptions, live: LiveState, context: EvidenceContext, now: datetime
) -> AuditSteps:
    """Yield each HogQL query, receive its result, and return the report."""
    kinds = set(options.kinds)
    sample = options.sample
    seconds = int(options.window.total_seconds())
    live_state = state_from_live(live)
    source = state_from_plan(options.plan, live) if options.plan else live_state
    expected = expectations(source, _bound(options.events, source.bound_events))
    queries = 0
    findings: list[Finding] = []

    if AuditKind.DRIFT in kinds and options.plan is not None:
        changes = diff(options.plan, live, prune=True)
        findings.extend(
            drift_findings(changes, live, options.plan.property_groups, options.plan.events)
        )
    if AuditKind.DRIFT in kinds and options.generated is not None:
        findings.extend(generated_drift_findings(options.generated, live))

    volumes: list[EventVolume] | None = None
    if AuditKind.HYGIENE in kinds:
        volumes = decode_event_volumes((yield event_volume_query(seconds, sample=sample)))
        queries += 1
        findings.extend(
            hygiene_findings(
                live_state,
                volumes,
                planned_events=_planned_events(options, source, live_state),
                window_label=options.window_label,
                now=now,
                stale_after_days=options.thresholds.stale_after_days,
            )
        )

    stats: list[EventConformance] = []
    if kinds & {AuditKind.CONFORMANCE, AuditKind.ENFORCEMENT} and expected:
        for query, chunk in conformance_queries(expected, seconds, sample=sample):
            stats.extend(decode_conformance((yield query), chunk, context))
            queries += 1
    if AuditKind.CONFORMANCE in kinds and expected:
        keys: list[KeyCount] = []
        pending = list(
            property_breakdown_chunks([item.event for item in expected], seconds, sample=sample)
        )
        while pending:
            query = pending.pop(0)
            rows = decode_property_breakdown((yield query))
            queries += 1
            events = list(query.values["events"])
            if len(rows) >= MAX_ROWS and len(events) > 1:
                # Truncated: ask again in two halves (each fits or splits further).
                half = len(events) // 2
                pending[:0] = [
                    property_breakdown_query(events[:half], seconds, sample),
                    property_breakdown_query(events[half:], seconds, sample),
                ]
                continue
            keys.extend(rows)
        stats = _with_unexpected(stats, keys, expected)
        findings.extend(
            conformance_findings(
                stats,
                expected,
                keys,
                options.thresholds,
                options.window_label,
                sampled=sample is not None,
            )
        )
    if AuditKind.ENFORCEMENT in kinds:
        findings.extend(
            enforcement_findings(
                stats,
                expected,
                options.thresholds,
                options.window_label,
                sampled=sample is not None,
            )
        )

    if AuditKind.VOLUME in kinds and expected:
        hours = max(1, seconds // 3600)
        histories = []
        for query, chunk in volume_queries(expected, hours, sample=sample):
            histories.extend(decode_volume((yield query), chunk))
            queries += 1
        findings.extend(
            volume_findings(
                histories,
                options.thresholds.volume,
                window_hours=hours,
                window_label=options.window_label,
                now=now,
            )
        )

    if AuditKind.PRIVACY in kinds:
        names = options.events or tuple(event.name for event in live.events)
        seen: list[PropertyValues] = []
        for query in privacy_queries(names, seconds, sample=sample):
            seen.extend(decode_privacy((yield query)))
            queries += 1
        findings.extend(privacy_findings(seen, options.plan, options.window_label))

    ordered = sort_findings(findings)
    return AuditReport(
        generated_at=now,
        project_id=context.project_id,
        kinds=list(options.kinds),
        source="plan" if options.plan is not None else "live",
        plan_path=options.plan_path,
        window=AuditWindow(
            label=options.window_label, seconds=seconds, since=now - options.window, until=now
        ),
        fail_on=options.fail_on,
        passed=not any(item.severity.rank >= options.fail_on.rank for item in ordered),
        counts_by_severity={
            level: sum(item.severity == level for item in ordered) for level in Severity
        },
        queries=queries,
        sample=sample,
        events=sorted(stats, key=lambda item: item.event),
        findings=ordered,
    )


def _planned_events(
    options: AuditOptions, source: SchemaState, live_state: SchemaState
) -> set[str]:
    planned = set(live_state.bound_events) | set(source.bound_events)
    if options.plan is not None:
        planned |= set(options.plan.events)
    return planned


def _with_unexpected(
    stats: list[EventConformance], keys: list[KeyCount], expected: list[EventExpectation]
) -> list[EventConformance]:
    found = unexpected_counts(keys, {item.event: item.names for item in expected})
    return [
        item.model_copy(update={"unexpected_properties": found.get(item.event, {})})
        for item in stats
    ]
