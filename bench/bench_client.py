"""Benchmarks of the core client: its overhead per page, and what a full read costs.

(a) Overhead: one page of 100 event schemas listed through ``EventSchemaClient`` versus raw
    ``httpx`` + ``json.loads``, both served the same bytes (captured once from the sandbox) by an
    ``httpx.MockTransport``, so only client-side work is compared. Rounds are interleaved and
    the medians compared.
(b) Full reads: the requests ``event_schemas.list()`` makes to read a project with 3,000 event
    schemas against the lower bound ⌈3000 / page size⌉ (counted by the sandbox), and the time per
    full read over loopback for page sizes 100, 500, 1000 and 3000 (the client's ``page_size``
    setting), which is what ``DEFAULT_PAGE_SIZE`` is chosen from.

Run alone with ``python -m bench.bench_client``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from bench import print_rows
from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools._constants import DEFAULT_PAGE_SIZE
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

PROJECT = 1
PAGE_ROWS = 100
GROUPS_ON_PAGE = 20  # each bound to 5 events: property groups are reused, that is their point
PROPERTIES_PER_GROUP = 6
TOTAL_SCHEMAS = 3000
TOTAL_GROUPS = 60
PAGE_SIZES = (100, 500, 1000, 3000)
OVERHEAD_ROUNDS = 15
OVERHEAD_CALLS = 30
READ_ROUNDS = 3
SEED_CONCURRENCY = 16

Row = dict[str, Any]


# --- seeding through the public API ----------------------------------------------------------


async def _seed(url: str, groups: int, events_per_group: int) -> None:
    """Create ``groups`` groups, each bound to ``events_per_group`` new events."""
    async with AsyncEventSchemaClient(
        api_key=DEMO_API_KEY, project_id=PROJECT, host=url, rate_limit="off"
    ) as client:
        limiter = anyio.Semaphore(SEED_CONCURRENCY)

        async def bind(group_id: Any, name: str) -> None:
            async with limiter:
                event = await client.event_definitions.create(name=name)
                await client.event_schemas.create(
                    event_definition=event.id, property_group_id=group_id
                )

        for g in range(groups):
            group = await client.property_groups.create(
                name=f"group {g:03d}",
                description="Properties shared by a family of events",
                properties=[
                    {
                        "name": f"property_{p}",
                        "property_type": ("String", "Numeric", "Boolean", "DateTime")[p % 4],
                        "is_required": p % 2 == 0,
                    }
                    for p in range(PROPERTIES_PER_GROUP)
                ],
            )
            async with anyio.create_task_group() as tasks:
                for e in range(events_per_group):
                    tasks.start_soon(bind, group.id, f"event {g:03d}.{e:03d}")


def _requests_seen(server: RunningSandbox) -> int:
    return int(httpx.get(f"{server.url}/_sandbox/stats").json()["requests"])


# --- (a) client overhead ---------------------------------------------------------------------


def _capture_page() -> bytes:
    """One list response of 100 event schemas, exactly as the sandbox sends it."""
    with run_sandbox(rate_limiting=False) as server:
        anyio.run(_seed, server.url, GROUPS_ON_PAGE, PAGE_ROWS // GROUPS_ON_PAGE)
        response = httpx.get(
            f"{server.url}/api/projects/{PROJECT}/event_schemas/",
            params={"limit": PAGE_ROWS},
            headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        )
        response.raise_for_status()
        return response.content


def _median_seconds(fn: Callable[[], object], calls: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def bench_overhead() -> list[Row]:
    """Listing a page of 100 schemas: our client versus raw httpx + json.loads."""
    body = _capture_page()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=body, headers={"Content-Type": "application/json"}
        )
    )
    host = "http://posthog.bench"
    url = f"{host}/api/projects/{PROJECT}/event_schemas/"
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}", "Accept": "application/json"}
    raw_http = httpx.Client(transport=transport)
    client = EventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=PROJECT,
        host=host,
        rate_limit="off",
        page_size=PAGE_ROWS,
        transport=transport,
    )

    def raw() -> list[Any]:
        response = raw_http.get(url, params={"limit": PAGE_ROWS}, headers=headers)
        response.raise_for_status()
        return list(json.loads(response.content)["results"])

    def ours() -> list[Any]:
        return list(client.event_schemas.list())

    assert len(raw()) == len(ours()) == PAGE_ROWS
    raw_times, our_times = [], []
    for _ in range(OVERHEAD_ROUNDS):
        raw_times.append(_median_seconds(raw, OVERHEAD_CALLS))
        our_times.append(_median_seconds(ours, OVERHEAD_CALLS))
    raw_http.close()
    client.close()
    raw_ms = statistics.median(raw_times) * 1000
    our_ms = statistics.median(our_times) * 1000
    return [
        {
            "metric": "list 100 event schemas, ms per page (client vs raw httpx + json.loads)",
            "bound_or_anchor": round(raw_ms, 3),
            "ours": round(our_ms, 3),
            "ratio": round(our_ms / raw_ms, 2),
            "notes": (
                f"same {len(body) // 1024} KiB response via MockTransport; ours returns typed, "
                f"validated models ({GROUPS_ON_PAGE} groups x {PAGE_ROWS // GROUPS_ON_PAGE} "
                f"events, {PROPERTIES_PER_GROUP} properties each), raw returns dicts; "
                f"median of {OVERHEAD_ROUNDS} interleaved rounds of {OVERHEAD_CALLS}; goal <= 1.25"
            ),
        }
    ]


# --- (b) full reads --------------------------------------------------------------------------


def bench_full_reads() -> list[Row]:
    """Requests and time to read 3,000 event schemas, per page size."""
    rows: list[Row] = []
    with run_sandbox(rate_limiting=False) as server:
        anyio.run(_seed, server.url, TOTAL_GROUPS, TOTAL_SCHEMAS // TOTAL_GROUPS)
        clients = {
            size: EventSchemaClient(
                api_key=DEMO_API_KEY,
                project_id=PROJECT,
                host=server.url,
                rate_limit="off",
                page_size=size,
            )
            for size in PAGE_SIZES
        }
        requests: dict[int, int] = {}
        times: dict[int, list[float]] = {size: [] for size in PAGE_SIZES}
        for round_number in range(READ_ROUNDS):
            for size in PAGE_SIZES:
                before = _requests_seen(server)
                started = time.perf_counter()
                count = sum(1 for _ in clients[size].event_schemas.list())
                times[size].append(time.perf_counter() - started)
                assert count == TOTAL_SCHEMAS, count
                if round_number == 0:
                    requests[size] = _requests_seen(server) - before
        for client in clients.values():
            client.close()
    medians = {size: statistics.median(values) for size, values in times.items()}
    fastest = min(medians.values())
    for size in PAGE_SIZES:
        bound = math.ceil(TOTAL_SCHEMAS / size)
        rows.append(
            {
                "metric": f"requests to read {TOTAL_SCHEMAS:,} event schemas, page size {size}",
                "bound_or_anchor": bound,
                "ours": requests[size],
                "ratio": round(requests[size] / bound, 2),
                "notes": "lower bound ceil(3000 / page size); counted by the sandbox"
                + (" (DEFAULT_PAGE_SIZE)" if size == DEFAULT_PAGE_SIZE else ""),
            }
        )
    for size in PAGE_SIZES:
        rows.append(
            {
                "metric": f"seconds per full read of {TOTAL_SCHEMAS:,} schemas, page size {size}",
                "bound_or_anchor": round(fastest, 3),
                "ours": round(medians[size], 3),
                "ratio": round(medians[size] / fastest, 2),
                "notes": f"loopback sandbox, median of {READ_ROUNDS} interleaved rounds; "
                "anchor = fastest page size"
                + (" (DEFAULT_PAGE_SIZE)" if size == DEFAULT_PAGE_SIZE else ""),
            }
        )
    return rows


def run() -> list[Row]:
    """All rows of this benchmark (for ``make bench``)."""
    return [*bench_overhead(), *bench_full_reads()]


def main() -> None:
    print_rows(run())


if __name__ == "__main__":
    main()
