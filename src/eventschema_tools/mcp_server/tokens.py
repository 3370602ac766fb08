"""Confirmation tokens: proof that a destructive call was previewed before it runs.

A client that cannot ask the user (no MCP elicitation) gets a preview instead of the change:
the effect and a token. Only a second call that carries that token does the write. The token
is an HMAC, under a random secret of this server process, over a canonical JSON of the tool,
its arguments and the effect the preview showed; so it is refused for another tool, other
arguments, or a project that changed since the preview. It lasts five minutes and works once.

A model cannot mint one from text it read (a prompt injection in an event description says
``confirm=true`` in vain): tokens come only from previews, and every preview is a result the
client shows.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["TOKEN_LIFETIME", "ConfirmTokens", "canonical_call"]

TOKEN_LIFETIME = 300.0
"""Seconds a confirmation token stays valid."""

# Outstanding tokens kept at most; the oldest go first (a client that previews without end
# cannot grow the server's memory).
_MAX_OUTSTANDING = 256


def _now() -> float:
    return time.monotonic()


def canonical_call(tool: str, arguments: Mapping[str, Any], effect: Mapping[str, Any]) -> bytes:
    """The bytes a token is bound to: one spelling for the same tool, arguments and effect."""
    call = {"tool": tool, "arguments": dict(arguments), "effect": dict(effect)}
    text = json.dumps(call, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return text.encode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class ConfirmTokens:
    """Issue and redeem this server's confirmation tokens.

    Args:
        lifetime: seconds a token stays valid.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self, lifetime: float = TOKEN_LIFETIME, clock: Callable[[], float] | None = None
    ) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._issued: dict[str, float] = {}
        self._used: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"ConfirmTokens(outstanding={len(self._issued)})"

    def _time(self) -> float:
        return (self._clock or _now)()

    def _mac(self, nonce: str, call: bytes) -> str:
        return _b64(hmac.new(self._secret, nonce.encode("ascii") + b"\n" + call, "sha256").digest())

    def _forget_expired(self, now: float) -> None:
        for ledger in (self._issued, self._used):
            for nonce in [n for n, expires in ledger.items() if expires < now]:
                del ledger[nonce]
        while len(self._issued) >= _MAX_OUTSTANDING:
            del self._issued[next(iter(self._issued))]

    def issue(self, call: bytes) -> str:
        """A new token for ``call`` (see :func:`canonical_call`)."""
        now = self._time()
        self._forget_expired(now)
        nonce = secrets.token_urlsafe(16)
        self._issued[nonce] = now + self.lifetime
        return f"{nonce}.{self._mac(nonce, call)}"

    def redeem(self, token: str, call: bytes) -> str | None:
        """Use ``token`` for ``call``: ``None`` when it is valid (it is then spent), else why not.

        Checked in this order: made by this server for this very call, not used yet, not
        expired. The reason is one clause, e.g. ``it was already used``.
        """
        nonce, _, mac = token.strip().partition(".")
        expected = self._mac(nonce, call) if nonce.isascii() else ""
        if not mac or not hmac.compare_digest(mac.encode(), expected.encode()):
            return (
                "it does not belong to this call: it was issued for another tool or other "
                "arguments, the project changed since the preview, or this server did not "
                "issue it"
            )
        if nonce in self._used:
            return "it was already used"
        expires = self._issued.pop(nonce, None)
        if expires is None or self._time() > expires:
            return f"it expired (tokens last {int(self.lifetime // 60)} minutes)"
        self._used[nonce] = expires
        return None
