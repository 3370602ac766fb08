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
========== ============================================================================

URLs and secrets are :class:`~pydantic.SecretStr`: no ``repr``, log line or error shows them
(a Slack webhook URL is itself a credential).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from eventschema_tools.errors import InvalidInputError

__all__ = ["TARGET_KINDS", "NotifyTarget", "notify_targets", "target_kinds"]

TargetKind = Literal["slack", "webhook", "github"]
TARGET_KINDS: Final[tuple[TargetKind, ...]] = ("slack", "webhook", "github")
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
        kind: ``slack``, ``webhook`` or ``github``.
        url: Where to POST (secret); for ``github``, the repository's API URL.
        secret: The HMAC key of a ``webhook`` target, the token of a ``github`` one (secret).
    """

    kind: TargetKind
    url: SecretStr = field(repr=False)
    secret: SecretStr | None = field(default=None, repr=False)


def target_kinds(names: Sequence[str]) -> list[TargetKind]:
    """The target kinds named, each once, in order.

    Raises:
        InvalidInputError: a name is not a target kind.
    """
    kinds: list[TargetKind] = []
    for raw in dict.fromkeys(name.strip().lower() for name in names if name.strip()):
        if raw not in TARGET_KINDS:
            raise InvalidInputError(
                f"unknown notify target {raw!r}: choose from {', '.join(TARGET_KINDS)}",
                [("notify", f"unknown: {raw}")],
            )
        kinds.append("slack" if raw == "slack" else "webhook" if raw == "webhook" else "github")
    return kinds


def notify_targets(
    names: Sequence[str], environ: Mapping[str, str] | None = None
) -> list[NotifyTarget]:
    """The targets named (``["slack", "webhook"]``), with their settings from the environment.

    Raises:
        InvalidInputError: an unknown target, a missing or malformed setting (the message names
            the variable, never its value).
    """
    env = os.environ if environ is None else environ
    targets: list[NotifyTarget] = []
    for kind in target_kinds(names):
        if kind == "github":
            targets.append(_github(env))
            continue
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
        targets.append(NotifyTarget(kind, SecretStr(url), secret))
    return targets


def _github(env: Mapping[str, str]) -> NotifyTarget:
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
    return NotifyTarget("github", SecretStr(f"{api.rstrip('/')}/repos/{repo}"), SecretStr(token))
