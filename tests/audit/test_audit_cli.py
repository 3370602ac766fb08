"""`eventschema audit` end to end: formats, output file, history, exit codes 0 / 4."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from audit_helpers import apply_plan, counting_client, event, send_events
from typer.testing import CliRunner, Result

from eventschema_tools.cli.main import app
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox
from eventschema_tools.tracking_plan.file import dump_plan, parse_plan

PLAN = """\
version: 1
property_groups:
  search:
    properties:
      query: {type: String, required: true}
      results: {type: Numeric}
events:
  searched:
    groups: [search]
"""


@pytest.fixture(scope="module")
def plan_file(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = parse_plan(PLAN)
    path = tmp_path_factory.mktemp("plan") / "tracking-plan.yaml"
    path.write_text(dump_plan(plan))
    good = [event("searched", {"query": "shoes", "results": 3}, age=timedelta(minutes=5))] * 40
    odd = [event("searched", {"query": "hats", "results": "n/a"}, age=timedelta(minutes=5))]
    send_events(sandbox.url, good + odd)
    with counting_client(sandbox.url) as (client, _):
        apply_plan(client, plan)
    return path


def _audit(sandbox: RunningSandbox, *args: str) -> Result:
    env = {
        "POSTHOG_HOST": sandbox.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_QUERY_RATE_LIMIT": "off",
        "COLUMNS": "160",
    }
    result = CliRunner().invoke(app, ["audit", *args], env=env)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_json_output_and_exit_4_when_a_threshold_is_breached(
    sandbox: RunningSandbox, plan_file: Path
) -> None:
    result = _audit(sandbox, "--plan", str(plan_file), "--kinds", "conformance", "--format", "json")
    assert result.exit_code == 4, result.stderr
    report = json.loads(result.stdout)
    assert report["schema_version"] == 1
    assert report["passed"] is False
    wrong = [item for item in report["findings"] if item["code"] == "wrong_type"]
    assert [(item["property"], item["counts"]["violations"]) for item in wrong] == [("results", 1)]
    assert api_key_absent(result)


def test_exit_0_when_nothing_reaches_fail_on(sandbox: RunningSandbox, tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("default:\n  wrong_type: {warning: 0.5, error: 0.5}\n")
    result = _audit(sandbox, "--kinds", "conformance", "--thresholds", str(thresholds))
    assert result.exit_code == 0, result.stderr
    assert "PASS" in result.stdout
    assert "searched" in result.stdout


def test_markdown_to_a_file_with_history(
    sandbox: RunningSandbox, plan_file: Path, tmp_path: Path
) -> None:
    output, history = tmp_path / "audit.md", tmp_path / "history"
    args = ["--plan", str(plan_file), "--kinds", "hygiene", "--format", "markdown"]
    first = _audit(sandbox, *args, "--output", str(output), "--history-dir", str(history))
    assert first.exit_code == 0, first.stderr
    assert "report written to" in first.stderr
    assert first.stdout == ""
    assert output.read_text().startswith("## Schema audit ✅ passed")
    second = _audit(sandbox, *args, "--fail-on", "info", "--history-dir", str(history))
    assert len(list(history.glob("*.json"))) == 2
    assert second.exit_code == 0, second.stderr
    assert ": 0 new, 0 changed, 0 resolved." in second.stdout
    assert "No findings" in second.stdout


def api_key_absent(result: Result) -> bool:
    return DEMO_API_KEY not in result.stdout + result.stderr
