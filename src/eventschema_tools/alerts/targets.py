"""Where incident messages go, read from the environment (never from the plan file).

========== ============================================================================
Target     Settings
========== ============================================================================
``slack``  ``EVENTSCHEMA_SLACK_WEBHOOK_URL``: a Slack incoming webhook (Block Kit message)
``webhook`` ``EVENTSCHEMA_WEBHOOK_URL`` and ``EVENTSCHEMA_WEBHOOK_SECRET`` (16 characters or
           more): a JSON POST signed with HMAC-SHA256 (``alerts.messages``)
========== ============================================================================

URLs and secrets are :class:`~pydantic.SecretStr`: no ``repr``, log line or error shows them
(a Slack webhook URL is itself a credential).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from eventschema_tools.errors import InvalidInputError

__all__ = ["TARGET_KINDS", "NotifyTarget", "notify_targets", "target_kinds"]

TargetKind = Literal["slack", "webhook"]
TARGET_KINDS: Final[tuple[TargetKind, ...]] = ("slack", "webhook")
_URL_VARIABLES: Final = {
    "slack": "EVENTSCHEMA_SLACK_WEBHOOK_URL",
    "webhook": "EVENTSCHEMA_WEBHOOK_URL",
}
_SECRET_VARIABLE: Final = "EVENTSCHEMA_WEBHOOK_SECRET"  # noqa: S105 (a variable's name)
_MIN_SECRET: Final = 16


@dataclass(frozen=True)
class NotifyTarget:
    """One place messages go.

    Attributes:
        kind: ``slack`` or ``webhook``.
        url: Where to POST (secret).
        secret: The HMAC key of a ``webhook`` target (secret).
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
        kinds.append("slack" if raw == "slack" else "webhook")
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
