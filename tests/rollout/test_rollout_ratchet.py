"""The enforcement ratchet on a sandbox project: ``checkout_completed`` moves to ``reject`` once
two hours of conforming traffic held the SLO, and back to ``allow`` when a release starts
sending checkouts without ``amount`` (dropped by ``reject``, seen in the ingestion warnings).

Prod's schemas were applied three hours ago (the sandbox's clock, shifted).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from rollout_helpers import (
    KEYS,
    PROD,
    apply_to,
    checkout,
    client,
    hours,
    load,
    send,
    spread,
    two_projects,
    written_ago,
)

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode
from eventschema_tools.rollout import (
    RatchetMove,
    ratchet,
    ratchet_async,
    ratchet_options,
    store_ratchet,
)
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan import LiveState, compute_plan
from eventschema_tools.tracking_plan.environments import environment_async_client, environment_plan
from eventschema_tools.tracking_plan.file import PlanFileError, TrackingPlan, parse_plan

PLAN = """\
version: 1
plan_id: web
property_groups:
  checkout:
    properties:
      order_id: {{type: String, required: true}}
      amount: {{type: Numeric, required: true}}
events:
  checkout_completed:
    groups: [checkout]
    ratchet:
      {{slo: 0.99, soak: 2h, min_events: 50, allow_below: 0.9, window: 1h, environments: [prod]}}
environments:
  staging: {{host: "{url}", project_id: 1, enforcement: allow}}
  prod: {{host: "{url}", project_id: 2}}
"""


def _plan(url: str) -> TrackingPlan:
    return load(PLAN, url)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with two_projects() as running:
        with written_ago(running, hours(3)):
            apply_to(_plan(running.url), "prod")
        now = datetime.now(UTC)
        moments = spread(now - hours(1.9), now - hours(0.02), 240)
        send(running.url, PROD, [checkout(True, m, i) for i, m in enumerate(moments)])
        yield running


def _mode(plan: TrackingPlan) -> EnforcementMode:
    with client(plan, "prod") as prod:
        live = LiveState.read(prod, event_names=["checkout_completed"])
    return live.events_by_name["checkout_completed"].enforcement_mode


def test_a_dry_run_decides_without_switching(sandbox: RunningSandbox) -> None:
    plan = _plan(sandbox.url)
    options = ratchet_options(plan, environment="prod", dry_run=True)
    with client(plan, "prod") as prod:
        report = ratchet(prod, options)
    (step,) = report.steps
    assert step.move is RatchetMove.TO_REJECT
    assert report.report is None
    assert _mode(plan) is EnforcementMode.ALLOW
    assert (
        report.summary()
        == "Ratchet: 1 would move to reject, 0 would move back to allow, 0 unchanged."
    )


def test_the_async_twin_decides_the_same(sandbox: RunningSandbox) -> None:
    plan = _plan(sandbox.url)
    options = ratchet_options(plan, environment="prod", dry_run=True)
    moment = datetime.now(UTC)
    with client(plan, "prod") as prod:
        sync = ratchet(prod, options, now=moment)

    async def run() -> object:
        async with environment_async_client(plan, "prod", environ=KEYS) as prod_async:
            return await ratchet_async(prod_async, options, now=moment)

    assert anyio.run(run) == sync


def test_held_slo_moves_to_reject_then_a_regression_moves_back(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan = _plan(sandbox.url)
    options = ratchet_options(plan, environment="prod")
    with client(plan, "prod") as prod:
        up = ratchet(prod, options)
    (step,) = up.steps
    assert step.move is RatchetMove.TO_REJECT
    assert (step.before, step.after) == (EnforcementMode.ALLOW, EnforcementMode.REJECT)
    assert step.evidence is not None
    assert step.evidence.events == 240
    assert step.evidence.conforming == 240
    assert "conformance held 99% for 2h" in step.reason
    assert up.report is not None
    assert up.report.ok
    assert _mode(plan) is EnforcementMode.REJECT
    stored = json.loads(store_ratchet(up, tmp_path).read_text(encoding="utf-8"))
    assert stored["steps"][0]["move"] == "to_reject"
    assert stored["steps"][0]["evidence"]["events"] == 240
    (finding,) = up.findings()
    assert (finding.code, finding.event) == ("enforcement_ratcheted", "checkout_completed")

    # The plan leaves the mode to the ratchet: prod's plan shows nothing to change.
    with client(plan, "prod") as prod:
        assert compute_plan(prod, environment_plan(plan, "prod")).is_empty

    now = datetime.now(UTC)
    release = spread(now - hours(0.01), now, 40)
    send(sandbox.url, PROD, [checkout(index % 4 == 0, m, index) for index, m in enumerate(release)])
    with client(plan, "prod") as prod:
        down = ratchet(prod, options)
    (step,) = down.steps
    assert step.move is RatchetMove.TO_ALLOW
    assert step.evidence is not None
    assert step.evidence.dropped == 30
    assert "regression in the last 1h" in step.reason
    assert "(30 dropped by reject)" in step.reason
    assert _mode(plan) is EnforcementMode.ALLOW
    (finding,) = down.findings()
    assert finding.code == "enforcement_released"
    assert finding.counts["dropped"] == 30

    # Back in allow, the regression sits inside the soak period: it stays there.
    with client(plan, "prod") as prod:
        again = ratchet(prod, options)
    assert again.steps[0].move is RatchetMove.KEEP
    assert "not yet" in again.steps[0].reason


def test_settings_are_checked_when_the_plan_is_read(sandbox: RunningSandbox) -> None:
    with pytest.raises(
        InvalidInputError, match="no event of the plan ratchets in environment 'staging'"
    ):
        ratchet_options(_plan(sandbox.url), environment="staging")
    broken = PLAN.replace("allow_below: 0.9", "allow_below: 0.999").format(url=sandbox.url)
    with pytest.raises(PlanFileError, match=r"allow_below .* must not be above slo"):
        parse_plan(broken)
    both = PLAN.replace("groups: [checkout]\n", "groups: [checkout]\n    enforcement: reject\n")
    with pytest.raises(PlanFileError, match="enforcement and ratchet both decide"):
        parse_plan(both.format(url=sandbox.url))
    unknown = PLAN.replace("environments: [prod]}", "environments: [prd]}")
    with pytest.raises(PlanFileError, match="ratchets in environment 'prd'"):
        parse_plan(unknown.format(url=sandbox.url))
    override = PLAN.replace(
        'prod: {{host: "{url}", project_id: 2}}',
        'prod: {{host: "{url}", project_id: 2,\n'
        "          events: {{checkout_completed: {{enforcement: reject}}}}}}",
    )
    with pytest.raises(PlanFileError, match="which the ratchet decides there"):
        parse_plan(override.format(url=sandbox.url))
