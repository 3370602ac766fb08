"""Local stand-ins for Slack, a webhook receiver: they record what arrives and can fail on cue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request that reached the receiver."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What a receiver accepted (``accepted``), everything it saw (``seen``), and how many of
    the next requests it answers with ``fail_status``."""

    url: str
    accepted: list[Received] = field(default_factory=list)
    seen: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver on a free loopback port, for the duration of the block."""
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            item = Received(self.path, dict(self.headers.items()), body)
            with lock:
                state.seen.append(item)
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
                else:
                    state.accepted.append(item)
            self.send_response(state.fail_status if failing else 200)
            if failing and state.fail_status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/secret-path"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
