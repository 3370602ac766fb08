"""The volume audit: planted drops, spikes, a stopped event and release regressions are found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from audit_helpers import counting_client

from eventschema_tools.audit.model import AuditKind, AuditReport, Severity
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.audit.thresholds import VolumeLimits
from eventschema_tools.audit.volume import HISTORY_HOURS, EventVolumeHistory, volume_findings
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import RunningSandbox, run_sandbox
from eventschema_tools.sandbox.storage import seed
from eventschema_tools.sandbox.storage.simulated_day import DemoEvent
from eventschema_tools.sandbox.storage.simulated_weeks import (
    PLANTED,
    demo_weeks,
    reported_incidents,
)
from eventschema_tools.tracking_plan.file import load_plan

PLAN = "examples/tracking-plan.yaml"
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


# The weeks are drawn as of this moment and moved to end when the sandbox loads them, so the
# audit sees the same hours ago whatever the clock says. Drawn at the real time, a few minutes
# of the week put a planted incident under its threshold (a weekend's spike at 1.9x, not 2x).
WEEKS_DRAWN_AT = datetime(2026, 11, 21, 12, tzinfo=UTC)


def _weeks_ending(now: datetime) -> list[DemoEvent]:
    shift = now - WEEKS_DRAWN_AT
    return [
        replace(item, timestamp=item.timestamp + shift) for item in demo_weeks(now=WEEKS_DRAWN_AT)
    ]


@pytest.fixture(scope="module")
def weeks() -> Iterator[RunningSandbox]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seed, "demo_weeks", _weeks_ending)
        with run_sandbox(seed="demo-weeks", rate_limiting=False) as running:
            yield running


def _audit(url: str, **settings: object) -> tuple[AuditReport, list[str]]:
    with counting_client(url) as (client, queries):
        options = audit_options(plan=PLAN, **settings)  # type: ignore[arg-type]
        return run_audit(client, options), queries


def test_every_planted_incident_is_found_and_nothing_else(weeks: RunningSandbox) -> None:
    report, queries = _audit(weeks.url)
    assert report.queries == len(queries) == 4  # hygiene, conformance, breakdown, volume
    claimed = reported_incidents(report)
    planted = {item.key for item in PLANTED}
    true_positives = claimed & planted
    assert len(true_positives) / len(planted) >= 0.9, planted - claimed
    assert len(true_positives) / len(claimed) >= 0.9, claimed - planted
    surface = next(
        item
        for item in report.findings
        if (item.code, item.event, item.property) == ("value_rule", "feature_used", "surface")
    )
    assert surface.evidence is not None
    assert surface.evidence.regression is not None
    assert "regression since posthog-ios 4.12.0, first seen" in surface.message
    presence = next(item for item in report.findings if item.code == "presence_drop")
    assert "posthog-js 1.181.0" in presence.message
    missing = next(item for item in report.findings if item.code == "missing_event")
    assert (missing.event, missing.severity) == ("invite_accepted", Severity.ERROR)


def test_the_volume_audit_alone_is_one_query(weeks: RunningSandbox) -> None:
    report, queries = _audit(weeks.url, kinds="volume")
    assert len(queries) == 1
    codes = {item.code for item in report.findings}
    assert codes == {"missing_event", "volume_drop", "volume_spike", "presence_drop"}


def test_a_single_day_has_no_baseline_and_no_volume_findings() -> None:
    with run_sandbox(seed="demo", rate_limiting=False) as sandbox:
        report, queries = _audit(sandbox.url, kinds="volume")
    assert len(queries) == 1
    assert [item.code for item in report.findings] == ["no_baseline"]
    assert report.findings[0].severity == Severity.INFO
    assert report.passed


def test_volume_windows_are_at_most_a_week() -> None:
    with pytest.raises(InvalidInputError, match="at most 7d"):
        audit_options(kinds="volume", window="8d")
    # Asked for every audit with a long window: volume steps aside, the others run.
    assert AuditKind.VOLUME not in audit_options(window="30d").kinds
    assert AuditKind.VOLUME in audit_options(window="7d").kinds


def _history(event: str, per_hour: dict[int, int]) -> EventVolumeHistory:
    return EventVolumeHistory(event=event, hourly=dict(per_hour))


def _steady(rate: int, *, recent: int | None = None, window: int = 24) -> dict[int, int]:
    return {
        hour: (recent if recent is not None and hour < window else rate)
        for hour in range(HISTORY_HOURS)
    }


def _findings(event: dict[int, int], other: dict[int, int]) -> list[str]:
    histories = [_history("checkout", event), _history("", other)]
    found = volume_findings(histories, VolumeLimits(), window_hours=24, window_label="24h", now=NOW)
    return [item.code for item in found]


def test_a_quiet_day_for_everyone_is_not_a_drop() -> None:
    # Everything halves in the window (a holiday): the event keeps its share of traffic.
    assert _findings(_steady(40, recent=20), _steady(400, recent=200)) == []


def test_a_drop_against_steady_traffic_is_reported() -> None:
    assert _findings(_steady(40, recent=10), _steady(400)) == ["volume_drop"]
    assert _findings(_steady(40, recent=120), _steady(400)) == ["volume_spike"]


def test_a_stopped_event_is_missing_not_dropped() -> None:
    event = _steady(40)
    for hour in range(10):
        event[hour] = 0
    assert _findings(event, _steady(400)) == ["missing_event"]


def test_quiet_hours_after_a_drop_are_the_drop_not_a_missing_event() -> None:
    # Down to a quarter for the whole window, then 7 hours without one: at a quarter of the
    # usual 28, about 7 were due, so silence says nothing new; the baseline alone would say 28.
    event = _steady(4, recent=1)
    for hour in range(7):
        event[hour] = 0
    assert _findings(event, _steady(400)) == ["volume_drop"]
    # The same silence after a normal day is still a missing event.
    normal = _steady(4)
    for hour in range(7):
        normal[hour] = 0
    assert _findings(normal, _steady(400)) == ["missing_event"]


@pytest.mark.parametrize(
    "anchor",
    # Night and morning hours, weekdays and a weekend: the last six hours alone predict too few
    # events there, though the event has been gone for 30 hours.
    ["2026-12-01T04:20", "2026-12-03T08:20", "2026-12-05T02:20", "2026-12-06T10:20"],
)
def test_an_event_gone_for_a_day_is_missing_at_any_hour(anchor: str) -> None:
    now = datetime.fromisoformat(anchor).replace(tzinfo=UTC)
    planned = set(load_plan(PLAN).events)
    hourly: dict[str, dict[int, int]] = {}
    for item in demo_weeks(now=now):
        name = item.event if item.event in planned else ""
        ago = int((now - item.timestamp).total_seconds() // 3600)
        counts = hourly.setdefault(name, {})
        counts[ago] = counts.get(ago, 0) + 1
    histories = [EventVolumeHistory(name, counts) for name, counts in hourly.items() if name]
    histories.append(EventVolumeHistory("", hourly[""]))
    findings = volume_findings(
        histories, VolumeLimits(), window_hours=24, window_label="24h", now=now
    )
    missing = [f for f in findings if f.code == "missing_event"]
    assert [f.event for f in missing] == ["invite_accepted"]
    assert missing[0].message.startswith('No "invite_accepted" events in the last 24h where about')
