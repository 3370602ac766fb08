"""Bad audit input fails early, before any request, with a message that says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventschema_tools.audit.model import parse_kinds, parse_severity, parse_window
from eventschema_tools.audit.run import AuditKind, audit_options
from eventschema_tools.cli.main import app
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.file import PlanFileError

# Nothing listens here: a request would fail with a connection error, not the expected one.
UNREACHABLE = {
    "POSTHOG_HOST": "http://127.0.0.1:9",
    "POSTHOG_PROJECT_ID": "1",
    "POSTHOG_PERSONAL_API_KEY": "phx_not_used",
    "EVENTSCHEMA_MAX_RETRIES": "0",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, [kind for kind in AuditKind if kind != AuditKind.PRIVACY]),
        ("", [kind for kind in AuditKind if kind != AuditKind.PRIVACY]),
        ("privacy,drift", [AuditKind.DRIFT, AuditKind.PRIVACY]),
        ("conformance", [AuditKind.CONFORMANCE]),
        (" Enforcement , drift ", [AuditKind.DRIFT, AuditKind.ENFORCEMENT]),
        (["hygiene", "hygiene"], [AuditKind.HYGIENE]),
    ],
)
def test_kinds_parse_in_canonical_order(
    text: str | list[str] | None, expected: list[AuditKind]
) -> None:
    assert parse_kinds(text) == expected


def test_unknown_kinds_are_named_with_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_kinds("drift,coverage,lint")
    message = str(caught.value)
    assert "'coverage'" in message
    assert "'lint'" in message
    assert "drift, hygiene, conformance, enforcement" in message


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("24h", 86400), ("7d", 604800), ("2w", 1209600)]
)
def test_windows_parse(text: str, seconds: int) -> None:
    assert parse_window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "1.5h", "-1h", "0h", "24 hours", "400d", "1y"])
def test_bad_windows_say_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidInputError, match=r"bad window .*(30m, 24h, 7d|365 days)"):
        parse_window(text)


def test_bad_severity_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="choose warning or error"):
        parse_severity("critical")


def test_drift_needs_a_plan_only_when_asked_for() -> None:
    with pytest.raises(InvalidInputError, match="give a plan"):
        audit_options(kinds="drift,conformance")
    assert AuditKind.DRIFT not in audit_options().kinds


def test_a_plan_that_references_unknown_groups_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\n"
        "property_groups:\n  checkout:\n    properties:\n      amount: {type: Numeric}\n"
        "events:\n  order_completed:\n    groups: [checkot]\n"
    )
    with pytest.raises(PlanFileError) as caught:
        audit_options(plan=plan)
    message = str(caught.value)
    assert "checkot" in message
    assert "did you mean 'checkout'" in message
    assert f"{plan}:8" in message


def test_a_bad_thresholds_file_names_the_problem(tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("default:\n  missing: {error: 0.1}\n  wrong_type: {warning: 2}\n")
    with pytest.raises(InvalidInputError) as caught:
        audit_options(thresholds=thresholds)
    message = str(caught.value)
    assert "default.missing" in message
    assert "default.wrong_type.warning" in message
    assert "missing_required" in message  # lists the metrics


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--kinds", "drift,typo"], 2, "unknown audit kind"),
        (["--window", "yesterday"], 2, "bad window"),
        (["--fail-on", "sometimes"], 2, "unknown severity"),
        (["--kinds", "drift"], 2, "give a plan"),
        (["--plan", "does-not-exist.yaml"], 1, "cannot read the file"),
    ],
)
def test_cli_reports_bad_input_in_one_line_without_sending_anything(
    args: list[str], code: int, fragment: str
) -> None:
    result = CliRunner().invoke(app, ["audit", *args], env=UNREACHABLE)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "connect" not in result.stderr.lower()


def test_patterns_re2_cannot_run_are_refused_before_any_query(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\n"
        "property_groups:\n  g:\n    properties:\n"
        "      code: {type: String, rules: {pattern: '^(?!test)[a-z]+$'}}\n"
        "      ref: {type: String, rules: {pattern: '^(a)\\\\1$'}}\n"
        "      ok: {type: String, rules: {pattern: '^[A-Z]{3}$'}}\n"
        "events:\n  e:\n    groups: [g]\n"
    )
    with pytest.raises(InvalidInputError) as caught:
        audit_options(plan=plan)
    message = str(caught.value)
    assert "g.code uses a lookahead or lookbehind" in message
    assert "g.ref uses a backreference" in message
    assert "g.ok" not in message
