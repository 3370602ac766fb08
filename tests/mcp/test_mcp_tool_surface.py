"""The published tool surface (``tools/list``) against a reviewed snapshot.

Names, titles, descriptions, annotations and input/output schemas are what assistants and MCP
hosts build on; a change to any of them must be deliberate. After an intended change, regenerate
the snapshot with ``EVENTSCHEMA_UPDATE_SNAPSHOTS=1 pytest tests/mcp/test_mcp_tool_surface.py``
and review its diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer

from eventschema_tools.mcp_server.state import AppState

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).with_name("tools_list.snapshot.json")


async def published_tools(server: MCPServer[AppState]) -> list[dict[str, Any]]:
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    return [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for tool in sorted(tools, key=lambda tool: tool.name)
    ]


async def test_tools_list_matches_the_snapshot(
    server_for: Callable[..., MCPServer[AppState]],
) -> None:
    surface = {
        "full": await published_tools(server_for()),
        "read_only": [tool["name"] for tool in await published_tools(server_for(read_only=True))],
    }
    text = json.dumps(surface, indent=2, sort_keys=True) + "\n"
    if os.environ.get("EVENTSCHEMA_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.is_file(), "no snapshot yet: run with EVENTSCHEMA_UPDATE_SNAPSHOTS=1"
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == json.loads(text), (
        "the MCP tool surface changed; if intended, regenerate the snapshot "
        "(EVENTSCHEMA_UPDATE_SNAPSHOTS=1) and review the diff"
    )


async def test_every_write_tool_is_absent_in_read_only_mode(
    server_for: Callable[..., MCPServer[AppState]],
) -> None:
    full = await published_tools(server_for())
    read_only = {tool["name"] for tool in await published_tools(server_for(read_only=True))}
    for tool in full:
        writes = not tool["annotations"]["readOnlyHint"]
        assert (tool["name"] in read_only) is not writes, tool["name"]
