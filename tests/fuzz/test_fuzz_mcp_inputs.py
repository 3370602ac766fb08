"""Fuzz every MCP tool's arguments through the in-memory MCP client.

Arguments are drawn from each tool's own input schema (right types, hostile values, names and
ids that exist in the sandbox's demo seed) and, now and then, from any JSON at all: wrong types,
missing required fields, unknown keys. Every call must end, within a time limit, in a result or
a tool error (`isError`) with a message; never an exception out of the client, never a hang,
and never the API key in what comes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp")

from fuzz_settings import fuzz_settings
from hypothesis import event, given, note
from hypothesis import strategies as st
from mcp import Client

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.mcp_server.server import ServerOptions, create_server
from eventschema_tools.sandbox import ApiKey, SandboxApp, create_app
from eventschema_tools.sandbox.storage.store import DefinitionQuery

SECRET = "phx_fuzz_mcp_secret_4be1c0d9a7"
CALL_SECONDS = 30

any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "../../etc",
            "a%2Fb",
            "x?y#z",
            "{events}",
            "'; DROP TABLE x; --",
            "00000000-0000-0000-0000-000000000000",
            "version: 1\nproperty_groups: {g: {properties: {p: {type: String}}}}",
            "!!python/object/apply:os.system ['true']",
        ]
    ),
)


def seed_references() -> list[str]:
    """Names and ids of the demo seed's groups, events and bindings (to reach deeper paths)."""
    app = create_app(seed="demo")
    try:
        store = app.sandbox.store
        _, groups = store.list_property_groups(1, 1000, 0)
        _, events = store.list_event_definitions(1, DefinitionQuery(limit=1000))
        _, schemas = store.list_event_schemas(1, 1000, 0)
    finally:
        app.sandbox.close()
    return sorted(
        {g.name for g in groups}
        | {e.name for e in events}
        | {g.id for g in groups[:3]}
        | {e.id for e in events[:3]}
        | {s.id for s in schemas[:3]}
    )


known = st.sampled_from(seed_references())


def from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit `schema` (roughly: bounds and formats are not kept on purpose)."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(option, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return st.one_of(known, known, hostile_text)
    if kind == "integer":
        return st.integers(-5, 300)
    if kind == "number":
        return st.floats(-10, 1e6, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), defs), min_size=1, max_size=4)
    if kind == "object" and "properties" in schema:
        return arguments(schema, defs)
    return any_json


@st.composite
def arguments(draw: st.DrawFn, schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A tool call's arguments: mostly well-typed, sometimes missing, wrong or extra."""
    required = set(schema.get("required", ()))
    chosen: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        if draw(st.integers(0, 9)) < (9 if name in required else 6):
            wrong = draw(st.integers(0, 9)) == 0
            chosen[name] = draw(any_json if wrong else from_schema(spec, defs))
    if draw(st.integers(0, 9)) == 0:
        chosen[draw(st.text(min_size=1, max_size=8))] = draw(any_json)
    return chosen


def api_factory(app: SandboxApp) -> Any:
    def make() -> AsyncEventSchemaClient:
        return AsyncEventSchemaClient(
            api_key=SECRET,
            project_id=1,
            host="http://sandbox.test",
            max_retries=0,
            rate_limit="off",
            query_rate_limit="off",
            transport=httpx.ASGITransport(app=app),
        )

    return make


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxApp]:
    app = create_app(seed="demo", rate_limiting=False, api_keys=(ApiKey(SECRET),))
    yield app
    app.sandbox.close()


async def _tool_schemas() -> dict[str, dict[str, Any]]:
    app = create_app(rate_limiting=False)
    try:
        server = create_server(ServerOptions(), client_factory=api_factory(app))
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
        return {tool.name: tool.input_schema for tool in tools}
    finally:
        app.sandbox.close()


TOOLS = anyio.run(_tool_schemas)


async def call(app: SandboxApp, tool: str, args: dict[str, Any]) -> Any:
    server = create_server(ServerOptions(), client_factory=api_factory(app))
    async with Client(server) as client:
        with anyio.fail_after(CALL_SECONDS):
            return await client.call_tool(tool, args)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_any_arguments_give_a_result_or_a_tool_error(sandbox: SandboxApp, tool: str) -> None:
    schema = TOOLS[tool]
    defs = schema.get("$defs", {})

    @fuzz_settings(0.25)
    @given(args=arguments(schema, defs))
    def calls(args: dict[str, Any]) -> None:
        note(f"{tool}({json.dumps(args, default=str)[:500]})")
        result = anyio.run(call, sandbox, tool, args)
        text = " ".join(getattr(part, "text", "") for part in result.content)
        assert SECRET not in text
        assert SECRET not in json.dumps(result.structured_content, default=str)
        event("tool error" if result.is_error else "result")
        if result.is_error:
            assert text.strip(), "a tool error without a message"
            assert "Traceback" not in text
        else:
            assert result.structured_content is not None

    calls()


def test_every_tool_is_fuzzed() -> None:
    assert len(TOOLS) >= 10, sorted(TOOLS)
