"""The soak gate on one sandbox project: what ``reject`` dropped counts as not conforming.

``checkout_completed`` is in ``reject`` mode with ``amount`` required (set three hours ago, by
the sandbox's shifted clock); of the 120 checkouts sent in the last hour, 20 lack ``amount`` and
are dropped at ingestion, leaving ingestion warnings. ``signed_up`` conforms but is rare.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import anyio
import pytest
from rollout_helpers import (
    KEYS,
    PLAN_AFTER,
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
    written_ago,
)

from eventschema_tools.audit.soak import (
    SoakStatus,
    check_soak,
    check_soak_async,
    soak_options,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan.environments import environment_async_client
from eventschema_tools.tracking_plan.file import TrackingPlan

EVENTS = ["checkout_completed", "signed_up", "never_bound"]


def _rejecting(url: str) -> TrackingPlan:
    text = PLAN_AFTER.replace("enforcement: allow}", "}").replace(
        "groups: [checkout]\n    description: A customer paid",
        "groups: [checkout]\n    description: A customer paid\n    enforcement: reject",
    )
    return load(text, url)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with two_projects() as running:
        with written_ago(running, hours(3)):
            apply_to(_rejecting(running.url), "staging")
        now = datetime.now(UTC)
        moments = spread(now - hours(0.9), now - hours(0.05), 120)
        send(
            running.url,
            STAGING,
            [
                *(checkout(index % 6 != 0, moment, index) for index, moment in enumerate(moments)),
                *(event("signed_up", {"method": "sso"}, m, i) for i, m in enumerate(moments[:5])),
            ],
        )
        yield running


def test_dropped_events_count_against_the_slo(sandbox: RunningSandbox) -> None:
    plan = _rejecting(sandbox.url)
    options = soak_options(slo=0.99, soak="1h", min_events=50)
    with client(plan, "staging") as staging:
        verdict = check_soak(staging, EVENTS, options)
    items = {item.event: item for item in verdict.events}
    checkouts = items["checkout_completed"]
    assert checkouts.status is SoakStatus.BELOW_SLO
    assert (checkouts.events, checkouts.conforming, checkouts.dropped) == (120, 100, 20)
    assert checkouts.enforcement == "reject"
    assert "(20 dropped by reject)" in verdict.describe(checkouts)
    assert items["signed_up"].status is SoakStatus.TOO_FEW_EVENTS
    assert items["never_bound"].status is SoakStatus.NO_SCHEMA
    assert verdict.queries == 2  # one conformance query, one of ingestion warnings
    assert not verdict.passed


def test_conforming_traffic_holds(sandbox: RunningSandbox) -> None:
    plan = _rejecting(sandbox.url)
    options = soak_options(slo=0.99, soak="1h", min_events=5)
    with client(plan, "staging") as staging:
        verdict = check_soak(staging, ["signed_up"], options)
    assert verdict.passed, verdict.summary()
    assert verdict.queries == 2  # conformance, and what reject dropped
    assert verdict.summary() == "every event held 99% over the last 1h (1 event)"


def test_the_async_twin_measures_the_same(sandbox: RunningSandbox) -> None:
    plan = _rejecting(sandbox.url)
    options = soak_options(slo=0.99, soak="1h", min_events=50)
    moment = datetime.now(UTC)
    with client(plan, "staging") as staging:
        sync = check_soak(staging, EVENTS, options, now=moment)

    async def run() -> object:
        async with environment_async_client(plan, "staging", environ=KEYS) as staging_async:
            return await check_soak_async(staging_async, EVENTS, options, now=moment)

    assert anyio.run(run) == sync


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"slo": 1.5}, "slo: must be a fraction from 0 to 1"),
        ({"min_events": 0}, "min_events: must be a whole number, 1 or more"),
        ({"soak": "tomorrow"}, "bad window 'tomorrow'"),
        ({"soak": "100d"}, "longer than 90 days"),
    ],
)
def test_bad_soak_settings_are_refused(settings: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        soak_options(**settings)  # type: ignore[arg-type]


def test_buckets_are_hours_or_a_24th_of_a_short_soak() -> None:
    assert soak_options(soak="7d").bucket_seconds == 3600
    assert soak_options(soak="2h").bucket_seconds == 300
    assert soak_options(soak="10m").bucket_seconds == 60
