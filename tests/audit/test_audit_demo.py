"""`eventschema demo` end to end, as a process: a full report, hints, and nothing left running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from eventschema_tools.cli.demo import demo_events

ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_every_audit_and_exits_leaving_nothing_running() -> None:
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "eventschema_tools.cli.main", "demo", "--events", "600"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    took = time.monotonic() - started
    out = finished.stdout
    assert finished.returncode == 0, out + finished.stderr
    assert "Traceback" not in out + finished.stderr
    for text in (
        "Sending 600 events",
        "A teammate edits PostHog by hand",
        "FAIL",
        "Live events against their schemas",
        "drift",
        "hygiene",
        "conformance",
        "enforcement",
        "4 HogQL queries",
        'Group "marketing_attribution" is bound to "user_signed_up"',
        "eventschema audit --plan examples/tracking-plan.yaml --format markdown",
        "eventschema-mcp",
        "airflow_plugin/example_dags",
    ):
        assert text in out, text
    assert took < 60
    url = re.search(r"sandbox on (http://127\.0\.0\.1:\d+)", out)
    assert url is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(url.group(1), timeout=2)


def test_the_simulated_day_is_deterministic_and_has_planted_mistakes() -> None:
    now = datetime(2026, 5, 4, tzinfo=UTC)
    first, second = demo_events(500, seed=3, now=now), demo_events(500, seed=3, now=now)
    assert first == second
    assert any(item.properties.get("workspace_plan") == "pro" for item in demo_events(3000))
    assert {item.event for item in first} >= {"feature_used", "onboarding_tip_dismissed"}
