"""``eventschema infer`` through the installed console script, against a loopback demo sandbox.

The demo project holds a simulated day of product events, so every run here infers from real
HogQL answers. Bad input is refused in one line before any request (the sandbox counts the
requests it sees) and leaves no file; a failure during the run (no events, a HogQL error from
the server) leaves no file either.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hogql_breaking_proxy import hogql_breaking_proxy

from eventschema_tools.sandbox import DEMO_API_KEY, ApiKey, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan.file import load_plan, parse_plan

SCRIPT = Path(sys.executable).with_name("eventschema")
EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        yield running


def requests_seen(server: RunningSandbox) -> int:
    return int(server.sandbox.faults.stats()["requests"])


def eventschema(
    host: str, *args: str, cwd: Path | None = None, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POSTHOG_HOST": host,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_QUERY_RATE_LIMIT": "off",
        "EVENTSCHEMA_MAX_RETRIES": "0",
    }
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed run (no traceback, no key)."""
    assert result.stderr.strip(), result
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert DEMO_API_KEY not in result.stderr + result.stdout
    return result.stderr.strip()


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "lint", "--plan", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- the proposed plan -----------------------------------------------------------------------


def test_writes_a_lint_clean_plan_and_reports_on_stdout(
    server: RunningSandbox, tmp_path: Path
) -> None:
    output = tmp_path / "proposed.yaml"

    result = eventschema(server.url, "infer", "--days", "2", "-o", str(output))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    proposed = load_plan(output)
    assert {"feature_used", "user_logged_in", "report_exported"} <= set(proposed.events)
    assert not [name for name in proposed.events if name.startswith("$")]
    checked = lint(output)
    assert checked.returncode == 0, checked.stdout
    assert "0 error(s)" in checked.stdout or checked.stdout.strip().endswith(": ok")
    summary = result.stdout
    assert f"Inferred {len(proposed.events)} events from " in summary
    assert "Groups: " in summary
    assert " per-event" in summary
    assert re.search(r"^\d+ HogQL quer(y|ies) \(bound \d+\)$", summary, re.MULTILINE)
    assert f"Wrote the proposed plan to {output}" in summary
    assert not list(tmp_path.glob(".proposed.yaml.*")), "no temporary file is left behind"


def test_without_output_the_plan_goes_to_stdout_and_the_summary_to_stderr(
    server: RunningSandbox,
) -> None:
    result = eventschema(server.url, "infer", "--events", "feature_used,report_*")

    assert result.returncode == 0, result.stderr
    proposed = parse_plan(result.stdout, "<stdout>")
    assert set(proposed.events) == {"feature_used", "report_exported"}
    assert "Inferred 2 events" in result.stderr
    assert re.search(r"^\d+ HogQL quer(y|ies) \(bound \d+\)$", result.stderr, re.MULTILINE)


def test_json_prints_the_inference(server: RunningSandbox) -> None:
    result = eventschema(server.url, "infer", "--json", "--include-sdk", "--min-volume", "50")

    assert result.returncode == 0, result.stderr
    inference = json.loads(result.stdout)
    proposed = parse_plan(inference["text"], "<text>")
    assert "$pageview" in proposed.events
    assert {event["event"] for event in inference["events"]} == set(proposed.events)
    assert all(event["volume"] >= 50 for event in inference["events"])
    skipped = {item["event"] for item in inference["skipped"]}
    assert "legacy_export_clicked" in skipped
    assert inference["changes"] is None
    assert 1 <= inference["queries"] <= inference["query_bound"]
    assert inference["stored_events"] >= sum(event["volume"] for event in inference["events"])
    assert {group["source"] for group in inference["groups"]} <= {"shared", "existing", "event"}


def test_sampling_is_said_plainly(server: RunningSandbox) -> None:
    result = eventschema(server.url, "infer", "--sample", "0.5")

    assert result.returncode == 0, result.stderr
    assert "note: read a 50 % sample (SAMPLE 1/2: all the events of one person in or out) of " in (
        result.stderr
    )
    assert result.stderr.count("sample (SAMPLE") == 1
    parse_plan(result.stdout, "<stdout>")


def test_an_existing_plan_gets_a_diff_with_evidence_and_is_edited_in_place(
    server: RunningSandbox, tmp_path: Path
) -> None:
    existing = tmp_path / "tracking-plan.yaml"
    shutil.copyfile(EXAMPLE_PLAN, existing)
    output = tmp_path / "proposed.yaml"

    result = eventschema(server.url, "infer", "--plan", str(existing), "-o", str(output))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Proposed changes to {existing}:"
    assert any(line.startswith("Plan: ") and " to add, " in line for line in lines)
    assert "Evidence:" in lines
    evidence = lines[lines.index("Evidence:") + 1 :]
    assert any(line.strip().startswith("· ") for line in evidence)
    assert existing.read_bytes() == EXAMPLE_PLAN.read_bytes(), "the existing plan is untouched"
    proposed_text = output.read_text(encoding="utf-8")
    assert "# Tracking plan of a B2B SaaS product" in proposed_text, "its comments are kept"
    proposed = load_plan(output)
    assert proposed.plan_id == "saas-web"
    assert set(load_plan(EXAMPLE_PLAN).events) <= set(proposed.events)
    checked = lint(output)
    assert checked.returncode == 0, checked.stdout


# --- overwriting -----------------------------------------------------------------------------


def test_an_existing_output_is_not_replaced_without_yes(
    server: RunningSandbox, tmp_path: Path
) -> None:
    output = tmp_path / "plan.yaml"
    output.write_text("keep me\n", encoding="utf-8")
    before = requests_seen(server)

    refused = eventschema(server.url, "infer", "-o", str(output))

    assert refused.returncode == 2
    assert "pass --yes" in one_line_error(refused)
    assert output.read_text(encoding="utf-8") == "keep me\n"
    assert requests_seen(server) == before, "asked before any request"

    replaced = eventschema(server.url, "infer", "-o", str(output), "--yes")

    assert replaced.returncode == 0, replaced.stderr
    load_plan(output)


def test_the_question_is_asked_at_a_terminal(server: RunningSandbox, tmp_path: Path) -> None:
    output = tmp_path / "plan.yaml"
    output.write_text("keep me\n", encoding="utf-8")

    declined = at_terminal(server.url, "n\n", "infer", "-o", str(output))

    assert declined.returncode == 1
    assert "Overwrite it?" in declined.stderr
    assert output.read_text(encoding="utf-8") == "keep me\n"

    accepted = at_terminal(server.url, "y\n", "infer", "-o", str(output))

    assert accepted.returncode == 0, accepted.stderr
    load_plan(output)


def at_terminal(host: str, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        return eventschema(host, *args, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)


# --- bad input and failures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(["--since", "2999-01-01"], 2, "the window starts in the future", id="future"),
        pytest.param(["--since", "last week"], 2, "bad since 'last week'", id="bad-since"),
        pytest.param(["--days", "3", "--since", "2026-01-01"], 2, "not both", id="days-since"),
        pytest.param(["--days", "0"], 2, "bad days", id="zero-days"),
        pytest.param(["--sample", "2"], 2, "bad sample rate", id="sample-above-1"),
        pytest.param(["--sample", "lots"], 2, "'--sample'", id="sample-not-a-number"),
        pytest.param(["--required-share", "0"], 2, "bad required share", id="required-share"),
        pytest.param(["--min-volume", "0"], 2, "bad min volume", id="min-volume"),
        pytest.param(["--events", " "], 2, "events is empty", id="no-patterns"),
        pytest.param(["--plan-id", "not a plan id"], 2, "plan id", id="plan-id"),
        pytest.param(["--plan", "missing.yaml"], 1, "missing.yaml", id="unreadable-plan"),
        pytest.param(
            ["--plan", str(EXAMPLE_PLAN), "--plan-id", "other"], 2, "plan_id", id="plan-and-id"
        ),
        pytest.param(["-o", "no-such-folder/plan.yaml"], 1, "does not exist", id="no-folder"),
    ],
)
def test_bad_input_is_one_line_before_any_request_and_writes_nothing(
    server: RunningSandbox, tmp_path: Path, arguments: list[str], code: int, message: str
) -> None:
    before = requests_seen(server)

    output = [] if "-o" in arguments else ["-o", "plan.yaml"]
    result = eventschema(server.url, "infer", *arguments, *output, cwd=tmp_path)

    assert result.returncode == code, result.stderr
    assert message in one_line_error(result)
    assert result.stdout == ""
    assert requests_seen(server) == before
    assert list(tmp_path.iterdir()) == []


def test_a_window_without_matching_events_fails_and_writes_nothing(
    server: RunningSandbox, tmp_path: Path
) -> None:
    result = eventschema(
        server.url, "infer", "--events", "nothing_*", "-o", "plan.yaml", cwd=tmp_path
    )

    assert result.returncode == 1
    assert "nothing_*" in one_line_error(result)
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_hogql_error_from_the_server_is_one_line_and_writes_nothing(
    server: RunningSandbox, tmp_path: Path
) -> None:
    with hogql_breaking_proxy(server.url) as proxy:
        result = eventschema(proxy.url, "infer", "-o", "plan.yaml", cwd=tmp_path)

    assert proxy.broken >= 1, "the run reached the query endpoint"
    assert result.returncode == 1
    error = one_line_error(result)
    assert "HTTP 400 on POST /api/projects/1/query/" in error
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_key_without_the_query_scope_is_exit_3_and_writes_nothing(tmp_path: Path) -> None:
    scoped = "phx_no_query_scope_key"
    key = ApiKey(scoped, ("event_definition:read",))
    with run_sandbox(rate_limiting=False, seed="demo", api_keys=(key,)) as limited:
        env = {"POSTHOG_HOST": limited.url, "POSTHOG_PROJECT_ID": "1"}
        result = subprocess.run(
            [str(SCRIPT), "infer", "-o", "plan.yaml"],
            env={**os.environ, **env, "POSTHOG_PERSONAL_API_KEY": scoped},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert result.returncode == 3, result.stderr
    assert "query:read" in result.stderr.strip().splitlines()[-1]
    assert scoped not in result.stderr
    assert list(tmp_path.iterdir()) == []
