"""Tool arguments through a real MCP client: one spelling in and out, one sentence when wrong.

A property is `name`, `type`, `required`, `optional_in_types`, `description` in the published
input schema and in every result. Arguments that do not fit come back as a tool error of one
sentence that names the field as the caller spelled it, the wrong value and a fix, never as
pydantic's report, and nothing reaches PostHog.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.types import TextContent

from eventschema_tools.client import AsyncEventSchemaClient

pytestmark = pytest.mark.anyio

PYDANTIC_REPORT = ("validation error", "type=", "errors.pydantic.dev", "Arguments\n", "input_value")


async def refusal(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """The text of a tool error, checked to be one sentence and not pydantic's report."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} should have failed: {result.structured_content}"
    text = "".join(part.text for part in result.content if isinstance(part, TextContent))
    assert "\n" not in text, text
    assert not [marker for marker in PYDANTIC_REPORT if marker in text], text
    return text.removeprefix(f"Error executing tool {tool}: ")


async def group_names(api: AsyncEventSchemaClient) -> set[str]:
    return {group.name async for group in api.property_groups.list()}


def property_schema(tools: dict[str, Any], tool: str) -> dict[str, Any]:
    schema = tools[tool].input_schema
    return next(d for name, d in schema["$defs"].items() if name.startswith("PropertyInput"))


async def test_properties_are_spelled_as_the_results_spell_them(
    mcp_client: Client, api: AsyncEventSchemaClient
) -> None:
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}
    for tool in ("create_property_group", "update_property_group"):
        fields = set(property_schema(tools, tool)["properties"])
        assert fields == {"name", "type", "required", "optional_in_types", "description"}

    created = await mcp_client.call_tool(
        "create_property_group",
        {
            "name": "device",
            "properties": [
                {"name": "os", "type": "String", "required": True},
                {"name": "width", "type": "numeric"},  # any case is the type
            ],
        },
    )

    assert not created.is_error, created.content
    assert created.structured_content is not None
    shown = [
        (p["name"], p["type"], p["required"]) for p in created.structured_content["properties"]
    ]
    assert shown == [("os", "String", True), ("width", "Numeric", False)]
    stored = await api.property_groups.get(created.structured_content["id"])
    assert [(p.name, p.property_type, p.is_required) for p in stored.properties] == [
        ("os", "String", True),
        ("width", "Numeric", False),
    ]


async def test_posthogs_own_property_names_are_still_read(
    mcp_client: Client, api: AsyncEventSchemaClient
) -> None:
    created = await mcp_client.call_tool(
        "create_property_group",
        {
            "name": "legacy",
            "properties": [{"name": "plan", "property_type": "String", "is_required": True}],
        },
    )

    assert not created.is_error, created.content
    assert created.structured_content is not None
    assert created.structured_content["properties"][0]["type"] == "String"
    assert created.structured_content["properties"][0]["required"] is True
    assert "legacy" in await group_names(api)


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param(
            [{"name": "amount", "type": "Number"}],
            "type of property 'amount': 'Number' is not one of DateTime, String, Numeric, "
            "Boolean, Object; did you mean 'Numeric'?",
            id="wrong-type",
        ),
        pytest.param(
            [{"name": "amount", "property_type": "Integer"}],
            "property_type of property 'amount': 'Integer' is not one of DateTime, String, "
            "Numeric, Boolean, Object; did you mean 'Numeric'?",
            id="wrong-type-in-posthogs-spelling",
        ),
        pytest.param(
            [{"name": "amount", "type": "Numeric", "requierd": True}],
            "property 'amount': unknown field 'requierd'; did you mean 'required'?",
            id="misspelt-field",
        ),
        pytest.param(
            [{"name": "amount", "type": "Numeric", "property_type": "String"}],
            "property 'amount': 'property_type' and 'type' are the same field; give only one",
            id="both-spellings",
        ),
        pytest.param(
            [{"name": "amount"}],
            "property 'amount': field 'type' is required (one of DateTime, String, Numeric, "
            "Boolean, Object)",
            id="no-type",
        ),
        pytest.param(
            ["amount"],
            "properties[0]: expected a mapping with name, type, required, optional_in_types, "
            "description, got 'amount'",
            id="bare-name",
        ),
        pytest.param(
            [{"name": "amount", "type": "Numeric", "required": "maybe"}],
            "required of property 'amount': expected true or false, got 'maybe'",
            id="wrong-value-type",
        ),
    ],
)
async def test_wrong_properties_are_one_sentence_with_a_fix(
    mcp_client: Client, api: AsyncEventSchemaClient, properties: list[Any], expected: str
) -> None:
    text = await refusal(
        mcp_client, "create_property_group", {"name": "orders", "properties": properties}
    )

    assert text.startswith(expected), text
    assert "orders" not in await group_names(api)


async def test_unknown_and_wrongly_typed_arguments_are_refused(
    mcp_client: Client, api: AsyncEventSchemaClient
) -> None:
    unknown = await refusal(
        mcp_client, "create_property_group", {"name": "orders", "properties": [], "nmae": "x"}
    )
    misspelt = await refusal(mcp_client, "list_property_groups", {"serach": "check"})
    not_a_number = await refusal(mcp_client, "list_event_schemas", {"limit": "many"})
    not_a_list = await refusal(
        mcp_client, "create_property_group", {"name": "orders", "properties": "amount:Numeric"}
    )

    assert unknown == "unknown argument 'nmae'; did you mean 'name'?"
    assert misspelt == "unknown argument 'serach'; did you mean 'search'?"
    assert not_a_number.startswith("limit: ")
    assert not_a_number.endswith("got 'many'")
    assert not_a_list == "properties: expected a list, got 'amount:Numeric'"
    assert "orders" not in await group_names(api)
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}
    assert tools["create_property_group"].input_schema["additionalProperties"] is False


def _forged(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(_forged(json.dumps({"offset": 10**30}).encode()), id="huge-offset"),
        pytest.param(_forged(json.dumps({"offset": 3}).encode()), id="plain-offset"),
        pytest.param("not-a-cursor", id="garbage"),
    ],
)
async def test_a_forged_cursor_is_one_sentence(
    mcp_client: Client, seeded: dict[str, Any], cursor: str
) -> None:
    for tool in ("list_property_groups", "list_event_schemas", "find_event_definitions"):
        text = await refusal(mcp_client, tool, {"cursor": cursor, "limit": 1})

        assert text.startswith("cursor '"), text
        assert text.endswith("is not one this server issued; start again without cursor")


async def test_an_edited_cursor_is_refused_and_the_issued_one_still_works(
    mcp_client: Client, seeded: dict[str, Any]
) -> None:
    first = await mcp_client.call_tool("list_property_groups", {"limit": 1})
    assert first.structured_content is not None
    issued = first.structured_content["next_cursor"]
    raw = base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4))
    edited = base64.urlsafe_b64encode(raw[:-1] + (b"2" if raw.endswith(b"1") else b"1")).decode()

    text = await refusal(mcp_client, "list_property_groups", {"cursor": edited, "limit": 1})
    second = await mcp_client.call_tool("list_property_groups", {"cursor": issued, "limit": 1})

    assert "is not one this server issued" in text
    assert not second.is_error
    assert second.structured_content is not None
    assert [g["name"] for g in second.structured_content["items"]] == ["checkout"]
