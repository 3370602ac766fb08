"""``review_plan_change`` through a real MCP client, on the demo project with its day of events.

An assistant proposes a plan edit and sees, before anyone applies it, every change classified,
the plan's acknowledgements, the gate's verdict and the backtest. The tool never writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_test_helpers import SECRET_KEY, api_client, structured_answer, text_of

from eventschema_tools.mcp_server.state import AppState
from eventschema_tools.sandbox import SandboxApp
from eventschema_tools.tracking_plan import apply_async, compute_plan_async
from eventschema_tools.tracking_plan.file import parse_plan

pytestmark = pytest.mark.anyio

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml").read_text(
    encoding="utf-8"
)
TOOL = "review_plan_change"
SEATS = "      seats: {type: Numeric, description: Paid seats in the workspace, rules: {min: 0}}"
PROPOSAL = EXAMPLE.replace(
    SEATS, SEATS.replace("{type: Numeric,", "{type: Numeric, required: true,")
)


@pytest.fixture
def sandbox_seed() -> str:
    """The demo project, its day of events included."""
    return "demo"


@pytest.fixture
async def client(
    sandbox: SandboxApp, server_for: Callable[..., MCPServer[AppState]]
) -> AsyncIterator[Client]:
    async with api_client(sandbox) as api:
        plan = await compute_plan_async(api, parse_plan(EXAMPLE), create_events=True)
        assert (await apply_async(api, plan)).ok
    async with Client(server_for(read_only=True)) as connected:
        yield connected


async def reviewed(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    return await structured_answer(client, TOOL, arguments)


async def seats_required(sandbox: SandboxApp) -> bool:
    async with api_client(sandbox) as api:
        group = await api.property_groups.find_by_name("workspace_context")
    assert group is not None
    return next(prop.is_required for prop in group.properties if prop.name == "seats")


async def test_the_tool_is_read_only_and_listed_in_read_only_mode(client: Client) -> None:
    [tool] = [tool for tool in (await client.list_tools()).tools if tool.name == TOOL]

    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is True
    assert set(tool.input_schema["properties"]) == {
        "plan_yaml",
        "base_yaml",
        "backtest_days",
        "fail_on",
        "prune",
    }


async def test_a_breaking_edit_is_classified_gated_and_backtested(
    client: Client, sandbox: SandboxApp
) -> None:
    answer = await reviewed(client, {"plan_yaml": PROPOSAL, "backtest_days": 2})

    [impact] = answer["plan"]["impacts"]
    assert (impact["level"], impact["kind"], impact["property"]) == (
        "breaking",
        "property_required",
        "seats",
    )
    assert answer["passed"] is False
    assert answer["fail_on"] == "breaking"
    backtest = answer["backtest"]
    assert {item["event"] for item in backtest["events"]} == set(impact["events"])
    assert backtest["queries"] <= backtest["query_bound"]
    assert any(item["rejected_proposed"] > item["rejected_now"] for item in backtest["events"])
    assert not await seats_required(sandbox), "the review changed nothing"


async def test_an_acknowledged_change_passes_and_rules_compare_with_the_base(
    client: Client,
) -> None:
    acknowledged = PROPOSAL.replace(
        "    description: Set on every event by the SDK once the user is inside a workspace\n",
        "    description: Set on every event by the SDK once the user is inside a workspace\n"
        "    allow_breaking:\n"
        "      - {change: property_required, property: seats, reason: billing sends seats}\n",
    ).replace("rules: {enum: [owner, admin, member, guest]}", "rules: {enum: [owner, admin]}")

    answer = await reviewed(client, {"plan_yaml": acknowledged, "base_yaml": EXAMPLE})

    assert answer["passed"] is True
    assert answer["backtest"] is None
    found = {(i["kind"], i["level"], i["acknowledged"]) for i in answer["plan"]["impacts"]}
    assert found == {
        ("property_required", "breaking", "billing sends seats"),
        ("rule_tightened", "risky", None),
    }


async def test_bad_arguments_are_one_sentence(client: Client) -> None:
    result = await client.call_tool(TOOL, {"plan_yaml": "version: 2\n"})
    assert result.is_error
    text = text_of(result.content)
    assert "version" in text
    assert "Traceback" not in text
    assert SECRET_KEY not in text

    days = await client.call_tool(TOOL, {"plan_yaml": PROPOSAL, "backtest_days": 0})
    assert days.is_error
    assert "backtest_days" in text_of(days.content)
