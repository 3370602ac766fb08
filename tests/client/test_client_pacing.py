"""Pacing: a burst above the server's limit, paced at that limit, meets no 429 at all.

The sandbox's limit is scaled down to 20 requests per second (PostHog: 480/minute) so the test
is quick; the client is given the same limit, as a user gives it PostHog's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient, RateLimitError
from eventschema_tools.config import parse_rate_limits
from eventschema_tools.rate_budget import RateBudget, window_ms
from eventschema_tools.sandbox import RateLimit, RunningSandbox, SandboxApp, run_sandbox

LIMIT = "20/second"
SERVER_LIMITS = (RateLimit(20, 1.0),)
BURST = 30


def _summary(stats: dict[str, Any]) -> dict[str, int]:
    return {**stats["responses"], "refused": stats["rate_limited"]}


async def app_stats(app: SandboxApp) -> dict[str, int]:
    """Responses by status and requests refused, from the sandbox's admin route."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        return _summary((await http.get("http://sandbox.test/_sandbox/stats")).json())


def server_stats(server: RunningSandbox) -> dict[str, int]:
    return _summary(httpx.get(f"{server.url}/_sandbox/stats").json())


@pytest.fixture
def limited_app(sandbox_app: Callable[..., SandboxApp]) -> SandboxApp:
    return sandbox_app(rate_limits=SERVER_LIMITS)


@pytest.fixture
def limited_server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limits=SERVER_LIMITS) as running:
        yield running


@pytest.mark.anyio
async def test_async_burst_paced_at_the_limit_gets_no_429(
    limited_app: SandboxApp, make_async_client: Callable[..., AsyncEventSchemaClient]
) -> None:
    client = make_async_client(limited_app, rate_limit=LIMIT, max_retries=0)

    started = time.monotonic()
    async with anyio.create_task_group() as tasks:
        for _ in range(BURST):
            tasks.start_soon(client.project)
    elapsed = time.monotonic() - started

    assert await app_stats(limited_app) == {"200": BURST, "refused": 0}
    assert elapsed >= 1.0  # the client really waited for the second window


def test_threads_sharing_a_sync_client_get_no_429(
    limited_server: RunningSandbox, make_sync_client: Callable[..., EventSchemaClient]
) -> None:
    client = make_sync_client(limited_server.url, rate_limit=LIMIT, max_retries=0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = list(pool.map(lambda _: client.project(), range(BURST)))

    assert {p.id for p in projects} == {1}
    assert server_stats(limited_server) == {"200": BURST, "refused": 0}


@pytest.mark.anyio
async def test_without_pacing_the_same_burst_is_refused(
    limited_app: SandboxApp, make_async_client: Callable[..., AsyncEventSchemaClient]
) -> None:
    client = make_async_client(limited_app, max_retries=0)
    refused = 0

    async def call() -> None:
        nonlocal refused
        try:
            await client.project()
        except RateLimitError:
            refused += 1

    async with anyio.create_task_group() as tasks:
        for _ in range(BURST):
            tasks.start_soon(call)

    assert refused == BURST - 20
    assert (await app_stats(limited_app))["429"] == BURST - 20


def test_one_budget_can_be_shared_by_two_clients(
    limited_server: RunningSandbox, make_sync_client: Callable[..., EventSchemaClient]
) -> None:
    budget = RateBudget(parse_rate_limits(LIMIT))
    first = make_sync_client(limited_server.url, rate_budget=budget, max_retries=0)
    second = make_sync_client(limited_server.url, rate_budget=budget, max_retries=0)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: (first, second)[i % 2].current_user(), range(BURST)))

    assert server_stats(limited_server) == {"200": BURST, "refused": 0}


def test_the_first_request_counts_once_pacing_starts() -> None:
    # The limiter is built at the second request; the first still takes the window's one slot.
    budget = RateBudget(parse_rate_limits("1/second"))
    started = time.monotonic()
    budget.acquire()
    budget.acquire()
    budget.close()

    assert time.monotonic() - started >= 1.0


@pytest.mark.anyio
async def test_the_first_request_counts_once_pacing_starts_async() -> None:
    budget = RateBudget(parse_rate_limits("2/second"))
    started = time.monotonic()
    for _ in range(3):
        await budget.acquire_async()
    budget.close()

    assert time.monotonic() - started >= 1.0


def test_a_closed_budget_no_longer_paces() -> None:
    budget = RateBudget(parse_rate_limits("1/hour"))
    budget.acquire()
    budget.close()
    started = time.monotonic()
    budget.acquire()

    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("seconds", "paced_ms"),
    [(1.0, 1100), (60.0, 61000), (3600.0, 3601000)],
)
def test_client_windows_carry_a_little_slack(seconds: float, paced_ms: int) -> None:
    assert window_ms(seconds) == paced_ms
