"""Thresholds: global limits, per-event overrides field by field, and the thresholds file."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventschema_tools.audit.model import Severity
from eventschema_tools.audit.thresholds import Limit, RateLimits, Thresholds, load_thresholds


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.0, Severity.INFO),
        (0.001, Severity.WARNING),
        (0.05, Severity.WARNING),
        (0.051, Severity.ERROR),
    ],
)
def test_default_missing_required_limits(rate: float, expected: Severity) -> None:
    assert Thresholds().grade("any", "missing_required", rate, events=100) == expected


def test_an_event_override_replaces_only_the_fields_it_gives(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text(
        "default:\n"
        "  wrong_type: {warning: 0.02, error: 0.1}\n"
        "events:\n"
        "  checkout_completed:\n"
        "    wrong_type: {error: 0}\n"
        "    would_reject: {warning: 0}\n"
        "stale_after_days: 7\n"
    )
    thresholds = load_thresholds(path)
    assert thresholds.stale_after_days == 7
    checkout = thresholds.limits_for("checkout_completed")
    assert checkout.wrong_type == Limit(warning=0.02, error=0)
    assert checkout.would_reject == Limit(warning=0)
    assert checkout.missing_required == RateLimits().missing_required
    assert thresholds.grade("checkout_completed", "wrong_type", 0.01, events=50) == Severity.ERROR
    assert thresholds.grade("page_viewed", "wrong_type", 0.01, events=50) == Severity.INFO
    assert thresholds.grade("page_viewed", "wrong_type", 0.05, events=50) == Severity.WARNING


def test_too_few_events_stay_informational() -> None:
    thresholds = Thresholds(min_events=20)
    assert thresholds.grade("rare", "missing_required", 1.0, events=19) == Severity.INFO
    assert thresholds.grade("rare", "missing_required", 1.0, events=20) == Severity.ERROR


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_thresholds(path) == Thresholds()
