"""Benchmarks of the core client: its overhead per page, and what a full read costs.

(a) Typed decoding: one page of event schemas listed through ``EventSchemaClient`` (typed,
    validated models) versus raw ``httpx`` + ``json.loads`` (dicts), both served the same bytes
    (captured once from the sandbox) by an ``httpx.MockTransport``, so only client-side work is
    compared. Two kinds of page: bindings sharing groups (20 groups x 5 events at page 100), and
    a group per binding (every group validated); each at page 100 and at the default 1,000.
    Rounds are interleaved and the medians compared. On the pages with a group per binding a
    third side runs in the same rounds: Pydantic building the same models from the page's
    already-parsed rows (one ``validate_python`` call; no HTTP, no JSON), the least any client
    whose results are these Pydantic models can spend.
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
from pydantic import TypeAdapter

from bench import print_rows
from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools._constants import DEFAULT_PAGE_SIZE
from eventschema_tools.models import EventSchema
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

PROJECT = 1
EVENTS_PER_SHARED_GROUP = 5  # property groups are reused, that is their point
# (rows on the page, events bound to each group): shared groups, then a group per binding.
DECODING_PAGES = (
    (100, EVENTS_PER_SHARED_GROUP),
    (100, 1),
    (1000, EVENTS_PER_SHARED_GROUP),
    (1000, 1),
)
PROPERTIES_PER_GROUP = 6
TOTAL_SCHEMAS = 3000
TOTAL_GROUPS = 60
PAGE_SIZES = (100, 500, 1000, 3000)
OVERHEAD_ROUNDS = 15
OVERHEAD_ROWS_PER_ROUND = 3000  # 30 calls of a page of 100, 3 of a page of 1,000
GOAL_RATIO = 1.0
READ_ROUNDS = 3
SEED_CONCURRENCY = 16

Row = dict[str, Any]
_SCHEMAS = TypeAdapter(list[EventSchema])


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


def _capture_page(rows: int, events_per_group: int) -> bytes:
    """One list response of ``rows`` event schemas, exactly as the sandbox sends it."""
    with run_sandbox(rate_limiting=False) as server:
        anyio.run(_seed, server.url, rows // events_per_group, events_per_group)
        response = httpx.get(
            f"{server.url}/api/projects/{PROJECT}/event_schemas/",
            params={"limit": rows},
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


class _Listing:
    """One captured page, listed raw and through the client over the same mock transport."""

    host = "http://posthog.bench"

    def __init__(self, rows: int, events_per_group: int) -> None:
        self.rows = rows
        self.events_per_group = events_per_group
        self.body = _capture_page(rows, events_per_group)
        transport = httpx.MockTransport(
            lambda request: httpx.Response(
                200, content=self.body, headers={"Content-Type": "application/json"}
            )
        )
        self.url = f"{self.host}/api/projects/{PROJECT}/event_schemas/"
        self.headers = {"Authorization": f"Bearer {DEMO_API_KEY}", "Accept": "application/json"}
        self.raw_http = httpx.Client(transport=transport)
        self.client = EventSchemaClient(
            api_key=DEMO_API_KEY,
            project_id=PROJECT,
            host=self.host,
            rate_limit="off",
            page_size=rows,
            transport=transport,
        )
        self.calls = max(1, OVERHEAD_ROWS_PER_ROUND // rows)
        self.parsed_rows = json.loads(self.body)["results"]
        self.raw_times: list[float] = []
        self.our_times: list[float] = []
        self.floor_times: list[float] = []

    def raw(self) -> list[Any]:
        response = self.raw_http.get(self.url, params={"limit": self.rows}, headers=self.headers)
        response.raise_for_status()
        return list(json.loads(response.content)["results"])

    def ours(self) -> list[Any]:
        return list(self.client.event_schemas.list())

    def models_only(self) -> list[EventSchema]:
        return _SCHEMAS.validate_python(self.parsed_rows)

    @property
    def group_per_binding(self) -> bool:
        return self.events_per_group == 1

    def round(self) -> None:
        self.raw_times.append(_median_seconds(self.raw, self.calls))
        self.our_times.append(_median_seconds(self.ours, self.calls))
        if self.group_per_binding:
            self.floor_times.append(_median_seconds(self.models_only, self.calls))

    def close(self) -> None:
        self.raw_http.close()
        self.client.close()

    def floor_ratio(self) -> float:
        return statistics.median(self.floor_times) / statistics.median(self.raw_times)

    def floor_row(self) -> Row:
        raw_ms = statistics.median(self.raw_times) * 1000
        floor_ms = statistics.median(self.floor_times) * 1000
        our_ms = statistics.median(self.our_times) * 1000
        return {
            "metric": f"list {self.rows:,} event schemas, a group per binding: the Pydantic "
            "models alone, ms per page (TypeAdapter(list[EventSchema]).validate_python of the "
            "parsed rows vs raw httpx + json.loads)",
            "bound_or_anchor": round(raw_ms, 3),
            "ours": round(floor_ms, 3),
            "ratio": round(floor_ms / raw_ms, 2),
            "notes": (
                "no HTTP and no JSON on our side: what building the public result type costs by "
                "itself, the least a client returning these models can spend; the typed client "
                f"is {our_ms / floor_ms:.2f}x this floor; same rounds as the row above"
            ),
        }

    def row(self) -> Row:
        raw_ms = statistics.median(self.raw_times) * 1000
        our_ms = statistics.median(self.our_times) * 1000
        groups = self.rows // self.events_per_group
        kind = (
            f"{groups} groups x {self.events_per_group} events"
            if self.events_per_group > 1
            else "a group per binding"
        )
        ratio = round(our_ms / raw_ms, 2)
        bounded = (
            f"; the models alone, built from parsed rows, cost {self.floor_ratio():.2f}x "
            "(next row), so no client returning them can meet the goal"
            if self.group_per_binding
            else ""
        )
        return {
            "metric": f"list {self.rows:,} event schemas, {kind}, ms per page "
            "(typed client vs raw httpx + json.loads)",
            "bound_or_anchor": round(raw_ms, 3),
            "ours": round(our_ms, 3),
            "ratio": ratio,
            "notes": (
                f"same {len(self.body) // 1024} KiB response via MockTransport; ours returns "
                f"typed, validated models ({groups} distinct groups of {PROPERTIES_PER_GROUP} "
                f"properties), raw returns dicts; median of {OVERHEAD_ROUNDS} interleaved "
                f"rounds of {self.calls}; goal <= {GOAL_RATIO} "
                f"({'met' if ratio <= GOAL_RATIO else 'missed'}){bounded}"
            ),
        }


def bench_overhead() -> list[Row]:
    """Listing a page of event schemas: the typed client versus raw httpx + json.loads."""
    listings = [_Listing(rows, events) for rows, events in DECODING_PAGES]
    for listing in listings:
        assert len(listing.raw()) == len(listing.ours()) == listing.rows
    for _ in range(OVERHEAD_ROUNDS):
        for listing in listings:
            listing.round()
    for listing in listings:
        listing.close()
    rows = []
    for listing in listings:
        rows.append(listing.row())
        if listing.group_per_binding:
            rows.append(listing.floor_row())
    return rows


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
