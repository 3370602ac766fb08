"""Outcomes are enums: a write made by someone else between our read and our write ends as
``already_done`` (apply) and ``exists``/``absent`` (bind/unbind), whatever the note says."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
from plan_test_helpers import Recorded, make_recorded

from eventschema_tools.tracking_plan import ItemOutcome, ItemResult, ItemStatus, apply_async
from eventschema_tools.tracking_plan.bulk import (
    PairStatus,
    bind_async,
    pairs_for_group,
    unbind_async,
)

pytestmark = pytest.mark.anyio

SCHEMAS_PATH = "/api/projects/1/event_schemas/"
Hook = Callable[[httpx.Request], Awaitable[None]]


async def _project(live: Recorded) -> dict[str, str]:
    """Events e1, e2 and group g, with g bound to e2; ids by name."""
    ids = {
        name: str((await live.client.event_definitions.create(name=name)).id)
        for name in ("e1", "e2")
    }
    ids["g"] = str((await live.client.property_groups.create(name="g")).id)
    await live.client.event_schemas.create(event_definition=ids["e2"], property_group_id=ids["g"])
    live.reset()
    return ids


def _once(
    live: Recorded, wanted: Callable[[httpx.Request], bool], act: Callable[[], Awaitable[object]]
) -> None:
    """Run ``act`` (another writer) just before the first request that ``wanted`` picks."""
    fired: list[bool] = []

    async def meanwhile(request: httpx.Request) -> None:
        if not fired and wanted(request):
            fired.append(True)
            await act()

    live.http.event_hooks = {"request": [*live.http.event_hooks["request"], meanwhile]}


async def test_a_binding_created_meanwhile_is_already_done_and_exists(
    live: Recorded,
) -> None:
    ids = await _project(live)
    other = make_recorded(live.app)
    _once(
        live,
        lambda request: request.method == "POST" and request.url.path == SCHEMAS_PATH,
        lambda: other.client.event_schemas.create(
            event_definition=ids["e1"], property_group_id=ids["g"]
        ),
    )
    items: list[ItemResult] = []

    report = await bind_async(
        live.client, pairs_for_group("g", ["e1", "e2"]), progress=items.append
    )
    await other.http.aclose()

    [item] = items
    assert (item.outcome, item.status, item.detail) == (
        ItemOutcome.ALREADY_DONE,
        ItemStatus.DONE,
        "already existed",
    )
    assert [r.status for r in report.results] == [PairStatus.EXISTS, PairStatus.EXISTS]
    assert report.ok
    assert report.writes == 0
    assert report.summary() == "bind: 0 created, 2 exists, 0 failed."


async def test_a_binding_deleted_meanwhile_is_already_done_and_absent(live: Recorded) -> None:
    ids = await _project(live)
    other = make_recorded(live.app)

    async def unbind_elsewhere() -> None:
        found = await other.client.event_schemas.find(
            event_definition=ids["e2"], property_group_id=ids["g"]
        )
        assert found is not None
        await other.client.event_schemas.delete(found.id)

    # Between our read of the group list and our look-up of the binding's id.
    _once(
        live,
        lambda request: request.method == "GET" and request.url.path == SCHEMAS_PATH,
        unbind_elsewhere,
    )
    items: list[ItemResult] = []

    report = await unbind_async(live.client, pairs_for_group("g", ["e2"]), progress=items.append)
    await other.http.aclose()

    [item] = items
    assert (item.outcome, item.status, item.detail) == (
        ItemOutcome.ALREADY_DONE,
        ItemStatus.DONE,
        "already gone",
    )
    assert [r.status for r in report.results] == [PairStatus.ABSENT]
    assert [method for method, _, _ in live.writes] == []


async def test_apply_outcomes_and_their_json(live: Recorded) -> None:
    await _project(live)
    text = "version: 1\nproperty_groups:\n  g: {}\nevents:\n  e1: {groups: [g]}\n"
    plan = await live.plan(text)

    report = await apply_async(live.client, plan)

    [item] = report.items
    assert (item.outcome, item.status) == (ItemOutcome.APPLIED, ItemStatus.DONE)
    assert json.loads(item.model_dump_json()) == {
        "action": "create_binding",
        "subject": 'binding "g" → "e1"',
        "outcome": "applied",
        "status": "done",
        "detail": "",
        "status_code": None,
    }
    assert report.failed == 0


def test_every_outcome_maps_to_one_status() -> None:
    assert {outcome: outcome.status for outcome in ItemOutcome} == {
        ItemOutcome.APPLIED: ItemStatus.DONE,
        ItemOutcome.ALREADY_DONE: ItemStatus.DONE,
        ItemOutcome.FAILED: ItemStatus.FAILED,
        ItemOutcome.SKIPPED: ItemStatus.SKIPPED,
    }


def test_pair_statuses_keep_their_json_values() -> None:
    assert [status.value for status in PairStatus] == [
        "created",
        "deleted",
        "exists",
        "absent",
        "failed",
        "unresolved",
        "skipped",
    ]
