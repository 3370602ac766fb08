"""HTTP/1.1 connections: uvicorn's h11 protocol, with a deadline for every request to arrive.

uvicorn closes a keep-alive connection that stays silent `timeout_keep_alive` seconds after a
response, but it starts no clock before a connection's first request, and any byte received
stops the clock. A client that connects and sends nothing, or sends a request line and never
finishes its headers, would hold its connection (and a place under `limit_concurrency`) forever.
`IdleClosingH11Protocol` gives each request `timeout_keep_alive` seconds, from the connection's
start or the previous response, for its headers to arrive in full; otherwise it closes the
connection. A request whose headers arrived runs as long as it needs.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["IdleClosingH11Protocol"]


class IdleClosingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose next request does not arrive."""

    _deadline: asyncio.TimerHandle | None = None
    _awaited_after: object = None

    def connection_made(  # type: ignore[override]  # as uvicorn's own signature
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._await_request()

    def on_response_complete(self) -> None:
        # Armed first: a pipelined request that uvicorn starts inside the call must see it.
        self._await_request()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _await_request(self) -> None:
        self._cancel_deadline()
        # uvicorn makes a new request cycle once a request's headers are complete.
        self._awaited_after = self.cycle
        self._deadline = self.loop.call_later(self.timeout_keep_alive, self._close_if_idle)

    def _close_if_idle(self) -> None:
        self._deadline = None
        if self.cycle is self._awaited_after and not self.transport.is_closing():
            self.transport.close()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
