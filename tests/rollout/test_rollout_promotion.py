"""Promotion from staging to prod on two sandbox projects, gated on staging's soak.

Prod holds the plan's earlier version; staging holds the new one (``amount`` required on
checkouts, a new ``signed_up`` event). Staging's checkouts regress for half an hour (30 % lack
``amount``), then conform. Time is simulated: events carry timestamps after the schemas were
applied and the gate is asked at a chosen ``now``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import anyio
import pytest
from rollout_helpers import (
    KEYS,
    PLAN_AFTER,
    PLAN_BEFORE,
    STAGING,
    apply_to,
    checkout,
    client,
    event,
    hours,
    load,
    send,
    spread,
    two_projects,
)

from eventschema_tools.audit.soak import SoakStatus
from eventschema_tools.errors import ConfigurationError, InvalidInputError
from eventschema_tools.models import EnforcementMode
from eventschema_tools.rollout import (
    check_promotion,
    check_promotion_async,
    compare_environments,
    promote,
    promotion_options,
)
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan import LiveState
from eventschema_tools.tracking_plan.environments import environment_async_client


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with two_projects() as running:
        apply_to(load(PLAN_BEFORE, running.url), "prod")
        apply_to(load(PLAN_BEFORE, running.url), "staging")
        apply_to(load(PLAN_AFTER, running.url), "staging")
        yield running


@pytest.fixture(scope="module")
def applied_at() -> datetime:
    return datetime.now(UTC)


def _actions(promotion: object) -> set[tuple[str, str]]:
    writes = promotion.plan.changes  # type: ignore[attr-defined]
    return {(change.action, getattr(change, "group", "") or change.event) for change in writes}


def test_the_diff_is_staging_change_set_with_prod_enforcement(sandbox: RunningSandbox) -> None:
    plan = load(PLAN_AFTER, sandbox.url)
    options = promotion_options(plan, source="staging", target="prod")
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        promotion = compare_environments(staging, prod, options)
    assert _actions(promotion) == {
        ("update_group", "checkout"),
        ("create_group", "account"),
        ("create_event", "signed_up"),
        ("create_binding", "account"),
    }
    assert promotion.events == ["checkout_completed", "signed_up"]
    assert promotion.soak is None
    assert promotion.not_in_source == []


def test_a_regression_in_staging_blocks_the_promotion(
    sandbox: RunningSandbox, applied_at: datetime
) -> None:
    plan = load(PLAN_AFTER, sandbox.url)
    start = applied_at + hours(0.3)
    bad = [
        checkout(index % 10 >= 3, moment, index)
        for index, moment in enumerate(spread(start, start + hours(0.5), 200))
    ]
    signups = [
        event("signed_up", {"method": "email"}, moment, index)
        for index, moment in enumerate(spread(start, start + hours(2), 200))
    ]
    send(sandbox.url, STAGING, [*bad, *signups])
    options = promotion_options(plan, source="staging", target="prod", soak="1h", min_events=50)
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        promotion = promote(staging, prod, options, now=applied_at + hours(1.25))
        after = compare_environments(staging, prod, options)
    assert not promotion.passed
    assert promotion.report is None
    verdict = {item.event: item for item in promotion.soak.events}  # type: ignore[union-attr]
    assert verdict["checkout_completed"].status is SoakStatus.BELOW_SLO
    assert verdict["checkout_completed"].events == 200
    assert verdict["checkout_completed"].conforming == 140
    assert verdict["signed_up"].status is SoakStatus.HELD
    refusal = promotion.refusal()
    assert '"checkout_completed": 70% of 200 conform over the last 1h' in refusal
    assert "signed_up" not in refusal
    assert _actions(after) == _actions(promotion), "prod must be untouched"


def test_the_async_twin_gives_the_same_verdict(
    sandbox: RunningSandbox, applied_at: datetime
) -> None:
    plan = load(PLAN_AFTER, sandbox.url)
    options = promotion_options(plan, source="staging", target="prod", soak="1h", min_events=50)
    moment = applied_at + hours(1.25)
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        sync = check_promotion(staging, prod, options, now=moment)

    async def run() -> object:
        async with (
            environment_async_client(plan, "staging", environ=KEYS) as staging_async,
            environment_async_client(plan, "prod", environ=KEYS) as prod_async,
        ):
            return await check_promotion_async(staging_async, prod_async, options, now=moment)

    assert sync.soak is not None
    assert not sync.passed
    assert anyio.run(run) == sync


def test_a_change_younger_than_the_soak_waits(sandbox: RunningSandbox) -> None:
    plan = load(PLAN_AFTER, sandbox.url)
    options = promotion_options(plan, source="staging", target="prod", soak="6h")
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        promotion = check_promotion(staging, prod, options)
    assert {item.status for item in promotion.soak.events} == {SoakStatus.TOO_RECENT}  # type: ignore[union-attr]
    assert "the 6h soak ends at" in promotion.refusal()


def test_after_the_fix_and_the_soak_it_applies_exactly_the_change_set(
    sandbox: RunningSandbox, applied_at: datetime
) -> None:
    plan = load(PLAN_AFTER, sandbox.url)
    start = applied_at + hours(2)
    fixed = [
        checkout(True, moment, index)
        for index, moment in enumerate(spread(start, start + hours(1.5), 300))
    ]
    signups = [
        event("signed_up", {"method": "sso"}, moment, index)
        for index, moment in enumerate(spread(start, start + hours(1.5), 100))
    ]
    send(sandbox.url, STAGING, [*fixed, *signups])
    options = promotion_options(plan, source="staging", target="prod", soak="1h", min_events=50)
    now = applied_at + hours(3.5)
    with client(plan, "staging") as staging, client(plan, "prod") as prod:
        expected = _actions(compare_environments(staging, prod, options))
        promotion = promote(staging, prod, options, now=now)
        drift = compare_environments(staging, prod, options)
        staging_live, prod_live = LiveState.read(staging), LiveState.read(prod)
    assert promotion.passed
    assert promotion.report is not None
    assert promotion.report.ok
    assert _actions(promotion) == expected
    assert drift.plan.is_empty, drift.plan.changes
    for name in ("checkout", "account"):
        ours = {
            (p.name, p.property_type, p.is_required)
            for p in staging_live.groups_by_name[name].properties
        }
        theirs = {
            (p.name, p.property_type, p.is_required)
            for p in prod_live.groups_by_name[name].properties
        }
        assert ours == theirs
    assert prod_live.events_by_name["checkout_completed"].enforcement_mode is EnforcementMode.REJECT
    assert (
        staging_live.events_by_name["checkout_completed"].enforcement_mode is EnforcementMode.ALLOW
    )


def test_bad_settings_are_refused_before_any_request(sandbox: RunningSandbox) -> None:
    plan = load(PLAN_AFTER, sandbox.url)
    with pytest.raises(InvalidInputError, match="did you mean 'prod'"):
        promotion_options(plan, source="staging", target="prd")
    with pytest.raises(InvalidInputError, match="to itself"):
        promotion_options(plan, source="prod", target="prod")
    with pytest.raises(InvalidInputError, match="slo"):
        promotion_options(plan, source="staging", target="prod", slo=99)
    options = promotion_options(plan, source="staging", target="prod")
    with (
        client(plan, "prod") as prod,
        client(plan, "prod") as also_prod,
        pytest.raises(ConfigurationError, match="environment 'staging' is project 1"),
    ):
        compare_environments(also_prod, prod, options)


def test_only_changes_of_what_events_must_carry_need_a_soak() -> None:
    from uuid import uuid4

    from eventschema_tools.rollout.promotion import changed_events
    from eventschema_tools.tracking_plan import Plan, UpdateEvent, UpdateGroup
    from eventschema_tools.tracking_plan.file import parse_plan

    staged = parse_plan(
        "version: 1\nproperty_groups:\n  g: {properties: {a: {type: String}}}\n"
        "events:\n  e1: {groups: [g]}\n  e2: {groups: [g]}\n  e3: {groups: []}\n"
    )
    described = Plan(changes=[UpdateGroup(group="g", group_id=uuid4(), description="words")])
    assert changed_events(described, staged) == []
    retyped = Plan(changes=[UpdateGroup(group="g", group_id=uuid4(), properties=[])])
    assert changed_events(retyped, staged) == ["e1", "e2"]
    rejecting = Plan(changes=[UpdateEvent(event="e3", enforcement_mode=EnforcementMode.REJECT)])
    assert changed_events(rejecting, staged) == ["e3"]
    allowing = Plan(changes=[UpdateEvent(event="e3", enforcement_mode=EnforcementMode.ALLOW)])
    assert changed_events(allowing, staged) == []
