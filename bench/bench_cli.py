"""Benchmarks of the command line and of the sync catalog it runs on.

(a) Cold start: spawn ``eventschema --help`` and ``eventschema schemas list`` (against a loopback
    sandbox seeded with the demo project, connection from the ``POSTHOG_*`` variables as a
    reader sets them) next to ``python -c "import httpx, pydantic"`` (the anchor: the two
    libraries any typed HTTP client starts with) and a bare Typer app with two commands, all
    spawned in turn round by round. Goal: each command within 2x the anchor. Commands import
    their module only when they run, so ``--help`` loads none and ``schemas list`` its own.
(b) Sync vs async catalog: one page of 50 event schemas through ``Catalog.bindings`` and
    ``AsyncCatalog.bindings`` (the same step generator under its two drivers) on one loopback
    sandbox, rounds interleaved; the ratio shows what the sync driver costs over the async one.

Run alone with ``python -m bench.bench_cli``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import os
import resource
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

COLD_ROUNDS = 15
COLD_GOAL = 2.0
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spawn(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time of one run of ``argv`` to its exit."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _cold_start_row(
    label: str,
    anchor: str,
    base: list[tuple[float, float]],
    ours: list[tuple[float, float]],
    notes: str,
    *,
    goal: float | None = None,
) -> Row:
    wall_base, wall_ours = (statistics.median(run[0] for run in runs) for runs in (base, ours))
    cpu_base, cpu_ours = (statistics.median(run[1] for run in runs) for runs in (base, ours))
    ratio = wall_ours / wall_base
    verdict = (
        "" if goal is None else f"goal <= {goal:g}x ({'met' if ratio <= goal else 'missed'}); "
    )
    return {
        "metric": f"cold start: {label}, wall time (s)",
        "bound_or_anchor": wall_base,
        "ours": wall_ours,
        "ratio": ratio,
        "notes": (
            f"anchor: {anchor}; {verdict}median of {COLD_ROUNDS} interleaved spawns; "
            f"CPU time {cpu_ours / cpu_base:.2f}x the anchor's; {notes}"
        ),
    }


def _cold_starts() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(seed="demo") as sandbox:
        bare = Path(tmp) / "bare_cli.py"
        bare.write_text(BARE_CLI, encoding="utf-8")
        env = {
            **os.environ,
            "POSTHOG_HOST": sandbox.url,
            "POSTHOG_PROJECT_ID": "1",
            "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        }
        # An installed package runs from compiled bytecode (pip writes it at install); with
        # PYTHONDONTWRITEBYTECODE set, every spawn would compile its modules again and the
        # row would time the compiler. The warm-up spawns below write the bytecode.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        argvs = {
            "anchor": [sys.executable, "-c", "import httpx, pydantic"],
            "bare": [sys.executable, str(bare), "--help"],
            "help": [str(EVENTSCHEMA), "--help"],
            "list": [str(EVENTSCHEMA), "schemas", "list"],
        }
        for argv in argvs.values():  # warm the file cache for each
            _spawn(argv, env)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in argvs}
        for _ in range(COLD_ROUNDS):
            for name, argv in argvs.items():
                runs[name].append(_spawn(argv, env))
    anchor = 'python -c "import httpx, pydantic"'
    return [
        _cold_start_row(
            "eventschema --help",
            anchor,
            runs["anchor"],
            runs["help"],
            "no command module is imported",
            goal=COLD_GOAL,
        ),
        _cold_start_row(
            "eventschema schemas list",
            anchor,
            runs["anchor"],
            runs["list"],
            "the demo project on a loopback sandbox, connection from the POSTHOG_* variables; "
            "imports the client and the crud commands only; one request, so the rate limiter is "
            "not loaded; a plain-http host, so no CA bundle is loaded (an https host adds it: "
            "about 20 ms)",
            goal=COLD_GOAL,
        ),
        _cold_start_row(
            "eventschema --help vs a bare Typer app",
            "bare Typer app with 2 commands",
            runs["bare"],
            runs["help"],
            "what the CLI's root and shared module add to Typer itself",
        ),
    ]


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
    return [*_cold_starts(), _sync_vs_async()]


if __name__ == "__main__":
    print_rows(run())
