"""Parallel requests over real sockets: every write lands once and nothing answers 500."""

from __future__ import annotations

import uuid

import anyio
import httpx
import pytest

from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


async def test_fifty_concurrent_creates_give_fifty_rows(sandbox_server: RunningSandbox):
    prefix = f"par-{uuid.uuid4().hex[:8]}"
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(
        base_url=sandbox_server.url, headers=AUTH, limits=limits
    ) as client:

        async def create(index: int) -> None:
            response = await client.post(
                "/api/projects/1/schema_property_groups/",
                json={
                    "name": f"{prefix}-{index}",
                    "properties": [{"name": "p", "property_type": "String"}],
                },
            )
            statuses.append(response.status_code)

        async with anyio.create_task_group() as tasks:
            for index in range(50):
                tasks.start_soon(create, index)

        listed = (await client.get("/api/projects/1/schema_property_groups/?limit=1000")).json()

    assert statuses == [201] * 50
    mine = [g for g in listed["results"] if g["name"].startswith(prefix)]
    assert len(mine) == 50
    assert len({g["id"] for g in mine}) == 50


async def test_concurrent_duplicates_give_one_row_and_clean_400s(sandbox_server: RunningSandbox):
    name = f"dup-{uuid.uuid4().hex[:8]}"
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=sandbox_server.url, headers=AUTH) as client:

        async def create() -> None:
            response = await client.post("/api/projects/1/event_definitions/", json={"name": name})
            statuses.append(response.status_code)

        async with anyio.create_task_group() as tasks:
            for _ in range(20):
                tasks.start_soon(create)

        found = await client.get("/api/projects/1/event_definitions/", params={"names": name})

    assert sorted(statuses) == [201] + [400] * 19
    assert found.json()["count"] == 1
