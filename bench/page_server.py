"""A server process for the sandbox's list-throughput benchmark (``bench_sandbox``).

``python -m bench.page_server MODE BODY_FILE`` serves, on a free loopback port it prints as
``port N`` once it listens:

* ``sandbox``: the sandbox seeded with 100 events bound to 20 groups; it writes the body of the
  first page of 100 event schemas to ``BODY_FILE``;
* ``earlier``: the same, with the sandbox's earlier list rendering patched in;
* ``trivial``: a one-route Starlette app answering every GET with the bytes of ``BODY_FILE``.

All three run under the same uvicorn settings as ``eventschema sandbox`` (its h11 protocol, no
access log), so what differs between them is only the application.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.bench_sandbox import earlier_rendering, seed_page
from eventschema_tools.sandbox import create_app
from eventschema_tools.sandbox.http.connections import IdleClosingH11Protocol
from eventschema_tools.sandbox.http.server import bind_socket


def _trivial(body: bytes) -> Starlette:
    async def page(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", page)])


def _serve(app: Any) -> None:
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        app,
        http=IdleClosingH11Protocol,
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        limit_concurrency=257,
    )
    print(f"port {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


def main(mode: str, body_file: Path) -> None:
    """Serve ``mode`` until terminated."""
    if mode == "trivial":
        _serve(_trivial(body_file.read_bytes()))
        return
    app = create_app(rate_limiting=False)
    body_file.write_bytes(asyncio.run(seed_page(app)))
    if mode == "earlier":
        with earlier_rendering():
            _serve(app)
    else:
        _serve(app)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
