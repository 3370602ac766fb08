"""Fixtures of the client tests: clients wired to the sandbox, fast retries, unique names.

- `aclient`: an `AsyncEventSchemaClient` in-process on a fresh sandbox (`app`), pacing off.
- `client`: an `EventSchemaClient` over loopback on the session's shared sandbox, pacing off;
  tests using it create uniquely named objects (`unique`).
- `make_async_client(app, **options)` / `make_sync_client(url, **options)`: more clients,
  closed after the test.
- `fast_retries(client, n)`: the retry policy with millisecond backoff, so fault tests are quick.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools._base_client import BaseClient
from eventschema_tools._retry import RetryPolicy
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, SandboxApp

ASGI_HOST = "http://sandbox.test"


def set_fast_retries(client: BaseClient, max_retries: int) -> None:
    """Keep the policy's shape (exponential, jitter, Retry-After) but wait milliseconds."""
    client.retry_policy = RetryPolicy(max_retries=max_retries, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def fast_retries() -> Callable[..., None]:
    return set_fast_retries


@pytest.fixture
def unique() -> Callable[[str], str]:
    def make(prefix: str) -> str:
        return f"{prefix}_{uuid4().hex[:10]}"

    return make


@pytest.fixture
def app(sandbox_app: Callable[..., SandboxApp]) -> SandboxApp:
    return sandbox_app(rate_limiting=False)


def async_client_for(app: SandboxApp, **options: Any) -> AsyncEventSchemaClient:
    """An async client talking to ``app`` in-process (pacing off unless given)."""
    settings: dict[str, Any] = {
        "api_key": DEMO_API_KEY,
        "project_id": 1,
        "host": ASGI_HOST,
        "rate_limit": "off",
        "query_rate_limit": "off",
        **options,
    }
    client = AsyncEventSchemaClient(transport=httpx.ASGITransport(app=app), **settings)
    set_fast_retries(client, client.settings.max_retries)
    return client


def sync_client_for(url: str, **options: Any) -> EventSchemaClient:
    """A sync client talking to a loopback sandbox at ``url`` (pacing off unless given)."""
    settings: dict[str, Any] = {
        "api_key": DEMO_API_KEY,
        "project_id": 1,
        "host": url,
        "rate_limit": "off",
        "query_rate_limit": "off",
        **options,
    }
    client = EventSchemaClient(**settings)
    set_fast_retries(client, client.settings.max_retries)
    return client


@pytest.fixture
async def make_async_client() -> AsyncIterator[Callable[..., AsyncEventSchemaClient]]:
    made: list[AsyncEventSchemaClient] = []

    def make(app: SandboxApp, **options: Any) -> AsyncEventSchemaClient:
        made.append(async_client_for(app, **options))
        return made[-1]

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def make_sync_client() -> Iterator[Callable[..., EventSchemaClient]]:
    made: list[EventSchemaClient] = []

    def make(url: str, **options: Any) -> EventSchemaClient:
        made.append(sync_client_for(url, **options))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
async def aclient(app: SandboxApp) -> AsyncIterator[AsyncEventSchemaClient]:
    async with async_client_for(app) as client:
        yield client


@pytest.fixture
def client(sandbox_server: RunningSandbox) -> Iterator[EventSchemaClient]:
    with sync_client_for(sandbox_server.url) as client:
        yield client
