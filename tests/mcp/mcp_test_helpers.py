"""Constants and helpers shared by the MCP adapter tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
from mcp import Client
from mcp.types import CallToolResult, TextContent

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.sandbox import SandboxApp

SECRET_KEY = "phx_mcp_test_secret_7f3a9c21d4e8b6"
READ_ONLY_KEY = "phx_mcp_test_readonly_51c0e9a2"
SANDBOX_URL = "http://sandbox.test"
MODES = ("auto", "legacy")


def api_client(app: SandboxApp, key: str = SECRET_KEY) -> AsyncEventSchemaClient:
    """An async client on `app` (no retries, no pacing: the sandbox answers at once)."""
    return AsyncEventSchemaClient(
        api_key=key,
        project_id=1,
        host=SANDBOX_URL,
        max_retries=0,
        rate_limit="off",
        query_rate_limit="off",
        transport=httpx.ASGITransport(app=app),
    )


def preview_of(result: CallToolResult) -> dict[str, Any]:
    """The JSON part of a confirmation preview: ``preview`` (the effect), ``confirm_token``."""
    assert result.is_error
    text = "".join(part.text for part in result.content if isinstance(part, TextContent))
    data: dict[str, Any] = json.loads(text[text.index("\n{") + 1 :])
    return data


async def with_token(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """``arguments`` plus the ``confirm_token`` a first, previewing call returns.

    What a client without elicitation does after the user agreed to the preview.
    """
    preview = preview_of(await client.call_tool(tool, arguments))
    return {**arguments, "confirm_token": preview["confirm_token"]}


def text_of(content: list[Any]) -> str:
    """The text parts of a tool result, joined."""
    return "".join(part.text for part in content if isinstance(part, TextContent))


async def structured_answer(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A call that must succeed: its structured answer, checked against the tool's published
    output schema."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result.content)
    [listed] = [item for item in (await client.list_tools()).tools if item.name == tool]
    assert listed.output_schema is not None
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, listed.output_schema)
    answer: dict[str, Any] = result.structured_content
    return answer
