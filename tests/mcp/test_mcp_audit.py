"""``audit_events``: conformance and hygiene of captured events, with rates, through MCP.

Events are captured into the sandbox over its ``/batch/`` endpoint (as PostHog's SDKs send them)
and audited with HogQL queries against it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytest.importorskip("mcp")

from mcp import Client

from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, SandboxApp

pytestmark = pytest.mark.anyio

EVENTS = [
    {"event": "checkout_completed", "distinct_id": "u1", "properties": {"order_id": "1"}},
    {"event": "checkout_completed", "distinct_id": "u2", "properties": {"amount": "lots"}},
    {"event": "checkout_completed", "distinct_id": "u3", "properties": {"order_id": "3"}},
    {"event": "checkout_completed", "distinct_id": "u4", "properties": {"order_id": "4"}},
    {"event": "signup", "distinct_id": "u5", "properties": {}},
]


@pytest.fixture
async def captured(sandbox: SandboxApp, seeded: dict[str, Any]) -> None:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        response = await http.post("/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": EVENTS})
    assert response.status_code == 200


async def test_audit_events_reports_rates_per_event_and_property(
    mcp_client: Client, captured: None
) -> None:
    result = await mcp_client.call_tool(
        "audit_events", {"window": "1h", "kinds": ["conformance", "hygiene"]}
    )
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None
    assert set(report["kinds"]) == {"conformance", "hygiene"}
    assert report["window"]["seconds"] == 3600
    [checkout] = report["events"]
    assert (checkout["event"], checkout["events"]) == ("checkout_completed", 4)
    order_id = next(p for p in checkout["properties"] if p["property"] == "order_id")
    assert (order_id["required"], order_id["present"], order_id["missing"]) == (True, 3, 1)
    missing = next(f for f in report["findings"] if f["code"] == "missing_required")
    assert missing["rates"]["violations"] == pytest.approx(0.25)
    wrong = next(f for f in report["findings"] if f["code"] == "wrong_type")
    assert wrong["property"] == "amount"
    unplanned = [f["event"] for f in report["findings"] if f["code"] == "unplanned_event"]
    assert unplanned == ["signup"]
    assert report["passed"] is False


async def test_audit_events_rejects_a_bad_window(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("audit_events", {"window": "yesterday"})
    assert result.is_error
    assert "window" in result.content[0].text  # type: ignore[union-attr]


async def test_audit_events_for_named_events_only(mcp_client: Client, captured: None) -> None:
    result = await mcp_client.call_tool(
        "audit_events", {"window": "1h", "kinds": ["conformance"], "events": ["checkout_completed"]}
    )
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None
    assert [item["event"] for item in report["events"]] == ["checkout_completed"]


async def test_audit_events_suggests_close_names_for_an_unknown_event(
    mcp_client: Client, captured: None
) -> None:
    result = await mcp_client.call_tool(
        "audit_events", {"kinds": ["conformance"], "events": ["checkout_complete"]}
    )
    assert result.is_error
    assert "checkout_completed" in result.content[0].text  # type: ignore[union-attr]
