"""The typed result of an audit: :class:`AuditReport`, its :class:`Finding` s and statistics.

A report serialises to JSON with a stable, versioned layout (``schema_version``). Fields are only
ever added within a version; renaming or removing one bumps the version. Rates are fractions
between 0 and 1 (``0.125`` is 12.5 %), counts are whole events, times are UTC ISO-8601.
"""

from __future__ import annotations

import builtins
import math
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.errors import InvalidInputError

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AuditKind",
    "AuditReport",
    "AuditWindow",
    "EventConformance",
    "Evidence",
    "ExampleEvent",
    "Finding",
    "FindingChange",
    "HistoryComparison",
    "PropertyConformance",
    "Regression",
    "Severity",
    "VersionRate",
    "format_rate",
    "parse_kinds",
    "parse_sample",
    "parse_severity",
    "parse_window",
]

REPORT_SCHEMA_VERSION: Final = 1
"""Version of the report's JSON layout."""

MAX_WINDOW: Final = timedelta(days=365)
MAX_VOLUME_WINDOW: Final = timedelta(days=7)
"""The longest window the volume audit compares with the same hours of earlier weeks."""

_WINDOW_UNITS: Final = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_WINDOW_PATTERN: Final = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


class AuditKind(StrEnum):
    """The six audits.

    * ``drift``: the tracking plan against the live project (groups, properties, bindings,
      enforcement modes).
    * ``hygiene``: unused groups, unplanned events, stale schemas, duplicate groups, conflicting
      property types.
    * ``conformance``: how live events over the window match their schemas (rates per event and
      property).
    * ``enforcement``: what ``reject`` enforcement would have dropped over the window.
    * ``volume``: planned events that stopped, dropped or spiked against the same hours of the
      previous three weeks, and optional properties whose carry rate fell.
    * ``privacy``: personal data in any property of any event (names and values), and the
      plan's forbidden properties; only when asked for (it reads every property).
    """

    DRIFT = "drift"
    HYGIENE = "hygiene"
    CONFORMANCE = "conformance"
    ENFORCEMENT = "enforcement"
    VOLUME = "volume"
    PRIVACY = "privacy"


class Severity(StrEnum):
    """How much a finding matters; ``--fail-on`` picks the lowest one that fails the audit."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK: Final = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingChange(_Model):
    """How a finding moved since the previous report in the history.

    Attributes:
        status: ``new`` (absent last time), ``changed`` or ``unchanged``.
        previous_severity: The severity last time (``None`` when new).
        rate_deltas: For each rate, this run's value minus last run's (only rates both have).
        count_deltas: For each count, this run's value minus last run's.
    """

    status: Literal["new", "changed", "unchanged"]
    previous_severity: Severity | None = None
    rate_deltas: dict[str, float] = Field(default_factory=dict)
    count_deltas: dict[str, int] = Field(default_factory=dict)


class ExampleEvent(_Model):
    """One event that shows a finding, with links to it in PostHog.

    Attributes:
        uuid: The event's id.
        timestamp: When it happened (UTC).
        distinct_id: Who sent it.
        session_id: Its ``$session_id``, if it has one.
        url: The event's page in PostHog.
        person_url: The page of the person who sent it.
        replay_url: The session replay, when the event has a session.
    """

    uuid: str
    timestamp: datetime | None = None
    distinct_id: str
    session_id: str | None = None
    url: str
    person_url: str
    replay_url: str | None = None


class VersionRate(_Model):
    """How often one SDK release or app version broke a property.

    Attributes:
        lib: The SDK (``$lib``: ``web``, ``posthog-ios``...; ``""`` when events do not say).
        field: ``$lib_version`` or ``$app_version`` (``$app_build`` when there is no version).
        version: The version.
        events: Events of that release in the window.
        violations: Those that broke the property.
        rate: ``violations / events``.
        first_seen: The release's first event in the window.
    """

    lib: str
    field: Literal["$lib_version", "$app_version"]
    version: str
    events: int
    violations: int
    rate: float
    first_seen: datetime | None = None


class Regression(_Model):
    """The first release where a property started to break, with the rate before it.

    Attributes:
        lib: The SDK.
        field: ``$lib_version`` or ``$app_version``.
        version: The first release whose violation rate crossed the line.
        rate: Its violation rate.
        earlier_rate: The violation rate of the same SDK's earlier releases.
        first_seen: The release's first event in the window.
    """

    lib: str
    field: Literal["$lib_version", "$app_version"]
    version: str
    rate: float
    earlier_rate: float
    first_seen: datetime | None = None

    def describe(self) -> str:
        """``regression since posthog-ios 4.12.0, first seen 2026-11-20``."""
        where = f"{self.lib} {self.version}".strip()
        seen = f", first seen {self.first_seen:%Y-%m-%d}" if self.first_seen else ""
        return f"regression since {where}{seen}"


class Evidence(_Model):
    """What shows a finding: offending values, example events and the releases behind it.

    Attributes:
        values: Up to 5 distinct offending values; fingerprints (``<string, 6 chars,
            sha256:1a2b3c4d>``) unless the audit ran with ``show_values``.
        values_shown: True when ``values`` are the raw values.
        examples: Up to 3 events that break the property, with links.
        versions: The violation rate per SDK release and app version, worst first.
        regression: The first release where the rate crossed the line, if one did.
        concentrated_in: The one release behind most violations (at least 80 %), if any.
    """

    values: list[str] = Field(default_factory=list)
    values_shown: bool = False
    examples: list[ExampleEvent] = Field(default_factory=list)
    versions: list[VersionRate] = Field(default_factory=list)
    regression: Regression | None = None
    concentrated_in: VersionRate | None = None

    def summary(self) -> str:
        """One clause naming the release behind the finding, or ``""``."""
        if self.regression is not None:
            return self.regression.describe()
        if self.concentrated_in is not None:
            top = self.concentrated_in
            return f"mostly from {top.lib} {top.version}".replace("  ", " ").strip()
        return ""


class Finding(_Model):
    """One thing an audit found.

    Attributes:
        severity: ``info``, ``warning`` or ``error``.
        kind: The audit that found it.
        code: What was found, stable for scripts (e.g. ``missing_required``, ``unplanned_event``).
        event: The event it is about, if any.
        property: The property it is about, if any.
        group: The property group it is about, if any.
        counts: Whole numbers behind the finding (``events``, ``violations``, ...).
        rates: Fractions behind the finding (``violations`` = violations / events, ...).
        intervals: 95 % confidence intervals of the rates (sampled audits only).
        message: One sentence saying what is wrong.
        fix: One sentence saying how to fix it.
        change: The movement since the previous report (with ``--history-dir``).
        evidence: Values, example events and releases behind the finding (conformance).
    """

    severity: Severity
    kind: AuditKind
    code: str
    event: str | None = None
    property: str | None = None
    group: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    rates: dict[str, float] = Field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = Field(default_factory=dict)
    message: str
    fix: str = ""
    change: FindingChange | None = None
    evidence: Evidence | None = None

    @builtins.property
    def where(self) -> str:
        """What it is about, as reports show it: ``event.property``, ``group.property``, or
        ``""`` for the project."""
        return ".".join(part for part in (self.event or self.group, self.property) if part)

    @builtins.property
    def key(self) -> tuple[str, str, str, str, str]:
        """What identifies "the same finding" across runs: kind, code, event, property, group."""
        return (self.kind, self.code, self.event or "", self.property or "", self.group or "")


class PropertyConformance(_Model):
    """Live numbers of one expected property of one event over the window.

    Attributes:
        property: The property name.
        types: The accepted types (the union over the groups bound to the event).
        required: Whether a bound group requires it.
        present: Events where it has a non-null value.
        missing: Events where it is absent or null.
        wrong_type: Events where its value coerces to none of ``types``.
        rule_violations: Events where its value breaks the plan's value rules.
        evidence: What the breaking events look like (none when nothing breaks).
    """

    property: str
    types: list[str]
    required: bool
    present: int
    missing: int
    wrong_type: int
    rule_violations: int
    evidence: Evidence | None = None


class EventConformance(_Model):
    """Live numbers of one bound event over the window.

    Attributes:
        event: The event name.
        events: How many of these events arrived in the window.
        with_unexpected_properties: Events carrying a property no bound group declares
            (PostHog's ``$``-prefixed properties are never unexpected).
        would_reject: Events ``reject`` enforcement would have dropped (a required property
            missing or of the wrong type).
        enforcement_mode: The event's enforcement mode (``allow`` or ``reject``).
        properties: One entry per expected property.
        unexpected_properties: Each unexpected property seen, with the number of events
            carrying it.
    """

    event: str
    events: int
    with_unexpected_properties: int
    would_reject: int
    enforcement_mode: str = "allow"
    properties: list[PropertyConformance] = Field(default_factory=list)
    unexpected_properties: dict[str, int] = Field(default_factory=dict)


class AuditWindow(_Model):
    """The time range an audit looked at.

    Attributes:
        label: The window as given, e.g. ``24h``.
        seconds: Its length in seconds.
        since: The start (inclusive), UTC.
        until: The end, UTC (when the audit ran).
    """

    label: str
    seconds: int
    since: datetime
    until: datetime


class HistoryComparison(_Model):
    """What changed since the previous report stored in the history directory.

    Attributes:
        previous_generated_at: When the previous report was made.
        previous_passed: Whether the previous report passed.
        new: Findings absent from the previous report.
        changed: Findings whose severity, counts or rates moved.
        resolved: Findings of the previous report that are gone (as they were then).
    """

    previous_generated_at: datetime
    previous_passed: bool
    new: int
    changed: int
    resolved: list[Finding] = Field(default_factory=list)


class AuditReport(_Model):
    """The result of one audit run.

    Attributes:
        schema_version: Version of this JSON layout.
        generated_at: When the report was made (UTC).
        project_id: The PostHog project audited.
        kinds: The audits that ran.
        source: Where the expected schemas came from: the tracking ``plan`` or the ``live``
            project.
        plan_path: The tracking-plan file, if one was given.
        window: The time range of the conformance and enforcement audits and of event volumes.
        fail_on: The lowest severity that fails the audit.
        passed: True when no finding reaches ``fail_on``.
        counts_by_severity: How many findings of each severity.
        queries: How many HogQL queries the audit used.
        sample: The share of people read with HogQL's ``SAMPLE`` (``None``: every event);
            counts are then the sample's, and rates carry 95 % intervals.
        events: Live numbers per bound event (conformance and enforcement audits).
        findings: What the audits found, most severe first.
        history: Changes since the previous report (with ``--history-dir``).
    """

    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime
    project_id: str
    kinds: list[AuditKind]
    source: Literal["plan", "live"]
    plan_path: str | None = None
    window: AuditWindow
    fail_on: Severity
    passed: bool
    counts_by_severity: dict[Severity, int]
    queries: int
    sample: float | None = None
    events: list[EventConformance] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    history: HistoryComparison | None = None

    def findings_of(self, kind: AuditKind) -> list[Finding]:
        """Return the findings of one audit kind."""
        return [finding for finding in self.findings if finding.kind == kind]


def format_rate(rate: float) -> str:
    """A rate as people read it: ``12.5%``, ``3%``, ``<0.1%``, ``0%``."""
    if rate == 0:
        return "0%"
    if rate < 0.001:
        return "<0.1%"
    return f"{rate * 100:.1f}%".replace(".0%", "%")


def parse_window(text: str) -> timedelta:
    """Parse a window such as ``30m``, ``24h``, ``7d`` or ``2w``.

    Raises:
        InvalidInputError: the text is not a positive number followed by m, h, d or w, or the
            window is longer than 365 days.
    """
    match = _WINDOW_PATTERN.match(text)
    if match is None:
        raise InvalidInputError(
            f"bad window {text!r}: write a whole number followed by m (minutes), h (hours), "
            "d (days) or w (weeks), e.g. 30m, 24h, 7d",
            [("window", "not a number with a unit")],
        )
    window = timedelta(seconds=int(match[1]) * _WINDOW_UNITS[match[2]])
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise InvalidInputError(
            f"bad window {text!r}: it must be longer than zero and at most 365 days",
            [("window", "out of range")],
        )
    return window


def parse_sample(value: float | str | None) -> float | None:
    """Parse a sampling share: ``0.1`` or ``"10%"`` reads a tenth of the people; ``None`` or 1
    reads every event (returned as ``None``).

    Raises:
        InvalidInputError: not a number above 0 and at most 1.
    """
    if value is None:
        return None
    share: object = value
    if isinstance(value, str):
        text = value.strip()
        try:
            share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            share = value
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float)
        or not math.isfinite(share)
        or not 0 < share <= 1
    ):
        raise InvalidInputError(
            f"bad sample {value!r}: give a share of the people above 0 and at most 1, "
            "e.g. 0.1 (10 %)",
            [("sample", "not a share between 0 and 1")],
        )
    return None if share == 1 else float(share)


def parse_kinds(text: str | list[str] | None) -> list[AuditKind]:
    """Parse audit kinds given as ``"drift,hygiene"`` or a list; ``None`` or empty means all
    but ``privacy``, which reads every property of every event and runs only when named.

    Returns:
        The kinds, each once, in the canonical order (drift, hygiene, conformance, enforcement,
        volume, privacy).

    Raises:
        InvalidInputError: a name is not one of the six kinds.
    """
    items = text.split(",") if isinstance(text, str) else list(text or [])
    names = [item.strip().lower() for item in items if item.strip()]
    known = {kind.value for kind in AuditKind}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidInputError(
            f"unknown audit kind{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(name) for name in unknown)}: choose from "
            f"{', '.join(kind.value for kind in AuditKind)} (comma-separated)",
            [("kinds", f"unknown: {name}") for name in unknown],
        )
    chosen = set(names) or known - {AuditKind.PRIVACY.value}
    return [kind for kind in AuditKind if kind.value in chosen]


def parse_severity(text: str) -> Severity:
    """Parse a ``--fail-on`` level (``info``, ``warning`` or ``error``).

    Raises:
        InvalidInputError: not one of the three levels.
    """
    try:
        return Severity(text.strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"unknown severity {text!r}: choose warning or error (or info to fail on anything)",
            [("fail_on", "unknown severity")],
        ) from None
