"""``check_conformance`` and its async twin against a loopback sandbox with captured events.

The project binds one schema to ``checkout_started`` (``cart_id`` and ``revenue`` required);
of the 10 events sent, 8 carry both with the right types. The expected rates are counted here
from the events sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient, PropertyInput
from eventschema_tools.audit.gate import (
    ConformanceGate,
    EventStatus,
    check_conformance,
    check_conformance_async,
    gate_options,
)
from eventschema_tools.audit.run import run_audit, run_audit_async
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan.file import PlanFileError, TrackingPlan

SENT: list[dict[str, Any]] = [
    *({"cart_id": f"c{i}", "revenue": 10 + i} for i in range(8)),
    {"cart_id": "c8"},  # revenue missing
    {"cart_id": "c9", "revenue": "ten"},  # revenue of the wrong type
]
# The plan also requires `coupon`, which no event carries: nothing conforms to it.
STRICTER_PLAN = TrackingPlan.model_validate(
    {
        "version": 1,
        "property_groups": {
            "Checkout": {
                "properties": {
                    "cart_id": {"type": "String", "required": True},
                    "revenue": {"type": "Numeric", "required": True},
                    "coupon": {"type": "String", "required": True},
                }
            }
        },
        "events": {"checkout_started": {"groups": ["Checkout"]}},
    }
)


@pytest.fixture(scope="module")
def project() -> Iterator[RunningSandbox]:
    """A fresh sandbox holding the events and the checkout schema."""
    with run_sandbox(rate_limiting=False) as sandbox:
        batch = [
            {"event": "checkout_started", "distinct_id": f"user-{i}", "properties": props}
            for i, props in enumerate(SENT)
        ]
        answer = httpx.post(
            f"{sandbox.url}/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch}
        )
        assert answer.status_code == 200, answer.text
        with _client(sandbox) as client:
            group = client.property_groups.create(
                name="Checkout",
                properties=[
                    PropertyInput(name="cart_id", property_type="String", is_required=True),
                    PropertyInput(name="revenue", property_type="Numeric", is_required=True),
                ],
            )
            event = client.event_definitions.get_by_name("checkout_started")
            client.event_schemas.create(event_definition=event.id, property_group_id=group.id)
        yield sandbox


def _settings(sandbox: RunningSandbox) -> dict[str, Any]:
    return {
        "api_key": DEMO_API_KEY,
        "project_id": 1,
        "host": sandbox.url,
        "rate_limit": "off",
        "query_rate_limit": "off",
    }


def _client(sandbox: RunningSandbox) -> EventSchemaClient:
    return EventSchemaClient(**_settings(sandbox))


def _requests(sandbox: RunningSandbox) -> int:
    return int(httpx.get(f"{sandbox.url}/_sandbox/stats").json()["requests"])


def _verdict(gate: ConformanceGate) -> dict[str, Any]:
    return gate.model_dump(mode="json", exclude={"generated_at"})


def test_sync_and_async_gates_give_the_same_verdict(project: RunningSandbox) -> None:
    options = gate_options(
        events=["checkout_started", "never_seen"], threshold=0.75, window="1h", min_events=5
    )

    with _client(project) as client:
        sync_gate = check_conformance(client, options)

    async def run_async() -> ConformanceGate:
        async with AsyncEventSchemaClient(**_settings(project)) as client:
            return await check_conformance_async(client, options)

    async_gate = anyio.run(run_async)

    assert _verdict(sync_gate) == _verdict(async_gate)
    checkout, unknown = sync_gate.events
    assert (checkout.status, checkout.events, checkout.conforming) == (
        EventStatus.HEALTHY,
        len(SENT),
        8,
    )
    assert checkout.rate == pytest.approx(0.8)
    assert unknown.status is EventStatus.NO_SCHEMA
    assert sync_gate.passed is False
    assert sync_gate.queries == 1


def test_a_plan_in_the_options_is_what_events_are_judged_against(
    project: RunningSandbox,
) -> None:
    live = gate_options(events="checkout_started", threshold=0.75)
    planned = gate_options(events="checkout_started", threshold=0.75, plan=STRICTER_PLAN)

    with _client(project) as client:
        against_live = check_conformance(client, live)
        against_plan = check_conformance(client, planned)

    assert [e.status for e in against_live.events] == [EventStatus.HEALTHY]
    [judged] = against_plan.events
    assert (judged.status, judged.conforming, judged.rate) == (
        EventStatus.BELOW_THRESHOLD,
        0,
        0.0,
    )


def test_a_missing_plan_file_is_refused_before_any_request(
    project: RunningSandbox, tmp_path: Path
) -> None:
    before = _requests(project)

    with pytest.raises(PlanFileError):
        gate_options(events="checkout_started", threshold=0.9, plan=tmp_path / "missing.yaml")

    assert _requests(project) == before


def test_loose_settings_instead_of_options_are_a_clear_type_error(
    project: RunningSandbox,
) -> None:
    with _client(project) as client, pytest.raises(TypeError, match="audit_options"):
        run_audit(client, "tracking-plan.yaml")  # type: ignore[arg-type]


TWINS: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (run_audit, run_audit_async),
    (check_conformance, check_conformance_async),
]


@pytest.mark.parametrize(("sync", "async_"), TWINS, ids=[sync.__name__ for sync, _ in TWINS])
def test_sync_and_async_twins_take_one_options_object(
    sync: Callable[..., Any], async_: Callable[..., Any]
) -> None:
    def shape(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
        parameters = inspect.signature(fn).parameters.values()
        return [(p.name, p.kind, p.default) for p in parameters]

    assert inspect.iscoroutinefunction(async_)
    assert shape(sync) == shape(async_)
    assert [name for name, _, _ in shape(sync)] == ["client", "options"]
