"""Pagination: DRF limit/offset with absolute next/previous links, over loopback and in-process."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from eventschema_tools.sandbox import DEMO_API_KEY, Project, RunningSandbox, SandboxApp

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def test_walking_next_links_visits_every_item_once(sandbox_server: RunningSandbox):
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=sandbox_server.url, headers=AUTH) as client:
        for index in range(7):
            client.post(
                "/api/projects/1/event_definitions/", json={"name": f"{prefix}-{index}"}
            ).raise_for_status()
        first = f"{sandbox_server.url}/api/projects/1/event_definitions/?search={prefix}&limit=3"
        url: str | None = first
        seen: list[str] = []
        pages = 0
        while url is not None:
            assert url.startswith(f"{sandbox_server.url}/api/projects/1/event_definitions/?")
            body = client.get(url).json()
            assert body["count"] == 7
            seen += [d["name"] for d in body["results"]]
            url = body["next"]
            pages += 1

    assert pages == 3
    assert sorted(seen) == [f"{prefix}-{index}" for index in range(7)]
    assert len(set(seen)) == 7


def test_links_keep_other_parameters_in_sorted_order(sandbox_server: RunningSandbox):
    with httpx.Client(base_url=sandbox_server.url, headers=AUTH) as client:
        prefix = f"links-{uuid.uuid4().hex[:8]}"
        for index in range(3):
            client.post("/api/projects/1/event_definitions/", json={"name": f"{prefix}{index}"})

        middle = client.get(
            "/api/projects/1/event_definitions/",
            params={"search": prefix, "offset": 1, "limit": 1},
        ).json()

    assert middle["next"] == (
        f"{sandbox_server.url}/api/projects/1/event_definitions/?limit=1&offset=2&search={prefix}"
    )
    # Going back to the first page drops `offset` altogether, as DRF does.
    assert middle["previous"] == (
        f"{sandbox_server.url}/api/projects/1/event_definitions/?limit=1&search={prefix}"
    )


async def test_previous_link_steps_back_by_limit(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app())
    for index in range(6):
        await client.post("/api/projects/1/schema_property_groups/", json={"name": f"g{index}"})

    body = (await client.get("/api/projects/1/schema_property_groups/?limit=2&offset=4")).json()

    assert [g["name"] for g in body["results"]] == ["g4", "g5"]
    assert body["next"] is None
    previous = parse_qs(urlsplit(body["previous"]).query)
    assert previous == {"limit": ["2"], "offset": ["2"]}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=-5", "limit=ten", "offset=-3&limit=abc", "offset=x"]
)
async def test_bad_limit_or_offset_falls_back_to_defaults_on_schema_lists(
    sandbox_app: Callable[..., SandboxApp],
    asgi_client_for: Callable[..., httpx.AsyncClient],
    query: str,
):
    client = asgi_client_for(sandbox_app())
    for index in range(3):
        await client.post("/api/projects/1/schema_property_groups/", json={"name": f"g{index}"})

    body = (await client.get(f"/api/projects/1/schema_property_groups/?{query}")).json()

    assert [g["name"] for g in body["results"]] == ["g0", "g1", "g2"]
    assert body["next"] is None


async def test_default_limit_is_100_with_no_maximum(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app())
    for index in range(130):
        await client.post("/api/projects/1/event_definitions/", json={"name": f"e{index:03d}"})

    default_page = (await client.get("/api/projects/1/event_definitions/")).json()
    everything = (await client.get("/api/projects/1/event_definitions/?limit=5000")).json()

    assert (default_page["count"], len(default_page["results"])) == (130, 100)
    assert parse_qs(urlsplit(default_page["next"]).query) == {"limit": ["100"], "offset": ["100"]}
    assert len(everything["results"]) == 130
    assert everything["next"] is None


async def test_offset_past_the_end_is_an_empty_page(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(projects=(Project(1),)))
    await client.post("/api/projects/1/schema_property_groups/", json={"name": "only"})

    body = (await client.get("/api/projects/1/schema_property_groups/?offset=10")).json()

    assert body["count"] == 1
    assert body["results"] == []
    assert body["next"] is None
    assert body["previous"] is not None
