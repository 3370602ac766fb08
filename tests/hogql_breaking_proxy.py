"""A loopback proxy to the sandbox that breaks every HogQL query (shared by the test packages)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

__all__ = ["BROKEN_HOGQL", "BreakingProxy", "hogql_breaking_proxy"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
BROKEN_HOGQL = "SELECT count( FROM events"


class BreakingProxy:
    """Where the proxy listens, and how many queries it broke."""

    def __init__(self) -> None:
        self.url = ""
        self.broken = 0


@contextmanager
def hogql_breaking_proxy(upstream: str) -> Iterator[BreakingProxy]:
    """A loopback proxy to the sandbox that turns every HogQL query into one with a syntax
    error, so the sandbox's own parser answers 400 as PostHog does; everything else passes."""
    proxy = BreakingProxy()
    http = httpx.Client(base_url=upstream, timeout=60)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.command == "POST" and self.path.split("?")[0].endswith("/query/"):
                request = json.loads(body)
                request["query"]["query"] = BROKEN_HOGQL
                body = json.dumps(request).encode()
                proxy.broken += 1
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            reply = http.request(self.command, self.path, headers=headers, content=body)
            self.send_response(reply.status_code)
            for name in ("content-type", "retry-after"):
                if name in reply.headers:
                    self.send_header(name, reply.headers[name])
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: a test reads what the tool under test says, not the proxy's log."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield proxy
    finally:
        httpd.shutdown()
        httpd.server_close()
        http.close()
