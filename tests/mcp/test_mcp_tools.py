"""Every tool of the MCP server through an in-memory client, in both protocol modes.

The server's PostHog client talks HTTP to a fresh sandbox; results are checked against the
output schema the server publishes and against the sandbox's state, read back through the API.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.types import CallToolResult, TextContent
from mcp_test_helpers import with_token

from eventschema_tools.client import AsyncEventSchemaClient

pytestmark = pytest.mark.anyio

READ_TOOLS = {
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
WRITE_TOOLS = {
    "create_event_schema",
    "update_event_schema",
    "delete_event_schema",
    "bind_property_group",
    "unbind_property_group",
    "create_property_group",
    "update_property_group",
    "promote_environment",
    "ratchet_enforcement",
}


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; check its result against the published output schema."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools[name].output_schema
    assert schema is not None
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, schema)
    return result.structured_content


def text_of(result: CallToolResult) -> str:
    return "".join(part.text for part in result.content if isinstance(part, TextContent))


async def call_error(client: Client, name: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error, f"{name} should have failed: {result.structured_content}"
    assert result.structured_content is None
    return text_of(result)


async def bindings(api: AsyncEventSchemaClient) -> set[tuple[str, str]]:
    """The sandbox's bindings as (event id, group name) pairs."""
    return {
        (str(s.event_definition), s.property_group.name) async for s in api.event_schemas.list()
    }


# --- the tool list -------------------------------------------------------------------------------


async def test_tools_are_described_and_annotated(mcp_client: Client) -> None:
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    for tool in tools.values():
        assert tool.title, tool.name
        assert len(tool.description or "") > 40, tool.name
        hints = tool.annotations
        assert hints is not None
        assert None not in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ), tool.name
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    assert all(tools[name].annotations.read_only_hint for name in READ_TOOLS)
    assert not any(tools[name].annotations.read_only_hint for name in WRITE_TOOLS)
    assert tools["delete_event_schema"].annotations.destructive_hint is True
    assert tools["unbind_property_group"].annotations.destructive_hint is True
    assert tools["bind_property_group"].annotations.destructive_hint is True
    assert tools["create_property_group"].annotations.idempotent_hint is False
    # The injected dependencies stay out of the schema the model fills in.
    delete_args = tools["delete_event_schema"].input_schema["properties"]
    assert set(delete_args) == {"schema_id", "event", "group", "confirm_token"}


async def test_instructions_explain_the_domain(mcp_client: Client) -> None:
    instructions = mcp_client.instructions or ""
    for needle in ("property group", "event schema", "list_event_schemas", "event_definition:"):
        assert needle in instructions


# --- event schemas -------------------------------------------------------------------------------


async def test_list_event_schemas_names_event_group_and_properties(
    mcp_client: Client, seeded: dict[str, Any]
) -> None:
    page = await call(mcp_client, "list_event_schemas", {})
    assert page["next_cursor"] is None
    [item] = page["items"]
    assert item["id"] == str(seeded["schema"].id)
    assert (item["event_name"], item["group_name"]) == ("checkout_completed", "checkout")
    assert {p["name"]: p["required"] for p in item["properties"]} == {
        "order_id": True,
        "amount": False,
    }


async def test_list_event_schemas_pages_with_a_cursor_and_filters_by_event(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    for name in ("checkout_started", "signup"):
        await api.event_schemas.create(
            event_definition=seeded["events"][name].id, property_group_id=seeded["billing"].id
        )
    first = await call(mcp_client, "list_event_schemas", {"limit": 2})
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = await call(
        mcp_client, "list_event_schemas", {"limit": 2, "cursor": first["next_cursor"]}
    )
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    seen = [item["event_name"] for item in first["items"] + second["items"]]
    assert sorted(seen) == ["checkout_completed", "checkout_started", "signup"]

    only = await call(mcp_client, "list_event_schemas", {"event": "signup"})
    assert [(i["event_name"], i["group_name"]) for i in only["items"]] == [("signup", "billing")]
    by_id = await call(
        mcp_client, "list_event_schemas", {"event": str(seeded["events"]["signup"].id)}
    )
    assert by_id["items"] == only["items"]


async def test_create_event_schema_binds_once(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    created = await call(mcp_client, "create_event_schema", {"event": "signup", "group": "billing"})
    assert created["created"] is True
    assert created["binding"]["event_name"] == "signup"
    again = await call(mcp_client, "create_event_schema", {"event": "signup", "group": "billing"})
    assert again["created"] is False
    assert again["binding"]["id"] == created["binding"]["id"]
    signup = str(seeded["events"]["signup"].id)
    assert (signup, "billing") in await bindings(api)
    assert len(await bindings(api)) == 2


async def test_update_event_schema_moves_the_binding(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    arguments = {"schema_id": str(seeded["schema"].id), "group": "billing"}
    moved = await call(
        mcp_client,
        "update_event_schema",
        await with_token(mcp_client, "update_event_schema", arguments),
    )
    assert (moved["event_name"], moved["group_name"]) == ("checkout_completed", "billing")
    completed = str(seeded["events"]["checkout_completed"].id)
    assert await bindings(api) == {(completed, "billing")}


async def test_delete_event_schema_with_confirm_deletes(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    arguments = {"event": "checkout_completed", "group": "checkout"}
    outcome = await call(
        mcp_client,
        "delete_event_schema",
        await with_token(mcp_client, "delete_event_schema", arguments),
    )
    assert outcome == {
        "deleted": True,
        "id": str(seeded["schema"].id),
        "event_name": "checkout_completed",
        "group_name": "checkout",
    }
    assert await bindings(api) == set()
    # The group and the event stay.
    assert (await api.property_groups.get(seeded["checkout"].id)).name == "checkout"


async def test_delete_event_schema_by_id(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    schema_id = str(seeded["schema"].id)
    outcome = await call(
        mcp_client,
        "delete_event_schema",
        await with_token(mcp_client, "delete_event_schema", {"schema_id": schema_id}),
    )
    assert outcome["deleted"] is True
    assert outcome["id"] == schema_id
    assert await bindings(api) == set()
    gone = await call_error(mcp_client, "delete_event_schema", {"schema_id": schema_id})
    assert "no event schema" in gone
    assert "list_event_schemas" in gone


# --- property groups and events ------------------------------------------------------------------


async def test_list_and_get_property_groups(mcp_client: Client, seeded: dict[str, Any]) -> None:
    page = await call(mcp_client, "list_property_groups", {})
    assert [g["name"] for g in page["items"]] == ["billing", "checkout"]
    checkout = page["items"][1]
    assert checkout["required_properties"] == ["order_id"]
    assert checkout["events"] == ["checkout_completed"]
    filtered = await call(mcp_client, "list_property_groups", {"search": "BILL"})
    assert [g["name"] for g in filtered["items"]] == ["billing"]
    first = await call(mcp_client, "list_property_groups", {"limit": 1})
    rest = await call(mcp_client, "list_property_groups", {"cursor": first["next_cursor"]})
    assert [g["name"] for g in first["items"] + rest["items"]] == ["billing", "checkout"]

    group = await call(mcp_client, "get_property_group", {"group": "checkout"})
    assert group["id"] == str(seeded["checkout"].id)
    assert [e["name"] for e in group["events"]] == ["checkout_completed"]
    assert {p["name"]: p["type"] for p in group["properties"]} == {
        "amount": "Numeric",
        "order_id": "String",
    }
    by_id = await call(mcp_client, "get_property_group", {"group": str(seeded["checkout"].id)})
    assert by_id == group


async def test_create_and_update_property_group(
    mcp_client: Client, api: AsyncEventSchemaClient
) -> None:
    created = await call(
        mcp_client,
        "create_property_group",
        {
            "name": "device",
            "description": "Client device",
            "properties": [
                {"name": "os", "property_type": "String", "is_required": True},
                {"name": "screen_width", "property_type": "Numeric"},
            ],
        },
    )
    assert created["name"] == "device"
    assert len(created["properties"]) == 2
    updated = await call(
        mcp_client,
        "update_property_group",
        await with_token(
            mcp_client,
            "update_property_group",
            {
                "group": "device",
                "name": "client_device",
                "properties": [{"name": "os", "property_type": "String", "is_required": False}],
            },
        ),
    )
    assert updated["name"] == "client_device"
    assert [(p["name"], p["required"]) for p in updated["properties"]] == [("os", False)]
    stored = await api.property_groups.get(created["id"])
    assert stored.name == "client_device"
    assert [p.name for p in stored.properties] == ["os"]
    assert stored.description == "Client device"


async def test_find_event_definitions_with_their_groups(
    mcp_client: Client, seeded: dict[str, Any]
) -> None:
    page = await call(mcp_client, "find_event_definitions", {"search": "checkout"})
    groups = {item["name"]: item["property_groups"] for item in page["items"]}
    assert groups == {"checkout_completed": ["checkout"], "checkout_started": []}
    first = await call(mcp_client, "find_event_definitions", {"limit": 2})
    rest = await call(mcp_client, "find_event_definitions", {"cursor": first["next_cursor"]})
    names = [e["name"] for e in first["items"] + rest["items"]]
    assert sorted(names) == ["checkout_completed", "checkout_started", "signup"]
    assert rest["next_cursor"] is None


# --- many bindings at once -----------------------------------------------------------------------


async def test_bind_property_group_to_many_events(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    report = await call(
        mcp_client,
        "bind_property_group",
        {"group": "checkout", "events": ["checkout_started", "checkout_completed", "sigup"]},
    )
    statuses = {r["event"]: (r["status"], r["detail"]) for r in report["results"]}
    assert statuses["checkout_started"] == ("created", "")
    assert statuses["checkout_completed"] == ("exists", "")
    assert statuses["sigup"] == ("unresolved", "no event named 'sigup'")
    events = seeded["events"]
    assert await bindings(api) == {
        (str(events["checkout_completed"].id), "checkout"),
        (str(events["checkout_started"].id), "checkout"),
    }


async def test_unbind_property_group_with_confirm(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    arguments = {"group": "checkout", "events": ["checkout_completed", "signup"]}
    report = await call(
        mcp_client,
        "unbind_property_group",
        await with_token(mcp_client, "unbind_property_group", arguments),
    )
    assert [(r["event"], r["status"]) for r in report["results"]] == [
        ("checkout_completed", "deleted"),
        ("signup", "absent"),
    ]
    assert await bindings(api) == set()


# --- tracking plan -------------------------------------------------------------------------------

PLAN = """\
version: 1
property_groups:
  checkout:
    description: Every checkout event
    properties:
      order_id: {type: String, required: true}
      amount: {type: Numeric}
  billing:
    properties:
      plan: {type: String, required: true}
events:
  checkout_completed:
    groups: [checkout, billing]
"""


async def test_plan_tracking_plan_lists_changes_and_applies_nothing(
    mcp_client: Client, api: AsyncEventSchemaClient, seeded: dict[str, Any]
) -> None:
    before = await bindings(api)
    plan = await call(mcp_client, "plan_tracking_plan", {"plan_yaml": PLAN})
    actions = [(c["action"], c.get("group"), c.get("event")) for c in plan["changes"]]
    assert ("create_binding", "billing", "checkout_completed") in actions
    assert all(action != "create_group" for action, _, _ in actions)
    assert await bindings(api) == before


async def test_plan_tracking_plan_reports_yaml_problems_with_positions(
    mcp_client: Client, seeded: dict[str, Any]
) -> None:
    broken = PLAN.replace("groups: [checkout, billing]", "groups: [checkout, payments]")
    text = await call_error(mcp_client, "plan_tracking_plan", {"plan_yaml": broken})
    assert "<plan_yaml>:13:" in text
    assert "payments" in text
