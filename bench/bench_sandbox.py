"""Benchmark of the sandbox's own speed: listing schemas, and the memory of an empty sandbox.

* **List speed**: pages of 100 event schemas (100 events, 20 groups of 6 properties) asked
  straight through ASGI, against the same sandbox rendering them as it did before (timestamps
  parsed, each schema's group rendered anew), patched in for its rounds.
* **Memory**: the resident set of an ``eventschema sandbox`` process that has served nothing,
  against the bound of 120 MB (chDB, 340 MB of it, loads with the first event).

Run alone with ``python -m bench.bench_sandbox``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from eventschema_tools.sandbox import DEMO_API_KEY, create_app
from eventschema_tools.sandbox.storage.timestamps import from_storage

Row = dict[str, Any]

GROUPS = 20
EVENTS = 100
REQUESTS = 400
ROUNDS = 3
RSS_BOUND_MB = 120
PAGE = "/api/projects/1/event_schemas/?limit=100"


async def _seed(app: Any) -> bytes:
    """100 events bound to 20 groups of 6 properties; the first page's body."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as http:
        groups = []
        for g in range(GROUPS):
            created = await http.post(
                "/api/projects/1/schema_property_groups/",
                json={
                    "name": f"group_{g}",
                    "properties": [
                        {"name": f"p{i}", "property_type": "String", "is_required": i < 3}
                        for i in range(6)
                    ],
                },
            )
            groups.append(created.json()["id"])
        for e in range(EVENTS):
            event = await http.post("/api/projects/1/event_definitions/", json={"name": f"e{e}"})
            await http.post(
                "/api/projects/1/event_schemas/",
                json={"event_definition": event.json()["id"], "property_group_id": groups[e % 20]},
            )
        return (await http.get(PAGE)).content


async def _get(app: Any, path: str, query: str) -> bytes:
    """One GET straight into the ASGI app: no HTTP client or server in the way."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {DEMO_API_KEY}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(body)


async def _ms_per_page(app: Any) -> float:
    path, _, query = PAGE.partition("?")
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await _get(app, path, query)
    return (time.perf_counter() - started) / REQUESTS * 1000


@contextmanager
def _earlier_rendering() -> Iterator[None]:
    """The list as it was rendered before: every stored timestamp parsed with ``strptime``,
    every schema's group rendered anew."""
    from eventschema_tools.sandbox.http.routes import event_definitions, event_schemas
    from eventschema_tools.sandbox.http.routes import property_groups as groups_route

    def parsed(text: str | None) -> str | None:
        if text is None:
            return None
        return from_storage(text).isoformat().removesuffix("+00:00") + "Z"

    render = event_schemas.render_event_schema

    def each_anew(record: Any, groups: Any = None) -> dict[str, Any]:
        return render(record)

    saved = (groups_route.to_drf, event_schemas.to_drf, event_definitions.to_drf)
    groups_route.to_drf = event_schemas.to_drf = event_definitions.to_drf = parsed  # type: ignore[assignment]
    event_schemas.render_event_schema = each_anew  # type: ignore[assignment]
    try:
        yield
    finally:
        groups_route.to_drf, event_schemas.to_drf, event_definitions.to_drf = saved
        event_schemas.render_event_schema = render


def _list_rows() -> list[Row]:
    app = create_app(rate_limiting=False)
    try:
        body = asyncio.run(_seed(app))
        ours: list[float] = []
        before: list[float] = []
        for _ in range(ROUNDS):
            ours.append(asyncio.run(_ms_per_page(app)))
            with _earlier_rendering():
                before.append(asyncio.run(_ms_per_page(app)))
                assert asyncio.run(_get(app, *PAGE.split("?"))) == body
    finally:
        app.sandbox.close()
    mine, theirs = statistics.median(ours), statistics.median(before)
    return [
        {
            "metric": "ms per page of 100 event schemas, sandbox (ASGI, in process)",
            "bound_or_anchor": round(theirs, 2),
            "ours": round(mine, 2),
            "ratio": round(mine / theirs, 3),
            "notes": "anchor: the same sandbox rendering as before (each stored timestamp "
            "parsed with strptime, 16 a row; each schema's group rendered anew), patched in "
            f"for its rounds; same {len(body) // 1024} KiB body; {EVENTS} events x {GROUPS} "
            f"groups of 6 properties; medians of {ROUNDS} interleaved rounds of {REQUESTS} "
            "requests. Not yet the goal's measure (throughput under 50 connections against a "
            "trivial app)",
        }
    ]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _memory_rows() -> list[Row]:
    script = Path(sys.executable).parent / "eventschema"
    process = subprocess.Popen(
        [str(script), "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split("serving on ", 1)[1].split()[0]
        headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
        httpx.get(f"{url}/api/projects/1/event_schemas/", headers=headers).raise_for_status()
        rss = _rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return [
        {
            "metric": "MB resident, an empty sandbox after its first schema request",
            "bound_or_anchor": RSS_BOUND_MB,
            "ours": round(rss, 1),
            "ratio": round(rss / RSS_BOUND_MB, 3),
            "notes": "eventschema sandbox (no seed); chDB is loaded with the first event or "
            "query, not at start (390 MB before); /proc VmRSS of the server process",
        }
    ]


def run() -> list[Row]:
    """List throughput against a trivial app, and the memory of an empty sandbox."""
    return [*_list_rows(), *_memory_rows()]


if __name__ == "__main__":
    from bench import print_rows

    print_rows(run())
