"""The audit rules: pure functions from schemas and live numbers to :class:`Finding` s.

* :func:`drift_findings` renders ``plan.diff`` (tracking plan → live project) as findings.
* :func:`hygiene_findings` looks at the live project: unused groups, unplanned events, stale
  schemas, duplicate groups, conflicting property types.
* :func:`conformance_findings` and :func:`enforcement_findings` grade the live numbers of each
  bound event against the thresholds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from eventschema_tools.audit.confidence import wilson_interval
from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation, SchemaState
from eventschema_tools.audit.model import (
    AuditKind,
    EventConformance,
    Evidence,
    Finding,
    PropertyConformance,
    Severity,
    format_rate,
)
from eventschema_tools.audit.queries import EventVolume, KeyCount
from eventschema_tools.audit.thresholds import Thresholds
from eventschema_tools.tracking_plan import (
    CreateBinding,
    CreateEvent,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    LiveState,
    Plan,
    PropertyChange,
    UpdateEvent,
    UpdateGroup,
)

__all__ = [
    "conformance_findings",
    "drift_finding",
    "drift_findings",
    "enforcement_findings",
    "hygiene_findings",
    "sort_findings",
]

_KIND_ORDER: Final = {kind: index for index, kind in enumerate(AuditKind)}
_LISTED_KEYS: Final = 5


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by audit kind, event, property and group."""
    return sorted(
        findings,
        key=lambda item: (
            -item.severity.rank,
            _KIND_ORDER[item.kind],
            item.event or "",
            item.property or "",
            item.group or "",
            item.code,
        ),
    )


# --- drift -----------------------------------------------------------------------------------


def drift_findings(
    plan: Plan,
    live: LiveState,
    planned_groups: Iterable[str],
    planned_events: Iterable[str],
) -> list[Finding]:
    """Findings for every difference between a tracking plan and the live project.

    Args:
        plan: ``plan.diff(desired, live, prune=True)``: the changes ``apply`` would make.
        live: The live project the diff was computed against.
        planned_groups: The group names the tracking plan defines.
        planned_events: The event names the tracking plan defines.
    """
    planned, planned_events = set(planned_groups), set(planned_events)
    findings: list[Finding] = []
    for change in plan.changes:
        findings.extend(_change_findings(change))
    subjects = _subjects(planned, planned_events)
    for notice in plan.notices:
        code = {"blocked": "missing_event", "conflict": "conflict", "kept": "extra_binding"}.get(
            notice.kind, notice.kind
        )
        findings.append(
            drift_finding(
                Severity.WARNING if notice.blocking else Severity.INFO,
                code,
                f"{notice.subject}: {notice.reason}.",
                "Resolve it in PostHog or in the tracking plan, then run the audit again.",
                **subjects.get(notice.subject, {}),
            )
        )
    owned_and_dropped = {change.group for change in plan.changes if isinstance(change, DeleteGroup)}
    for group in live.groups:
        if group.name in planned or group.name in owned_and_dropped:
            continue
        # The diff leaves groups this plan does not own alone; their bindings to planned
        # events are still drift.
        bound = sorted(item.name for item in group.events if item.name in planned_events)
        for event in bound:
            findings.append(
                drift_finding(
                    Severity.WARNING,
                    "extra_binding",
                    f'Group "{group.name}" is bound to "{event}" in PostHog but is not in the '
                    "plan.",
                    "Add the group and its binding to the plan, or unbind it in PostHog "
                    "(apply --prune never touches groups the plan does not own).",
                    event=event,
                    group=group.name,
                )
            )
        if not bound:
            findings.append(
                drift_finding(
                    Severity.INFO,
                    "unmanaged_group",
                    f'Group "{group.name}" exists in PostHog but not in the tracking plan.',
                    "Add it to the plan (`eventschema pull --plan -` prints the project as "
                    "YAML) if this plan should manage it.",
                    group=group.name,
                )
            )
    return findings


def _subjects(groups: set[str], events: set[str]) -> dict[str, dict[str, str]]:
    """The event or group each subject of the plan's notices names (``event "x"``...)."""
    found: dict[str, dict[str, str]] = {f'event "{name}"': {"event": name} for name in events}
    found.update({f'group "{name}"': {"group": name} for name in groups})
    return found


def drift_finding(
    severity: Severity,
    code: str,
    message: str,
    fix: str,
    *,
    event: str | None = None,
    group: str | None = None,
    prop: str | None = None,
) -> Finding:
    return Finding(
        severity=severity,
        kind=AuditKind.DRIFT,
        code=code,
        event=event,
        group=group,
        property=prop,
        message=message,
        fix=fix,
    )


# FILE stands for the plan file, which the findings do not know.
_APPLY: Final = "Run `eventschema apply --plan FILE` to make PostHog match the plan."


def _change_findings(change: object) -> list[Finding]:
    if isinstance(change, CreateGroup):
        return [
            drift_finding(
                Severity.ERROR,
                "missing_group",
                f'Group "{change.group}" is in the plan but not in PostHog.',
                _APPLY,
                group=change.group,
            )
        ]
    if isinstance(change, UpdateGroup):
        return _group_update_findings(change)
    if isinstance(change, DeleteGroup):
        return [
            drift_finding(
                Severity.WARNING,
                "extra_group",
                f'Group "{change.group}" was created by this plan but is no longer in it '
                f"({change.bindings} binding(s)).",
                "Delete it with `eventschema apply --plan FILE --prune`, or put it back in the "
                "plan.",
                group=change.group,
            )
        ]
    if isinstance(change, CreateBinding):
        return [
            drift_finding(
                Severity.ERROR,
                "missing_binding",
                f'Group "{change.group}" should be bound to "{change.event}" but is not.',
                _APPLY,
                event=change.event,
                group=change.group,
            )
        ]
    if isinstance(change, DeleteBinding):
        return [
            drift_finding(
                Severity.WARNING,
                "extra_binding",
                f'Group "{change.group}" is bound to "{change.event}" in PostHog but not in '
                "the plan.",
                "Remove the binding with `eventschema apply --plan FILE --prune`, or add it to the "
                "plan.",
                event=change.event,
                group=change.group,
            )
        ]
    if isinstance(change, UpdateEvent):
        return _event_update_findings(change)
    if isinstance(change, CreateEvent):
        return [
            drift_finding(
                Severity.WARNING,
                "missing_event",
                f'Event "{change.event}" is in the plan but PostHog has no definition for it.',
                "Send the event once, or run `eventschema apply --plan FILE --create-events`.",
                event=change.event,
            )
        ]
    return []


def _group_update_findings(change: UpdateGroup) -> list[Finding]:
    findings = [_propertydrift_finding(change.group, item) for item in change.property_changes]
    if change.description is not None and change.description_before != change.description_after:
        findings.append(
            drift_finding(
                Severity.INFO,
                "group_description",
                f'Group "{change.group}" has another description in PostHog.',
                _APPLY,
                group=change.group,
            )
        )
    return findings


def _propertydrift_finding(group: str, item: PropertyChange) -> Finding:
    before, after = item.before, item.after
    if before is None and after is not None:
        return drift_finding(
            Severity.ERROR,
            "property_missing",
            f'Property "{item.name}" ({after.property_type.value}) of group "{group}" is in '
            "the plan but not in PostHog.",
            _APPLY,
            group=group,
            prop=item.name,
        )
    if after is None and before is not None:
        return drift_finding(
            Severity.WARNING,
            "property_extra",
            f'Property "{item.name}" ({before.property_type.value}) of group "{group}" is in '
            "PostHog but not in the plan.",
            _APPLY + " Or add the property to the plan.",
            group=group,
            prop=item.name,
        )
    if before is None or after is None:  # pragma: no cover
        raise ValueError(f"property change of {item.name!r} has neither side")
    differences = [
        f"{label} {old} in PostHog, {new} in the plan"
        for label, old, new in (
            ("type", before.property_type.value, after.property_type.value),
            ("required", before.is_required, after.is_required),
            ("optional in types", before.is_optional_in_types, after.is_optional_in_types),
        )
        if old != new
    ]
    if before.description != after.description:
        differences.append("another description")
    essential = (before.property_type, before.is_required) != (
        after.property_type,
        after.is_required,
    )
    return drift_finding(
        Severity.ERROR if essential else Severity.INFO,
        "property_differs",
        f'Property "{item.name}" of group "{group}" differs: {"; ".join(differences)}.',
        _APPLY,
        group=group,
        prop=item.name,
    )


def _event_update_findings(change: UpdateEvent) -> list[Finding]:
    findings = []
    if change.enforcement_mode is not None:
        before = change.enforcement_before.value if change.enforcement_before else "allow"
        findings.append(
            drift_finding(
                Severity.WARNING,
                "enforcement_differs",
                f'Event "{change.event}" has enforcement "{before}" in PostHog, '
                f'"{change.enforcement_mode.value}" in the plan.',
                _APPLY,
                event=change.event,
            )
        )
    if change.description is not None:
        findings.append(
            drift_finding(
                Severity.INFO,
                "event_description",
                f'Event "{change.event}" has another description in PostHog.',
                _APPLY,
                event=change.event,
            )
        )
    return findings


# --- hygiene ---------------------------------------------------------------------------------


def hygiene_findings(
    live: SchemaState,
    volumes: Sequence[EventVolume] | None,
    *,
    planned_events: Iterable[str],
    window_label: str,
    now: datetime,
    stale_after_days: int,
) -> list[Finding]:
    """Findings about the live project's tidiness.

    Args:
        live: The live project's schemas.
        volumes: Every event seen in the window with its count (``None``: not measured).
        planned_events: Events that have a schema (in the plan, or bound in PostHog).
        window_label: The window, for messages (``24h``).
        now: The time of the audit.
        stale_after_days: Bound events not seen for this many days are stale.
    """
    findings: list[Finding] = []
    findings.extend(_unbound_groups(live))
    if volumes is not None:
        findings.extend(_unplanned_events(volumes, set(planned_events), window_label))
    findings.extend(_stale_schemas(live, now, stale_after_days))
    findings.extend(_duplicate_groups(live))
    findings.extend(_conflicting_types(live))
    return findings


def _hygiene(severity: Severity, code: str, message: str, fix: str, **fields: object) -> Finding:
    return Finding.model_validate(
        {
            "severity": severity,
            "kind": AuditKind.HYGIENE,
            "code": code,
            "message": message,
            "fix": fix,
            **fields,
        }
    )


def _unbound_groups(live: SchemaState) -> Iterable[Finding]:
    used = {group for groups in live.bindings.values() for group in groups}
    for name in sorted(set(live.groups) - used):
        yield _hygiene(
            Severity.WARNING,
            "unbound_group",
            f'Group "{name}" is bound to no event.',
            "Bind it to the events that carry its properties, or delete it.",
            group=name,
        )


def _unplanned_events(
    volumes: Sequence[EventVolume], planned: set[str], window_label: str
) -> Iterable[Finding]:
    total = sum(item.events for item in volumes)
    for item in volumes:
        # PostHog's own events ($pageview, $identify, ...) are not part of a tracking plan.
        if item.event in planned or item.event.startswith("$"):
            continue
        rate = item.events / total if total else 0.0
        yield _hygiene(
            Severity.WARNING,
            "unplanned_event",
            f'"{item.event}" arrived {item.events} time(s) in the last {window_label} '
            f"({format_rate(rate)} of all events) with no schema.",
            "Add it to the tracking plan with its property groups, or stop sending it.",
            event=item.event,
            counts={"events": item.events, "all_events": total},
            rates={"share": rate},
        )


def _stale_schemas(live: SchemaState, now: datetime, days: int) -> Iterable[Finding]:
    cutoff = now - timedelta(days=days)
    for event in live.bound_events:
        if event not in live.last_seen:
            continue
        seen = live.last_seen[event]
        if seen is not None and seen >= cutoff:
            continue
        when = "has never been ingested" if seen is None else f"was last seen {seen:%Y-%m-%d}"
        yield _hygiene(
            Severity.WARNING,
            "stale_schema",
            f'"{event}" has schemas but {when} (stale after {days} days).',
            "Unbind its groups if the event is gone, or check the tracking that sends it.",
            event=event,
            counts={"days_since_seen": (now - seen).days} if seen is not None else {},
        )


def _duplicate_groups(live: SchemaState) -> Iterable[Finding]:
    same: dict[frozenset[tuple[str, str, bool]], list[str]] = defaultdict(list)
    for name, group in live.groups.items():
        if group.properties:
            same[group.signature].append(name)
    for names in same.values():
        if len(names) < 2:
            continue
        first, *others = sorted(names)
        yield _hygiene(
            Severity.INFO,
            "duplicate_groups",
            f'Group "{first}" has the same properties as {_quoted(others)}.',
            "Keep one group and bind it wherever the others are bound.",
            group=first,
            counts={"groups": len(names)},
        )


def _conflicting_types(live: SchemaState) -> Iterable[Finding]:
    for event in live.bound_events:
        declared: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for group_name in live.bindings[event]:
            group = live.groups.get(group_name)
            for prop in group.properties if group else ():
                declared[prop.name][prop.type].append(group_name)
        for name, by_type in sorted(declared.items()):
            if len(by_type) < 2:
                continue
            where = "; ".join(
                f"{kind} in {_quoted(sorted(groups))}" for kind, groups in sorted(by_type.items())
            )
            yield _hygiene(
                Severity.WARNING,
                "conflicting_types",
                f'"{name}" has conflicting types in the groups bound to "{event}": {where}.',
                "Give the property one type in every group; PostHog accepts any of them.",
                event=event,
                property=name,
            )


# --- conformance -----------------------------------------------------------------------------


def conformance_findings(
    stats: Sequence[EventConformance],
    expected: Sequence[EventExpectation],
    keys: Sequence[KeyCount],
    thresholds: Thresholds,
    window_label: str,
    *,
    sampled: bool = False,
) -> list[Finding]:
    """Grade each bound event's live numbers against the thresholds.

    Args:
        stats: The numbers per bound event (from the conformance query).
        expected: What each event must look like (groups, rules).
        keys: The property keys seen, with JSON types (type shares, unexpected properties).
        thresholds: The limits.
        window_label: The window, for messages.
        sampled: The numbers come from a sample: rates carry 95 % intervals and are graded on
            the interval's low end.
    """
    by_event = {item.event: item for item in expected}
    types_seen: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for key in keys:
        if key.json_type != "Null":
            types_seen[(key.event, key.key)][key.json_type] = key.events
    findings: list[Finding] = []
    for event in stats:
        if event.events == 0:
            findings.append(
                Finding(
                    severity=Severity.INFO,
                    kind=AuditKind.CONFORMANCE,
                    code="no_events",
                    event=event.event,
                    counts={"events": 0},
                    message=f'No "{event.event}" events in the last {window_label}.',
                    fix="Check that the event is still sent, or audit a longer --window.",
                )
            )
            continue
        shapes = {prop.name: prop for prop in by_event[event.event].properties}
        for prop in event.properties:
            seen = types_seen.get((event.event, prop.property), {})
            findings.extend(
                _property_findings(
                    event, prop, shapes[prop.property], seen, thresholds, sampled=sampled
                )
            )
        if event.with_unexpected_properties:
            findings.append(_unexpected(event, thresholds, sampled=sampled))
    return findings


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _graded(
    thresholds: Thresholds,
    event: EventConformance,
    metric: str,
    violations: int,
    *,
    prop: str | None,
    message: str,
    fix: str,
    extra_counts: Mapping[str, int] | None = None,
    kind: AuditKind = AuditKind.CONFORMANCE,
    evidence: Evidence | None = None,
    name_cause: bool = True,
    sampled: bool = False,
) -> Finding:
    """A finding whose severity is its rate (violations / events) graded for ``metric``.

    From a sample, the rate carries its 95 % interval and the grade is the interval's low end:
    a limit is crossed only when the whole interval is above it. ``name_cause`` adds the release
    behind the evidence to the message.
    """
    rate = _ratio(violations, event.events)
    interval = wilson_interval(violations, event.events) if sampled else None
    graded = interval[0] if interval else rate
    cause = evidence.summary() if evidence and name_cause else ""
    if cause:
        message = f"{message[:-1]}; {cause}." if message.endswith(".") else f"{message}; {cause}"
    return Finding(
        severity=thresholds.grade(event.event, metric, graded, events=event.events),
        kind=kind,
        code=metric,
        event=event.event,
        property=prop,
        counts={"events": event.events, "violations": violations, **(extra_counts or {})},
        rates={"violations": rate},
        intervals={"violations": interval} if interval else {},
        message=message,
        fix=fix,
        evidence=evidence,
    )


def _share(part: int, event: EventConformance) -> str:
    rate = format_rate(_ratio(part, event.events))
    return f'{rate} of "{event.event}" events ({part} of {event.events})'


def _property_findings(
    event: EventConformance,
    prop: PropertyConformance,
    shape: PropertyExpectation,
    seen: Mapping[str, int],
    thresholds: Thresholds,
    *,
    sampled: bool,
) -> list[Finding]:
    findings = []
    name, label, groups = prop.property, event.event, _quoted(shape.groups)
    # The evidence covers every check of the property; its release is named on the check
    # that broke most often.
    counts = {
        "missing_required": prop.missing if prop.required else 0,
        "wrong_type": prop.wrong_type,
        "value_rule": prop.rule_violations,
    }
    main = max(counts, key=lambda metric: counts[metric])
    if prop.required and prop.missing:
        findings.append(
            _graded(
                thresholds,
                event,
                "missing_required",
                prop.missing,
                prop=name,
                message=f'Required "{name}" is missing on {_share(prop.missing, event)}.',
                fix=f'Send "{name}" with every "{label}" event, or make it optional in group '
                f"{groups}.",
                evidence=prop.evidence,
                name_cause=main == "missing_required",
                sampled=sampled,
            )
        )
    if prop.wrong_type:
        present = sum(seen.values())
        shares = ", ".join(
            f"{kind} {format_rate(_ratio(count, present))}"
            for kind, count in sorted(seen.items(), key=lambda item: (-item[1], item[0]))
        )
        expected = " or ".join(prop.types)
        findings.append(
            _graded(
                thresholds,
                event,
                "wrong_type",
                prop.wrong_type,
                prop=name,
                message=f'"{name}" has the wrong type on {_share(prop.wrong_type, event)}: '
                f"expected {expected}" + (f", seen {shares}." if shares else "."),
                fix=f'Send "{name}" as {expected}, or change its type in group {groups}.',
                extra_counts={"present": prop.present, **{f"json:{k}": v for k, v in seen.items()}},
                evidence=prop.evidence,
                name_cause=main == "wrong_type",
                sampled=sampled,
            )
        )
    if prop.rule_violations:
        findings.append(
            _graded(
                thresholds,
                event,
                "value_rule",
                prop.rule_violations,
                prop=name,
                message=f'"{name}" breaks its value rules ({shape.rules.describe()}) on '
                f"{_share(prop.rule_violations, event)}.",
                fix="Fix the values the app sends, or widen the rule in the tracking plan.",
                evidence=prop.evidence,
                name_cause=main == "value_rule",
                sampled=sampled,
            )
        )
    return findings


def _unexpected(event: EventConformance, thresholds: Thresholds, *, sampled: bool) -> Finding:
    listed = sorted(event.unexpected_properties.items(), key=lambda item: (-item[1], item[0]))
    names = ", ".join(f'"{key}" ({count})' for key, count in listed[:_LISTED_KEYS])
    more = len(listed) - _LISTED_KEYS
    names += f" and {more} more" if more > 0 else ""
    share = _share(event.with_unexpected_properties, event)
    return _graded(
        thresholds,
        event,
        "unexpected_properties",
        event.with_unexpected_properties,
        prop=None,
        message=f"{share[0].upper()}{share[1:]} carry properties no bound group declares"
        + (f": {names}." if names else "."),
        fix=f'Add them to a group bound to "{event.event}", or stop sending them.',
        extra_counts={f"property:{key}": count for key, count in listed},
        sampled=sampled,
    )


# --- enforcement -----------------------------------------------------------------------------


def enforcement_findings(
    stats: Sequence[EventConformance],
    expected: Sequence[EventExpectation],
    thresholds: Thresholds,
    window_label: str,
    *,
    sampled: bool = False,
) -> list[Finding]:
    """What ``reject`` enforcement would have dropped, per bound event with required properties.

    Events without required properties are left out: ``reject`` never drops them.
    """
    required = {item.event for item in expected if any(p.required for p in item.properties)}
    findings = []
    for event in stats:
        if event.event not in required or event.events == 0:
            continue
        mode = event.enforcement_mode
        if event.would_reject == 0:
            fix = (
                "Already enforced."
                if mode == "reject"
                else f'Safe to switch on: set `enforcement: reject` for "{event.event}".'
            )
            message = (
                f'reject would have dropped none of {event.events} "{event.event}" events in '
                f"the last {window_label}."
            )
        else:
            fix = (
                "Fix the missing or mistyped required properties before switching to reject."
                if mode != "reject"
                else "Events now failing the schema are dropped at ingestion; fix the sender."
            )
            message = (
                f"reject would have dropped {_share(event.would_reject, event)} in the last "
                f"{window_label}."
            )
        findings.append(
            _graded(
                thresholds,
                event,
                "would_reject",
                event.would_reject,
                prop=None,
                message=message,
                fix=fix,
                kind=AuditKind.ENFORCEMENT,
                sampled=sampled,
            )
        )
    return findings
