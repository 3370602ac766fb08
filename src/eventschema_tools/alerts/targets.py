"""Where incident messages go, read from the environment (never from the plan file).

========== ============================================================================
Target     Settings
========== ============================================================================
``slack``  ``EVENTSCHEMA_SLACK_WEBHOOK_URL``: a Slack incoming webhook (Block Kit message)
``webhook`` ``EVENTSCHEMA_WEBHOOK_URL`` and ``EVENTSCHEMA_WEBHOOK_SECRET`` (16 characters or
           more): a JSON POST signed with HMAC-SHA256 (``alerts.messages``)
``github`` ``EVENTSCHEMA_GITHUB_REPO`` (``owner/name``) and ``EVENTSCHEMA_GITHUB_TOKEN`` (may
           create issues); ``EVENTSCHEMA_GITHUB_API_URL`` for GitHub Enterprise: one issue per
           incident, commented on, closed and reopened
``email``  ``EVENTSCHEMA_SMTP_HOST``, ``EVENTSCHEMA_SMTP_FROM``, ``EVENTSCHEMA_SMTP_TO`` (comma
           separated); ``EVENTSCHEMA_SMTP_PORT`` (587), ``EVENTSCHEMA_SMTP_SECURITY``
           (``starttls``, ``ssl`` or ``none``), ``EVENTSCHEMA_SMTP_USER`` and
           ``EVENTSCHEMA_SMTP_PASSWORD``: a plain-text mail per transition
``posthog`` the audited project's own connection (:func:`posthog_target`): a
           ``$eventschema_violation`` event and an annotation per transition
========== ============================================================================

A target may carry a label after a colon (``slack:billing``): its settings then come from the
same variables with ``_BILLING`` appended (``EVENTSCHEMA_SLACK_WEBHOOK_URL_BILLING``), so one
kind of target can reach several channels or teams (see ``alerts.routing``).

URLs and secrets are :class:`~pydantic.SecretStr`: no ``repr``, log line or error shows them
(a Slack webhook URL is itself a credential).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from eventschema_tools.errors import InvalidInputError

__all__ = ["TARGET_KINDS", "NotifyTarget", "notify_targets", "posthog_target", "target_names"]

TargetKind = Literal["slack", "webhook", "github", "email", "posthog"]
TARGET_KINDS: Final[tuple[TargetKind, ...]] = ("slack", "webhook", "github", "email", "posthog")
SmtpSecurity = Literal["starttls", "ssl", "none"]
_URL_VARIABLES: Final = {
    "slack": "EVENTSCHEMA_SLACK_WEBHOOK_URL",
    "webhook": "EVENTSCHEMA_WEBHOOK_URL",
}
_SECRET_VARIABLE: Final = "EVENTSCHEMA_WEBHOOK_SECRET"  # noqa: S105 (a variable's name)
_GITHUB_REPO: Final = "EVENTSCHEMA_GITHUB_REPO"
_GITHUB_TOKEN: Final = "EVENTSCHEMA_GITHUB_TOKEN"  # noqa: S105 (a variable's name)
_GITHUB_API: Final = "EVENTSCHEMA_GITHUB_API_URL"
_REPO: Final = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_MIN_SECRET: Final = 16


@dataclass(frozen=True)
class NotifyTarget:
    """One place messages go.

    Attributes:
        kind: ``slack``, ``webhook``, ``github`` or ``email``.
        name: The kind, or ``kind:label`` for a labelled target (what messages are queued to).
        url: Where to POST (secret); for ``github``, the repository's API URL; for ``email``,
            ``smtp://host:port``.
        secret: The HMAC key of a ``webhook`` target, the token of a ``github`` one, the SMTP
            password of an ``email`` one (secret).
        user: The SMTP user (``email``).
        sender: The From address (``email``).
        recipients: The To addresses (``email``).
        security: ``starttls``, ``ssl`` or ``none`` (``email``).
        project: The project written back to (``posthog``).
    """

    kind: TargetKind
    name: str
    url: SecretStr = field(repr=False)
    secret: SecretStr | None = field(default=None, repr=False)
    user: str | None = field(default=None, repr=False)
    sender: str = ""
    recipients: tuple[str, ...] = ()
    security: SmtpSecurity = "starttls"
    project: str = ""


_LABEL: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VARIABLE: Final = re.compile(r"\bEVENTSCHEMA_[A-Z_]*[A-Z]\b")


def target_names(names: Sequence[str]) -> list[tuple[TargetKind, str]]:
    """The targets named (``slack``, ``slack:billing``), each once, as ``(kind, label)``.

    Raises:
        InvalidInputError: an unknown kind, or a label that is not lower-case letters,
            digits, ``-`` and ``_``.
    """
    found: list[tuple[TargetKind, str]] = []
    for raw in dict.fromkeys(name.strip().lower() for name in names if name.strip()):
        kind_text, _, label = raw.partition(":")
        kind = next((kind for kind in TARGET_KINDS if kind == kind_text), None)
        if kind is None:
            raise InvalidInputError(
                f"unknown notify target {raw!r}: choose from {', '.join(TARGET_KINDS)} "
                "(optionally with a label: slack:billing)",
                [("notify", f"unknown: {raw}")],
            )
        if ":" in raw and not _LABEL.match(label):
            raise InvalidInputError(
                f"bad target label in {raw!r}: use lower-case letters, digits, - and _",
                [("notify", f"bad label: {raw}")],
            )
        found.append((kind, label))
    return found


def notify_targets(
    names: Sequence[str],
    environ: Mapping[str, str] | None = None,
    *,
    posthog: NotifyTarget | None = None,
) -> list[NotifyTarget]:
    """The targets named (``["slack", "webhook"]``), with their settings from the environment.

    The ``posthog`` target writes back to the audited project: pass ``posthog`` (from
    :func:`posthog_target`) when it is named.

    Raises:
        InvalidInputError: an unknown target, a missing or malformed setting (the message names
            the variable, never its value).
    """
    base = os.environ if environ is None else environ
    targets: list[NotifyTarget] = []
    for kind, label in target_names(names):
        if kind == "posthog":
            if posthog is None:
                raise InvalidInputError(
                    "the posthog target writes back to the audited project and needs its "
                    "connection: pass posthog=posthog_target(client)",
                    [("notify", "posthog without a connection")],
                )
            targets.append(posthog)
            continue
        name = f"{kind}:{label}" if label else kind
        env = _Labelled(base, label)
        try:
            targets.append(_target(kind, name, env))
        except InvalidInputError as error:
            raise env.renamed(error) from None
    return targets


def _target(kind: TargetKind, name: str, env: Mapping[str, str]) -> NotifyTarget:
    if kind == "github":
        return _github(env, name)
    if kind == "email":
        return _email(env, name)
    variable = _URL_VARIABLES[kind]
    url = env.get(variable, "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problem = "is not set" if not url else "is not an http(s) URL"
        raise InvalidInputError(
            f"the {kind} target needs {variable}, which {problem}: set it to the "
            f"{'incoming webhook URL Slack gave you' if kind == 'slack' else 'URL to POST to'}",
            [(variable, problem)],
        )
    secret = None
    if kind == "webhook":
        value = env.get(_SECRET_VARIABLE, "")
        if len(value) < _MIN_SECRET:
            raise InvalidInputError(
                f"the webhook target signs its messages with {_SECRET_VARIABLE}, which must "
                f"hold at least {_MIN_SECRET} characters (e.g. `openssl rand -hex 32`)",
                [(_SECRET_VARIABLE, "missing or too short")],
            )
        secret = SecretStr(value)
    return NotifyTarget(kind, name, SecretStr(url), secret)


def _github(env: Mapping[str, str], name: str) -> NotifyTarget:
    repo = env.get(_GITHUB_REPO, "").strip()
    if not _REPO.match(repo):
        raise InvalidInputError(
            f"the github target needs {_GITHUB_REPO} as owner/name (e.g. acme/analytics), "
            f"which {'is not set' if not repo else 'is not of that form'}",
            [(_GITHUB_REPO, "not owner/name")],
        )
    token = env.get(_GITHUB_TOKEN, "").strip()
    if not token:
        raise InvalidInputError(
            f"the github target needs {_GITHUB_TOKEN}: a token that may create issues in {repo}",
            [(_GITHUB_TOKEN, "is not set")],
        )
    api = env.get(_GITHUB_API, "").strip() or "https://api.github.com"
    if urlsplit(api).scheme not in ("http", "https"):
        raise InvalidInputError(
            f"{_GITHUB_API} is not an http(s) URL", [(_GITHUB_API, "not a URL")]
        )
    return NotifyTarget(
        "github", name, SecretStr(f"{api.rstrip('/')}/repos/{repo}"), SecretStr(token)
    )


_ADDRESS: Final = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+$")


def _email(env: Mapping[str, str], name: str) -> NotifyTarget:
    def need(variable: str, what: str) -> str:
        value = env.get(variable, "").strip()
        if not value:
            raise InvalidInputError(
                f"the email target needs {variable}: {what}", [(variable, "is not set")]
            )
        return value

    host = need("EVENTSCHEMA_SMTP_HOST", "the SMTP server's host name")
    sender = need("EVENTSCHEMA_SMTP_FROM", "the From address, e.g. alerts@example.com")
    recipients = tuple(
        item.strip()
        for item in need("EVENTSCHEMA_SMTP_TO", "the addresses to mail, comma-separated").split(",")
        if item.strip()
    )
    for address in (sender, *recipients):
        if not _ADDRESS.match(address):
            raise InvalidInputError(
                f"{address!r} is not a mail address (EVENTSCHEMA_SMTP_FROM / EVENTSCHEMA_SMTP_TO)",
                [("EVENTSCHEMA_SMTP_TO", "not an address")],
            )
    security = env.get("EVENTSCHEMA_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if security not in ("starttls", "ssl", "none"):
        raise InvalidInputError(
            f"EVENTSCHEMA_SMTP_SECURITY is {security!r}: choose starttls, ssl or none",
            [("EVENTSCHEMA_SMTP_SECURITY", "unknown")],
        )
    default_port = "465" if security == "ssl" else "587"
    port = env.get("EVENTSCHEMA_SMTP_PORT", default_port).strip() or default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInputError(
            f"EVENTSCHEMA_SMTP_PORT is {port!r}: give a port number",
            [("EVENTSCHEMA_SMTP_PORT", "not a port")],
        )
    password = env.get("EVENTSCHEMA_SMTP_PASSWORD", "")
    return NotifyTarget(
        "email",
        name,
        SecretStr(f"smtp://{host}:{port}"),
        SecretStr(password) if password else None,
        user=env.get("EVENTSCHEMA_SMTP_USER", "").strip() or None,
        sender=sender,
        recipients=recipients,
        security="ssl" if security == "ssl" else "none" if security == "none" else "starttls",
    )


class _Labelled(Mapping[str, str]):
    """The settings of a labelled target: ``NAME_LABEL`` read for ``NAME``."""

    def __init__(self, env: Mapping[str, str], label: str) -> None:
        self._env = env
        self._suffix = f"_{label.upper().replace('-', '_')}" if label else ""

    def __getitem__(self, key: str) -> str:
        return self._env[key + self._suffix]

    def __iter__(self) -> Iterator[str]:
        return (key.removesuffix(self._suffix) for key in self._env if key.endswith(self._suffix))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def renamed(self, error: InvalidInputError) -> InvalidInputError:
        """``error`` naming this label's variables (``EVENTSCHEMA_SMTP_TO_BILLING``)."""
        if not self._suffix:
            return error

        def rename(text: str) -> str:
            return _VARIABLE.sub(lambda found: found.group(0) + self._suffix, text)

        return InvalidInputError(
            rename(str(error)), [(rename(field), problem) for field, problem in error.problems]
        )


def posthog_target(host: str, api_key: str, project_id: str) -> NotifyTarget:
    """The ``posthog`` target of a project: incidents written back as events and annotations
    with the project's own connection (the key needs ``project:read`` and
    ``annotation:write``)."""
    return NotifyTarget(
        "posthog", "posthog", SecretStr(host.rstrip("/")), SecretStr(api_key), project=project_id
    )
