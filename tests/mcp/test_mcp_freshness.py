"""``check_event_freshness`` through a real MCP client, on a sandbox with captured events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_test_helpers import SECRET_KEY, structured_answer, text_of

from eventschema_tools.mcp_server.state import AppState
from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, SandboxApp

pytestmark = pytest.mark.anyio

TOOL = "check_event_freshness"


@pytest.fixture
async def client(
    sandbox: SandboxApp, server_for: Callable[..., MCPServer[AppState]]
) -> AsyncIterator[Client]:
    batch = [{"event": "signed_up", "distinct_id": f"u{i}", "properties": {}} for i in range(2)]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url="http://sandbox.test"
    ) as http:
        sent = await http.post("/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch})
        assert sent.status_code == 200, sent.text
    async with Client(server_for(read_only=True)) as connected:
        yield connected


async def test_says_which_events_arrived_within_the_window(client: Client) -> None:
    answer = await structured_answer(
        client, TOOL, {"events": ["signed_up", "checkout_completed"], "within": "30m"}
    )

    assert [(e["event"], e["events"], e["fresh"]) for e in answer["events"]] == [
        ("signed_up", 2, True),
        ("checkout_completed", 0, False),
    ]
    assert answer["passed"] is False
    assert answer["queries"] == 1


async def test_a_bad_window_is_one_sentence(client: Client) -> None:
    result = await client.call_tool(TOOL, {"events": ["signed_up"], "within": "soon"})

    assert result.is_error
    text = text_of(result.content)
    assert "window" in text
    assert "\n" not in text
    assert SECRET_KEY not in text
