"""What keeps the MCP server safe: confirmation of deletes, read-only mode, errors, the key.

Everything runs through an in-memory client in both protocol modes, against the sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitRequestParams, ElicitResult, TextContent
from mcp_test_helpers import READ_ONLY_KEY, SECRET_KEY

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.mcp_server.state import AppState

pytestmark = pytest.mark.anyio

ServerFor = Callable[..., MCPServer[AppState]]


class Answering:
    """An elicitation callback: records each question and answers with `action`."""

    def __init__(self, action: str, confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": self.confirm} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)


async def schema_ids(api: AsyncEventSchemaClient) -> list[str]:
    return [str(schema.id) async for schema in api.event_schemas.list()]


# --- confirmation of destructive calls -----------------------------------------------------------


async def test_delete_without_confirmation_refuses_and_changes_nothing(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    before = await schema_ids(api)
    for arguments in (
        {"schema_id": str(seeded["schema"].id)},
        {"schema_id": str(seeded["schema"].id), "confirm_token": "made.up"},
        {"event": "checkout_completed", "group": "checkout"},
    ):
        result = await mcp_client.call_tool("delete_event_schema", arguments)
        assert result.is_error
        text = result.content[0]
        assert isinstance(text, TextContent)
        assert "nothing was deleted" in text.text
        assert "confirm_token" in text.text
    assert await schema_ids(api) == before == [str(seeded["schema"].id)]


async def test_delete_asks_the_user_when_the_client_can(
    server_for: ServerFor, api: AsyncEventSchemaClient, seeded: dict[str, Any], mode: str
) -> None:
    accept = Answering("accept")
    async with Client(server_for(), mode=mode, elicitation_callback=accept) as client:
        result = await client.call_tool(
            "delete_event_schema", {"event": "checkout_completed", "group": "checkout"}
        )
    assert not result.is_error
    assert accept.questions == [
        "Unbind 'checkout' from 'checkout_completed'? The group and the event stay."
    ]
    assert await schema_ids(api) == []


@pytest.mark.parametrize(
    ("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)]
)
async def test_a_user_who_does_not_agree_wins_over_a_confirm_token(
    server_for: ServerFor,
    api: AsyncEventSchemaClient,
    seeded: dict[str, Any],
    mode: str,
    action: str,
    confirm: bool,
) -> None:
    callback = Answering(action, confirm)
    async with Client(server_for(), mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool(
            "delete_event_schema", {"schema_id": str(seeded["schema"].id), "confirm_token": "x.y"}
        )
    assert result.is_error
    assert len(callback.questions) == 1
    assert "nothing was deleted" in result.content[0].text  # type: ignore[union-attr]
    assert await schema_ids(api) == [str(seeded["schema"].id)]


async def test_unbind_without_confirmation_refuses_and_changes_nothing(
    server_for: ServerFor, api: AsyncEventSchemaClient, seeded: dict[str, Any], mode: str
) -> None:
    decline = Answering("decline")
    arguments = {"group": "checkout", "events": ["checkout_completed"]}
    async with Client(server_for(), mode=mode) as client:
        unasked = await client.call_tool("unbind_property_group", arguments)
    async with Client(server_for(), mode=mode, elicitation_callback=decline) as client:
        declined = await client.call_tool(
            "unbind_property_group", {**arguments, "confirm_token": "x.y"}
        )
    assert unasked.is_error
    assert "confirm_token" in unasked.content[0].text  # type: ignore[union-attr]
    assert declined.is_error
    assert decline.questions == [
        "Unbind 'checkout' from 'checkout_completed'? The group and the event stay."
    ]
    assert await schema_ids(api) == [str(seeded["schema"].id)]


async def property_names(api: AsyncEventSchemaClient, group: str) -> list[str]:
    found = await api.property_groups.find_by_name(group)
    assert found is not None
    return [prop.name for prop in found.properties]


async def test_replacing_properties_without_confirmation_refuses_and_changes_nothing(
    server_for: ServerFor, api: AsyncEventSchemaClient, seeded: dict[str, Any], mode: str
) -> None:
    before = await property_names(api, "checkout")
    decline = Answering("decline")
    arguments = {"group": "checkout", "properties": []}
    async with Client(server_for(), mode=mode) as client:
        unasked = await client.call_tool("update_property_group", arguments)
    async with Client(server_for(), mode=mode, elicitation_callback=decline) as client:
        declined = await client.call_tool(
            "update_property_group", {**arguments, "confirm_token": "x.y"}
        )
    assert unasked.is_error
    assert "the group was not changed" in unasked.content[0].text  # type: ignore[union-attr]
    assert declined.is_error
    assert decline.questions == [
        "Replace every property of group 'checkout'? This removes 'amount', 'order_id'."
    ]
    assert before
    assert await property_names(api, "checkout") == before


async def test_a_description_change_needs_no_confirmation(
    server_for: ServerFor, api: AsyncEventSchemaClient, seeded: dict[str, Any], mode: str
) -> None:
    ask = Answering("decline")
    async with Client(server_for(), mode=mode, elicitation_callback=ask) as client:
        result = await client.call_tool(
            "update_property_group", {"group": "checkout", "description": "Paid orders"}
        )
    assert not result.is_error, result.content
    assert ask.questions == []
    found = await api.property_groups.find_by_name("checkout")
    assert found is not None
    assert found.description == "Paid orders"


# --- read-only mode ------------------------------------------------------------------------------


async def test_read_only_mode_registers_no_write_tool(
    server_for: ServerFor, api: AsyncEventSchemaClient, seeded: dict[str, Any], mode: str
) -> None:
    async with Client(server_for(read_only=True), mode=mode) as client:
        tools = (await client.list_tools()).tools
        assert tools
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools)
        assert {tool.name for tool in tools} == {
            "list_event_schemas",
            "list_property_groups",
            "get_property_group",
            "find_event_definitions",
            "plan_tracking_plan",
            "review_plan_change",
            "audit_events",
            "check_event_freshness",
            "list_incidents",
            "infer_tracking_plan",
            "generate_event_helpers",
            "compare_environments",
        }
        result = await client.call_tool(
            "delete_event_schema", {"schema_id": str(seeded["schema"].id), "confirm": True}
        )
        assert result.is_error
        assert "Unknown tool" in result.content[0].text
        listed = await client.call_tool("list_event_schemas", {})
        assert not listed.is_error
    assert await schema_ids(api) == [str(seeded["schema"].id)]


# --- errors ---------------------------------------------------------------------------------------


async def test_unknown_event_suggests_close_names(
    mcp_client: Client, seeded: dict[str, Any]
) -> None:
    result = await mcp_client.call_tool(
        "create_event_schema", {"event": "checkout_complete", "group": "billing"}
    )
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "no event 'checkout_complete'" in text
    assert "did you mean 'checkout_completed'" in text
    assert "find_event_definitions" in text


async def test_unknown_group_suggests_close_names(
    mcp_client: Client, seeded: dict[str, Any]
) -> None:
    result = await mcp_client.call_tool("get_property_group", {"group": "Billing"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "did you mean 'billing'" in text
    assert "list_property_groups" in text


async def test_missing_scope_names_the_scope_to_add(
    server_for: ServerFor, api: AsyncEventSchemaClient, seeded: dict[str, Any], mode: str
) -> None:
    async with Client(server_for(key=READ_ONLY_KEY), mode=mode) as client:
        readable = await client.call_tool("list_property_groups", {})
        assert not readable.is_error
        result = await client.call_tool(
            "create_event_schema", {"event": "signup", "group": "billing"}
        )
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "add the scope 'event_definition:write'" in text
    assert len(await schema_ids(api)) == 1


async def test_bad_arguments_are_tool_errors(mcp_client: Client, seeded: dict[str, Any]) -> None:
    too_many = await mcp_client.call_tool("list_event_schemas", {"limit": 500})
    assert too_many.is_error
    assert "less than or equal to 200" in too_many.content[0].text
    cursor = await mcp_client.call_tool("list_property_groups", {"cursor": "not-a-cursor"})
    assert cursor.is_error
    assert "is not one this server issued" in cursor.content[0].text
    nothing = await mcp_client.call_tool(
        "update_event_schema", {"schema_id": str(seeded["schema"].id)}
    )
    assert nothing.is_error
    assert "nothing to change" in nothing.content[0].text
    bad_type = await mcp_client.call_tool(
        "create_property_group",
        {"name": "x", "properties": [{"name": "a", "property_type": "Text"}]},
    )
    assert bad_type.is_error
    assert "'Text' is not one of" in bad_type.content[0].text
    assert "did you mean 'String'?" in bad_type.content[0].text
    taken = await mcp_client.call_tool(
        "create_property_group", {"name": "billing", "properties": []}
    )
    assert taken.is_error
    assert "already exists" in taken.content[0].text


# --- the key stays secret ------------------------------------------------------------------------


async def test_the_key_appears_in_no_output_error_or_log(
    server_for: ServerFor,
    seeded: dict[str, Any],
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_event_schemas", {}),
        ("list_property_groups", {}),
        ("get_property_group", {"group": "checkout"}),
        ("find_event_definitions", {"search": "checkout"}),
        ("create_event_schema", {"event": "signup", "group": "billing"}),
        ("create_event_schema", {"event": "nope", "group": "billing"}),
        ("get_property_group", {"group": "missing"}),
        ("delete_event_schema", {"schema_id": str(seeded["schema"].id)}),
        (
            "update_event_schema",
            {"schema_id": "00000000-0000-0000-0000-000000000000", "group": "billing"},
        ),
        ("list_event_schemas", {"limit": 0}),
    ]
    seen: list[str] = []
    async with Client(server_for(), mode=mode) as client:
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            seen += [part.text for part in result.content if isinstance(part, TextContent)]
            seen.append(str(result.structured_content))
    async with Client(server_for(key=READ_ONLY_KEY), mode=mode) as client:
        result = await client.call_tool("create_property_group", {"name": "x", "properties": []})
        assert result.is_error
        seen += [part.text for part in result.content if isinstance(part, TextContent)]
    assert any("no event 'nope'" in text for text in seen)  # errors were captured
    for key in (SECRET_KEY, READ_ONLY_KEY):
        assert not [text for text in seen if key in text]
        assert key not in caplog.text
    assert "Tool 'get_property_group' failed" in caplog.text  # the log was captured
