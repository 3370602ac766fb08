"""Sending the messages the incidents file owes, with retries, and recording the outcome.

Each pending message (``IncidentStore.pending``) is POSTed to its target. 429 and 5xx answers
and connection failures are retried with exponential backoff (tenacity; a ``Retry-After`` of up
to :data:`MAX_RETRY_AFTER` seconds is honoured); a message that still fails stays pending with
its error and is tried again on the next run, and so do the target's other messages (a target
that failed one message is not tried again in the same run). A message is marked delivered
only after a 2xx answer, and carries the same ``X-Eventschema-Delivery`` id on every attempt,
so a receiver can drop the rare duplicate of a request whose answer was lost.

Nothing secret reaches an error or a log: failures name the target and the HTTP status.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Final
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, uuid5

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from eventschema_tools.alerts.incidents import IncidentStore, OutboxMessage, Transition
from eventschema_tools.alerts.messages import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    annotation,
    email_message,
    encoded,
    github_comment,
    github_issue,
    signature,
    slack_message,
    violation_event,
    webhook_payload,
)
from eventschema_tools.alerts.targets import NotifyTarget

__all__ = [
    "ATTEMPTS",
    "MAX_RETRY_AFTER",
    "DeliveryError",
    "DeliveryReport",
    "capture_host",
    "deliver_pending",
    "post_json",
    "send_mail",
    "with_retries",
]

ATTEMPTS: Final = 3
"""Attempts per message and run."""
MAX_RETRY_AFTER: Final = 30.0
GITHUB_API_VERSION: Final = "2022-11-28"


class DeliveryError(Exception):
    """A message could not be delivered; the text names the target's answer, never a secret."""


class _Retryable(DeliveryError):
    """A failure worth another attempt (429, 5xx, no connection)."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class _Refused(DeliveryError):
    """A failure another attempt will not fix (4xx other than 429)."""


@dataclass
class DeliveryReport:
    """What one delivery run did.

    Attributes:
        delivered: Messages delivered, as ``(incident id, transition, target)``.
        failed: Messages still pending after this run, with the reason.
    """

    delivered: list[tuple[int, str, str]] = field(default_factory=list)
    failed: list[tuple[int, str, str, str]] = field(default_factory=list)


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _Retryable) and error.wait is not None:
        return min(error.wait, MAX_RETRY_AFTER)
    return float(wait_exponential(multiplier=0.5, max=8)(state))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code == 429 or response.status_code >= 500:
        raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
    if response.status_code >= 400:
        raise _Refused(f"HTTP {response.status_code}")
    return response


def _request(
    http: httpx.Client, method: str, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    try:
        return _checked(http.request(method, url, content=body, headers=headers))
    except httpx.TransportError as exc:
        raise _Retryable(f"no answer ({type(exc).__name__})") from None


def _post(http: httpx.Client, target: NotifyTarget, message: OutboxMessage) -> None:
    """Slack and webhook: one POST of the message (signed for a webhook)."""
    incident, transition = message.incident, message.transition
    payload = (
        slack_message(incident, transition)
        if target.kind == "slack"
        else webhook_payload(incident, transition, sent_at=datetime.now(UTC))
    )
    post_json(http, target, encoded(payload), f"{incident.project_id}-{message.id}")


def post_json(http: httpx.Client, target: NotifyTarget, body: bytes, delivery: str) -> None:
    """POST ``body`` to a Slack or webhook target (signed for a webhook).

    Raises:
        DeliveryError: the target refused it or did not answer (``retryable`` says whether
            another attempt may help).
    """
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery}
    if target.secret is not None:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = signature(target.secret.get_secret_value(), stamp, body)
    _request(http, "POST", target.url.get_secret_value(), body, headers)


def send_mail(target: NotifyTarget, mail: EmailMessage) -> None:
    """Send one mail through an email target's SMTP server (4xx answers are retryable)."""
    where = urlsplit(target.url.get_secret_value())
    host, port = where.hostname or "", where.port or 587
    factory = smtplib.SMTP_SSL if target.security == "ssl" else smtplib.SMTP
    try:
        with factory(host, port, timeout=20) as smtp:
            if target.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if target.user and target.secret is not None:
                smtp.login(target.user, target.secret.get_secret_value())
            smtp.send_message(mail)
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            raise _Retryable(f"SMTP {error.smtp_code}") from None
        raise _Refused(f"SMTP {error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:
        raise _Retryable(f"SMTP: {type(error).__name__}") from None


def with_retries(send: Callable[[], None], attempts: int = ATTEMPTS) -> int:
    """Run ``send`` until it succeeds, retrying retryable failures with backoff.

    Returns:
        How many attempts it took.

    Raises:
        DeliveryError: the last failure, when every attempt failed or one was refused.
    """
    retrying = Retrying(
        retry=retry_if_exception(lambda error: isinstance(error, _Retryable)),
        stop=stop_after_attempt(attempts),
        wait=_wait,
        reraise=True,
    )
    tried = 0
    for attempt in retrying:
        with attempt:
            tried += 1
            send()
    return tried


def _email(target: NotifyTarget, message: OutboxMessage) -> None:
    """Email: one mail per message."""
    incident = message.incident
    mail = email_message(
        incident,
        message.transition,
        sender=target.sender,
        recipients=target.recipients,
        message_id=f"<incident-{incident.project_id}-{message.id}@eventschema>",
    )
    send_mail(target, mail)


def capture_host(host: str) -> str:
    """Where events are sent for a PostHog app host (PostHog Cloud captures on ``*.i.``)."""
    parts = urlsplit(host)
    if parts.hostname in ("us.posthog.com", "eu.posthog.com", "app.posthog.com"):
        region = "us" if parts.hostname == "app.posthog.com" else parts.hostname.split(".")[0]
        return f"{parts.scheme}://{region}.i.posthog.com"
    return host.rstrip("/")


def _posthog(http: httpx.Client, target: NotifyTarget, message: OutboxMessage) -> None:
    """PostHog: a ``$eventschema_violation`` event (its UUID fixed per message, so a retry is
    the same event), then an annotation on the project (last: it is not idempotent)."""
    incident, transition = message.incident, message.transition
    host = target.url.get_secret_value()
    key = target.secret.get_secret_value() if target.secret else ""
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    project = _request(http, "GET", f"{host}/api/projects/{target.project}/", b"", auth).json()
    event = violation_event(
        incident,
        transition,
        uuid=str(uuid5(NAMESPACE_URL, f"{host}/{target.project}/{message.id}")),
    )
    batch = encoded({"api_key": project["api_token"], "batch": [event]})
    _request(
        http, "POST", f"{capture_host(host)}/batch/", batch, {"Content-Type": "application/json"}
    )
    note = encoded(annotation(incident, transition))
    _request(http, "POST", f"{host}/api/projects/{target.project}/annotations/", note, auth)


def _github(
    http: httpx.Client, target: NotifyTarget, store: IncidentStore, message: OutboxMessage
) -> None:
    """GitHub: one issue per incident, created once; later transitions update it (idempotent
    requests first) and comment on it (last, so a retry never comments twice)."""
    incident, transition = message.incident, message.transition
    repo = target.url.get_secret_value()
    token = target.secret.get_secret_value() if target.secret else ""
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": GITHUB_API_VERSION,
        "Content-Type": "application/json",
    }
    issue = github_issue(incident, transition)
    number = store.ref(incident.id, target.name)
    if number is None:
        created = _request(http, "POST", f"{repo}/issues", encoded(issue), headers)
        number = str(created.json()["number"])
        store.set_ref(incident.id, target.name, number)
        if transition == Transition.OPENED:
            return
    state = "closed" if transition == Transition.RESOLVED else "open"
    update = {**issue, "state": state}
    if state == "closed":
        update["state_reason"] = "completed"
    _request(http, "PATCH", f"{repo}/issues/{number}", encoded(update), headers)
    if transition == Transition.OPENED and message.incident.episode == 1:
        return  # the issue was made for this episode: nothing to add
    comment = encoded(github_comment(incident, transition))
    _request(http, "POST", f"{repo}/issues/{number}/comments", comment, headers)


def deliver_pending(
    store: IncidentStore,
    targets: Sequence[NotifyTarget],
    *,
    http: httpx.Client | None = None,
    attempts: int = ATTEMPTS,
) -> DeliveryReport:
    """Send every pending message whose target is configured; record each outcome.

    Messages for targets not in ``targets`` stay pending (they go out once that target is
    configured again).
    """
    by_name: dict[str, NotifyTarget] = {target.name: target for target in targets}
    report = DeliveryReport()
    down: dict[str, str] = {}
    client = http or httpx.Client(timeout=20, follow_redirects=False)
    try:
        for message in store.pending():
            target = by_name.get(message.target)
            if target is None:
                continue
            if target.name in down:
                # The target failed a message already: the rest wait for the next run.
                report.failed.append(
                    (message.incident.id, message.transition.value, target.name, down[target.name])
                )
                continue
            error = _deliver(store, client, target, message, attempts, report)
            if error is not None:
                down[target.name] = error
    finally:
        if http is None:
            client.close()
    return report


def _deliver(
    store: IncidentStore,
    http: httpx.Client,
    target: NotifyTarget,
    message: OutboxMessage,
    attempts: int,
    report: DeliveryReport,
) -> str | None:
    """Deliver one message; return the error when it could not be."""
    incident, transition = message.incident, message.transition
    tried = [0]

    def send() -> None:
        tried[0] += 1
        if target.kind == "github":
            _github(http, target, store, message)
        elif target.kind == "email":
            _email(target, message)
        elif target.kind == "posthog":
            _posthog(http, target, message)
        else:
            _post(http, target, message)

    try:
        with_retries(send, attempts)
    except DeliveryError as error:
        store.failed(message, f"{target.name}: {error}", attempts=tried[0])
        report.failed.append((incident.id, transition.value, target.name, str(error)))
        return str(error)
    store.delivered(message, datetime.now(UTC))
    report.delivered.append((incident.id, transition.value, target.name))
    return None
