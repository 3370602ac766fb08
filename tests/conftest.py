"""Fixtures shared by every test package: the sandbox in-process and over loopback.

- `sandbox_app(**overrides)`: build a fresh in-process sandbox (`SandboxConfig` overrides).
- `asgi_client`: an `httpx.AsyncClient` on a fresh default sandbox, authenticated with the demo
  key (unscoped, all permissions), base URL `http://sandbox.test`.
- `asgi_client_for(app, key=...)`: more clients, for a given app and key.
- `sandbox_server`: one loopback sandbox (rate limiting off) shared by the whole session; tests
  that use it must create uniquely named objects and not assume an empty project.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    RunningSandbox,
    SandboxApp,
    create_app,
    run_sandbox,
)

ASGI_BASE_URL = "http://sandbox.test"


def bearer(key: str = DEMO_API_KEY) -> dict[str, str]:
    """The Authorization header for a personal API key."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox_app() -> Iterator[Callable[..., SandboxApp]]:
    apps: list[SandboxApp] = []

    def make(**overrides: Any) -> SandboxApp:
        app = create_app(**overrides)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.sandbox.close()


@pytest.fixture
async def asgi_client_for() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(app: SandboxApp, key: str = DEMO_API_KEY) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=ASGI_BASE_URL, headers=bearer(key)
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def asgi_client(
    sandbox_app: Callable[..., SandboxApp],
    asgi_client_for: Callable[..., httpx.AsyncClient],
) -> httpx.AsyncClient:
    return asgi_client_for(sandbox_app())


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False) as running:
        yield running
