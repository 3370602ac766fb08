"""The review's acceptance scenario on the demo day, through the library, the CLI and MCP.

The example plan is applied to the demo day's project; the proposal makes
``workspace_context.seats`` required and switches ``member_invited`` to ``reject``. The backtest
must say how much of ``member_invited``'s traffic reject would have dropped, equal to a count
made here from the raw events with the sandbox's own coercion rules, in queries at the bound.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from query_counting import counting_client

from eventschema_tools import EventSchemaClient
from eventschema_tools.review import PlanReview, review_plan
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.sandbox.events.coercion import can_coerce
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import TrackingPlan, load_plan, parse_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tracking-plan.yaml"
DAYS = 2


def proposal_text() -> str:
    """The example plan with seats required and member_invited in reject mode."""
    text = EXAMPLE.read_text(encoding="utf-8")
    seats = (
        "      seats: {type: Numeric, description: Paid seats in the workspace, rules: {min: 0}}"
    )
    assert seats in text
    text = text.replace(seats, seats.replace("{type: Numeric,", "{type: Numeric, required: true,"))
    invited = "  member_invited:\n    groups: [workspace_context]\n"
    assert invited in text
    return text.replace(invited, invited + "    enforcement: reject\n")


@pytest.fixture(scope="module")
def demo_day() -> Iterator[RunningSandbox]:
    """The demo day's project with the example plan applied."""
    with run_sandbox(seed="demo-day", rate_limiting=False) as running:
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=running.url) as client:
            report = apply(client, compute_plan(client, load_plan(EXAMPLE), create_events=True))
            assert report.ok, report
        yield running


@pytest.fixture(scope="module")
def proposal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("review") / "proposal.yaml"
    path.write_text(proposal_text(), encoding="utf-8")
    return path


def hand_count(client: EventSchemaClient, plan: TrackingPlan, event: str) -> tuple[int, int]:
    """(events, rejected) of ``event`` over the window: rejected when a required property of
    its groups in ``plan`` is missing, null, or not coercible to its type."""
    required = {
        name: spec.type.value
        for group in plan.events[event].groups
        for name, spec in plan.property_groups[group].properties.items()
        if spec.required
    }
    result = client.query.hogql(
        "SELECT properties FROM events WHERE event = {event} "
        "AND timestamp >= now() - toIntervalDay({days}) LIMIT 100000",
        values={"event": event, "days": DAYS},
    )
    total = rejected = 0
    for row in result.rows():
        props = row["properties"]
        props = json.loads(props) if isinstance(props, str) else props
        total += 1
        if any(
            props.get(name) is None or not can_coerce(props[name], kind)
            for name, kind in required.items()
        ):
            rejected += 1
    return total, rejected


def test_the_backtest_drops_what_a_hand_count_drops_in_queries_at_the_bound(
    demo_day: RunningSandbox,
) -> None:
    desired = parse_plan(proposal_text())
    with counting_client(demo_day.url) as (client, queries):
        review = review_plan(client, desired, backtest_days=DAYS, fail_on="breaking")
        sent = len(queries)
        expected_total, expected_dropped = hand_count(client, desired, "member_invited")

    assert review.backtest is not None
    changed = [item.event for item in review.backtest.events]
    assert "member_invited" in changed
    assert sent == review.backtest.queries == math.ceil(len(changed) / 200)
    assert review.backtest.queries <= review.backtest.query_bound
    invited = next(item for item in review.backtest.events if item.event == "member_invited")
    assert invited.events == expected_total > 0
    assert invited.rejected_proposed == expected_dropped > 0
    assert invited.dropped == expected_dropped
    assert invited.enforcement_proposed == "reject"
    assert invited.conforming_proposed == pytest.approx(1 - expected_dropped / expected_total)
    assert invited.rejected_now <= invited.rejected_proposed
    assert sum(day.would_reject for day in invited.by_day) == expected_dropped
    # Events in allow mode drop nothing, even when seats is missing there too.
    assert all(
        item.dropped == 0 for item in review.backtest.events if item.event != "member_invited"
    )


def test_the_review_classifies_and_gates(demo_day: RunningSandbox) -> None:
    with counting_client(demo_day.url) as (client, queries):
        review = review_plan(client, parse_plan(proposal_text()), fail_on="breaking")

    assert queries == [], "no backtest, no HogQL"
    kinds = {(i.level, i.kind.value, i.property or i.event) for i in review.plan.impacts}
    assert ("breaking", "property_required", "seats") in kinds
    assert ("breaking", "enforcement_reject", "member_invited") in kinds
    assert not review.passed
    assert {i.kind.value for i in review.failures} == {"property_required", "enforcement_reject"}
    assert isinstance(review, PlanReview)


def eventschema(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventschema_tools.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "POSTHOG_HOST": url,
            "POSTHOG_PROJECT_ID": "1",
            "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
            "NO_COLOR": "1",
        },
    )


def test_the_cli_gate_exits_4_and_writes_every_format(
    demo_day: RunningSandbox, proposal: Path, tmp_path: Path
) -> None:
    comment, sarif = tmp_path / "review.md", tmp_path / "review.sarif"

    result = eventschema(
        demo_day.url,
        "plan",
        "--plan",
        str(proposal),
        "--backtest",
        "--days",
        str(DAYS),
        "--fail-on",
        "breaking",
        "--format",
        "markdown",
        "--output",
        str(comment),
        "--sarif",
        str(sarif),
    )

    assert result.returncode == 4, result.stderr
    assert "gate fails" in result.stderr
    # member_invited's backtest row: its events, and what reject drops, in bold.
    row = r"\| member\\_invited \| [\d,]+ \| [\d.]+ % \| [\d.]+ % \| \*\*\d+\*\* \|"
    assert re.search(row, comment.read_text(encoding="utf-8"))
    runs: list[dict[str, Any]] = json.loads(sarif.read_text(encoding="utf-8"))["runs"]
    assert {r["ruleId"] for r in runs[0]["results"]} >= {"property_required", "enforcement_reject"}

    text = eventschema(demo_day.url, "plan", "--plan", str(proposal), "--fail-on", "never")
    assert text.returncode == 0, text.stderr
    assert 'breaking property_required: group "workspace_context" property "seats"' in text.stdout
    assert "to accept it" not in text.stdout, "only changes that fail the gate get the hint"

    gated = eventschema(demo_day.url, "plan", "--plan", str(proposal), "--fail-on", "breaking")
    assert gated.returncode == 4
    assert 'to accept it, add to event "member_invited": allow_breaking:' in gated.stdout

    refused = eventschema(
        demo_day.url, "apply", "--plan", str(proposal), "--fail-on", "breaking", "--yes"
    )
    assert refused.returncode == 4
    assert "refusing to apply: 2 unacknowledged change(s)" in refused.stderr
    after = eventschema(demo_day.url, "plan", "--plan", str(proposal), "--json")
    assert after.returncode == 0
    assert len(json.loads(after.stdout)["plan"]["changes"]) == 2, "apply wrote nothing"


def test_a_bad_fail_on_is_one_line_before_any_request(proposal: Path) -> None:
    result = eventschema(
        "http://127.0.0.1:9", "plan", "--plan", str(proposal), "--fail-on", "sometimes"
    )

    assert result.returncode == 2
    assert "fail_on must be one of breaking, risky, never" in result.stderr
    assert "Traceback" not in result.stderr


def test_lint_live_reports_acknowledgements_no_pending_change_matches(
    demo_day: RunningSandbox, tmp_path: Path
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    invited = "  member_invited:\n    groups: [workspace_context]\n"
    stale = tmp_path / "stale.yaml"
    stale.write_text(
        text.replace(
            invited,
            invited
            + "    allow_breaking: [{change: enforcement_reject, reason: applied last week}]\n",
        ),
        encoding="utf-8",
    )

    offline = eventschema(demo_day.url, "lint", "--plan", str(stale))
    live = eventschema(demo_day.url, "lint", "--plan", str(stale), "--live", "--json")

    assert offline.returncode == 0, offline.stdout
    assert "ack-stale" not in offline.stdout
    assert live.returncode == 0, live.stderr
    [problem] = json.loads(live.stdout)["problems"]
    assert problem["code"] == "ack-stale"
    assert problem["severity"] == "warning"
    assert 'event "member_invited" acknowledges enforcement_reject' in problem["message"]
    assert (
        stale.read_text(encoding="utf-8")
        .splitlines()[problem["line"] - 1]
        .strip()
        .startswith("allow_breaking")
    )


def test_unwritable_outputs_and_a_missing_base_are_one_line(
    demo_day: RunningSandbox, proposal: Path, tmp_path: Path
) -> None:
    missing_dir = tmp_path / "no" / "review.md"
    directory = tmp_path / "adir"
    directory.mkdir()

    unwritable = eventschema(demo_day.url, "plan", "--plan", str(proposal), "-o", str(missing_dir))
    onto_dir = eventschema(demo_day.url, "plan", "--plan", str(proposal), "-o", str(directory))
    no_base = eventschema(demo_day.url, "plan", "--plan", str(proposal), "--base", "gone.yaml")

    assert unwritable.returncode == 1
    assert unwritable.stderr.strip() == f"error: No such file or directory: {missing_dir}"
    assert onto_dir.returncode == 1
    assert onto_dir.stderr.strip() == f"error: Is a directory: {directory}"
    assert list(directory.iterdir()) == [], "no temporary file is left behind"
    assert no_base.returncode == 2
    assert "--base gone.yaml: no such file" in no_base.stderr
