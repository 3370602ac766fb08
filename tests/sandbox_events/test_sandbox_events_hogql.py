"""The query endpoint: HogQL run for real on captured events, placeholders, limits, refusals."""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sandbox_events_helpers import AUTH, hogql, rows, send_batch

from eventschema_tools.sandbox import ApiKey, RateLimit, SandboxApp, SandboxConfig, create_app
from eventschema_tools.sandbox.events.hogql import (
    HogQLSyntaxError,
    HogQLTooComplexError,
    parse_hogql,
)
from eventschema_tools.sandbox.events.parser_worker import provide_parser_error_module
from eventschema_tools.sandbox.events.store import EventRow

pytestmark = pytest.mark.anyio

MISSING = object()

# The recipe of the PostHog API notes (section 5), verbatim.
COVERAGE_RECIPE = """
SELECT
  count() AS total,
  countIf(NOT JSONHas(properties, 'plan') OR JSONType(properties, 'plan') = 'Null') AS plan_missing,
  countIf(JSONType(properties, 'seats') NOT IN ('Int64', 'UInt64', 'Double', 'Null')
          AND NOT (JSONType(properties, 'seats') = 'String'
                   AND toFloatOrNull(trim(JSONExtractString(properties, 'seats'))) IS NOT NULL)
          AND JSONHas(properties, 'seats')) AS seats_wrong_type,
  countIf(JSONHas(properties, 'trial') AND JSONType(properties, 'trial') NOT IN ('Bool', 'Null')
          AND NOT (JSONType(properties, 'trial') = 'String'
                   AND JSONExtractString(properties, 'trial') IN ('true', 'false'))) AS trial_wrong_type
FROM events
WHERE event = {event} AND timestamp > now() - toIntervalHour({hours})
"""  # noqa: E501
# (value, counted by the recipe?) for plan (missing), seats and trial (wrong type). Lists, not
# dicts: True and 1 are the same dict key.
PLANS = [("pro", False), ("", False), (0, False), (None, True), (MISSING, True)]
SEATS = [(3, False), (2.5, False), (-4, False), ("4", False), (" 7 ", False), ("1e3", False)]
SEATS += [(None, False), (MISSING, False), ("many", True), ("", True), (True, True), ("[1]", True)]
TRIALS = [(True, False), (False, False), ("true", False), ("false", False), (None, False)]
TRIALS += [(MISSING, False), ("yes", True), ("TRUE", True), (1, True), ("", True)]
NASTY_NAMES = [
    "it's",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "{event}",
    "{{double}}",
    "line\nbreak",
    "tab\tand\rreturn",
    "unicode é ß 😀 中文",
    "x' OR '1'='1",
    "x') OR 1=1 --",
    "\\' OR 1=1 --",
    "`backtick`",
    "semi; DROP TABLE events",
]


def properties_with(plan: object, seats: object, trial: object) -> dict[str, Any]:
    chosen = {"plan": plan, "seats": seats, "trial": trial}
    return {name: value for name, value in chosen.items() if value is not MISSING}


async def test_the_coverage_recipe_counts_what_plain_python_counts(
    client: httpx.AsyncClient,
) -> None:
    rng = random.Random(5)
    now = datetime.now(UTC)
    batch, expected = [], Counter[str]()
    for index in range(400):
        (plan, plan_missing), (seats, seats_wrong), (trial, trial_wrong) = (
            rng.choice(labelled) for labelled in (PLANS, SEATS, TRIALS)
        )
        name = rng.choice(["checkout_completed", "checkout_completed", "page_viewed"])
        hours_ago = rng.choice([1, 5, 23, 30, 48])
        batch.append(
            {
                "event": name,
                "distinct_id": f"user-{index}",
                "timestamp": (now - timedelta(hours=hours_ago)).isoformat(),
                "properties": properties_with(plan, seats, trial),
            }
        )
        if name == "checkout_completed" and hours_ago < 24:
            expected["total"] += 1
            expected["plan_missing"] += plan_missing
            expected["seats_wrong_type"] += seats_wrong
            expected["trial_wrong_type"] += trial_wrong
    assert (await send_batch(client, batch)).status_code == 200

    response = await hogql(client, COVERAGE_RECIPE, {"event": "checkout_completed", "hours": 24})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["columns"] == ["total", "plan_missing", "seats_wrong_type", "trial_wrong_type"]
    assert answer["results"] == [[expected[column] for column in answer["columns"]]]
    assert answer["types"] == [[column, "UInt64"] for column in answer["columns"]]
    assert 0 < expected["seats_wrong_type"] < expected["total"]


async def test_group_by_having_order_by_and_aliases(client: httpx.AsyncClient) -> None:
    rng = random.Random(9)
    names = [rng.choice(["a", "b", "c", "d"]) for _ in range(200)]
    await send_batch(
        client,
        [{"event": name, "distinct_id": f"u{i % 13}"} for i, name in enumerate(names)],
    )
    counts = Counter(names)

    found = await rows(
        client,
        "SELECT event AS name, count() AS n, uniq(distinct_id) FROM events "
        "GROUP BY name HAVING n >= {least} ORDER BY n DESC, name LIMIT 3",
        {"least": 40},
    )

    expected = sorted(
        ((name, n) for name, n in counts.items() if n >= 40), key=lambda p: (-p[1], p[0])
    )[:3]
    assert [(name, n) for name, n, _ in found] == expected
    for name, _, users in found:
        assert users == len({i % 13 for i, event in enumerate(names) if event == name})


async def test_property_fields_read_as_string_or_null_like_posthog(
    client: httpx.AsyncClient,
) -> None:
    values: dict[str, object] = {
        "string": "pro",
        "number": 3,
        "float": 2.5,
        "boolean": True,
        "null": None,
        "object": {"a": 1},
        "quoted": 'say "hi"',
    }
    await send_batch(
        client,
        [
            {"event": kind, "distinct_id": "u", "properties": {"v": value}}
            for kind, value in values.items()
        ]
        + [{"event": "missing", "distinct_id": "u"}],
    )

    found = dict(await rows(client, "SELECT event, properties.v FROM events"))

    assert found == {
        "string": "pro",
        "number": "3",
        "float": "2.5",
        "boolean": "true",
        "null": None,
        "object": '{"a":1}',
        "quoted": 'say \\"hi\\"',
        "missing": None,
    }


async def test_placeholder_values_cannot_change_a_query(client: httpx.AsyncClient) -> None:
    batch = [
        {"event": name, "distinct_id": f"u{copy}", "properties": {name: copy}}
        for index, name in enumerate(NASTY_NAMES)
        for copy in range(index + 1)
    ]
    await send_batch(client, [*batch, {"event": "innocent", "distinct_id": "u"}])

    for index, name in enumerate(NASTY_NAMES):
        counted = await rows(
            client,
            "SELECT count(), max(JSONExtractInt(properties, {name})) FROM events "
            "WHERE event = {name}",
            {"name": name},
        )
        assert counted == [[index + 1, index]], name
    together = await rows(
        client, "SELECT count() FROM events WHERE event IN {names}", {"names": NASTY_NAMES}
    )
    assert together == [[len(batch)]]
    for attempt in ["' OR 1=1 OR event = '", "innocent' OR '1'='1", "\\", "{name}", "%", ".*"]:
        assert await rows(
            client, "SELECT count() FROM events WHERE event = {e}", {"e": attempt}
        ) == [[0]], attempt


@pytest.mark.parametrize(
    ("query", "values", "phrase"),
    [
        ("SELECT event FROM events JOIN persons ON 1 = 1", None, "JOIN"),
        ("SELECT 1 UNION ALL SELECT 2", None, "UNION"),
        ("SELECT event FROM (SELECT event FROM events)", None, "only `FROM events`"),
        ("SELECT count() FROM events WHERE event IN (SELECT 1)", None, "subquery"),
        ("WITH x AS (SELECT 1) SELECT 1 FROM events", None, "WITH"),
        ("SELECT * FROM persons", None, "`persons`"),
        ("SELECT file('/etc/passwd') FROM events", None, "Unsupported function call 'file"),
        ("SELECT event FROM events LIMIT 10 OFFSET 10", None, "OFFSET is not supported"),
        ("SELECT person_id FROM events", None, "Unable to resolve field: person_id"),
        ("SELECT count() FROM events WHERE event = {nope}", {"other": 1}, "Placeholder {nope}"),
        ("SELECT event FROM events LIMIT {n}", {"n": "10; DROP"}, "LIMIT must be"),
        ("SELECT countIf(1, 2, 3) FROM events", None, "expects 1 to 2 arguments"),
        ("SELECT event FROM", None, "line 1"),
        ("SELECT count() FROM events", {"v": {"nested": "dict"}}, "must be a string, number"),
        ("SELECT plus(1, 'a') FROM events", None, "plus"),
    ],
)
async def test_queries_outside_the_subset_get_a_400_that_says_why(
    client: httpx.AsyncClient, query: str, values: dict[str, Any] | None, phrase: str
) -> None:
    response = await hogql(client, query, values)

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "validation_error"
    assert phrase in body["detail"]


async def test_a_query_without_limit_returns_100_rows_and_says_there_are_more(
    app: SandboxApp, client: httpx.AsyncClient
) -> None:
    moment = datetime.now(UTC)
    app.sandbox.events.insert_many(
        1,
        (EventRow(str(uuid.uuid4()), "bulk", f"u{i}", "{}", moment) for i in range(50_005)),
    )

    default = (await hogql(client, "SELECT distinct_id FROM events")).json()
    capped = (await hogql(client, "SELECT distinct_id FROM events LIMIT 60000")).json()
    exact = (await hogql(client, "SELECT distinct_id FROM events LIMIT 7")).json()

    assert (len(default["results"]), default["hasMore"], default["limit"], default["offset"]) == (
        100,
        True,
        100,
        0,
    )
    assert (len(capped["results"]), capped["hasMore"]) == (50_000, None)
    assert (len(exact["results"]), exact["hasMore"], exact["limit"]) == (7, None, None)


async def test_the_answer_has_posthogs_hogql_query_response_shape(
    client: httpx.AsyncClient,
) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    await send_batch(client, [{"event": "e", "distinct_id": "u", "timestamp": at.isoformat()}])
    query = (
        "SELECT event, count() AS c, toFloatOrNull('1.5') AS f, timestamp FROM events "
        "GROUP BY event, timestamp"
    )

    answer = (await hogql(client, query)).json()

    assert answer["results"] == [["e", 1, 1.5, "2026-01-02T03:04:05.120000Z"]]
    assert answer["columns"] == ["event", "c", "f", "timestamp"]
    assert answer["types"] == [
        ["event", "String"],
        ["c", "UInt64"],
        ["f", "Nullable(Float64)"],
        ["timestamp", "DateTime64(6, 'UTC')"],
    ]
    assert answer["hogql"] == query
    assert "FROM events WHERE" in answer["clickhouse"]
    assert answer["query_status"] is None
    assert {timing["k"] for timing in answer["timings"]} >= {"."}


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({}, "query"),
        ({"query": {"kind": "EventsQuery", "select": ["*"]}}, "query"),
        ({"query": {"kind": "HogQLQuery"}}, "query__query"),
        ({"query": {"kind": "HogQLQuery", "query": "SELECT 1", "values": [1]}}, "query__values"),
    ],
)
async def test_malformed_query_requests_get_a_400(
    client: httpx.AsyncClient, body: dict[str, Any], attr: str
) -> None:
    response = await client.post("/api/projects/1/query/", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["attr"] == attr


async def test_the_query_scope_is_required() -> None:
    keys = (
        ApiKey("phx_schemas_only", ("event_definition:read",)),
        ApiKey("phx_query", ("query:read",)),
    )
    app = create_app(SandboxConfig(api_keys=keys))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s"
        ) as client:
            refused = await hogql(
                client, "SELECT 1", headers={"Authorization": "Bearer phx_schemas_only"}
            )
            allowed = await hogql(client, "SELECT 1", headers={"Authorization": "Bearer phx_query"})
    finally:
        app.sandbox.close()

    assert refused.status_code == 403
    assert refused.json()["detail"] == "API key missing required scope 'query:read'"
    assert allowed.status_code == 200


async def test_the_query_rate_limit_is_its_own_bucket_and_recovers() -> None:
    app = create_app(SandboxConfig(query_rate_limits=(RateLimit(3, 0.5),)))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s"
        ) as client:
            allowed = [(await hogql(client, "SELECT 1")).status_code for _ in range(3)]
            throttled = await hogql(client, "SELECT 1")
            schemas = await client.get("/api/projects/1/event_definitions/", headers=AUTH)
            time.sleep(0.6)
            recovered = await hogql(client, "SELECT 1")
    finally:
        app.sandbox.close()

    assert allowed == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["type"] == "throttled_error"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert schemas.status_code == 200
    assert recovered.status_code == 200


def test_parse_hogql_returns_the_tree_and_explains_syntax_errors() -> None:
    tree = parse_hogql("SELECT count() FROM events WHERE event = {event}")

    assert tree["node"] == "SelectQuery"
    assert tree["where"]["right"] == {**tree["where"]["right"], "node": "Placeholder"}
    with pytest.raises(HogQLSyntaxError, match=r"line 2, column \d+"):
        parse_hogql("SELECT count()\nFROM events WHERE")


def test_a_parse_that_overruns_its_time_is_abandoned_and_the_next_parse_works() -> None:
    calls = ", ".join(
        f"countIf(isNotNull(toFloatOrNull(trim(JSONExtractString(properties, 'p{i}')))))"
        for i in range(300)
    )
    started = time.monotonic()
    with pytest.raises(HogQLTooComplexError, match=r"did not finish within 0\.5 seconds"):
        parse_hogql(f"SELECT {calls} FROM events", timeout=0.5)

    assert time.monotonic() - started < 5
    assert parse_hogql("SELECT 1")["node"] == "SelectQuery"


def test_the_official_sdk_package_is_untouched_by_the_parser_support() -> None:
    provide_parser_error_module()
    import posthog

    client = posthog.Posthog(project_api_key="phc_x", disabled=True)
    assert callable(client.capture)
    assert not hasattr(posthog, "hogql")
    assert sys.modules["posthog.hogql.errors"].__doc__ == "Stand-in error classes for the parser."


async def test_keyset_pagination_on_timestamp_walks_every_event(client: httpx.AsyncClient) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    moments = [start + timedelta(minutes=7 * i, microseconds=i) for i in range(23)]
    await send_batch(
        client,
        [
            {"event": "paged", "distinct_id": f"u{i}", "timestamp": moment.isoformat()}
            for i, moment in enumerate(moments)
        ],
    )

    seen: list[str] = []
    last = (start - timedelta(days=1)).isoformat()
    while True:
        page = await rows(
            client,
            "SELECT distinct_id, timestamp FROM events WHERE timestamp > {last} "
            "ORDER BY timestamp LIMIT 5",
            {"last": last},
        )
        if not page:
            break
        seen.extend(who for who, _ in page)
        last = page[-1][1]

    assert seen == [f"u{i}" for i in range(23)]
