"""Renderers: stable JSON, Markdown for Slack or a pull request, the Rich table."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from rich.console import Console

from eventschema_tools.audit.report import render, render_json, render_markdown, render_table
from eventschema_tools.audit.run import (
    REPORT_SCHEMA_VERSION,
    AuditKind,
    AuditReport,
    AuditWindow,
    EventConformance,
    Finding,
    PropertyConformance,
    Severity,
)

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
TRICKY_EVENT = "sign*up_|done| [bold red]x[/]"
TRICKY_PROPERTY = "`plan`<b>#1"


def _report(*, passed: bool = False) -> AuditReport:
    findings = [
        Finding(
            severity=Severity.ERROR,
            kind=AuditKind.CONFORMANCE,
            code="missing_required",
            event=TRICKY_EVENT,
            property=TRICKY_PROPERTY,
            counts={"events": 200, "violations": 25},
            rates={"violations": 0.125},
            message=f'Required "{TRICKY_PROPERTY}" is missing on 12.5% of "{TRICKY_EVENT}" events.',
            fix="Send it.",
        ),
        Finding(
            severity=Severity.INFO,
            kind=AuditKind.ENFORCEMENT,
            code="would_reject",
            event=TRICKY_EVENT,
            counts={"events": 200, "violations": 0},
            rates={"violations": 0.0},
            message="reject would have dropped none of 200 events.",
            fix="Safe to switch on.",
        ),
    ]
    return AuditReport(
        generated_at=NOW,
        project_id="1",
        kinds=list(AuditKind),
        source="plan",
        plan_path="tracking-plan.yaml",
        window=AuditWindow(label="24h", seconds=86400, since=NOW - timedelta(days=1), until=NOW),
        fail_on=Severity.ERROR,
        passed=passed,
        counts_by_severity={Severity.ERROR: 1, Severity.WARNING: 0, Severity.INFO: 1},
        queries=3,
        events=[
            EventConformance(
                event=TRICKY_EVENT,
                events=200,
                with_unexpected_properties=0,
                would_reject=25,
                properties=[
                    PropertyConformance(
                        property=TRICKY_PROPERTY,
                        types=["String"],
                        required=True,
                        present=175,
                        missing=25,
                        wrong_type=0,
                        rule_violations=0,
                    )
                ],
            )
        ],
        findings=findings,
    )


def test_json_is_versioned_and_round_trips() -> None:
    report = _report()
    text = render_json(report)
    data = json.loads(text)
    assert data["schema_version"] == REPORT_SCHEMA_VERSION == 1
    assert list(data)[:3] == ["schema_version", "generated_at", "project_id"]
    assert data["counts_by_severity"] == {"info": 1, "warning": 0, "error": 1}
    assert data["findings"][0]["rates"] == {"violations": 0.125}
    assert AuditReport.model_validate_json(text) == report
    assert render(report, "json") == text


def test_markdown_escapes_names_and_keeps_the_table_intact() -> None:
    text = render_markdown(_report())
    assert text.startswith("## Schema audit ❌ failed")
    row = next(line for line in text.splitlines() if line.startswith("| sign"))
    assert row.count("|") - row.count("\\|") == 8  # 7 cells, escaped pipes do not split them
    assert "sign\\*up\\_\\|done\\|" in row
    assert "\\`plan\\`\\<b\\>\\#1" in text
    assert "### 🔴 Errors (1)" in text
    assert "### ⚪ Info (1)" in text
    assert "12.5%" in row


def test_terminal_table_shows_names_literally() -> None:
    buffer = io.StringIO()
    render_table(_report(passed=True), Console(file=buffer, width=200, no_color=True))
    text = buffer.getvalue()
    assert "PASS" in text
    assert "[bold red]x[/]" in text  # not taken as Rich markup
    assert "Send it." in text
    assert "Safe to switch on." not in text
    assert "3 HogQL queries" in text
