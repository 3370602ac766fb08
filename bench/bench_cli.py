"""Benchmarks of the command line and of the sync catalog it runs on.

(a) Cold start: spawn ``eventschema --help`` against a bare Typer app with one command, spawned
    alternately round by round. The CLI loads no optional extra (the sandbox is imported only
    inside ``eventschema sandbox``/``demo``), so the gap is the CLI's own commands and the core.
(b) Sync vs async catalog: one page of 50 event schemas through ``Catalog.bindings`` and
    ``AsyncCatalog.bindings`` (the same step generator under its two drivers) on one loopback
    sandbox, rounds interleaved; the ratio shows what the sync driver costs over the async one.

Run alone with ``python -m bench.bench_cli``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from bench import print_rows
from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.catalog import AsyncCatalog, Catalog
from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox

COLD_ROUNDS = 9
CALL_ROUNDS = 15
CALLS_PER_ROUND = 20
PAGE = 50
EVENTSCHEMA = Path(sys.executable).with_name("eventschema")

BARE_CLI = '''\
import typer

app = typer.Typer()


@app.command()
def ping() -> None:
    """Answer pong."""
    print("pong")


@app.command()
def pong() -> None:
    """Answer ping."""
    print("ping")


if __name__ == "__main__":
    app()
'''

Row = dict[str, Any]


def _spawn(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def _cold_start() -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_cli.py"
        bare.write_text(BARE_CLI, encoding="utf-8")
        ours_argv = [str(EVENTSCHEMA), "--help"]
        bare_argv = [sys.executable, str(bare), "--help"]
        _spawn(ours_argv)  # warm the file cache for both
        _spawn(bare_argv)
        anchor, ours = [], []
        for _ in range(COLD_ROUNDS):
            anchor.append(_spawn(bare_argv))
            ours.append(_spawn(ours_argv))
    base, mine = statistics.median(anchor), statistics.median(ours)
    return {
        "metric": "cold start: eventschema --help, wall time (s)",
        "bound_or_anchor": base,
        "ours": mine,
        "ratio": mine / base,
        "notes": (
            f"anchor: bare Typer app with 2 commands; median of {COLD_ROUNDS} interleaved spawns"
        ),
    }


def _seed(url: str) -> None:
    with EventSchemaClient(api_key=DEMO_API_KEY, project_id="1", host=url) as client:
        group = client.property_groups.create(
            name="checkout", properties=[{"name": "order_id", "property_type": "String"}]
        )
        for index in range(PAGE + 10):
            event = client.event_definitions.create(name=f"event_{index:03d}")
            client.event_schemas.create(event_definition=event.id, property_group_id=group.id)


def _sync_vs_async() -> Row:
    with run_sandbox(rate_limiting=False) as sandbox:
        _seed(sandbox.url)
        settings = {"api_key": DEMO_API_KEY, "project_id": "1", "host": sandbox.url}

        async def async_round() -> float:
            async with AsyncEventSchemaClient(**settings) as client:
                catalog = AsyncCatalog(client)
                await catalog.bindings(limit=PAGE)  # open the connection outside the timing
                started = time.perf_counter()
                for _ in range(CALLS_PER_ROUND):
                    page = await catalog.bindings(limit=PAGE)
                elapsed = time.perf_counter() - started
            assert len(page.items) == PAGE
            return elapsed / CALLS_PER_ROUND

        def sync_round() -> float:
            with EventSchemaClient(**settings) as client:
                catalog = Catalog(client)
                catalog.bindings(limit=PAGE)
                started = time.perf_counter()
                for _ in range(CALLS_PER_ROUND):
                    page = catalog.bindings(limit=PAGE)
                elapsed = time.perf_counter() - started
            assert len(page.items) == PAGE
            return elapsed / CALLS_PER_ROUND

        async_times, sync_times = [], []
        for _ in range(CALL_ROUNDS):
            async_times.append(anyio.run(async_round))
            sync_times.append(sync_round())
    base, mine = statistics.median(async_times) * 1000, statistics.median(sync_times) * 1000
    return {
        "metric": f"Catalog.bindings, 1 page of {PAGE}: sync driver vs async driver (ms)",
        "bound_or_anchor": base,
        "ours": mine,
        "ratio": mine / base,
        "notes": (
            "anchor: AsyncCatalog; the same step generator under its two drivers, loopback "
            f"sandbox; median of {CALL_ROUNDS} interleaved rounds x {CALLS_PER_ROUND} calls"
        ),
    }


def run() -> list[Row]:
    """Every row of this module."""
    return [_cold_start(), _sync_vs_async()]


if __name__ == "__main__":
    print_rows(run())
