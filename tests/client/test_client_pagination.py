"""Pagination: each row once while rows shift, filters kept on every page, foreign links refused."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from eventschema_tools import (
    AsyncEventSchemaClient,
    EventSchemaClient,
    EventSchemaError,
    InvalidInputError,
    UnsafeURLError,
)
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, SandboxApp, run_sandbox


class PageRecorder:
    """An httpx response hook noting each list page's size (what the server really sent)."""

    def __init__(self) -> None:
        self.page_sizes: list[int] = []
        self.urls: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        self.urls.append(str(response.request.url))
        if response.request.method == "GET":
            await response.aread()
            body = response.json()
            if isinstance(body, dict) and "results" in body:
                self.page_sizes.append(len(body["results"]))


def recording_client(
    app: SandboxApp, recorder: PageRecorder, page_size: int | None = None
) -> AsyncEventSchemaClient:
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), event_hooks={"response": [recorder]}
    )
    return AsyncEventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host="http://sandbox.test",
        rate_limit="off",
        page_size=page_size,
        http_client=http,
    )


async def _bind_new(client: AsyncEventSchemaClient, group_id: Any, name: str) -> str:
    event = await client.event_definitions.create(name=name)
    schema = await client.event_schemas.create(
        event_definition=event.id, property_group_id=group_id
    )
    return str(schema.id)


@pytest.mark.anyio
async def test_rows_inserted_during_iteration_never_duplicate_or_hide_existing_rows(
    app: SandboxApp, aclient: AsyncEventSchemaClient
) -> None:
    group = await aclient.property_groups.create(name="shifting")
    existing = [await _bind_new(aclient, group.id, f"before {i:02d}") for i in range(45)]
    recorder = PageRecorder()
    reader = recording_client(app, recorder, page_size=10)
    page_done, inserted = anyio.create_memory_object_stream[int](), anyio.Event()
    send_page, receive_page = page_done
    added: list[str] = []
    seen: list[str] = []

    async def insert_after_each_page() -> None:
        async for page in receive_page:
            for i in range(4):  # newest first: each insert pushes the next page's rows down
                added.append(await _bind_new(aclient, group.id, f"during {page}.{i}"))
        inserted.set()

    async def read_everything() -> None:
        async with send_page:
            async for schema in reader.event_schemas.list():
                seen.append(str(schema.id))
                if len(seen) % 10 == 0:
                    await send_page.send(len(seen) // 10)
                    await anyio.sleep(0.01)  # let the inserter finish before the next page

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(insert_after_each_page)
        tasks.start_soon(read_everything)
    await reader.close()

    counts = Counter(seen)
    assert all(counts[row] == 1 for row in existing), "a pre-existing row was lost or doubled"
    assert max(counts.values()) == 1
    assert inserted.is_set()
    assert len(added) >= 16
    # The server really sent rows twice (shifted pages); the client dropped the repeats.
    assert sum(recorder.page_sizes) > len(seen)


@pytest.mark.anyio
async def test_filters_and_page_size_are_kept_on_every_page(
    app: SandboxApp,
) -> None:
    recorder = PageRecorder()
    client = recording_client(app, recorder, page_size=5)
    wanted = await client.event_definitions.create(name="wanted")
    other = await client.event_definitions.create(name="other")
    groups = [await client.property_groups.create(name=f"group {i:02d}") for i in range(12)]
    for group in groups:
        await client.event_schemas.create(event_definition=wanted.id, property_group_id=group.id)
        await client.event_schemas.create(event_definition=other.id, property_group_id=group.id)
    recorder.urls.clear()
    recorder.page_sizes.clear()

    listed = [s async for s in client.event_schemas.list(event_definition=wanted.id)]
    await client.close()

    assert {s.event_definition for s in listed} == {wanted.id}
    assert len(listed) == 12
    assert recorder.page_sizes == [5, 5, 2]  # exactly ceil(12 / 5) requests
    assert all(f"event_definition={wanted.id}" in url for url in recorder.urls)


@pytest.mark.parametrize(("rows", "page_size"), [(0, 10), (10, 10), (11, 10), (25, 4)])
@pytest.mark.anyio
async def test_a_full_read_costs_ceil_rows_over_page_size_requests(
    app: SandboxApp, rows: int, page_size: int
) -> None:
    recorder = PageRecorder()
    client = recording_client(app, recorder, page_size=page_size)
    for i in range(rows):
        await client.property_groups.create(name=f"g{i:03d}")
    recorder.page_sizes.clear()

    names = [g.name async for g in client.property_groups.list()]
    await client.close()

    assert names == [f"g{i:03d}" for i in range(rows)]
    assert len(recorder.page_sizes) == max(1, math.ceil(rows / page_size))


@pytest.mark.parametrize(
    ("page_size", "max_rows", "pages"),
    [
        pytest.param(1000, 7, [7], id="one-request-of-the-cap"),
        pytest.param(4, 10, [4, 4, 4], id="stops-at-the-page-holding-the-last-row"),
        pytest.param(5, 30, [5, 5, 5, 5], id="cap-above-the-rows-reads-them-all"),
    ],
)
@pytest.mark.anyio
async def test_max_rows_caps_the_rows_and_the_requests(
    app: SandboxApp, page_size: int, max_rows: int, pages: list[int]
) -> None:
    recorder = PageRecorder()
    client = recording_client(app, recorder, page_size=page_size)
    for i in range(20):
        await client.event_definitions.create(name=f"e{i:03d}")
    recorder.page_sizes.clear()

    names = [e.name async for e in client.event_definitions.list(max_rows=max_rows)]
    await client.close()

    assert len(names) == min(max_rows, 20)
    assert recorder.page_sizes == pages


def test_max_rows_below_one_is_refused_before_any_request(
    sandbox_server: RunningSandbox, client: EventSchemaClient
) -> None:
    before = httpx.get(f"{sandbox_server.url}/_sandbox/stats").json()["requests"]

    with pytest.raises(InvalidInputError, match="max_rows must be at least 1"):
        list(client.property_groups.list(max_rows=0))

    assert httpx.get(f"{sandbox_server.url}/_sandbox/stats").json()["requests"] == before


@pytest.fixture
def two_servers() -> Iterator[tuple[RunningSandbox, RunningSandbox]]:
    with run_sandbox(rate_limiting=False) as trusted, run_sandbox(rate_limiting=False) as foreign:
        yield trusted, foreign


def test_a_next_link_to_another_origin_is_refused_and_never_requested(
    two_servers: tuple[RunningSandbox, RunningSandbox],
    make_sync_client: Callable[..., EventSchemaClient],
) -> None:
    trusted, foreign = two_servers
    seeding = make_sync_client(trusted.url)
    for i in range(3):
        seeding.property_groups.create(name=f"group {i}")
    # The trusted server builds `next` from the Host header, so this client's requests make it
    # answer with links to the foreign server: what a hostile or misconfigured proxy would do.
    foreign_host = foreign.url.removeprefix("http://")
    http = httpx.Client(headers={"Host": foreign_host})
    client = make_sync_client(trusted.url, http_client=http, page_size=2)

    rows = client.property_groups.list()
    first_page = [next(rows).name, next(rows).name]
    with pytest.raises(UnsafeURLError) as caught:
        next(rows)
    http.close()

    assert first_page == ["group 0", "group 1"]
    assert foreign_host in str(caught.value)
    assert DEMO_API_KEY not in str(caught.value)
    assert httpx.get(f"{foreign.url}/_sandbox/stats").json()["requests"] == 0
    assert httpx.get(f"{trusted.url}/_sandbox/stats").json()["requests"] == 4


@pytest.mark.parametrize(
    "link",
    [
        pytest.param("https://us.posthog.com.evil.example/api/projects/1/x/", id="lookalike-host"),
        pytest.param("http://us.posthog.com/api/projects/1/x/", id="scheme-downgrade"),
        pytest.param("https://us.posthog.com:8443/api/projects/1/x/", id="other-port"),
        pytest.param("https://user@us.posthog.com/api/projects/1/x/", id="userinfo"),
        pytest.param("/api/projects/1/x/?offset=10", id="relative"),
        pytest.param("//evil.example/api/projects/1/x/", id="scheme-relative"),
    ],
)
def test_follow_link_refuses_anything_but_the_configured_origin(link: str) -> None:
    client = EventSchemaClient(api_key="phx_k", project_id=1, host="us")

    with pytest.raises(UnsafeURLError):
        client.follow_link(link)


def test_follow_link_keeps_a_self_hosted_path_prefix() -> None:
    client = EventSchemaClient(api_key="phx_k", project_id=1, host="https://example.com/posthog")

    assert client.follow_link("https://example.com/posthog/api/projects/1/x/?offset=2")
    with pytest.raises(UnsafeURLError):
        client.follow_link("https://example.com/other/api/projects/1/x/")


def test_an_answer_that_is_not_a_page_is_a_clear_error(
    sandbox_server: RunningSandbox, client: EventSchemaClient
) -> None:
    # A 200 JSON object without `results`, as a host that is not PostHog's API might send.
    with pytest.raises(EventSchemaError, match="expected a page of results from /_sandbox/stats"):
        list(client.paginate("/_sandbox/stats"))
