"""Helpers for the sandbox's events and HogQL tests: HogQL requests and capture."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


async def hogql(
    client: httpx.AsyncClient,
    query: str,
    values: Mapping[str, object] | None = None,
    *,
    project_id: int = 1,
    headers: Mapping[str, str] = AUTH,
) -> httpx.Response:
    """POST a HogQLQuery to the sandbox's query endpoint."""
    body: dict[str, Any] = {"kind": "HogQLQuery", "query": query}
    if values is not None:
        body["values"] = dict(values)
    return await client.post(
        f"/api/projects/{project_id}/query/", json={"query": body}, headers=dict(headers)
    )


async def rows(
    client: httpx.AsyncClient, query: str, values: Mapping[str, object] | None = None
) -> list[list[Any]]:
    """Run a HogQL query that must succeed and return its result rows."""
    response = await hogql(client, query, values)
    assert response.status_code == 200, response.text
    results: list[list[Any]] = response.json()["results"]
    return results


async def send_batch(
    client: httpx.AsyncClient, events: list[dict[str, Any]], token: str = DEMO_PROJECT_TOKEN
) -> httpx.Response:
    """POST events to /batch/ as the Python SDK does (uncompressed)."""
    return await client.post("/batch/", json={"api_key": token, "batch": events})
