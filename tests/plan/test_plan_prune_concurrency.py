"""Prune and unbind while other writers change bindings: a delete is reported only when PostHog
answered 204, or a fresh read shows the binding gone (not bound again under another id).

PostHog lists event schemas newest first with limit/offset pages: a binding removed above the
cursor shifts every row up, and the next page starts one row late. Each test makes another
writer act at a chosen request, so the shift happens on every run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from uuid import UUID

import httpx
import pytest
from plan_test_helpers import Recorded, make_recorded
from plan_writers import (
    EVENTS_PATH,
    GROUPS_PATH,
    PRUNE,
    SCHEMAS_PATH,
    before_each,
    bound_plan,
    later_page,
    noise,
    targets,
    writer_thread,
)

from eventschema_tools import EventSchemaClient
from eventschema_tools.catalog import AsyncCatalog
from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox
from eventschema_tools.tracking_plan import (
    ItemOutcome,
    LiveState,
    apply,
    apply_async,
    compute_plan,
    compute_plan_async,
)
from eventschema_tools.tracking_plan.bulk import PairStatus, pairs_for_group, unbind_async
from eventschema_tools.tracking_plan.file import parse_plan

pytestmark = pytest.mark.anyio

TARGETS, NOISE = 100, 40


async def _seed(live: Recorded, targets_count: int = TARGETS) -> list[UUID]:
    """Group `g` (plan web) bound to the targets, then group `noise` (plan noise) bound to
    the noise events, newer, so they are listed first. Returns the noise bindings' ids."""
    for text in (
        bound_plan("web", "g", targets(targets_count)),
        bound_plan("noise", "noise", noise(NOISE)),
    ):
        _, report = await live.apply(text, create_events=True)
        assert report.ok
    live.reset()
    return [
        schema.id
        async for schema in live.client.event_schemas.list()
        if schema.property_group.name == "noise"
    ]


async def _bound_to(live: Recorded, group: str) -> set[str]:
    found = await live.client.property_groups.find_by_name(group)
    assert found is not None
    return {event.name for event in found.events}


async def test_prune_deletes_every_binding_while_rows_shift_between_pages(
    recorded: Callable[..., Recorded],
) -> None:
    live = recorded(page_size=10)
    other = make_recorded(live.app)
    noise_ids = await _seed(live)
    shifted = before_each(
        live,
        later_page(SCHEMAS_PATH),
        lambda: other.client.event_schemas.delete(noise_ids.pop(0)),
    )
    plan = await live.plan(PRUNE, prune=True)

    report = await apply_async(live.client, plan)
    await other.http.aclose()

    assert shifted, "the other writer never acted"
    outcomes = Counter(item.outcome for item in report.items)
    assert outcomes == {ItemOutcome.APPLIED: TARGETS}, [
        (item.subject, item.detail) for item in report.items if item.detail
    ]
    assert report.ok
    assert await _bound_to(live, "g") == set()
    deletes = [path for method, path, _ in live.writes if method == "DELETE"]
    assert len(deletes) == TARGETS


def test_sync_prune_with_a_writer_thread_adding_and_removing_bindings() -> None:
    with run_sandbox(rate_limiting=False) as server:
        settings = {
            "api_key": DEMO_API_KEY,
            "project_id": 1,
            "host": server.url,
            "rate_limit": "off",
        }
        with EventSchemaClient(**settings) as setup:
            for text in (
                bound_plan("web", "g", targets(60)),
                bound_plan("noise", "noise", noise(30)),
            ):
                assert apply(setup, compute_plan(setup, parse_plan(text), create_events=True)).ok
            pool = [s for s in setup.event_schemas.list() if s.property_group.name == "noise"]
            turns = 0

            def shift() -> None:
                # Two rows leave the already-read top of the list; every other turn one of
                # them comes back, on top (newest first), and shifts the rows down again.
                nonlocal turns
                turns += 1
                first, second = pool.pop(0), pool.pop(0)
                for schema in (first, second):
                    setup.event_schemas.delete(schema.id)
                if turns % 2:
                    setup.event_schemas.create(
                        event_definition=first.event_definition,
                        property_group_id=first.property_group.id,
                    )

            with writer_thread(shift) as hook:
                http = httpx.Client(
                    event_hooks={
                        "request": [lambda r: hook(r) if later_page(SCHEMAS_PATH)(r) else None]
                    }
                )
                with EventSchemaClient(**settings, page_size=8, http_client=http) as client:
                    plan = compute_plan(client, parse_plan(PRUNE), prune=True)
                    report = apply(client, plan)
                http.close()
            left = setup.property_groups.find_by_name("g")

    assert turns > 0
    assert report.ok
    assert Counter(item.outcome for item in report.items) == {ItemOutcome.APPLIED: 60}
    assert left is not None
    assert left.events == []


async def test_bulk_unbind_deletes_every_pair_while_rows_shift(
    recorded: Callable[..., Recorded],
) -> None:
    live = recorded(page_size=10)
    other = make_recorded(live.app)
    noise_ids = await _seed(live)
    before_each(
        live,
        later_page(SCHEMAS_PATH),
        lambda: other.client.event_schemas.delete(noise_ids.pop(0)),
    )

    report = await unbind_async(live.client, pairs_for_group("g", targets(TARGETS)))
    await other.http.aclose()

    assert [r.status for r in report.results] == [PairStatus.DELETED] * TARGETS
    assert await _bound_to(live, "g") == set()


async def test_a_delete_answered_404_deletes_the_pair_bound_again_under_another_id(
    live: Recorded,
) -> None:
    await _seed(live, targets_count=1)
    other = make_recorded(live.app)
    event = await live.client.event_definitions.get_by_name("t000")
    group = await live.client.property_groups.find_by_name("g")
    assert group is not None

    async def rebind() -> None:
        found = await other.client.event_schemas.find(
            event_definition=event.id, property_group_id=group.id
        )
        assert found is not None
        await other.client.event_schemas.delete(found.id)
        await other.client.event_schemas.create(
            event_definition=event.id, property_group_id=group.id
        )

    acted = before_each(live, lambda r: r.method == "DELETE" and not acted, rebind)
    plan = await live.plan(PRUNE, prune=True)

    report = await apply_async(live.client, plan)
    await other.http.aclose()

    [item] = report.items
    assert (item.outcome, item.detail) == (ItemOutcome.APPLIED, "")
    assert await _bound_to(live, "g") == set()
    assert [method for method, _, _ in live.writes] == ["DELETE", "DELETE"]


async def test_a_delete_answered_404_is_already_done_once_a_fresh_read_shows_it_gone(
    live: Recorded,
) -> None:
    await _seed(live, targets_count=1)
    other = make_recorded(live.app)

    async def unbind_elsewhere() -> None:
        await unbind_async(other.client, pairs_for_group("g", ["t000"]))

    acted = before_each(live, lambda r: r.method == "DELETE" and not acted, unbind_elsewhere)
    plan = await live.plan(PRUNE, prune=True)

    report = await apply_async(live.client, plan)
    await other.http.aclose()

    [item] = report.items
    assert (item.outcome, item.status_code) == (ItemOutcome.ALREADY_DONE, None)
    assert item.detail == "already gone"
    assert report.ok
    method, path, query = live.reads[-1]  # the fresh read after the 404
    assert (method, path) == ("GET", SCHEMAS_PATH)
    assert "event_definition=" in query


async def test_catalog_unbind_by_pair_deletes_the_binding_made_again_meanwhile(
    live: Recorded,
) -> None:
    await _seed(live, targets_count=1)
    other = make_recorded(live.app)
    event = await live.client.event_definitions.get_by_name("t000")
    group = await live.client.property_groups.find_by_name("g")
    assert group is not None

    async def rebind() -> None:
        await unbind_async(other.client, pairs_for_group("g", ["t000"]))
        await other.client.event_schemas.create(
            event_definition=event.id, property_group_id=group.id
        )

    acted = before_each(live, lambda r: r.method == "DELETE" and not acted, rebind)

    outcome = await AsyncCatalog(live.client).unbind(event="t000", group="g")
    await other.http.aclose()

    assert outcome.deleted
    assert await _bound_to(live, "g") == set()


async def test_the_group_list_is_read_again_when_a_group_leaves_it_between_pages(
    recorded: Callable[..., Recorded],
) -> None:
    live = recorded(page_size=10)
    other = make_recorded(live.app)
    names = [f"a{i:02d}" for i in range(25)]
    ids = [(await live.client.property_groups.create(name=name)).id for name in names]
    live.reset()
    gone: list[UUID] = []

    async def delete_a_listed_group() -> None:
        if not gone:
            gone.append(ids[0])
            await other.client.property_groups.delete(ids[0])

    before_each(live, later_page(GROUPS_PATH), delete_a_listed_group)

    state = await LiveState.read_async(live.client, event_names=())
    await other.http.aclose()

    assert sorted(group.name for group in state.groups) == names[1:]


async def test_prune_keeps_a_binding_on_another_tools_event_the_event_list_skipped(
    recorded: Callable[..., Recorded],
) -> None:
    live = recorded(page_size=10)
    other = make_recorded(live.app)
    _, report = await live.apply(bound_plan("web", "g", ["e10"]), create_events=True)
    assert report.ok
    fillers = [f"e{i:02d}" for i in range(30) if i != 10]
    for name in fillers:
        await live.client.event_definitions.create(name=name)
    tagged = await live.client.event_definitions.get_by_name("e10")
    await live.client.event_definitions.update(tagged.id, tags=["iac:event-definitions:e10"])
    e00 = await live.client.event_definitions.get_by_name("e00")
    live.reset()
    acted = before_each(
        live,
        lambda r: later_page(EVENTS_PATH)(r) and not acted,
        lambda: other.client.event_definitions.delete(e00.id),
    )

    plan = await compute_plan_async(live.client, parse_plan(PRUNE), prune=True)
    await other.http.aclose()

    assert acted
    assert plan.is_empty
    assert [(n.kind, n.subject) for n in plan.notices] == [("kept", 'binding "g" → "e10"')]
