"""The conformance gate's verdicts (pure, from hand-made audit reports) and its settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventschema_tools.audit.gate import GateOptions, gate_options, judge
from eventschema_tools.audit.model import (
    AuditKind,
    AuditReport,
    AuditWindow,
    EventConformance,
    Severity,
)
from eventschema_tools.errors import InvalidInputError

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def report(*events: tuple[str, int, int]) -> AuditReport:
    """An enforcement audit report with (event, volume, would_reject) rows."""
    return AuditReport(
        generated_at=NOW,
        project_id="1",
        kinds=[AuditKind.ENFORCEMENT],
        source="live",
        window=AuditWindow(label="1h", seconds=3600, since=NOW - timedelta(hours=1), until=NOW),
        fail_on=Severity.ERROR,
        passed=True,
        counts_by_severity=dict.fromkeys(Severity, 0),
        queries=1,
        events=[
            EventConformance(
                event=name, events=volume, with_unexpected_properties=0, would_reject=rejected
            )
            for name, volume, rejected in events
        ],
    )


def options(*events: str, threshold: float = 0.99, min_events: int = 1) -> GateOptions:
    return gate_options(events=list(events), threshold=threshold, min_events=min_events)


@pytest.mark.parametrize(
    ("row", "threshold", "min_events", "status", "rate"),
    [
        pytest.param(("a", 100, 1), 0.99, 1, "healthy", 0.99, id="at-threshold"),
        pytest.param(("a", 100, 2), 0.99, 1, "below_threshold", 0.98, id="below"),
        pytest.param(("a", 100, 0), 1.0, 1, "healthy", 1.0, id="perfect"),
        pytest.param(("a", 0, 0), 0.5, 1, "too_few_events", None, id="no-events"),
        pytest.param(("a", 0, 0), 0.5, 0, "too_few_events", None, id="no-events-min-zero"),
        pytest.param(("a", 10, 0), 0.5, 50, "too_few_events", 1.0, id="under-min-events"),
        pytest.param(("a", 10, 10), 0.0, 1, "healthy", 0.0, id="threshold-zero"),
    ],
)
def test_each_event_is_graded(
    row: tuple[str, int, int], threshold: float, min_events: int, status: str, rate: float | None
) -> None:
    gate = judge(report(row), options("a", threshold=threshold, min_events=min_events))

    [verdict] = gate.events
    assert (verdict.status, verdict.rate) == (status, rate)
    assert verdict.conforming == row[1] - row[2]
    assert gate.passed is (status == "healthy")


def test_an_event_with_no_schema_is_named_and_the_gate_keeps_the_given_order() -> None:
    gate = judge(report(("b", 10, 0), ("a", 10, 0)), options("a", "unbound", "b"))

    assert [(v.event, v.status) for v in gate.events] == [
        ("a", "healthy"),
        ("unbound", "no_schema"),
        ("b", "healthy"),
    ]
    assert gate.passed is False
    assert gate.summary() == (
        "a: 100.0% of 10 conform (healthy); unbound: no schema is bound to it; "
        "b: 100.0% of 10 conform (healthy)"
    )


def test_names_are_trimmed_and_given_once() -> None:
    assert gate_options(events=" a, b ,a,, ", threshold=0.5).events == ("a", "b")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"events": [], "threshold": 0.9}, "give at least one event", id="no-events"),
        pytest.param({"events": "a", "threshold": 1.01}, "from 0 to 1", id="over-one"),
        pytest.param({"events": "a", "threshold": -0.1}, "from 0 to 1", id="negative"),
        pytest.param({"events": "a", "threshold": True}, "from 0 to 1", id="bool"),
        pytest.param({"events": "a", "threshold": 0.5, "min_events": 2.5}, "min_events", id="min"),
        pytest.param({"events": "a", "threshold": 0.5, "window": "1 day"}, "bad window", id="win"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        gate_options(**settings)
