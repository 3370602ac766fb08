"""The digest: the open incidents in one message per target and period, never twice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alerts_helpers import report_of
from receivers import receiver, smtp_receiver

from eventschema_tools.alerts import IncidentStore, notify_targets
from eventschema_tools.alerts.digest import period_key, send_digest
from eventschema_tools.audit.model import AuditKind, Finding, Severity
from eventschema_tools.errors import InvalidInputError

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
SECRET = "digest-webhook-secret-0123456789"


def _finding(event: str, severity: Severity) -> Finding:
    return Finding(
        severity=severity,
        kind=AuditKind.VOLUME,
        code="volume_drop",
        event=event,
        message=f'"{event}" fell 70% in the last 24h.',
        fix="Look for the release that stopped sending it.",
    )


def _fill(path: Path) -> None:
    report = report_of(
        _finding("checkout", Severity.ERROR),
        _finding("signup", Severity.WARNING),
        at=NOW,
        kinds=(AuditKind.VOLUME,),
    )
    with IncidentStore.open(path) as store:
        store.record(report, host="https://us.posthog.com", targets=[], now=NOW)
        store.mute(2, until=NOW + timedelta(days=3))


def test_periods() -> None:
    assert period_key("daily", NOW) == "2026-11-20"
    assert period_key("weekly", NOW) == "2026-W47"


def test_one_digest_per_period_and_target(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    _fill(path)
    with receiver() as slack, receiver() as webhook, smtp_receiver() as mail:
        targets = notify_targets(
            ["slack", "webhook", "email"],
            {
                "EVENTSCHEMA_SLACK_WEBHOOK_URL": slack.url,
                "EVENTSCHEMA_WEBHOOK_URL": webhook.url,
                "EVENTSCHEMA_WEBHOOK_SECRET": SECRET,
                "EVENTSCHEMA_SMTP_HOST": mail.host,
                "EVENTSCHEMA_SMTP_PORT": str(mail.port),
                "EVENTSCHEMA_SMTP_SECURITY": "none",
                "EVENTSCHEMA_SMTP_FROM": "alerts@example.com",
                "EVENTSCHEMA_SMTP_TO": "data@example.com",
            },
        )
        webhook.fail_next = 1
        with IncidentStore.open(path) as store:
            for hour in range(3):
                report = send_digest(
                    store, targets, period="daily", now=NOW + timedelta(hours=hour)
                )
            assert report.already_sent == ["slack", "webhook", "email"]
            next_day = send_digest(store, targets, period="daily", now=NOW + timedelta(days=1))
        assert next_day.sent == ["slack", "webhook", "email"]
        assert len(slack.accepted) == len(webhook.accepted) == len(mail.mails) == 2
        body = webhook.accepted[0].json()
        assert body["period"] == "2026-11-20"
        assert [item["event"] for item in body["incidents"]] == ["checkout", "signup"]
        text = slack.accepted[0].json()["blocks"][1]["text"]["text"]
        assert "#1 error volume volume_drop checkout" in text
        assert "muted until 2026-11-23" in text
        assert SECRET not in repr(targets)


def test_github_has_no_digest(tmp_path: Path) -> None:
    targets = notify_targets(
        ["github"], {"EVENTSCHEMA_GITHUB_REPO": "a/b", "EVENTSCHEMA_GITHUB_TOKEN": "t0ken"}
    )
    with (
        IncidentStore.open(tmp_path / "i.sqlite3") as store,
        pytest.raises(InvalidInputError, match="slack, webhook or email"),
    ):
        send_digest(store, targets, period="weekly", now=NOW)


def test_the_digest_command(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    _fill(path)
    with receiver() as slack:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EVENTSCHEMA_")},
            "EVENTSCHEMA_SLACK_WEBHOOK_URL": slack.url,
            "EVENTSCHEMA_INCIDENTS": str(path),
        }
        command = [sys.executable, "-m", "eventschema_tools.cli.main", "incidents", "digest"]
        runs = [
            subprocess.run(
                [*command, "--notify", "slack", "--period", "weekly"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            for _ in range(2)
        ]
        bad = subprocess.run(
            [*command, "--notify", "slack", "--period", "hourly"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert [run.returncode for run in runs] == [0, 0]
    assert "sent to slack" in runs[0].stdout
    assert "slack had it already" in runs[1].stdout
    assert len(slack.accepted) == 1
    assert bad.returncode == 2
    assert "daily or weekly" in bad.stderr
