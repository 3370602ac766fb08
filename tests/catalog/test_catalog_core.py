"""The core under the MCP tools, without MCP: name resolution, cursors, catalog pages and views.

Pure helpers are tested directly; the resolvers and the catalog talk HTTP to the sandbox (the
sync resolver over loopback, as the CLI uses it; the async one in-process).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.catalog.operations import AsyncCatalog
from eventschema_tools.catalog.paging import Window, decode_cursor, encode_cursor, take_async
from eventschema_tools.catalog.resolve import (
    AsyncResolver,
    Resolver,
    close_names,
    is_uuid,
    search_terms,
)
from eventschema_tools.errors import InvalidInputError, UnknownNameError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, SandboxApp, create_app

# --- pure helpers --------------------------------------------------------------------------------


def test_close_names_rank_case_then_similarity_then_containment() -> None:
    names = ["checkout_completed", "Checkout", "checkout_started", "signup", "order_checkout_v2"]
    assert close_names("checkout", names)[:2] == ["Checkout", "checkout_started"]
    assert close_names("checkout_complete", names)[0] == "checkout_completed"
    assert "order_checkout_v2" in close_names("checkout", names)
    assert close_names("zzz", names) == []
    assert len(close_names("checkout", names, limit=2)) == 2


def test_search_terms_keep_the_name_and_its_two_longest_words() -> None:
    assert search_terms("chekout_completed") == ["chekout_completed", "completed", "chekout"]
    assert search_terms("$pageview") == ["$pageview", "pageview"]
    assert search_terms("ab") == ["ab"]


def test_is_uuid() -> None:
    assert is_uuid(str(uuid.uuid4()))
    assert is_uuid(f" {uuid.uuid4()} ")
    assert not is_uuid("checkout_completed")


@given(st.integers(min_value=0, max_value=10**9))
def test_cursor_round_trip(offset: int) -> None:
    assert decode_cursor(encode_cursor(offset)) == offset


def _with_offset_edited(cursor: str, offset: bytes) -> str:
    """``cursor`` with its offset changed and its signature (the first 12 bytes) kept."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return base64.urlsafe_b64encode(raw[:12] + offset).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "nope",
        "e30",
        encode_cursor(0)[:-1] + "!",
        "eyJvZmZzZXQiOi0xfQ",  # {"offset":-1}
        # {"offset": 10**30}: an unsigned offset past what a list can be cut at
        base64.urlsafe_b64encode(b'{"offset":' + str(10**30).encode() + b"}").decode(),
        base64.urlsafe_b64encode(bytes(12) + str(10**30).encode()).decode(),
        _with_offset_edited(encode_cursor(10), b"99"),
    ],
)
def test_cursors_this_process_did_not_issue_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        decode_cursor(cursor)

    assert str(refused.value).endswith("is not one this server issued; start again without cursor")
    assert refused.value.problems == [("cursor", "not issued by this server")]
    with pytest.raises(InvalidInputError):
        Window(cursor, 50)


def test_window_cuts_one_page_and_points_to_the_next() -> None:
    rows = list(range(7))
    first = Window(None, 3)
    assert first.rows_needed == 4
    page, cursor = first.cut(rows)
    assert page == [0, 1, 2]
    second = Window(cursor, 3)
    assert second.cut(rows)[0] == [3, 4, 5]
    last, end = Window(second.cut(rows)[1], 3).cut(rows)
    assert (last, end) == ([6], None)
    with pytest.raises(InvalidInputError):
        Window(None, 0)


def test_a_window_without_a_limit_is_every_row_from_the_cursor_on() -> None:
    rows = list(range(7))
    everything = Window(None, None)
    assert everything.rows_needed is None
    assert everything.cut(rows) == (rows, None)
    assert Window(encode_cursor(5), None).cut(rows) == ([5, 6], None)


@pytest.mark.anyio
async def test_take_async_stops_early_and_closes_the_iterator() -> None:
    closed: list[bool] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(100):
                yield n
        finally:
            closed.append(True)

    assert await take_async(numbers(), 3) == [0, 1, 2]
    assert closed == [True]
    assert await take_async(numbers(), 0) == []
    assert await take_async(numbers(), None) == list(range(100))
    assert closed == [True, True]


# --- resolvers against the sandbox ---------------------------------------------------------------


@pytest.fixture
def loopback(sandbox_server: RunningSandbox) -> Iterator[EventSchemaClient]:
    with EventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host=sandbox_server.url, max_retries=0
    ) as client:
        yield client


def test_sync_resolver_finds_by_name_and_id_and_suggests(loopback: EventSchemaClient) -> None:
    suffix = uuid.uuid4().hex[:8]
    event = loopback.event_definitions.create(name=f"resolve_checkout_{suffix}")
    group = loopback.property_groups.create(name=f"resolve group {suffix}")
    resolver = Resolver(loopback)
    assert resolver.event(event.name).id == event.id
    assert resolver.event(str(event.id)).name == event.name
    assert resolver.group(group.name).id == group.id
    assert resolver.group(str(group.id)).name == group.name
    with pytest.raises(UnknownNameError) as missing:
        resolver.event(f"resolve_chekout_{suffix}")
    assert missing.value.suggestions == [event.name]
    with pytest.raises(UnknownNameError) as missing_group:
        resolver.group(f"Resolve Group {suffix}")
    assert missing_group.value.suggestions[0] == group.name
    with pytest.raises(UnknownNameError, match="no property group"):
        resolver.group(str(uuid.uuid4()))


@pytest.fixture
async def catalog() -> AsyncIterator[AsyncCatalog]:
    app: SandboxApp = create_app(rate_limiting=False)
    client = AsyncEventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host="http://sandbox.test",
        max_retries=0,
        rate_limit="off",
        transport=httpx.ASGITransport(app=app),
    )
    async with client:
        yield AsyncCatalog(client)
    app.sandbox.close()


@pytest.mark.anyio
async def test_async_resolver_suggests_event_names(catalog: AsyncCatalog) -> None:
    await catalog.client.event_definitions.create(name="newsletter_subscribed")
    with pytest.raises(UnknownNameError) as missing:
        await AsyncResolver(catalog.client).event("newsleter_subscribed")
    assert missing.value.suggestions == ["newsletter_subscribed"]
    assert missing.value.kind == "event"


@pytest.mark.anyio
async def test_catalog_binds_once_moves_and_unbinds(catalog: AsyncCatalog) -> None:
    await catalog.create_group(
        name="billing", properties=[{"name": "plan", "property_type": "String"}]
    )
    await catalog.create_group(name="device", properties=[])
    for name in ("upgrade", "downgrade"):
        await catalog.client.event_definitions.create(name=name)
    first = await catalog.bind(event="upgrade", group="billing")
    again = await catalog.bind(event="upgrade", group="billing")
    assert (first.created, again.created) == (True, False)
    assert again.binding.id == first.binding.id
    moved = await catalog.move(str(first.binding.id), event="downgrade", group="device")
    assert (moved.event_name, moved.group_name) == ("downgrade", "device")
    page = await catalog.bindings(event="downgrade")
    assert [item.id for item in page.items] == [first.binding.id]
    gone = await catalog.unbind(event="downgrade", group="device")
    assert (gone.deleted, gone.id) == (True, first.binding.id)
    assert (await catalog.bindings()).items == []
    with pytest.raises(UnknownNameError, match="no event schema 'device on downgrade'"):
        await catalog.unbind(event="downgrade", group="device")
    with pytest.raises(InvalidInputError, match="its id, or both the event and the group"):
        await catalog.unbind(event="downgrade")
