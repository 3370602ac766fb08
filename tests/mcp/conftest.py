"""Fixtures of the MCP adapter tests: the server wired to a fresh in-process sandbox.

- `sandbox`: a sandbox app (rate limiting off) serving project 1 to `SECRET_KEY` (all scopes)
  and `READ_ONLY_KEY` (`event_definition:read` only), seeded with `sandbox_seed` (a module
  overrides that fixture with "demo" for the demo project and its day of events).
- `api`: an async client on that sandbox, for seeding and for checking its state.
- `seeded`: the names `api` created (groups `checkout`, `billing`; events `checkout_completed`,
  `checkout_started`, `signup`; `checkout` bound to `checkout_completed`).
- `server_for(read_only=False, key=SECRET_KEY)`: an MCP server whose PostHog client talks to the
  sandbox through `httpx.ASGITransport`.
- `client`: an in-memory MCP client on the read-only server (modules may define their own).
- `mcp_client`: an in-memory MCP client on the full server, once per protocol mode (`auto`
  negotiates 2026-07-28, `legacy` the 2025-11-25 handshake).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_test_helpers import MODES, READ_ONLY_KEY, SECRET_KEY, api_client

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.mcp_server.server import ServerOptions, create_server
from eventschema_tools.mcp_server.state import AppState
from eventschema_tools.sandbox import ApiKey, SandboxApp, create_app


@pytest.fixture
def sandbox_seed() -> str | None:
    """The seed of the test's sandbox: none (an empty project) unless a module says otherwise."""
    return None


@pytest.fixture
def sandbox(sandbox_seed: str | None) -> Iterator[SandboxApp]:
    app = create_app(
        rate_limiting=False,
        seed=sandbox_seed,
        api_keys=(ApiKey(SECRET_KEY), ApiKey(READ_ONLY_KEY, ("event_definition:read",))),
    )
    yield app
    app.sandbox.close()


@pytest.fixture
async def api(sandbox: SandboxApp) -> AsyncIterator[AsyncEventSchemaClient]:
    async with api_client(sandbox) as client:
        yield client


@pytest.fixture
async def seeded(api: AsyncEventSchemaClient) -> dict[str, Any]:
    checkout = await api.property_groups.create(
        name="checkout",
        description="Every checkout event",
        properties=[
            {"name": "order_id", "property_type": "String", "is_required": True},
            {"name": "amount", "property_type": "Numeric"},
        ],
    )
    billing = await api.property_groups.create(
        name="billing",
        properties=[{"name": "plan", "property_type": "String", "is_required": True}],
    )
    events = {
        name: await api.event_definitions.create(name=name)
        for name in ("checkout_completed", "checkout_started", "signup")
    }
    schema = await api.event_schemas.create(
        event_definition=events["checkout_completed"].id, property_group_id=checkout.id
    )
    return {"checkout": checkout, "billing": billing, "events": events, "schema": schema}


@pytest.fixture
def server_for(sandbox: SandboxApp) -> Callable[..., MCPServer[AppState]]:
    def make(*, read_only: bool = False, key: str = SECRET_KEY) -> MCPServer[AppState]:
        return create_server(
            ServerOptions(read_only=read_only), client_factory=lambda: api_client(sandbox, key)
        )

    return make


@pytest.fixture
async def client(server_for: Callable[..., MCPServer[AppState]]) -> AsyncIterator[Client]:
    async with Client(server_for(read_only=True)) as connected:
        yield connected


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def mcp_client(
    server_for: Callable[..., MCPServer[AppState]], mode: str
) -> AsyncIterator[Client]:
    async with Client(server_for(), mode=mode) as client:
        yield client
