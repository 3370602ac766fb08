"""apply() under injected faults: 10% 5xx answers and writes whose connection drops after the
commit. The final state must equal the plan, without duplicates, the report must be exact, and
a second run must make no writes."""

from __future__ import annotations

import httpx
import pytest
from plan_test_helpers import Recorded

from eventschema_tools._retry import RetryPolicy
from eventschema_tools.tracking_plan import apply_async, compute_plan_async
from eventschema_tools.tracking_plan.file import TrackingPlan

pytestmark = pytest.mark.anyio

GROUPS = [f"group_{g}" for g in range(5)]
EVENTS = [f"event_{e:03d}" for e in range(100)]


def _plan(bound: bool) -> TrackingPlan:
    return TrackingPlan.model_validate(
        {
            "version": 1,
            "property_groups": {
                group: {"properties": {f"{group}_id": {"type": "String", "required": True}}}
                for group in GROUPS
            },
            "events": {event: {"groups": GROUPS if bound else []} for event in EVENTS},
        }
    )


async def _bindings(live: Recorded) -> list[tuple[str, str]]:
    names = {event.id: event.name async for event in live.client.event_definitions.list()}
    return [
        (names[schema.event_definition], schema.property_group.name)
        async for schema in live.client.event_schemas.list()
    ]


async def test_500_bindings_under_5xx_and_dropped_connections(live: Recorded) -> None:
    _, setup = await live.apply(_plan(bound=False), create_events=True)
    assert setup.ok
    await live.set_faults(seed=11, error_500=0.04, error_502=0.03, error_503=0.03, drop=0.05)
    live.reset()

    wanted = _plan(bound=True)
    plan = await compute_plan_async(live.client, wanted)
    report = await apply_async(live.client, plan, concurrency=16)

    expected = {f'binding "{group}" → "{event}"' for event in EVENTS for group in GROUPS}
    assert len(report.items) == 500
    assert {item.subject for item in report.items} == expected
    assert {(item.action, item.status) for item in report.items} == {("create_binding", "done")}
    stats = (await live.http.get("/_sandbox/stats")).json()
    assert stats["faults"]["drop"] > 0
    assert sum(stats["faults"][kind] for kind in ("error_500", "error_502", "error_503")) > 0
    assert len(live.writes) > 500  # some writes were retried

    await live.set_faults()
    final = await _bindings(live)
    assert len(final) == 500
    assert set(final) == wanted.bindings()

    await live.set_faults(seed=12, error_500=0.05, error_503=0.05, drop=0.05)
    live.reset()
    again = await compute_plan_async(live.client, wanted)
    second = await apply_async(live.client, again)
    assert again.is_empty
    assert second.items == []
    assert live.writes == []


async def test_a_rerun_finishes_what_a_failed_run_left(live: Recorded) -> None:
    await live.apply(_plan(bound=False), create_events=True)
    wanted = _plan(bound=True)
    plan = await compute_plan_async(live.client, wanted)
    # Every attempt of about a third of the requests fails, and retries are off: a partial run.
    live.client.retry_policy = RetryPolicy(max_retries=0)
    await live.set_faults(seed=5, error_503=0.35)

    first = await apply_async(live.client, plan)

    failed = first.count("failed")
    assert 0 < failed < 500
    assert all("HTTP 503" in item.detail for item in first.items if item.status == "failed")
    await live.set_faults()
    live.reset()
    rest = await compute_plan_async(live.client, wanted)
    assert len(rest.changes) == failed
    second = await apply_async(live.client, rest)
    assert second.ok
    assert len(live.writes) == failed
    assert set(await _bindings(live)) == wanted.bindings()


async def test_items_depending_on_a_failed_create_are_skipped_with_the_reason(
    live: Recorded,
) -> None:
    text = "version: 1\nproperty_groups:\n  late: {}\nevents:\n  e1: {groups: [late]}\n"
    plan = await live.plan(text, create_events=True)
    hooks = live.http.event_hooks["request"]

    async def refuse_group_creates(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/schema_property_groups/"):
            raise httpx.ConnectError("connection refused", request=request)

    live.http.event_hooks = {"request": [*hooks, refuse_group_creates]}
    report = await apply_async(live.client, plan)
    live.http.event_hooks = {"request": hooks}

    by_subject = {item.subject: item for item in report.items}
    assert by_subject['group "late"'].status == "failed"
    assert "ConnectError" in by_subject['group "late"'].detail
    skipped = by_subject['binding "late" → "e1"']
    assert skipped.status == "skipped"
    assert skipped.detail.startswith('group "late" is missing: ')
    assert "ConnectError" in skipped.detail
    assert by_subject['event "e1"'].status == "done"
    _, rerun = await live.apply(text)
    assert rerun.ok
    assert [item.subject for item in rerun.items] == ['group "late"', 'binding "late" → "e1"']
