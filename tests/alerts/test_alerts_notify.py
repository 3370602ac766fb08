"""Audits that notify: one message per transition at local Slack and webhook receivers, through
repeated runs, failing receivers and fixes; signatures verified with the documented snippet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts_helpers import cli_environment
from receivers import Received, Receiver, receiver
from sandbox_clients import demo_client

from eventschema_tools.alerts import (
    IncidentState,
    IncidentStore,
    NotifyTarget,
    notify_report,
    notify_targets,
)
from eventschema_tools.audit.model import AuditReport
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import load_plan

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "examples" / "tracking-plan.yaml"
SECRET = "s3cret-webhook-key-0123456789abcdef"


def _documented_verify() -> types.FunctionType:
    """The ``verify`` function of docs/alerts.md, as a reader copies it."""
    text = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    block = next(
        found
        for found in re.findall(r"```python\n(.*?)```", text, re.DOTALL)
        if "def verify(" in found
    )
    namespace: dict[str, object] = {}
    exec(compile(block, "docs/alerts.md", "exec"), namespace)
    verify = namespace["verify"]
    assert isinstance(verify, types.FunctionType)
    return verify


TOKEN = "ghp_test_token_0123456789"


Receivers = tuple[Receiver, Receiver, Receiver]


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    """Slack, the webhook receiver and GitHub."""
    with receiver() as slack, receiver() as webhook, receiver() as github:
        yield slack, webhook, github


def _settings(slack: Receiver, webhook: Receiver, github: Receiver) -> dict[str, str]:
    return {
        "EVENTSCHEMA_SLACK_WEBHOOK_URL": slack.url,
        "EVENTSCHEMA_WEBHOOK_URL": webhook.url,
        "EVENTSCHEMA_WEBHOOK_SECRET": SECRET,
        "EVENTSCHEMA_GITHUB_REPO": "acme/analytics",
        "EVENTSCHEMA_GITHUB_TOKEN": TOKEN,
        "EVENTSCHEMA_GITHUB_API_URL": github.base,
    }


def _targets(slack: Receiver, webhook: Receiver, github: Receiver) -> list[NotifyTarget]:
    return notify_targets(["slack", "webhook", "github"], _settings(slack, webhook, github))


def _audit(url: str) -> AuditReport:
    # Drift, and conformance of one event: every kind of incident, at a test's pace.
    with demo_client(url) as client:
        options = audit_options(plan=PLAN, kinds="drift,conformance", events="member_invited")
        return run_audit(client, options)


def _transitions(received: list[Received]) -> Counter[tuple[int, int, str]]:
    return Counter(
        (
            item.json()["incident"]["id"],
            item.json()["incident"]["episode"],
            item.json()["transition"],
        )
        for item in received
    )


def test_ten_audits_send_each_message_once_and_a_fix_resolves_in_one_run(
    sandbox: RunningSandbox, receivers: Receivers, tmp_path: Path
) -> None:
    slack, webhook, github = receivers
    targets = _targets(slack, webhook, github)
    incidents = tmp_path / "incidents.sqlite3"
    report = _audit(sandbox.url)
    alerting = [item for item in report.findings if item.severity.rank >= 1]
    assert alerting
    for _ in range(10):
        notify_report(_audit(sandbox.url), incidents=incidents, targets=targets, host=sandbox.url)
    opened = _transitions(webhook.accepted)
    assert set(opened.values()) == {1}  # no duplicates
    assert len(opened) == len(alerting)
    assert len(slack.accepted) == len(webhook.accepted)
    assert {item.json()["transition"] for item in webhook.accepted} == {"opened"}
    # GitHub: one issue per incident, opened once, nothing else.
    assert len(github.issues) == len(alerting) == len(github.accepted)
    assert all(
        issue["state"] == "open" and not issue["comments"] for issue in github.issues.values()
    )
    assert all(item.headers["Authorization"] == f"Bearer {TOKEN}" for item in github.accepted)
    drift = {
        item.json()["incident"]["id"]
        for item in webhook.accepted
        if item.json()["incident"]["kind"] == "drift"
    }
    assert drift

    # The fix: apply the plan. The next audit resolves what the plan fixed, in one run.
    with demo_client(sandbox.url) as client:
        apply(client, compute_plan(client, load_plan(PLAN), create_events=True))
    before = len(webhook.accepted)
    fixed = _audit(sandbox.url)
    result = notify_report(fixed, incidents=incidents, targets=targets, host=sandbox.url)
    still = {json.dumps(list(item.key)) for item in fixed.findings}
    with IncidentStore.open(incidents) as store:
        gone = {
            incident.id
            for incident in store.incidents()
            if json.dumps(list(incident.finding.key)) not in still
        }
        assert all(store.get(number).state == IncidentState.RESOLVED for number in gone)
    assert gone & drift
    resolved = [item.json() for item in webhook.accepted[before:]]
    assert {item["incident"]["id"] for item in resolved} == gone
    assert {item["transition"] for item in resolved} == {"resolved"}
    assert result.resolved == len(gone) == len(resolved)
    closed = [issue for issue in github.issues.values() if issue["state"] == "closed"]
    assert len(closed) == len(gone)
    assert all(len(issue["comments"]) == 1 for issue in closed)
    assert all(issue["comments"][0].startswith("Resolved") for issue in closed)
    # Later runs send nothing more.
    requests = len(github.seen)
    for _ in range(2):
        notify_report(_audit(sandbox.url), incidents=incidents, targets=targets, host=sandbox.url)
    assert len(webhook.accepted) == before + len(gone)
    assert len(github.seen) == requests


def test_a_receiver_that_fails_twice_still_gets_exactly_one_message(
    sandbox: RunningSandbox, receivers: Receivers, tmp_path: Path
) -> None:
    slack, webhook, github = receivers
    webhook.fail_next, webhook.fail_status = 2, 503
    slack.fail_next, slack.fail_status = 2, 429
    github.fail_next, github.fail_status = 2, 502
    report = _audit(sandbox.url)
    result = notify_report(
        report,
        incidents=tmp_path / "i.sqlite3",
        targets=_targets(slack, webhook, github),
        host=sandbox.url,
    )
    assert not result.delivery.failed
    assert set(_transitions(webhook.accepted).values()) == {1}
    assert len(webhook.seen) == len(webhook.accepted) + 2
    # Retries of one message carry one delivery id.
    first = webhook.seen[0].headers["X-Eventschema-Delivery"]
    assert [item.headers["X-Eventschema-Delivery"] for item in webhook.seen[:3]] == [first] * 3
    assert len(slack.accepted) == len(webhook.accepted)
    assert len(github.issues) == len(webhook.accepted)


def test_a_receiver_down_for_a_whole_run_gets_its_messages_next_run(
    sandbox: RunningSandbox, receivers: Receivers, tmp_path: Path
) -> None:
    slack, webhook, github = receivers
    webhook.fail_next = 10_000
    targets = _targets(slack, webhook, github)
    incidents = tmp_path / "i.sqlite3"
    first = notify_report(
        _audit(sandbox.url), incidents=incidents, targets=targets, host=sandbox.url
    )
    assert len(first.delivery.failed) == first.opened
    assert all("HTTP 503" in reason for *_, reason in first.delivery.failed)
    assert webhook.accepted == []
    assert len(webhook.seen) == 3  # one message tried 3 times; the rest wait for the next run
    webhook.fail_next = 0
    second = notify_report(
        _audit(sandbox.url), incidents=incidents, targets=targets, host=sandbox.url
    )
    assert not second.delivery.failed
    assert len(webhook.accepted) == first.opened
    assert set(_transitions(webhook.accepted).values()) == {1}
    assert len(slack.accepted) == first.opened  # slack was up: nothing sent twice


def test_webhooks_verify_with_the_documented_snippet(
    sandbox: RunningSandbox, receivers: Receivers, tmp_path: Path
) -> None:
    slack, webhook, github = receivers
    notify_report(
        _audit(sandbox.url),
        incidents=tmp_path / "i.sqlite3",
        targets=_targets(slack, webhook, github),
        host=sandbox.url,
    )
    verify = _documented_verify()
    assert webhook.accepted
    for item in webhook.accepted:
        assert verify(SECRET, item.headers, item.body)
        assert not verify("another-secret-0123456789", item.headers, item.body)
        assert not verify(SECRET, item.headers, item.body + b" ")
    payload = next(
        item.json()["incident"]
        for item in webhook.accepted
        if item.json()["incident"]["code"] == "wrong_type"
    )
    assert "WHERE event = 'member_invited'" in payload["hogql"]
    assert payload["url"].startswith(f"{sandbox.url}/project/1/")
    assert payload["fix"]
    blocks = slack.accepted[0].json()["blocks"]
    assert blocks[0]["type"] == "header"


def test_secrets_stay_out_of_reprs_errors_and_the_incidents_file(
    sandbox: RunningSandbox, receivers: Receivers, tmp_path: Path
) -> None:
    slack, webhook, github = receivers
    webhook.fail_next = 10_000
    targets = _targets(slack, webhook, github)
    incidents = tmp_path / "i.sqlite3"
    result = notify_report(
        _audit(sandbox.url), incidents=incidents, targets=targets, host=sandbox.url
    )
    shown = repr(targets) + repr(result) + incidents.read_bytes().decode("utf-8", "replace")
    for secret in (SECRET, TOKEN, "secret-path", "/hooks/"):
        assert secret not in shown


def test_bad_targets_are_refused_before_anything_runs() -> None:
    with pytest.raises(InvalidInputError, match="EVENTSCHEMA_SLACK_WEBHOOK_URL"):
        notify_targets(["slack"], {})
    with pytest.raises(InvalidInputError, match="at least 16 characters"):
        notify_targets(
            ["webhook"],
            {"EVENTSCHEMA_WEBHOOK_URL": "https://x.example", "EVENTSCHEMA_WEBHOOK_SECRET": "short"},
        )
    with pytest.raises(InvalidInputError, match="unknown notify target 'pager'"):
        notify_targets(["pager"], {})


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventschema_tools.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_notifies_once_and_manages_incidents(
    sandbox: RunningSandbox, receivers: Receivers, tmp_path: Path
) -> None:
    slack, webhook, _ = receivers
    env = cli_environment(
        sandbox.url,
        EVENTSCHEMA_SLACK_WEBHOOK_URL=slack.url,
        EVENTSCHEMA_WEBHOOK_URL=webhook.url,
        EVENTSCHEMA_WEBHOOK_SECRET=SECRET,
    )
    audit = (
        "audit",
        "--plan",
        str(PLAN),
        "--kinds",
        "drift",
        "--notify",
        "slack",
        "--notify",
        "webhook",
    )
    for _ in range(2):
        done = _cli(*audit, env=env, cwd=tmp_path)
        assert done.returncode == 4, done.stderr
    assert "opened" in done.stderr
    assert "0 message(s) delivered" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "secret-path" not in done.stderr
    opened = len(webhook.accepted)
    assert opened > 0
    listed = json.loads(_cli("incidents", "list", "--json", env=env, cwd=tmp_path).stdout)
    assert len(listed) == opened
    first = listed[-1]["id"]
    assert (
        _cli("incidents", "ack", str(first), "--note", "mine", env=env, cwd=tmp_path).returncode
        == 0
    )
    assert (
        _cli(
            "incidents", "mute", str(listed[0]["id"]), "--for", "2d", env=env, cwd=tmp_path
        ).returncode
        == 0
    )
    done = _cli("incidents", "resolve", str(first), "--notify", "webhook", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert webhook.accepted[-1].json()["transition"] == "resolved"
    states = {
        item["id"]: item["state"]
        for item in json.loads(
            _cli("incidents", "list", "--all", "--json", env=env, cwd=tmp_path).stdout
        )
    }
    assert states[first] == "resolved"
    assert states[listed[0]["id"]] == "muted"
    missing = _cli("incidents", "ack", "9999", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "no incident 9999" in missing.stderr
    unset = _cli(
        "audit", "--notify", "slack", env={**env, "EVENTSCHEMA_SLACK_WEBHOOK_URL": ""}, cwd=tmp_path
    )
    assert unset.returncode == 2
    assert "EVENTSCHEMA_SLACK_WEBHOOK_URL" in unset.stderr
