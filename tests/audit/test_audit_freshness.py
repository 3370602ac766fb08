"""The freshness gate against a sandbox: the library (sync and async) and ``eventschema
freshness``. Events are sent with chosen ages, so which are fresh is known here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from audit_helpers import counting_client, event, send_events
from typer.testing import CliRunner, Result

from eventschema_tools import AsyncEventSchemaClient
from eventschema_tools.audit.freshness import (
    check_freshness,
    check_freshness_async,
    freshness_options,
)
from eventschema_tools.cli.main import app
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox

ARRIVALS = {"signed_up": [10, 20, 90], "checkout_completed": [240]}  # minutes ago


@pytest.fixture(scope="module", autouse=True)
def sent(sandbox: RunningSandbox) -> None:
    send_events(
        sandbox.url,
        [
            event(name, {"n": index}, age=timedelta(minutes=minutes))
            for name, ages in ARRIVALS.items()
            for index, minutes in enumerate(ages)
        ],
    )


def test_one_query_says_which_events_arrived_within_the_window(sandbox: RunningSandbox) -> None:
    options = freshness_options(events="signed_up, checkout_completed,never_sent", within="1h")
    with counting_client(sandbox.url) as (client, queries):
        check = check_freshness(client, options)

    assert len(queries) == 1
    assert [(e.event, e.events, e.fresh) for e in check.events] == [
        ("signed_up", 2, True),
        ("checkout_completed", 0, False),
        ("never_sent", 0, False),
    ]
    assert not check.passed
    assert check.stale == ["checkout_completed", "never_sent"]
    latest = check.events[0].last_seen
    assert latest is not None
    assert timedelta(minutes=9) < datetime.now(UTC) - latest < timedelta(minutes=11)
    assert "signed_up: 2 in the last 1h, latest 10m ago (fresh)" in check.summary()


@pytest.mark.anyio
async def test_the_async_twin_gives_the_same_verdict(sandbox: RunningSandbox) -> None:
    options = freshness_options(events=["signed_up"], within="2h", min_events=3)
    async with AsyncEventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url) as c:
        check = await check_freshness_async(c, options)

    assert [(e.events, e.fresh) for e in check.events] == [(3, True)]
    assert check.passed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"events": " , "}, "give at least one event name"),
        ({"events": "a", "min_events": 0}, "min_events"),
        ({"events": "a", "within": "soon"}, "window"),
        ({"events": [f"e{i}" for i in range(1001)]}, "at most 1000 events"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_sent(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        freshness_options(**settings)  # type: ignore[arg-type]


def _freshness(sandbox: RunningSandbox, *args: str) -> Result:
    env = {
        "POSTHOG_HOST": sandbox.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_QUERY_RATE_LIMIT": "off",
    }
    result = CliRunner().invoke(app, ["freshness", *args], env=env)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_the_cli_exits_0_when_fresh_and_4_when_stale(sandbox: RunningSandbox) -> None:
    fresh = _freshness(sandbox, "--events", "signed_up", "--within", "30m")
    stale = _freshness(sandbox, "--events", "signed_up,checkout_completed", "--json")
    bad = _freshness(sandbox, "--events", "signed_up", "--within", "soon")

    assert fresh.exit_code == 0, fresh.stderr
    assert "ok    signed_up: 2 in the last 30m" in fresh.stdout
    assert stale.exit_code == 4
    assert [e["fresh"] for e in json.loads(stale.stdout)["events"]] == [True, False]
    assert bad.exit_code == 2
    assert "window" in bad.stderr
