"""The sync faces (threads, used by the CLI) against a loopback sandbox, and twin parity."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from eventschema_tools import EventSchemaClient
from eventschema_tools import tracking_plan as plan
from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox
from eventschema_tools.tracking_plan import ItemResult, LiveState, bulk
from eventschema_tools.tracking_plan.file import parse_plan

TEXT = """
version: 1
property_groups:
  checkout: {properties: {order_id: {type: String, required: true}}}
  user: {properties: {plan: {type: String}}}
events:
  order_paid: {groups: [checkout, user], enforcement: reject}
  signed_up: {groups: [user]}
"""


@pytest.fixture
def client() -> Iterator[EventSchemaClient]:
    with (
        run_sandbox(rate_limiting=False) as server,
        EventSchemaClient(
            api_key=DEMO_API_KEY, project_id=1, host=server.url, rate_limit="off"
        ) as client,
    ):
        yield client


def test_sync_plan_apply_pull_and_bind(client: EventSchemaClient) -> None:
    desired = parse_plan(TEXT)
    seen: list[ItemResult] = []

    report = plan.apply(
        client, plan.compute_plan(client, desired, create_events=True), progress=seen.append
    )

    assert report.ok
    assert len(seen) == len(report.items) == 8
    assert plan.compute_plan(client, desired).is_empty
    assert plan.diff(plan.pull(client), LiveState.read(client), prune=True).is_empty
    unbound = bulk.unbind(client, bulk.pairs_for_group("user", ["order_paid", "signed_up"]))
    assert [r.status for r in unbound.results] == ["deleted", "deleted"]
    rebound = bulk.bind(client, bulk.pairs_for_group("user", ["order_paid", "signed_up"]))
    assert rebound.writes == 2
    assert plan.compute_plan(client, desired).is_empty


TWINS: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (plan.apply, plan.apply_async),
    (plan.compute_plan, plan.compute_plan_async),
    (plan.pull, plan.pull_async),
    (LiveState.read, LiveState.read_async),
    (bulk.bind, bulk.bind_async),
    (bulk.unbind, bulk.unbind_async),
]


@pytest.mark.parametrize(("sync", "async_"), TWINS, ids=[sync.__name__ for sync, _ in TWINS])
def test_sync_and_async_twins_take_the_same_parameters(
    sync: Callable[..., Any], async_: Callable[..., Any]
) -> None:
    def shape(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()][
            1:
        ]  # the client's type differs

    assert inspect.iscoroutinefunction(async_)
    assert shape(sync) == shape(async_)
