"""Serving the sandbox over HTTP with uvicorn: in a background thread, or in the foreground.

Both ways serve with the same limits, taken from the `SandboxConfig`: a host other than loopback
only with `allow_remote`, idle connections closed after `keep_alive_seconds` (also before their
first request: `connections.IdleClosingH11Protocol`), at most `max_connections` at once, request
headers held up to `max_header_bytes` while they arrive, and no WebSocket upgrades.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from eventschema_tools.sandbox.config import SandboxConfig
from eventschema_tools.sandbox.http.app import SandboxApp, create_app
from eventschema_tools.sandbox.http.connections import IdleClosingH11Protocol
from eventschema_tools.sandbox.http.remote import check_bind
from eventschema_tools.sandbox.state import Sandbox
from eventschema_tools.sandbox.storage.sdk_day import send_demo_day

_STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox being served: its base URL (no trailing slash) and its application."""

    url: str
    app: SandboxApp

    @property
    def config(self) -> SandboxConfig:
        """The configuration served."""
        return self.app.config

    @property
    def sandbox(self) -> Sandbox:
        """The shared state (store, throttle, faults) of the served app."""
        return self.app.sandbox


@contextmanager
def run_sandbox(
    config: SandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **overrides: Any,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox in a background thread for the duration of the block.

    Args:
        config: the configuration (see `create_app`).
        host: interface to bind; other than loopback only with `allow_remote=True`.
        port: port to bind; 0 picks a free one.
        **overrides: `SandboxConfig` fields, as for `create_app`.

    Yields:
        The running sandbox; `url` is e.g. `http://127.0.0.1:54321`.

    Raises:
        ConfigError: for an invalid setting, or a host other than loopback without
            `allow_remote`.
    """
    app = create_app(config, **overrides)
    try:
        check_bind(host, allow_remote=app.config.allow_remote)
        sock = bind_socket(host, port)
    except BaseException:
        app.sandbox.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    server = uvicorn.Server(_uvicorn_config(app, quiet=True))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="eventschema-sandbox", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        url = f"http://{_url_host(bound_host)}:{bound_port}"
        send_seeded_day(app, url)
        yield RunningSandbox(url=url, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
        app.sandbox.close()


def serve(
    config: SandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8010,
    on_ready: Callable[[str], None] | None = None,
    on_seeded: Callable[[str], None] | None = None,
) -> None:
    """Serve a sandbox in the foreground until interrupted (Ctrl+C).

    The socket is bound before `on_ready(url)` is called, so the URL printed is the one served
    (also with `port=0`). Raises `ConfigError` for a host other than loopback without
    `allow_remote`, `OSError` when the address cannot be bound (both checked before the data
    directory is opened) and `sqlite3.DatabaseError` for an unreadable database file. With the
    `demo-day` seed, the day is sent once the server listens and `on_seeded(message)` says how
    it went; HogQL queries that arrive meanwhile wait until it is stored.
    """
    check_bind(host, allow_remote=(config or SandboxConfig()).allow_remote)
    sock = bind_socket(host, port)
    try:
        app = create_app(config)
    except BaseException:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{_url_host(bound_host)}:{bound_port}"
    if on_ready is not None:
        on_ready(url)
    server = uvicorn.Server(_uvicorn_config(app, quiet=False))
    if app.sandbox.day_to_send:
        # A command run as soon as the server answers would otherwise query a part of the day.
        app.sandbox.day_stored.clear()

        def seed_when_listening() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.should_exit:
                app.sandbox.day_stored.set()
                return
            # Any failure is said in one line, and the server keeps serving.
            try:
                message = send_seeded_day(app, url)
            except Exception as error:
                message = f"seed demo-day: the day was not sent: {error}"
            if on_seeded is not None and message:
                on_seeded(message)

        threading.Thread(target=seed_when_listening, name="demo-day", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        app.sandbox.close()


def send_seeded_day(app: SandboxApp, url: str) -> str:
    """Send the `demo-day` seed's events through the SDK if they wait; say what happened.

    The message counts the events sent, stored and dropped by `reject` enforcement; "" when no
    day waits. It is said once the SDK has flushed: every event sent is stored or dropped by then,
    and HogQL queries held until the day was stored (see `serve`) are answered.

    Raises:
        RuntimeError: the SDK could not deliver them.
    """
    state = app.sandbox
    try:
        if not state.day_to_send:
            return ""
        state.day_to_send = False
        project = state.config.projects[0]
        before = state.events.count_events(project.id)
        sent = send_demo_day(url, project.api_token)
        stored = state.events.count_events(project.id) - before
    finally:
        state.day_stored.set()
    # Capture stores or drops each event before it answers, and only `reject` enforcement drops.
    return (
        f"seed demo-day: {sent:,} events of a simulated day sent through the PostHog SDK, "
        f"{stored:,} stored, {sent - stored:,} dropped by reject enforcement"
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app: SandboxApp, *, quiet: bool) -> uvicorn.Config:
    """uvicorn's settings: quiet in a background thread, logging requests in the foreground."""
    config = app.config
    return uvicorn.Config(
        app,
        http=IdleClosingH11Protocol,
        ws="none",
        lifespan="off",
        log_level="warning" if quiet else "info",
        access_log=not quiet,
        timeout_keep_alive=config.keep_alive_seconds,
        # uvicorn counts the connection asking as well: one more serves max_connections at once.
        limit_concurrency=config.max_connections + 1,
        h11_max_incomplete_event_size=config.max_header_bytes,
        timeout_graceful_shutdown=1 if quiet else None,
    )


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped during startup")
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start within 10 seconds")
        time.sleep(0.01)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
