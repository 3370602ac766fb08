"""Local stand-ins for Slack, a webhook receiver and GitHub's issues API: they record what
arrives and can fail on cue."""

from __future__ import annotations

import json
import socketserver
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
    with _serving(server):
        yield state


@dataclass
class MailServer:
    """What a local SMTP server accepted, and how many sessions it refuses with ``451``."""

    host: str
    port: int
    mails: list[str] = field(default_factory=list)
    sessions: int = 0
    fail_next: int = 0


@contextmanager
def smtp_receiver() -> Iterator[MailServer]:
    """A plain SMTP server (no TLS) on a free loopback port, for the duration of the block."""
    state = MailServer("127.0.0.1", 0)
    lock = threading.Lock()

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            with lock:
                state.sessions += 1
                refuse = state.fail_next > 0
                state.fail_next -= refuse
            self.reply("220 test ESMTP")
            while line := self.rfile.readline().decode(errors="replace").strip():
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.reply("250 test")
                elif verb == "MAIL" and refuse:
                    self.reply("451 try again later")
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    self.reply("250 ok")
                elif verb == "DATA":
                    self.reply("354 go on")
                    body = []
                    while (part := self.rfile.readline().decode(errors="replace")) not in (
                        ".\r\n",
                        "",
                    ):
                        body.append(part)
                    with lock:
                        state.mails.append("".join(body))
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    with _serving(server):
        yield state


@contextmanager
def _serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve ``server`` on a background thread for the duration of the block, then close it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
