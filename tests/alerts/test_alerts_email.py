"""The email target: one mail per transition over SMTP, retried on 4xx, never sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest
from alerts_helpers import report_of
from receivers import MailServer, smtp_receiver

from eventschema_tools.alerts import notify_report, notify_targets
from eventschema_tools.audit.model import AuditKind, Finding, Severity
from eventschema_tools.errors import InvalidInputError

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
PASSWORD = "smtp-password-0123456789"


BROKEN = Finding(
    severity=Severity.ERROR,
    kind=AuditKind.CONFORMANCE,
    code="wrong_type",
    event="member\ninvited",  # a name with a line break must not break the mail's headers
    property="seats",
    rates={"violations": 0.031},
    message='"seats" has the wrong type on 3.1% of "member_invited" events.',
    fix='Send "seats" as Numeric.',
)


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with smtp_receiver() as server:
        yield server


def _env(server: MailServer) -> dict[str, str]:
    return {
        "EVENTSCHEMA_SMTP_HOST": server.host,
        "EVENTSCHEMA_SMTP_PORT": str(server.port),
        "EVENTSCHEMA_SMTP_SECURITY": "none",
        "EVENTSCHEMA_SMTP_FROM": "alerts@example.com",
        "EVENTSCHEMA_SMTP_TO": "data@example.com, oncall@example.com",
    }


def test_one_mail_per_transition_even_after_refusals(mail: MailServer, tmp_path: Path) -> None:
    targets = notify_targets(["email"], _env(mail))
    incidents = tmp_path / "i.sqlite3"
    mail.fail_next = 2  # two sessions answered "451 try again later"
    for minute in range(3):
        at = NOW + timedelta(minutes=minute)
        notify_report(
            report_of(BROKEN, at=at), incidents=incidents, targets=targets, host="h", now=at
        )
    later = NOW + timedelta(hours=1)
    notify_report(report_of(at=later), incidents=incidents, targets=targets, host="h", now=later)
    assert mail.sessions == 4  # 2 refused, the opening, the resolution
    opened, resolved = (message_from_string(text, policy=default) for text in mail.mails)
    assert opened["Subject"].startswith("Opened: error")
    assert "member\\u000ainvited" in str(opened["Subject"])  # spelled out: no header break
    assert "\n" not in str(opened["Subject"])
    assert opened["To"] == "data@example.com, oncall@example.com"
    body = opened.get_content()
    assert "Rate: 3.1%" in body
    assert "SELECT uuid" in body
    assert resolved["Subject"].startswith("Resolved: error")
    assert opened["Message-ID"] != resolved["Message-ID"]


def test_email_settings_are_checked_before_anything_runs(mail: MailServer) -> None:
    with pytest.raises(InvalidInputError, match="EVENTSCHEMA_SMTP_HOST"):
        notify_targets(["email"], {})
    with pytest.raises(InvalidInputError, match="not a mail address"):
        notify_targets(["email"], {**_env(mail), "EVENTSCHEMA_SMTP_TO": "oncall"})
    with pytest.raises(InvalidInputError, match="choose starttls, ssl or none"):
        notify_targets(["email"], {**_env(mail), "EVENTSCHEMA_SMTP_SECURITY": "tls1"})
    target = notify_targets(["email"], {**_env(mail), "EVENTSCHEMA_SMTP_PASSWORD": PASSWORD})[0]
    assert PASSWORD not in repr(target)
