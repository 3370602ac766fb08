"""Local stand-ins for Slack, a webhook receiver and GitHub's issues API: they record what
arrives and can fail on cue."""

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

    method: str
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
    base: str = ""
    accepted: list[Received] = field(default_factory=list)
    seen: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)

    def github_answer(self, item: Received) -> tuple[int, dict[str, Any]]:
        """What GitHub's issues API answers (issues kept in ``issues``)."""
        parts = item.path.strip("/").split("/")  # repos/OWNER/REPO/issues[/N[/comments]]
        data = item.json()
        if item.method == "POST" and len(parts) == 4:
            number = len(self.issues) + 1
            self.issues[number] = {**data, "state": "open", "comments": []}
            return 201, {"number": number, "html_url": f"https://github.test/issues/{number}"}
        issue = self.issues[int(parts[4])]
        if item.method == "PATCH":
            issue.update(data)
            return 200, {"number": int(parts[4])}
        issue["comments"].append(data["body"])
        return 201, {"id": len(issue["comments"])}


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver on a free loopback port, for the duration of the block."""
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            item = Received(self.command, self.path, dict(self.headers.items()), body)
            status, answer = 200, {"ok": True}
            with lock:
                state.seen.append(item)
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
                    status = state.fail_status
                else:
                    state.accepted.append(item)
                    if "/repos/" in self.path:
                        status, answer = state.github_answer(item)
            text = json.dumps(answer).encode()
            self.send_response(status)
            if failing and status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_POST = _answer
        do_PATCH = _answer

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    state.url = f"{state.base}/hooks/T000/B000/secret-path"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
