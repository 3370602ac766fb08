"""The digest: one message a day or a week listing the incidents still open.

``eventschema incidents digest --notify slack --period daily`` from cron or CI sends the open,
acknowledged and muted incidents (muted ones marked) to each target once per period: the
period (``2026-11-20`` or ``2026-W47``, UTC) is recorded per target in the incidents file, so a
second run in the same period sends nothing. Slack gets Block Kit, a webhook a signed
``eventschema.digest`` JSON body, email a plain-text mail; GitHub issues and PostHog have no digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Final, Literal

import httpx

from eventschema_tools._text import printable
from eventschema_tools.alerts.delivery import DeliveryError, post_json, send_mail, with_retries
from eventschema_tools.alerts.incidents import Incident, IncidentState, IncidentStore
from eventschema_tools.alerts.messages import encoded
from eventschema_tools.alerts.targets import NotifyTarget
from eventschema_tools.errors import InvalidInputError

__all__ = ["DigestReport", "Period", "period_key", "send_digest"]

Period = Literal["daily", "weekly"]
_LISTED: Final = 40


@dataclass
class DigestReport:
    """What a digest run did per target.

    Attributes:
        period: The period sent (``2026-11-20``, ``2026-W47``).
        incidents: How many incidents it lists.
        sent: Targets that got it now.
        already_sent: Targets that had it for this period already.
        failed: Targets it could not reach, with the reason (tried again next run).
    """

    period: str
    incidents: int
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def period_key(period: Period, now: datetime) -> str:
    """The UTC day (``2026-11-20``) or ISO week (``2026-W47``) ``now`` falls in."""
    if period == "daily":
        return f"{now:%Y-%m-%d}"
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def _line(incident: Incident) -> str:
    finding = incident.finding
    muted = (
        f" (muted until {incident.muted_until:%Y-%m-%d})"
        if incident.state == IncidentState.MUTED and incident.muted_until
        else " (acknowledged)"
        if incident.state == IncidentState.ACKNOWLEDGED
        else ""
    )
    return printable(
        f"#{incident.id} {finding.severity.value} {finding.kind.value} {finding.code} "
        f"{finding.where}{muted}: {finding.message}"
    )


def _title(key: str, open_incidents: Sequence[Incident]) -> str:
    return f"eventschema digest {key}: {len(open_incidents)} open incident(s)"


def _payload(target: NotifyTarget, key: str, incidents: Sequence[Incident]) -> dict[str, Any]:
    lines = [_line(item) for item in incidents[:_LISTED]]
    more = len(incidents) - _LISTED
    if more > 0:
        lines.append(f"... and {more} more (`eventschema incidents list`)")
    if target.kind == "slack":
        text = "\n".join(lines) or "Nothing open."
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {
            "text": _title(key, incidents),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": _title(key, incidents)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": escaped[:2900]}},
            ],
        }
    return {
        "type": "eventschema.digest",
        "period": key,
        "incidents": [item.summary().model_dump(mode="json") for item in incidents],
    }


def _mail(target: NotifyTarget, key: str, incidents: Sequence[Incident]) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = _title(key, incidents)
    mail["From"] = target.sender
    mail["To"] = ", ".join(target.recipients)
    mail["Message-ID"] = f"<digest-{key}@eventschema>"
    mail.set_content("\n".join(_line(item) for item in incidents) or "Nothing open.")
    return mail


def send_digest(
    store: IncidentStore,
    targets: Sequence[NotifyTarget],
    *,
    period: Period,
    now: datetime,
    http: httpx.Client | None = None,
) -> DigestReport:
    """Send the digest of the open incidents to each target that has not had this period's.

    Raises:
        InvalidInputError: a GitHub or PostHog target (they have no digest).
    """
    if any(target.kind in ("github", "posthog") for target in targets):
        raise InvalidInputError(
            "the digest goes to slack, webhook or email; GitHub issues are kept up to date "
            "one by one",
            [("notify", "github")],
        )
    key = period_key(period, now)
    incidents = store.incidents(
        states=[IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.MUTED]
    )
    incidents.sort(key=lambda item: (-item.severity.rank, item.id))
    report = DigestReport(period=key, incidents=len(incidents))
    client = http or httpx.Client(timeout=20, follow_redirects=False)
    try:
        for target in targets:
            if store.digest_sent(key, target.name):
                report.already_sent.append(target.name)
                continue
            try:
                if target.kind == "email":
                    mail = _mail(target, key, incidents)
                    with_retries(lambda: send_mail(target, mail))  # noqa: B023 (used at once)
                else:
                    body = encoded(_payload(target, key, incidents))
                    with_retries(lambda: post_json(client, target, body, f"digest-{key}"))  # noqa: B023
            except DeliveryError as error:
                report.failed.append((target.name, str(error)))
                continue
            store.mark_digest(key, target.name, now)
            report.sent.append(target.name)
    finally:
        if http is None:
            client.close()
    return report
