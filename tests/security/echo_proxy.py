"""A loopback proxy in front of a sandbox that answers chosen requests with an error page
echoing the request's headers, as a misconfigured proxy or a server in debug mode does.

``proxy.echo`` maps a method to the status it answers with: 4xx in PostHog's JSON error shape
(the headers in ``detail`` and under a ``headers`` key), 5xx as an HTML page. Every other
request is passed to the sandbox as it is.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class EchoProxy:
    """The proxy's address and its echo rules (``{"POST": 400}``: every POST gets a 400)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.echo: dict[str, int] = {}
        self.echoed = 0
        self.url = ""

    def answer(self, method: str, headers: dict[str, str]) -> tuple[int, str, bytes] | None:
        """The error page for this request, or ``None`` to pass it on."""
        status = self.echo.get(method)
        if status is None:
            return None
        self.echoed += 1
        lines = "\n".join(f"{name}: {value}" for name, value in headers.items())
        if status >= 500:
            page = f"<html><body><h1>{status} Bad Gateway</h1><pre>{html.escape(lines)}</pre>"
            return status, "text/html", page.encode()
        body = {
            "type": "validation_error",
            "code": "invalid_input",
            "detail": f"rejected by the proxy; the request carried:\n{lines}",
            "attr": None,
            "headers": headers,
        }
        return status, "application/json", json.dumps(body).encode()


@contextmanager
def echo_proxy(upstream: str) -> Iterator[EchoProxy]:
    """Serve an :class:`EchoProxy` for ``upstream`` on a free loopback port."""
    proxy = EchoProxy(upstream)
    http = httpx.Client(base_url=upstream, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            echoed = proxy.answer(self.command, headers)
            if echoed is None:
                forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
                reply = http.request(self.command, self.path, headers=forwarded, content=body)
                status, kind, content = (
                    reply.status_code,
                    reply.headers.get("content-type", "application/json"),
                    reply.content,
                )
            else:
                status, kind, content = echoed
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the request lines carry nothing worth a test's output."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        http.close()
