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
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx

from eventschema_tools.sandbox import DEMO_API_KEY, create_app
from eventschema_tools.sandbox.storage.store import Store
from eventschema_tools.sandbox.storage.timestamps import from_storage, to_storage

Row = dict[str, Any]

GROUPS = 20
EVENTS = 100
REQUESTS = 400
ROUNDS = 3
RSS_BOUND_MB = 120
PAGE = "/api/projects/1/event_schemas/?limit=100"
CONNECTIONS = 50
LOAD_SECONDS = 3.0
SERVERS = ("sandbox", "earlier", "trivial")
BIG_SCHEMAS = 100_000
BIG_GROUPS = 10_000
BIG_PAGE_BOUND_MS = 50
EARLIER = (
    "every row joined and sorted, each group read anew, 16 timestamps a row parsed with "
    "strptime, each schema's group rendered anew, json.dumps"
)


async def seed_page(app: Any) -> bytes:
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


def _earlier_list_event_schemas(
    store: Store, project_id: int, limit: int, offset: int, event_definition_id: str | None = None
) -> tuple[int, list[Any]]:
    """The list query as it was: the project found through a join, every row sorted."""
    where = "d.project_id = :project_id"
    params: dict[str, Any] = {"project_id": project_id, "limit": limit, "offset": offset}
    if event_definition_id is not None:
        where += " AND s.event_definition_id = :definition"
        params["definition"] = event_definition_id
    source = (
        "FROM event_schemas s JOIN event_definitions d ON d.id = s.event_definition_id"
        f" WHERE {where}"
    )
    total = store._one(f"SELECT count(*) AS total {source}", params)
    rows = store._all(
        f"SELECT s.* {source} ORDER BY s.created_at DESC, s.seq DESC LIMIT :limit OFFSET :offset",
        params,
    )
    return (0 if total is None else total["total"]), store._schemas(rows)


@contextmanager
def earlier_rendering() -> Iterator[None]:
    """The list path as it was: the sorted join above, each group read from the database on
    every request, every stored timestamp parsed with ``strptime``, every schema's group
    rendered anew, and the page encoded with ``json.dumps``."""
    from eventschema_tools.sandbox.http import routing
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
    saved_store = (Store.list_event_schemas, Store._groups)
    saved_encoding = event_schemas.records_response
    groups_route.to_drf = event_schemas.to_drf = event_definitions.to_drf = parsed  # type: ignore[assignment]
    event_schemas.render_event_schema = each_anew  # type: ignore[assignment]
    event_schemas.records_response = routing.json_response  # type: ignore[assignment]
    Store.list_event_schemas = _earlier_list_event_schemas  # type: ignore[method-assign]
    Store._groups = Store._read_groups  # type: ignore[method-assign]
    try:
        yield
    finally:
        groups_route.to_drf, event_schemas.to_drf, event_definitions.to_drf = saved
        event_schemas.render_event_schema = render
        event_schemas.records_response = saved_encoding
        Store.list_event_schemas, Store._groups = saved_store  # type: ignore[method-assign]


def _list_rows() -> list[Row]:
    app = create_app(rate_limiting=False)
    try:
        body = asyncio.run(seed_page(app))
        ours: list[float] = []
        before: list[float] = []
        for _ in range(ROUNDS):
            ours.append(asyncio.run(_ms_per_page(app)))
            with earlier_rendering():
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
            "notes": f"anchor: the earlier list path ({EARLIER}), patched in for its rounds; "
            f"same {len(body) // 1024} KiB body; {EVENTS} events x {GROUPS} groups of 6 "
            f"properties; medians of {ROUNDS} interleaved rounds of {REQUESTS} requests",
        }
    ]


async def _load(port: int, expected: bytes, seconds: float) -> int:
    """Pages of 100 schemas served to ``CONNECTIONS`` keep-alive connections in ``seconds``.

    A bare asyncio client (request bytes out, ``Content-Length`` bytes in): an HTTP client
    library parsing 229 KiB bodies was slower than the server it measured.
    """
    request = (
        f"GET {PAGE} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {DEMO_API_KEY}\r\n\r\n"
    ).encode()
    deadline = time.perf_counter() + seconds
    served = 0

    async def connection() -> None:
        nonlocal served
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        checked = False
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                body = await reader.readexactly(length)
                if not checked:
                    assert head.startswith(b"HTTP/1.1 200"), head[:40]
                    assert body == expected, "a server answered other bytes than the page"
                    checked = True
                served += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return served


@contextmanager
def _page_server(mode: str, body_file: Path) -> Iterator[int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.page_server", mode, str(body_file)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"bench.page_server {mode} did not start: {line!r}")
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=30)


def _throughput_rows() -> list[Row]:
    rates: dict[str, list[float]] = {mode: [] for mode in SERVERS}
    with tempfile.TemporaryDirectory() as folder:
        body_file = Path(folder) / "page.json"
        with _page_server("sandbox", body_file) as port:
            body = body_file.read_bytes()
            asyncio.run(_load(port, body, 0.5))
        for _ in range(ROUNDS):
            for mode in SERVERS:
                page_file = Path(folder) / f"{mode}.json"
                if mode == "trivial":
                    page_file.write_bytes(body)
                with _page_server(mode, page_file) as port:
                    # Each seeded sandbox has its own ids: its page is checked against itself.
                    served = page_file.read_bytes()
                    assert len(served) == len(body)
                    asyncio.run(_load(port, served, 0.5))  # warm-up: imports, first queries
                    rates[mode].append(
                        asyncio.run(_load(port, served, LOAD_SECONDS)) / LOAD_SECONDS
                    )
    ours, earlier, trivial = (statistics.median(rates[mode]) for mode in SERVERS)
    shape = (
        f"{CONNECTIONS} keep-alive connections, {LOAD_SECONDS:g} s each; the same "
        f"{len(body) // 1024} KiB body ({EVENTS} events x {GROUPS} groups of 6 properties) checked "
        f"on every connection; each server its own process under the sandbox's uvicorn settings; "
        f"medians of {ROUNDS} interleaved rounds; higher is better"
    )
    return [
        {
            "metric": f"pages of 100 event schemas a second under {CONNECTIONS} connections, "
            "sandbox vs a trivial app",
            "bound_or_anchor": round(trivial, 1),
            "ours": round(ours, 1),
            "ratio": round(ours / trivial, 3),
            "notes": "anchor: a one-route Starlette app answering with the same bytes (the "
            f"ceiling of the server stack; 0.007-0.009 before); {shape}",
        },
        {
            "metric": f"pages of 100 event schemas a second under {CONNECTIONS} connections, "
            "sandbox vs its earlier list rendering",
            "bound_or_anchor": round(earlier, 1),
            "ours": round(ours, 1),
            "ratio": round(ours / earlier, 2),
            "notes": f"anchor: the same sandbox with its earlier list path patched in ({EARLIER}); "
            f"goal >= 10; {shape}",
        },
    ]


def _seed_many(store: Store) -> None:
    """``BIG_SCHEMAS`` events, each bound to one of ``BIG_GROUPS`` groups of 6 properties.

    Written straight into the store's tables in one transaction: through the API this many
    bindings take minutes, and only reading them is measured.
    """
    now = to_storage(store.clock.now())
    with store.transaction() as conn:
        groups = [str(uuid.uuid4()) for _ in range(BIG_GROUPS)]
        for g, group_id in enumerate(groups):
            conn.execute(
                "INSERT INTO property_groups (id, project_id, name, created_at, updated_at)"
                " VALUES (?, 1, ?, ?, ?)",
                (group_id, f"group_{g}", now, now),
            )
            conn.executemany(
                "INSERT INTO group_properties (id, group_id, name, property_type, is_required,"
                " created_at, updated_at) VALUES (?, ?, ?, 'String', ?, ?, ?)",
                [(str(uuid.uuid4()), group_id, f"p{i}", i < 3, now, now) for i in range(6)],
            )
        for e in range(BIG_SCHEMAS):
            definition_id = str(uuid.uuid4())
            created = to_storage(store.clock.now())
            conn.execute(
                "INSERT INTO event_definitions (id, project_id, name, description, created_at,"
                " updated_at) VALUES (?, 1, ?, '', ?, ?)",
                (definition_id, f"event_{e}", created, created),
            )
            conn.execute(
                "INSERT INTO event_schemas (id, project_id, event_definition_id,"
                " property_group_id, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?)",
                (str(uuid.uuid4()), definition_id, groups[e % BIG_GROUPS], created, created),
            )


def _big_page_rows() -> list[Row]:
    app = create_app(rate_limiting=False)
    path = "/api/projects/1/event_schemas/"
    offsets = (0, BIG_SCHEMAS // 2, BIG_SCHEMAS - 100)
    try:
        _seed_many(app.sandbox.store)
        ours: list[float] = []
        before: list[float] = []
        for _ in range(ROUNDS):
            for offset in offsets:
                query = f"limit=100&offset={offset}"
                for times, patch in ((ours, nullcontext()), (before, earlier_rendering())):
                    app.sandbox.store._group_cache_changes = -1  # every page read cold
                    with patch:
                        started = time.perf_counter()
                        body = asyncio.run(_get(app, path, query))
                        times.append((time.perf_counter() - started) * 1000)
                    assert body.count(b'"event_definition":') == 100
    finally:
        app.sandbox.close()
    mine, theirs = statistics.median(ours), statistics.median(before)
    return [
        {
            "metric": f"ms per page of 100 event schemas at {BIG_SCHEMAS:,} schemas",
            "bound_or_anchor": BIG_PAGE_BOUND_MS,
            "ours": round(mine, 1),
            "ratio": round(mine / BIG_PAGE_BOUND_MS, 3),
            "notes": f"goal <= {BIG_PAGE_BOUND_MS} ms; first, middle and last page, ASGI in "
            f"process, groups read cold from the database, medians of {ROUNDS} rounds; "
            f"{BIG_GROUPS:,} groups of 6 properties, 10 "
            "events each. The earlier list path, interleaved "
            f"({EARLIER}): {theirs:.0f} ms a page ({theirs / mine:.0f}x)",
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
    return [*_list_rows(), *_throughput_rows(), *_big_page_rows(), *_memory_rows()]


if __name__ == "__main__":
    from bench import print_rows

    print_rows(run())
