"""Constants and helpers shared by the MCP adapter tests."""

from __future__ import annotations

import httpx

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
