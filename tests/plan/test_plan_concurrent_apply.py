"""Applies that meet other writers: a conflict that ends in the desired state is a success, a
group left half made is finished in the same run, and only real conflicts fail."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import anyio
import pytest
from plan_test_helpers import Recorded, make_recorded
from plan_writers import before_each, bound_plan, targets

from eventschema_tools import EventSchemaClient
from eventschema_tools.models import PropertyInput
from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox
from eventschema_tools.tracking_plan import (
    ApplyReport,
    ItemOutcome,
    apply,
    apply_async,
    compute_plan,
)
from eventschema_tools.tracking_plan.file import parse_plan
from eventschema_tools.tracking_plan.ownership import marker

pytestmark = pytest.mark.anyio


def _plan_text(groups: int, events: int) -> str:
    """A plan of ``groups`` groups and ``events`` events, each event bound to two groups."""
    lines = ["version: 1", "plan_id: web", "property_groups:"]
    lines += [
        f"  g{i}: {{description: Group {i}, properties: {{id: {{type: String}}, n{i}: "
        "{type: Numeric}}}"
        for i in range(groups)
    ]
    lines.append("events:")
    lines += [
        f"  e{i}: {{description: Event {i}, groups: [g{i % groups}, g{(i + 1) % groups}]}}"
        for i in range(events)
    ]
    return "\n".join(lines) + "\n"


PLAN = _plan_text(8, 16)
SCRIPT = Path(sys.executable).with_name("eventschema")

CHECKOUT = """
version: 1
plan_id: web
property_groups:
  checkout:
    description: Checkout
    properties:
      order_id: {type: String, required: true}
      total: {type: Numeric}
events:
  order_paid: {description: An order was paid, groups: [checkout], enforcement: reject}
"""


def _outcomes(report: ApplyReport) -> Counter[str]:
    return Counter(item.outcome.value for item in report.items)


async def test_two_identical_applies_at_once_both_succeed(live: Recorded) -> None:
    other = make_recorded(live.app)
    plans = [await run.plan(PLAN, create_events=True) for run in (live, other)]
    reports: dict[str, ApplyReport] = {}

    async def run(name: str, who: Recorded, index: int) -> None:
        reports[name] = await apply_async(who.client, plans[index])

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run, "first", live, 0)
        tasks.start_soon(run, "second", other, 1)
    await other.http.aclose()

    for name, report in reports.items():
        assert report.ok, (name, [(i.subject, i.detail) for i in report.items if i.detail][:5])
        assert _outcomes(report)["failed"] == _outcomes(report)["skipped"] == 0
    together = _outcomes(reports["first"]) + _outcomes(reports["second"])
    assert together["already_done"] > 0
    assert (await live.plan(PLAN)).is_empty


def test_two_sync_applies_in_threads_both_succeed() -> None:
    reports: list[ApplyReport] = []
    with run_sandbox(rate_limiting=False) as server:
        settings = {"api_key": DEMO_API_KEY, "project_id": 1, "host": server.url}
        clients = [EventSchemaClient(**settings, rate_limit="off") for _ in range(2)]
        plans = [compute_plan(c, parse_plan(PLAN), create_events=True) for c in clients]
        start = threading.Barrier(2)

        def run(index: int) -> None:
            start.wait()
            reports.append(apply(clients[index], plans[index]))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        left = compute_plan(clients[0], parse_plan(PLAN))
        for client in clients:
            client.close()

    assert [report.ok for report in reports] == [True, True], [
        (i.subject, i.detail) for r in reports for i in r.items if i.status != "done"
    ][:5]
    assert left.is_empty


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_two_apply_commands_at_once_both_exit_0(tmp_path: Path) -> None:
    # The exit codes end to end; the tests above make the overlap certain, this one makes it
    # likely (two processes, 340 changes each).
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(_plan_text(40, 100))  # 340 changes: long enough for runs to overlap
    with run_sandbox(rate_limiting=False) as server:
        env = {
            **os.environ,
            "POSTHOG_HOST": server.url,
            "POSTHOG_PROJECT_ID": "1",
            "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
            "EVENTSCHEMA_RATE_LIMIT": "off",
        }
        command = [str(SCRIPT), "apply", "--plan", str(plan_file), "--create-events", "--yes"]
        runs = [
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        results = [(run.communicate(timeout=120)[1], run.returncode) for run in runs]

    assert [code for _, code in results] == [0, 0], results


async def test_a_half_made_group_of_this_plan_is_finished_in_the_same_run(
    live: Recorded,
) -> None:
    plan = await live.plan(CHECKOUT, create_events=True)
    # What an interrupted create leaves: the group, with this plan's marker, and no properties.
    await live.client.property_groups.create(
        name="checkout", description=f"Checkout\n\n{marker('web')}"
    )

    report = await apply_async(live.client, plan)

    by_action = {item.action: item for item in report.items}
    assert report.ok
    assert by_action["create_group"].outcome is ItemOutcome.APPLIED
    assert by_action["create_group"].detail == "completed the group found in its place"
    group = await live.client.property_groups.find_by_name("checkout")
    assert group is not None
    assert {p.name for p in group.properties} == {"order_id", "total"}
    assert [event.name for event in group.events] == ["order_paid"]
    assert (await live.plan(CHECKOUT)).is_empty


async def test_a_group_made_meanwhile_as_the_plan_wants_is_already_in_place(
    live: Recorded,
) -> None:
    plan = await live.plan(CHECKOUT, create_events=True)
    other = make_recorded(live.app)
    await apply_async(other.client, plan)
    await other.http.aclose()
    live.reset()

    report = await apply_async(live.client, plan)

    assert report.ok
    assert {item.action: (item.outcome, item.detail) for item in report.items} == {
        "create_group": (ItemOutcome.ALREADY_DONE, "already in place"),
        "create_event": (ItemOutcome.ALREADY_DONE, "already in place"),
        "create_binding": (ItemOutcome.ALREADY_DONE, "already existed"),
        "update_event": (ItemOutcome.APPLIED, ""),
    }


async def test_a_group_of_another_plan_made_meanwhile_is_a_conflict_not_a_success(
    live: Recorded,
) -> None:
    plan = await live.plan(CHECKOUT, create_events=True)
    await live.client.property_groups.create(
        name="checkout",
        description=f"Checkout\n\n{marker('mobile')}",
        properties=[PropertyInput(name="order_id", property_type="Numeric")],
    )

    report = await apply_async(live.client, plan)

    create = next(item for item in report.items if item.action == "create_group")
    assert create.outcome is ItemOutcome.FAILED
    assert "owned by plan 'mobile'" in create.detail
    assert not report.ok
    group = await live.client.property_groups.find_by_name("checkout")
    assert group is not None
    assert [p.property_type for p in group.properties] == ["Numeric"]


async def test_an_event_made_meanwhile_gets_the_plans_description(live: Recorded) -> None:
    plan = await live.plan(CHECKOUT, create_events=True)
    await live.client.event_definitions.create(name="order_paid", description="made by hand")

    report = await apply_async(live.client, plan)

    assert report.ok, [(i.subject, i.detail) for i in report.items if i.status != "done"]
    create = next(item for item in report.items if item.action == "create_event")
    assert (create.outcome, create.detail) == (
        ItemOutcome.APPLIED,
        "completed the event found in its place",
    )
    event = await live.client.event_definitions.get_by_name("order_paid")
    assert (event.description, event.enforcement_mode) == ("An order was paid", "reject")


async def test_two_prunes_at_once_both_succeed_and_delete_each_group_once(
    live: Recorded,
) -> None:
    _, report = await live.apply(bound_plan("web", "old", targets(3)), create_events=True)
    assert report.ok
    gone = "version: 1\nplan_id: web\n"
    other = make_recorded(live.app)
    plans = [await run.plan(gone, prune=True) for run in (live, other)]
    acted = before_each(
        live,
        lambda r: r.method == "DELETE" and not acted,
        lambda: apply_async(other.client, plans[1]),
    )

    report = await apply_async(live.client, plans[0])
    await other.http.aclose()

    [item] = report.items
    assert (item.action, item.outcome, item.detail) == (
        "delete_group",
        ItemOutcome.ALREADY_DONE,
        "already gone",
    )
    assert report.ok
    assert await live.client.property_groups.find_by_name("old") is None
