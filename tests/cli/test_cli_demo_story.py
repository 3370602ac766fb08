"""One story from the demo onward: the example plan fits the sandbox's demo project.

`eventschema sandbox --seed demo` serves the PostHog project of the product `eventschema demo`
simulates, and `examples/tracking-plan.yaml` is that product's plan: planning it blocks nothing
and creates no group beside one spelled the same but for case; applying then pulling gives a
plan file that passes `lint`; and the project holds a day of events for the audit to measure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import BIN, EXAMPLE_PLAN, clean_environment, run_at_terminal, running_sandbox

from eventschema_tools.sandbox import DEMO_API_KEY
from eventschema_tools.tracking_plan.file import load_plan

pytestmark = pytest.mark.skipif(
    not (BIN / "eventschema").exists(), reason="the console script is not installed"
)


def test_the_example_plan_applies_pulls_and_lints_on_the_demo_sandbox(
    tmp_path: Path,
) -> None:
    with running_sandbox(
        ["eventschema", "sandbox", "--seed", "demo", "--port", "0"], tmp_path
    ) as url:
        env = clean_environment(
            POSTHOG_HOST=url, POSTHOG_PROJECT_ID="1", POSTHOG_PERSONAL_API_KEY=DEMO_API_KEY
        )

        def eventschema(*args: str) -> tuple[int, str, str]:
            done = run_at_terminal(["eventschema", *args], env, tmp_path)
            return done.returncode, done.stdout, done.stderr

        code, before, err = eventschema("groups", "list", "--json")
        assert code == 0, err
        code, planned, err = eventschema("plan", "--plan", str(EXAMPLE_PLAN), "--json")
        assert code == 0, err
        code, applied, err = eventschema("apply", "--plan", str(EXAMPLE_PLAN), "--yes")
        assert code == 0, applied + err
        pulled = tmp_path / "pulled.yaml"
        code, _, err = eventschema("pull", "--plan", str(pulled))
        assert code == 0, err
        code, linted, err = eventschema("lint", "--plan", str(pulled))
        code_again, replanned, _ = eventschema("plan", "--plan", str(pulled))
        audit_code, audited, err = eventschema(
            "audit", "--plan", str(EXAMPLE_PLAN), "--format", "json"
        )

    plan = json.loads(planned)["plan"]
    assert [n for n in plan["notices"] if n["blocking"]] == []
    existing = {group["name"] for group in json.loads(before)}
    created = {c["group"] for c in plan["changes"] if c["action"] == "create_group"}
    assert created == set(load_plan(EXAMPLE_PLAN).property_groups)
    twins = {(new, old) for new in created for old in existing if new.casefold() == old.casefold()}
    assert twins == set()
    assert "0 failed" in applied
    # The demo project's own groups send an `email`: a pulled plan asks for a pii decision.
    assert code == 1, linted
    errors = [line for line in linted.splitlines() if ": error [" in line]
    assert len(errors) == 1, linted
    assert "[pii-undecided] property 'email'" in errors[0]
    assert f"{pulled}: 1 error(s)" in linted
    assert (code_again, "No changes" in replanned) == (0, True)
    assert audit_code == 4, err
    report = json.loads(audited)
    measured = {item["event"]: item["events"] for item in report["events"]}
    assert set(measured) == set(load_plan(EXAMPLE_PLAN).events)
    assert all(count > 0 for count in measured.values()), measured
    assert {f["code"] for f in report["findings"]} >= {"wrong_type", "missing_required"}
    conforming = [
        item for item in report["events"] if item["would_reject"] == 0 and item["events"] > 0
    ]
    assert conforming, "some events should conform: the day's mistakes are a few percent"
    unplanned = {f["event"] for f in report["findings"] if f["code"] == "unplanned_event"}
    assert unplanned == {"onboarding_tip_dismissed", "legacy_export_clicked"}
