"""The posthog target: incidents written back to the audited project as events and annotations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alerts_helpers import cli_environment
from sandbox_clients import demo_client

from eventschema_tools.alerts import notify_report, notify_targets, posthog_target_for
from eventschema_tools.alerts.delivery import capture_host
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "examples" / "tracking-plan.yaml"
COUNT = "SELECT count() FROM events WHERE event = '$eventschema_violation'"


def _annotations(url: str) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{url}/api/projects/1/annotations/", headers={"Authorization": f"Bearer {DEMO_API_KEY}"}
    )
    assert answer.status_code == 200, answer.text
    results: list[dict[str, object]] = answer.json()["results"]
    return results


def test_capture_hosts() -> None:
    assert capture_host("https://us.posthog.com") == "https://us.i.posthog.com"
    assert capture_host("https://eu.posthog.com/") == "https://eu.i.posthog.com"
    assert capture_host("https://posthog.example.com/") == "https://posthog.example.com"


def test_each_transition_is_one_event_and_one_annotation(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with demo_client(sandbox.url) as client:
        targets = notify_targets(["posthog"], {}, posthog=posthog_target_for(client))
        options = audit_options(plan=PLAN, kinds="drift")
        for _ in range(3):
            result = notify_report(
                run_audit(client, options),
                incidents=tmp_path / "i.sqlite3",
                targets=targets,
                host=client.host,
            )
        opened = len(result.delivery.delivered)
        assert opened == 0  # the later runs owed nothing
        events = client.query.hogql(COUNT).results[0][0]
    notes = _annotations(sandbox.url)
    assert events == len(notes) > 0
    assert all(str(note["content"]).startswith("eventschema opened:") for note in notes)
    assert {note["scope"] for note in notes} == {"project"}


def test_the_posthog_target_needs_the_audited_connection() -> None:
    with pytest.raises(InvalidInputError, match="posthog_target"):
        notify_targets(["posthog"], {})


def test_the_cli_writes_back(sandbox: RunningSandbox, tmp_path: Path) -> None:
    env = cli_environment(sandbox.url)
    command = [sys.executable, "-m", "eventschema_tools.cli.main", "audit", "--plan", str(PLAN)]
    done = subprocess.run(
        [*command, "--kinds", "drift", "--notify", "posthog"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert "message(s) delivered" in done.stderr
    assert DEMO_API_KEY not in done.stdout + done.stderr
    assert _annotations(sandbox.url)


def test_the_sandbox_checks_annotations_like_posthog(sandbox: RunningSandbox) -> None:
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    url = f"{sandbox.url}/api/projects/1/annotations/"
    bad_date = httpx.post(url, headers=headers, json={"content": "x", "date_marker": "soon"})
    assert bad_date.status_code == 400
    assert bad_date.json()["attr"] == "date_marker"
    bad_scope = httpx.post(url, headers=headers, json={"content": "x", "scope": "galaxy"})
    assert bad_scope.status_code == 400
    made = httpx.post(
        url, headers=headers, json={"content": "release 4.12", "date_marker": "2026-11-20T06:00"}
    )
    assert made.status_code == 201
    assert made.json()["scope"] == "dashboard_item"
    assert made.json()["date_marker"] == "2026-11-20T06:00:00Z"
    found = httpx.get(url, headers=headers, params={"search": "4.12"}).json()
    assert [item["content"] for item in found["results"]] == ["release 4.12"]
