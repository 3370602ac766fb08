"""The backtest against labelled events: today's and the proposed expectations side by side.

Every event sent carries, by construction, whether today's and the proposed expectations reject
it (a required property absent, null or not coercible), its UTC day and its ``$lib``/version
slice; the expected numbers are tallied from those labels in plain Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from query_counting import counting_client

from eventschema_tools import AsyncEventSchemaClient
from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import HogQLResult
from eventschema_tools.review.backtest import (
    MAX_BACKTEST_DAYS,
    Backtest,
    BacktestEvent,
    DayDrops,
    VersionSlice,
    backtest_queries,
    backtest_steps,
    decode_backtest,
    run_backtest,
    run_backtest_async,
)
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox

DAYS = 3
TODAY = datetime.now(UTC).date()
# Both days lie wholly inside the last DAYS days, whatever the time of the run.
DAY_1, DAY_2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
LONG_AGO = TODAY - timedelta(days=10)

ABSENT = object()
"""A property the event does not carry at all."""
# Values of a Numeric property, labelled by construction: accepted or not by PostHog's coercion.
NUMBERS_OK: list[Any] = [12, "7", " 3.5 ", 0, "0x1A"]
NUMBERS_BAD: list[Any] = ["abc", True, {"a": 1}, "", None, ABSENT]


def prop(name: str, kind: str, *, required: bool) -> PropertyExpectation:
    return PropertyExpectation(name, frozenset({kind}), required)


AMOUNT, CURRENCY = "amount", "currency"
CURRENT = [
    EventExpectation(
        "checkout_done",
        (prop(AMOUNT, "Numeric", required=False), prop(CURRENCY, "String", required=True)),
    ),
    EventExpectation("signup", (prop("source", "String", required=True),)),
    EventExpectation("legacy_ping", (prop("ts", "DateTime", required=True),), "reject"),
    EventExpectation("quiet_event", (prop("x", "String", required=False),)),
]
PROPOSED = [
    # amount becomes required and the event switches to reject.
    EventExpectation(
        "checkout_done",
        (prop(AMOUNT, "Numeric", required=True), prop(CURRENCY, "String", required=True)),
        "reject",
    ),
    EventExpectation(
        "signup",
        (prop("referrer", "String", required=True), prop("source", "String", required=True)),
    ),
    # A new binding: today nothing is expected of invite_sent.
    EventExpectation("invite_sent", (prop("seats", "Numeric", required=True),), "reject"),
    EventExpectation("quiet_event", (prop("x", "String", required=True),)),
]
# legacy_ping's group is unbound by the proposal: it expects nothing of it any more.


@dataclass(frozen=True)
class Sent:
    """One event sent, with what each side should make of it."""

    event: str
    day: date
    lib: str
    version: str
    rejected_now: bool
    rejected_proposed: bool
    payload: dict[str, Any]


def labelled(
    event: str,
    day: date,
    second: int,
    properties: dict[str, Any],
    *,
    sdk: dict[str, str],
    now: bool,
    proposed: bool,
) -> Sent:
    carried = {key: value for key, value in properties.items() if value is not ABSENT}
    moment = datetime.combine(day, time(12), UTC) + timedelta(seconds=second)
    version = sdk.get("$lib_version") or sdk.get("$app_version", "")
    return Sent(
        event,
        day,
        sdk.get("$lib", ""),
        version,
        now,
        proposed,
        {
            "event": event,
            "distinct_id": f"user-{second % 7}",
            "properties": {**sdk, **carried},
            "timestamp": moment.isoformat(),
        },
    )


def checkout_events() -> list[Sent]:
    """checkout_done over five slices; today currency is required, tomorrow amount too."""
    sent: list[Sent] = []
    # web 1.2.0: 18 of 30 carry a bad amount (rate 0.6, the worst slice of at least 10).
    for i in range(30):
        bad = i % 5 < 3
        amount = NUMBERS_BAD[i % len(NUMBERS_BAD)] if bad else NUMBERS_OK[i % len(NUMBERS_OK)]
        sent.append(
            labelled(
                "checkout_done",
                DAY_1 if i < 15 else DAY_2,
                i,
                {AMOUNT: amount, CURRENCY: "EUR"},
                sdk={"$lib": "web", "$lib_version": "1.2.0"},
                now=False,
                proposed=bad,
            )
        )
    # web 1.3.0: amounts fine; two lack the currency (rejected today and tomorrow).
    for i in range(40):
        currency = ABSENT if i in (3, 27) else "USD"
        sent.append(
            labelled(
                "checkout_done",
                DAY_1 if i < 20 else DAY_2,
                100 + i,
                {AMOUNT: NUMBERS_OK[i % len(NUMBERS_OK)], CURRENCY: currency},
                sdk={"$lib": "web", "$lib_version": "1.3.0"},
                now=currency is ABSENT,
                proposed=currency is ABSENT,
            )
        )
    # posthog-ios with only $app_version: half the amounts bad, one null currency (rate 0.55).
    for i in range(20):
        bad_amount = i % 2 == 0
        currency = None if i == 1 else "EUR"
        sent.append(
            labelled(
                "checkout_done",
                DAY_1 if i < 8 else DAY_2,
                200 + i,
                {AMOUNT: "n/a" if bad_amount else 5, CURRENCY: currency},
                sdk={"$lib": "posthog-ios", "$app_version": "4.1"},
                now=currency is None,
                proposed=bad_amount or currency is None,
            )
        )
    # No SDK at all: every one rejected tomorrow (rate 1.0), but 4 events are too few to name.
    for i in range(4):
        sent.append(
            labelled(
                "checkout_done",
                DAY_2,
                300 + i,
                {AMOUNT: ABSENT, CURRENCY: "EUR"},
                sdk={},
                now=False,
                proposed=True,
            )
        )
    # An empty $lib_version falls back to $app_version.
    for i in range(10):
        sent.append(
            labelled(
                "checkout_done",
                DAY_2,
                400 + i,
                {AMOUNT: 1, CURRENCY: "EUR"},
                sdk={"$lib": "web", "$lib_version": "", "$app_version": "9.9"},
                now=False,
                proposed=False,
            )
        )
    return sent


def other_events() -> list[Sent]:
    sent: list[Sent] = []
    for i in range(24):
        source = ABSENT if i < 2 else "ads"
        referrer = ABSENT if i % 3 == 0 else "friend"
        sent.append(
            labelled(
                "signup",
                DAY_1 if i < 12 else DAY_2,
                500 + i,
                {"source": source, "referrer": referrer},
                sdk={"$lib": "web", "$lib_version": "1.3.0"},
                now=source is ABSENT,
                proposed=source is ABSENT or referrer is ABSENT,
            )
        )
    for i in range(12):
        seats: Any = "many" if i in (0, 5, 6, 11) else 3
        sent.append(
            labelled(
                "invite_sent",
                DAY_1 if i < 6 else DAY_2,
                600 + i,
                {"seats": seats},
                sdk={"$lib": "posthog-ios", "$lib_version": "4.0.0"},
                now=False,
                proposed=seats == "many",
            )
        )
    for i in range(8):
        stamp = "not a date" if i < 3 else "2024-05-01T10:00:00Z"
        sent.append(
            labelled(
                "legacy_ping",
                DAY_1,
                700 + i,
                {"ts": stamp},
                sdk={"$lib": "web", "$lib_version": "1.2.0"},
                now=stamp == "not a date",
                proposed=False,
            )
        )
    return sent


def outside_the_window() -> list[Sent]:
    """Events that break everything, but ten days ago: no backtest of DAYS days sees them."""
    return [
        labelled(
            name,
            LONG_AGO,
            800 + i,
            {},
            sdk={"$lib": "web", "$lib_version": "1.2.0"},
            now=True,
            proposed=True,
        )
        for i, name in enumerate(["checkout_done", "signup", "invite_sent", "legacy_ping"] * 2)
    ]


SENT = checkout_events() + other_events()


def send(url: str, events: list[dict[str, Any]]) -> None:
    """POST events to the sandbox's /batch/ endpoint, as the Python SDK does."""
    with httpx.Client(base_url=url, timeout=60) as http:
        answer = http.post("/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": events})
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False) as running:
        send(running.url, [item.payload for item in SENT + outside_the_window()])
        yield running


@pytest.fixture(scope="module")
def backtest(sandbox: RunningSandbox) -> tuple[Backtest, list[str]]:
    with counting_client(sandbox.url) as (client, queries):
        result = run_backtest(client, CURRENT, PROPOSED, DAYS)
    return result, queries


def by_event(result: Backtest) -> dict[str, BacktestEvent]:
    return {item.event: item for item in result.events}


def hand_count(event: str) -> tuple[int, int, int]:
    """(events, rejected today, rejected under the proposal) of ``event`` from the labels."""
    rows = [item for item in SENT if item.event == event]
    return (
        len(rows),
        sum(item.rejected_now for item in rows),
        sum(item.rejected_proposed for item in rows),
    )


def days_by_hand(event: str) -> list[DayDrops]:
    days: dict[date, list[int]] = {}
    for item in SENT:
        if item.event == event:
            counts = days.setdefault(item.day, [0, 0])
            counts[0] += 1
            counts[1] += item.rejected_proposed
    return [DayDrops(day=d, events=n, would_reject=r) for d, (n, r) in sorted(days.items())]


def slice_by_hand(event: str, lib: str, version: str) -> VersionSlice:
    rows = [item for item in SENT if (item.event, item.lib, item.version) == (event, lib, version)]
    return VersionSlice(
        lib=lib,
        version=version,
        events=len(rows),
        would_reject=sum(item.rejected_proposed for item in rows),
    )


def test_every_changed_event_is_counted_on_both_sides_as_by_hand(
    backtest: tuple[Backtest, list[str]],
) -> None:
    result, _ = backtest
    events = by_event(result)

    assert sorted(events) == [
        "checkout_done",
        "invite_sent",
        "legacy_ping",
        "quiet_event",
        "signup",
    ]
    for name in ("checkout_done", "signup", "invite_sent", "legacy_ping"):
        item = events[name]
        assert (item.events, item.rejected_now, item.rejected_proposed) == hand_count(name), name
        assert item.by_day == days_by_hand(name), name
    # The labels themselves: the proposal rejects more of checkout_done than today.
    assert hand_count("checkout_done") == (104, 3, 35)


def test_reject_drops_only_where_the_proposal_enforces(
    backtest: tuple[Backtest, list[str]],
) -> None:
    events = by_event(backtest[0])

    checkout = events["checkout_done"]
    assert (checkout.enforcement_now, checkout.enforcement_proposed) == ("allow", "reject")
    assert checkout.dropped == checkout.rejected_proposed == 35
    assert checkout.conforming_now == pytest.approx(1 - 3 / 104)
    assert checkout.conforming_proposed == pytest.approx(1 - 35 / 104)
    assert sum(day.would_reject for day in checkout.by_day) == checkout.dropped
    # signup stays in allow mode: the proposal rejects 9 of them, but drops none.
    signup = events["signup"]
    assert signup.rejected_proposed == 9
    assert signup.dropped == 0


def test_the_worst_slice_is_the_highest_rate_among_slices_big_enough(
    backtest: tuple[Backtest, list[str]],
) -> None:
    events = by_event(backtest[0])

    # Not the SDK-less slice (rate 1.0, 4 events), nor posthog-ios 4.1 (rate 0.55).
    assert events["checkout_done"].worst_slice == slice_by_hand("checkout_done", "web", "1.2.0")
    assert events["checkout_done"].worst_slice == VersionSlice(
        lib="web", version="1.2.0", events=30, would_reject=18
    )
    assert events["checkout_done"].worst_slice.rate == pytest.approx(0.6)
    assert events["signup"].worst_slice == slice_by_hand("signup", "web", "1.3.0")
    assert events["invite_sent"].worst_slice == VersionSlice(
        lib="posthog-ios", version="4.0.0", events=12, would_reject=4
    )


def test_an_event_on_one_side_only_expects_nothing_on_the_other(
    backtest: tuple[Backtest, list[str]],
) -> None:
    events = by_event(backtest[0])

    invited = events["invite_sent"]  # a new binding
    assert (invited.events, invited.rejected_now, invited.rejected_proposed) == (12, 0, 4)
    assert (invited.enforcement_now, invited.enforcement_proposed) == ("allow", "reject")
    assert invited.dropped == 4
    assert invited.conforming_now == 1.0
    legacy = events["legacy_ping"]  # unbound by the proposal
    assert (legacy.events, legacy.rejected_now, legacy.rejected_proposed) == (8, 3, 0)
    assert legacy.worst_slice is None
    assert legacy.dropped == 0
    assert legacy.by_day == [DayDrops(day=DAY_1, events=8, would_reject=0)]


def test_an_event_without_traffic_conforms_fully(backtest: tuple[Backtest, list[str]]) -> None:
    quiet = by_event(backtest[0])["quiet_event"]

    assert (quiet.events, quiet.rejected_now, quiet.rejected_proposed) == (0, 0, 0)
    assert quiet.by_day == []
    assert quiet.worst_slice is None
    assert (quiet.conforming_now, quiet.conforming_proposed) == (1.0, 1.0)


def test_one_query_covers_the_run_within_the_bound(backtest: tuple[Backtest, list[str]]) -> None:
    result, queries = backtest

    assert len(queries) == result.queries == math.ceil(5 / 200) == 1
    assert result.query_bound == 2
    assert result.queries <= result.query_bound
    assert result.notes == []
    assert result.days == DAYS
    assert result.until - result.since == timedelta(days=DAYS)
    # Names travel as values, never in the text.
    [body] = [json.loads(text) for text in queries]
    assert "checkout_done" not in body["query"]["query"]
    assert body["query"]["values"]["events"] == sorted(by_event(result))


@pytest.mark.anyio
async def test_the_async_twin_measures_the_same(
    sandbox: RunningSandbox, backtest: tuple[Backtest, list[str]]
) -> None:
    async with AsyncEventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host=sandbox.url,
        rate_limit="off",
        query_rate_limit="off",
    ) as client:
        result = await run_backtest_async(client, CURRENT, PROPOSED, DAYS)

    assert result.events == backtest[0].events
    assert (result.queries, result.query_bound) == (1, 2)


def test_450_changed_events_take_3_queries(sandbox: RunningSandbox) -> None:
    names = [f"bulk_{i:03d}" for i in range(450)]
    current = [EventExpectation(name, (prop("n", "Numeric", required=False),)) for name in names]
    proposed = [
        EventExpectation(name, (prop("n", "Numeric", required=True),), "reject") for name in names
    ]
    # One event in each query's run of names: a bad one and a good one.
    seen = ["bulk_000", "bulk_201", "bulk_449"]
    send(
        sandbox.url,
        [
            labelled(name, DAY_2, i, properties, sdk={}, now=False, proposed=False).payload
            for i, name in enumerate(seen)
            for properties in ({"n": "x"}, {"n": 1})
        ],
    )

    with counting_client(sandbox.url) as (client, queries):
        result = run_backtest(client, current, proposed, DAYS)

    assert len(queries) == result.queries == math.ceil(450 / 200) == 3
    assert result.query_bound == 4
    assert [len(json.loads(text)["query"]["values"]["events"]) for text in queries] == [
        200,
        200,
        50,
    ]
    assert [item.event for item in result.events] == names
    rejected = {item.event: (item.events, item.dropped) for item in result.events if item.events}
    assert rejected == dict.fromkeys(seen, (2, 1))


@pytest.mark.parametrize("days", [0, -1, MAX_BACKTEST_DAYS + 1, True, 2.5, "7"])
def test_bad_days_are_refused_before_any_request(sandbox: RunningSandbox, days: Any) -> None:
    with (
        counting_client(sandbox.url) as (client, queries),
        pytest.raises(InvalidInputError, match="backtest days must be a whole number"),
    ):
        run_backtest(client, CURRENT, PROPOSED, days)

    assert queries == []


@pytest.mark.anyio
async def test_the_async_twin_refuses_bad_days_before_any_request() -> None:
    # Nothing listens on port 9: any request would fail with a connection error instead.
    async with AsyncEventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host="http://127.0.0.1:9", max_retries=0
    ) as client:
        with pytest.raises(InvalidInputError):
            await run_backtest_async(client, CURRENT, PROPOSED, 0)


# --- the decoding, on answers made here ----------------------------------------------------------

COLUMNS = ["event", "day", "lib", "version", "total", "c_would_reject", "p_would_reject"]
PAIR = (EventExpectation("e", ()), EventExpectation("e", (), "reject"))


def answer(*rows: tuple[str, str, int, int]) -> HogQLResult:
    """Rows of event "e" on one day: (lib, version, events, rejected under the proposal)."""
    return HogQLResult(
        columns=COLUMNS,
        results=[["e", "2024-05-01", lib, version, n, 0, r] for lib, version, n, r in rows],
    )


def test_the_worst_slice_ties_go_to_more_events_then_lib_and_version() -> None:
    [tied_rate] = decode_backtest(answer(("web", "1.0", 20, 10), ("ios", "2.0", 40, 20)), [PAIR])
    [tied_all] = decode_backtest(
        answer(("web", "1", 20, 10), ("android", "1", 20, 10), ("android", "0", 20, 10)), [PAIR]
    )

    assert tied_rate.worst_slice == VersionSlice(
        lib="ios", version="2.0", events=40, would_reject=20
    )
    assert tied_all.worst_slice == VersionSlice(
        lib="android", version="0", events=20, would_reject=10
    )


def test_a_small_slice_is_named_only_when_no_slice_is_big_enough() -> None:
    # 2,000 events: a slice needs 20 (1 %), so the 15-event slice at rate 1.0 is not named.
    [big] = decode_backtest(
        answer(("web", "1", 15, 15), ("web", "2", 1_985, 100), ("ios", "1", 0, 0)), [PAIR]
    )
    [small] = decode_backtest(answer(("web", "1", 3, 1), ("web", "2", 5, 0)), [PAIR])
    [clean] = decode_backtest(answer(("web", "1", 30, 0)), [PAIR])

    assert big.worst_slice == VersionSlice(lib="web", version="2", events=1_985, would_reject=100)
    assert small.worst_slice == VersionSlice(lib="web", version="1", events=3, would_reject=1)
    assert clean.worst_slice is None
    assert clean.by_day == [DayDrops(day=date(2024, 5, 1), events=30, would_reject=0)]


def test_a_full_answer_says_the_slices_are_truncated() -> None:
    [(query, pairs)] = backtest_queries(CURRENT, PROPOSED, DAYS)
    steps = backtest_steps(CURRENT, PROPOSED, DAYS)

    assert next(steps) == query
    full = HogQLResult(
        columns=COLUMNS,
        results=[["signup", "2024-05-01", "web", str(i), 1, 0, 0] for i in range(50_000)],
    )
    with pytest.raises(StopIteration) as finished:
        steps.send(full)

    result: Backtest = finished.value.value
    [note] = result.notes
    assert "50,000 rows" in note
    assert "backtest fewer days" in note
    assert [item.event for item in result.events] == [now.event for now, _ in pairs]
    assert by_event(result)["signup"].events == 50_000
