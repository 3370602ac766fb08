"""The messages incidents send: a Slack Block Kit message and a signed JSON webhook.

Every message carries the finding's message and rate, its change against the baseline (the
previous audit's rate, or the volume audit's prediction), a HogQL query that shows the events
behind it, a link into PostHog, and the fix.

The webhook POSTs this JSON body (``WebhookPayload``) with three headers:

* ``X-Eventschema-Delivery``: the message's id, the same on every retry (deduplicate on it);
* ``X-Eventschema-Timestamp``: Unix seconds when it was signed;
* ``X-Eventschema-Signature``: ``sha256=`` and the hex HMAC-SHA256 of
  ``"{timestamp}.{body}"`` under the shared secret (:func:`signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Final

from eventschema_tools._text import markdown_text, printable
from eventschema_tools.alerts.incidents import Incident, Transition
from eventschema_tools.audit.model import Finding, format_rate

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "VIOLATION_EVENT",
    "annotation",
    "email_message",
    "encoded",
    "github_comment",
    "github_issue",
    "reproduce_query",
    "signature",
    "slack_message",
    "violation_event",
    "webhook_payload",
]

SIGNATURE_HEADER: Final = "X-Eventschema-Signature"
TIMESTAMP_HEADER: Final = "X-Eventschema-Timestamp"
DELIVERY_HEADER: Final = "X-Eventschema-Delivery"
VIOLATION_EVENT: Final = "$eventschema_violation"
"""The event each incident transition is captured as in PostHog (the ``posthog`` target)."""
_ANNOTATION_LIMIT: Final = 400
_TITLES: Final = {
    Transition.OPENED: "Opened",
    Transition.ESCALATED: "Escalated",
    Transition.RESOLVED: "Resolved",
}
_SLACK_TEXT_LIMIT: Final = 2900


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def reproduce_query(finding: Finding) -> str | None:
    """A HogQL query that shows the events behind ``finding`` (``None`` for project-wide ones).

    For a property: its latest values on the event over a day; for an event: its hourly
    counts over a week.
    """
    if finding.event is None:
        return None
    # Text for people to paste into PostHog's SQL editor; names are quoted as HogQL literals.
    event = _literal(finding.event)
    if finding.property is not None:
        prop = _literal(finding.property)
        return (
            f"SELECT uuid, timestamp, distinct_id, JSONType(properties, {prop}) AS json_type, "  # noqa: S608
            f"JSONExtractRaw(properties, {prop}) AS value FROM events WHERE event = {event} "
            "AND timestamp >= now() - INTERVAL 1 DAY ORDER BY timestamp DESC LIMIT 100"
        )
    return (
        f"SELECT toStartOfHour(timestamp) AS hour, count() AS events FROM events WHERE "  # noqa: S608
        f"event = {event} AND timestamp >= now() - INTERVAL 7 DAY GROUP BY hour ORDER BY hour"
    )


def _rate(finding: Finding) -> str:
    rate = finding.rates.get("violations")
    if rate is not None:
        return format_rate(rate)
    counts = finding.counts
    if "observed" in counts and "expected" in counts:
        return f"{counts['observed']} events (expected {counts['expected']})"
    presence = finding.rates.get("presence")
    return format_rate(presence) + " carry it" if presence is not None else ""


def _change(finding: Finding) -> str:
    if "change" in finding.rates:
        return f"{finding.rates['change'] * 100:+.0f}% against the same hours of earlier weeks"
    if "earlier_presence" in finding.rates:
        return f"was {format_rate(finding.rates['earlier_presence'])} before the window"
    change = finding.change
    if change is None:
        return ""
    if change.status == "new":
        return "new since the previous audit"
    delta = change.rate_deltas.get("violations")
    return f"{delta * 100:+.1f} points since the previous audit" if delta else ""


def _facts(incident: Incident, transition: Transition) -> list[tuple[str, str]]:
    """The labelled facts every message carries (the link is labelled "In PostHog")."""
    finding = incident.finding
    facts = [("Rate", _rate(finding))]
    if incident.owner:
        facts.append(("Owner", incident.owner))
    if change := _change(finding):
        facts.append(("Change", change))
    facts.append(("In PostHog", _link(incident)))
    if transition != Transition.RESOLVED and finding.fix:
        facts.append(("Fix", finding.fix))
    return facts


def _query(incident: Incident, transition: Transition) -> str | None:
    """The HogQL to reproduce, except on resolution."""
    return reproduce_query(incident.finding) if transition != Transition.RESOLVED else None


def _link(incident: Incident) -> str:
    evidence = incident.finding.evidence
    if evidence is not None and evidence.examples:
        return evidence.examples[0].url
    return f"{incident.host.rstrip('/')}/project/{incident.project_id}/activity/explore"


def webhook_payload(
    incident: Incident, transition: Transition, *, sent_at: datetime
) -> dict[str, Any]:
    """The webhook's JSON body for one transition of one incident."""
    finding = incident.finding
    return {
        "type": "eventschema.incident",
        "transition": transition.value,
        "sent_at": sent_at.isoformat(),
        "incident": {
            "id": incident.id,
            "episode": incident.episode,
            "state": incident.state.value,
            "project_id": incident.project_id,
            "owner": incident.owner,
            "severity": finding.severity.value,
            "kind": finding.kind.value,
            "code": finding.code,
            "event": finding.event,
            "property": finding.property,
            "group": finding.group,
            "message": finding.message,
            "rate": _rate(finding),
            "change": _change(finding),
            "hogql": reproduce_query(finding),
            "url": _link(incident),
            "fix": finding.fix,
            "counts": finding.counts,
            "rates": finding.rates,
        },
    }


def _mrkdwn(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally (``&``, ``<``, ``>`` escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(incident: Incident, transition: Transition) -> dict[str, Any]:
    """A Slack incoming-webhook body (Block Kit) for one transition of one incident."""
    finding = incident.finding
    title = (
        f"{_TITLES[transition]}: {finding.severity.value} · {finding.kind.value} "
        f"{finding.code} · {finding.where or 'project'}"
    )
    facts = [
        f"*{label}:* <{value}|events>" if label == "In PostHog" else f"*{label}:* {_mrkdwn(value)}"
        for label, value in _facts(incident, transition)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "plain_text", "text": finding.message[:2900]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(facts)[:2900]}},
    ]
    if query := _query(incident, transition):
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"```{_mrkdwn(query)[:_SLACK_TEXT_LIMIT]}```",
                },
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"incident {incident.id} · project {incident.project_id} · "
                    f"eventschema incidents ack {incident.id}",
                }
            ],
        }
    )
    return {"text": title, "blocks": blocks}


def encoded(payload: dict[str, Any]) -> bytes:
    """A payload as the bytes that are sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _title(incident: Incident) -> str:
    finding = incident.finding
    where = finding.where or f"project {incident.project_id}"
    return f"[eventschema] {finding.kind.value} {finding.code} on {where}"[:250]


def _facts_markdown(incident: Incident, transition: Transition) -> str:
    lines = [markdown_text(incident.finding.message), ""]
    for label, value in _facts(incident, transition):
        shown = value if label == "In PostHog" else markdown_text(value)
        lines.append(f"- **{label}:** {shown}")
    if query := _query(incident, transition):
        lines += ["", "```sql", query, "```"]
    return "\n".join(lines)


def github_issue(incident: Incident, transition: Transition) -> dict[str, Any]:
    """The issue of an incident: its title, body and labels (created, then kept up to date)."""
    finding = incident.finding
    footer = (
        f"\n\n---\nIncident {incident.id} of project {incident.project_id}, kept by "
        f"eventschema's audit (state: {incident.state.value}); "
        f"eventschema incidents ack {incident.id} to own it."
    )
    return {
        "title": _title(incident),
        "body": (_facts_markdown(incident, transition) + footer)[:60_000],
        "labels": ["eventschema", f"severity:{finding.severity.value}"],
    }


def github_comment(incident: Incident, transition: Transition) -> dict[str, Any]:
    """The comment posted on an incident's issue when it escalates, resolves or comes back."""
    heading = {
        Transition.OPENED: "Found again by the audit: reopened.",
        Transition.ESCALATED: f"Escalated to {incident.severity.value}.",
        Transition.RESOLVED: f"Resolved: {incident.note or 'the latest audit no longer finds it'}.",
    }[transition]
    return {"body": (heading + "\n\n" + _facts_markdown(incident, transition))[:60_000]}


def email_message(
    incident: Incident,
    transition: Transition,
    *,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
) -> EmailMessage:
    """A plain-text mail for one transition of one incident."""
    finding = incident.finding
    mail = EmailMessage()
    # Names come from the project: control characters are spelled out (no header injection).
    mail["Subject"] = printable(
        f"{_TITLES[transition]}: {finding.severity.value} · {_title(incident)}"
    )
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Message-ID"] = message_id
    lines = [finding.message, ""]
    lines += [f"{label}: {value}" for label, value in _facts(incident, transition)]
    if query := _query(incident, transition):
        lines += ["", "Reproduce in PostHog's SQL editor:", query]
    lines += [
        "",
        f"Incident {incident.id} of project {incident.project_id} "
        f"(eventschema incidents ack {incident.id}).",
    ]
    mail.set_content("\n".join(lines))
    return mail


def violation_event(incident: Incident, transition: Transition, *, uuid: str) -> dict[str, Any]:
    """The ``$eventschema_violation`` event of one transition (a batch item for ``/batch/``)."""
    finding = incident.finding
    return {
        "event": VIOLATION_EVENT,
        "distinct_id": "eventschema",
        "uuid": uuid,
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {
            "transition": transition.value,
            "incident_id": incident.id,
            "episode": incident.episode,
            "severity": finding.severity.value,
            "audit": finding.kind.value,
            "code": finding.code,
            "violating_event": finding.event,
            "violating_property": finding.property,
            "property_group": finding.group,
            "owner": incident.owner,
            "rate": finding.rates.get("violations"),
            "message": finding.message,
            "$process_person_profile": False,
        },
    }


def annotation(incident: Incident, transition: Transition) -> dict[str, Any]:
    """The project annotation of one transition (shown on PostHog's charts)."""
    finding = incident.finding
    content = (
        f"eventschema {transition.value}: {finding.severity.value} {finding.kind.value} "
        f"{finding.code} on {finding.where or 'the project'} (incident {incident.id})"
    )
    return {
        "content": printable(content)[:_ANNOTATION_LIMIT],
        "date_marker": datetime.now(UTC).isoformat(),
        "scope": "project",
        "creation_type": "USR",
    }
