"""The GitHub Action in action.yml: its inputs and outputs, and its review step run for real.

The review step's script runs in bash with the environment GitHub gives a composite step (the
inputs as variables, GITHUB_STEP_SUMMARY and GITHUB_OUTPUT as files) against a sandbox holding
the demo day with the example plan applied. The install step is only read: it installs this
checkout (``GITHUB_ACTION_PATH``), which the test's own environment already has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import load_plan

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXAMPLE = ROOT / "examples" / "tracking-plan.yaml"
SEATS = "      seats: {type: Numeric, description: Paid seats in the workspace, rules: {min: 0}}"


@pytest.fixture(scope="module")
def project() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo-day", rate_limiting=False) as sandbox:
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url) as client:
            assert apply(client, compute_plan(client, load_plan(EXAMPLE), create_events=True)).ok
        yield sandbox


def step(step_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = ACTION["runs"]["steps"]
    return next(s for s in steps if s.get("id") == step_id or s.get("name") == name)


def test_the_action_is_a_composite_with_the_documented_inputs_and_outputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {
        "plan",
        "base-plan",
        "fail-on",
        "backtest-days",
        "package",
        "python",
    }
    assert ACTION["inputs"]["fail-on"]["default"] == "breaking"
    assert set(ACTION["outputs"]) == {"comment-file", "sarif-file", "exit-code"}
    for name, output in ACTION["outputs"].items():
        assert output["value"] == f"${{{{ steps.review.outputs.{name} }}}}"
    for item in ACTION["runs"]["steps"]:
        assert "${{" not in item["run"], "inputs reach scripts through env, never inline"
        assert item["shell"] == "bash"
    install = step(name="Install eventschema-tools")["run"]
    assert '"${PACKAGE:-$GITHUB_ACTION_PATH}"' in install, "installs its own checkout"


def run_review(
    sandbox: RunningSandbox, tmp_path: Path, plan: Path, **inputs: str
) -> tuple[int, str, dict[str, str]]:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    env = {
        "PATH": os.environ["PATH"],
        "PYTHON": sys.executable,
        "PLAN": str(plan),
        "BASE_PLAN": inputs.get("base_plan", ""),
        "FAIL_ON": inputs.get("fail_on", "breaking"),
        "BACKTEST_DAYS": inputs.get("backtest_days", ""),
        "OUTPUT_DIR": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "POSTHOG_HOST": sandbox.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
    }
    done = subprocess.run(
        ["bash", "-c", step("review")["run"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    pairs = dict(
        line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines() if line
    )
    return done.returncode, summary.read_text(encoding="utf-8"), pairs


def test_an_unchanged_plan_passes(project: RunningSandbox, tmp_path: Path) -> None:
    code, summary, outputs = run_review(project, tmp_path, EXAMPLE, backtest_days="1")

    assert code == 0
    assert outputs["exit-code"] == "0"
    assert "no changes: PostHog matches the plan" in summary
    sarif = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"] == []


def test_a_breaking_change_fails_after_writing_the_summary_and_the_outputs(
    project: RunningSandbox, tmp_path: Path
) -> None:
    proposal = tmp_path / "tracking-plan.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    proposal.write_text(
        text.replace(SEATS, SEATS.replace("{type: Numeric,", "{type: Numeric, required: true,")),
        encoding="utf-8",
    )

    code, summary, outputs = run_review(
        project, tmp_path, proposal, backtest_days="2", base_plan=str(EXAMPLE)
    )

    assert code == 4
    assert outputs["exit-code"] == "4"
    comment = Path(outputs["comment-file"]).read_text(encoding="utf-8")
    assert summary == comment
    assert "❌ the gate fails" in comment
    assert "#### Backtest: the last 2 day(s) of events" in comment
    assert "--base" in comment, "the reproduce command names the base plan"
    results = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))["runs"][0]
    assert [r["ruleId"] for r in results["results"]] == ["property_required"]


def test_a_review_that_cannot_run_says_so_and_names_no_files(
    project: RunningSandbox, tmp_path: Path
) -> None:
    # A file left by an earlier run in the same job must not pass for this run's comment.
    (tmp_path / "eventschema-review.md").write_text("an old review", encoding="utf-8")

    code, summary, outputs = run_review(project, tmp_path, tmp_path / "missing.yaml")

    assert code == 1
    assert outputs == {"exit-code": "1"}
    assert "could not run (exit code 1)" in summary
    assert "an old review" not in summary
