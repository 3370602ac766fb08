"""Fixtures for the sandbox's events and HogQL tests: an in-process sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from eventschema_tools.sandbox import SandboxApp, create_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> Iterator[SandboxApp]:
    application = create_app()
    yield application
    application.sandbox.close()


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http
