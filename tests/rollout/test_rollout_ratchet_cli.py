"""``eventschema ratchet`` as a scheduled job runs it: the console script on prod, each switch
kept in the history folder and sent to Slack (a local stand-in) once.

Prod's schemas were applied three hours ago (the sandbox's clock, shifted) and two hours of
conforming checkouts arrived since.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from receivers import Receiver, receiver
from rollout_helpers import (
    PROD,
    apply_to,
    checkout,
    hours,
    load,
    run_cli,
    send,
    spread,
    two_projects,
    written_ago,
)
from test_rollout_ratchet import PLAN

from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox


@pytest.fixture
def work(tmp_path: Path) -> Iterator[tuple[RunningSandbox, Path, Receiver]]:
    with two_projects() as sandbox, receiver() as slack:
        with written_ago(sandbox, hours(3)):
            apply_to(load(PLAN, sandbox.url), "prod")
        now = datetime.now(UTC)
        moments = spread(now - hours(1.9), now - hours(0.02), 240)
        send(sandbox.url, PROD, [checkout(True, m, i) for i, m in enumerate(moments)])
        (tmp_path / "plan.yaml").write_text(PLAN.format(url=sandbox.url), encoding="utf-8")
        yield sandbox, tmp_path, slack


def _ratchet(cwd: Path, slack: Receiver, *extra: str) -> object:
    return run_cli(
        "ratchet",
        "--plan",
        "plan.yaml",
        "--env",
        "prod",
        "--history-dir",
        "history",
        "--notify",
        "slack",
        *extra,
        cwd=cwd,
        POSTHOG_PERSONAL_API_KEY_PROD=DEMO_API_KEY,
        EVENTSCHEMA_SLACK_WEBHOOK_URL=slack.url,
        EVENTSCHEMA_INCIDENTS=str(cwd / "incidents.sqlite3"),
    )


def test_switches_are_kept_and_sent_once(work: tuple[RunningSandbox, Path, Receiver]) -> None:
    sandbox, cwd, slack = work
    dry = _ratchet(cwd, slack, "--dry-run")
    assert dry.returncode == 0, dry.stderr  # type: ignore[attr-defined]
    assert "↑ checkout_completed: allow → reject" in dry.stdout  # type: ignore[attr-defined]
    assert "1 would move to reject" in dry.stdout  # type: ignore[attr-defined]
    assert not (cwd / "history").exists()
    assert slack.accepted == []

    up = _ratchet(cwd, slack, "--yes")
    assert up.returncode == 0, up.stderr  # type: ignore[attr-defined]
    assert "Ratchet: 1 moved to reject" in up.stdout  # type: ignore[attr-defined]
    (kept,) = sorted((cwd / "history").glob("ratchet-2-*.json"))
    record = json.loads(kept.read_text(encoding="utf-8"))
    assert record["steps"][0]["evidence"]["events"] == 240
    assert len(slack.accepted) == 1
    assert "checkout_completed" in slack.accepted[0].body.decode()
    assert (
        "enforcement_ratcheted" in slack.accepted[0].body.decode()
        or "reject" in slack.accepted[0].body.decode()
    )

    still = _ratchet(cwd, slack, "--yes")
    assert "stays reject" in still.stdout  # type: ignore[attr-defined]
    assert len(slack.accepted) == 1  # nothing moved, nothing sent

    now = datetime.now(UTC)
    send(
        sandbox.url,
        PROD,
        [checkout(i % 4 == 0, m, i) for i, m in enumerate(spread(now - hours(0.01), now, 40))],
    )
    down = _ratchet(cwd, slack, "--yes", "--json")
    assert down.returncode == 0, down.stderr  # type: ignore[attr-defined]
    result = json.loads(down.stdout)  # type: ignore[attr-defined]
    assert result["steps"][0]["move"] == "to_allow"
    assert result["steps"][0]["evidence"]["dropped"] == 30
    assert "incidents: 1 opened, 1 resolved" in down.stderr  # type: ignore[attr-defined]
    assert len(slack.accepted) == 3  # the earlier switch resolved, the regression opened
    assert len(sorted((cwd / "history").glob("ratchet-2-*.json"))) == 2


def test_mistakes_get_one_clear_line(work: tuple[RunningSandbox, Path, Receiver]) -> None:
    _, cwd, slack = work
    staging = run_cli("ratchet", "--plan", "plan.yaml", "--env", "staging", cwd=cwd)
    assert staging.returncode == 2
    assert "no event of the plan ratchets in environment 'staging'" in staging.stderr
    unasked = run_cli("ratchet", "--plan", "plan.yaml", "--env", "prod", cwd=cwd)
    assert unasked.returncode == 2
    assert "pass --yes" in unasked.stderr
    assert "Traceback" not in staging.stderr + unasked.stderr
    after = _ratchet(cwd, slack, "--dry-run")
    assert "allow → reject" in after.stdout  # type: ignore[attr-defined]  # nothing was switched
