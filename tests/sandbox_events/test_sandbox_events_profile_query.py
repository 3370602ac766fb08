"""A profile query shaped like `eventschema infer`'s, over HTTP through the client.

One row per (event, property key): how often the key is present, its JSON types, values matching
a pattern, a handful of its distinct values (`groupUniqArray(21)`), its most frequent ones
(`topK`) and its numeric range, over a `SAMPLE` of the people and a time window given as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sandbox_events_helpers import AUTH

from eventschema_tools import EventSchemaClient
from eventschema_tools.errors import BadRequestError
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, run_sandbox

PEOPLE = 600
PLANS = ("free", "team", "business")
PATHS = 30
EMAIL = "^[^@ ]+@[^@ ]+[.][^@ ]+$"

PROFILE = """
SELECT event,
  arrayJoin(JSONExtractKeys(properties)) AS key,
  count() AS present,
  countIf(JSONType(properties, key) IN ('Int64', 'UInt64', 'Double')) AS numbers,
  countIf(JSONType(properties, key) = 'Null') AS nulls,
  countIf(JSONType(properties, key) = 'String'
          AND match(JSONExtractString(properties, key), {email})) AS emails,
  groupUniqArray(21)(JSONExtractString(properties, key)) AS sample_values,
  topK(2)(JSONExtractString(properties, key)) AS top,
  min(JSONExtractFloat(properties, key)) AS low,
  max(JSONExtractFloat(properties, key)) AS high
FROM events {sample}
WHERE event IN {events} AND timestamp >= toDateTime({since}) AND timestamp < toDateTime({until})
GROUP BY event, key
ORDER BY event, key
LIMIT 50000
"""


def person(index: int) -> str:
    return f"profile-person-{index}"


def day_of_events(now: datetime) -> list[dict[str, Any]]:
    moment = (now - timedelta(hours=1)).isoformat()
    batch = []
    for index in range(PEOPLE):
        amount: Any = 12.5 if index % 2 else "12.5"
        batch.append(
            {
                "event": "signed_up",
                "distinct_id": person(index),
                "timestamp": moment,
                "properties": {
                    "plan": PLANS[index % 3],
                    "seats": index % 50,
                    "email": f"user{index}@example.com",
                    "referrer": None if index % 7 == 0 else "ads",
                    "amount": amount,
                },
            }
        )
        for visit in range(2):
            batch.append(
                {
                    "event": "page_viewed",
                    "distinct_id": person(index),
                    "timestamp": moment,
                    "properties": {"path": f"/p/{(index + visit) % PATHS}", "ms": index * 1.5},
                }
            )
    # Outside the window: must not be counted.
    batch.append(
        {
            "event": "signed_up",
            "distinct_id": person(0),
            "timestamp": (now - timedelta(days=3)).isoformat(),
            "properties": {"plan": "enterprise", "seats": 999},
        }
    )
    return batch


@pytest.fixture(scope="module")
def client() -> Iterator[EventSchemaClient]:
    now = datetime.now(UTC)
    with run_sandbox(rate_limiting=False) as served:
        sent = httpx.post(
            f"{served.url}/batch/",
            json={"api_key": DEMO_PROJECT_TOKEN, "batch": day_of_events(now)},
            timeout=60,
        )
        assert sent.status_code == 200, sent.text
        with EventSchemaClient(
            api_key=DEMO_API_KEY, project_id=1, host=served.url, max_retries=0
        ) as api:
            yield api


def profile(client: EventSchemaClient, sample: str) -> dict[tuple[str, str], dict[str, Any]]:
    now = datetime.now(UTC)
    result = client.query.hogql(
        PROFILE.replace("{sample}", sample),
        values={
            "events": ["signed_up", "page_viewed"],
            "since": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "email": EMAIL,
        },
    )
    return {(row["event"], row["key"]): row for row in result.rows()}


def test_the_profile_of_every_person(client: EventSchemaClient) -> None:
    rows = profile(client, "")
    assert set(rows) == {
        *(("signed_up", key) for key in ("amount", "email", "plan", "referrer", "seats")),
        ("page_viewed", "ms"),
        ("page_viewed", "path"),
    }
    assert {key: row["present"] for key, row in rows.items()} == {
        **{key: PEOPLE for key in rows if key[0] == "signed_up"},
        ("page_viewed", "ms"): 2 * PEOPLE,
        ("page_viewed", "path"): 2 * PEOPLE,
    }
    seats, amount, plan = (
        rows["signed_up", "seats"],
        rows["signed_up", "amount"],
        rows["signed_up", "plan"],
    )
    assert (seats["numbers"], amount["numbers"], plan["numbers"]) == (PEOPLE, PEOPLE // 2, 0)
    assert rows["signed_up", "referrer"]["nulls"] == len(range(0, PEOPLE, 7))
    assert rows["signed_up", "email"]["emails"] == PEOPLE
    assert plan["emails"] == 0
    # Fewer than 21 distinct values: all of them; more: 21 of them.
    assert sorted(plan["sample_values"]) == sorted(PLANS)
    paths = rows["page_viewed", "path"]["sample_values"]
    assert len(paths) == 21
    assert set(paths) <= {f"/p/{index}" for index in range(PATHS)}
    assert len(plan["top"]) == 2
    assert set(plan["top"]) <= set(PLANS)
    assert (seats["low"], seats["high"]) == (0, 49)
    assert rows["page_viewed", "ms"]["high"] == (PEOPLE - 1) * 1.5


def test_the_profile_of_a_sample_keeps_whole_people(client: EventSchemaClient) -> None:
    sampled = profile(client, "SAMPLE 1/10")
    people = client.query.hogql(
        "SELECT DISTINCT distinct_id FROM events SAMPLE 1/10 WHERE event = 'signed_up' "
        "AND timestamp >= now() - INTERVAL 1 DAY LIMIT 50000"
    ).results
    share = len(people) / PEOPLE
    # A binomial draw of 600 people at 10 %: 60 ± 3 standard deviations (about 22).
    assert 0.06 <= share <= 0.14
    for key, row in sampled.items():
        per_person = 2 if key[0] == "page_viewed" else 1
        assert row["present"] == per_person * len(people), key
    assert sampled["signed_up", "email"]["emails"] == len(people)
    assert profile(client, "SAMPLE 0.1") == sampled


def test_params_and_dates_are_checked_as_posthog_checks_them(client: EventSchemaClient) -> None:
    cases = {
        "SELECT topK(event) FROM events": "'topK' requires parameters in addition to arguments",
        "SELECT groupUniqArray(1, 2)(event) FROM events": "expects at most 1 parameter, found 2",
        "SELECT topK(event)(event) FROM events": "parameters of 'topK(...)' must be numbers",
        # A constant string goes to the strict parser, as PostHog prints it: an error, not NULL.
        "SELECT count() FROM events WHERE timestamp > toDateTime('last tuesday')": (
            "Cannot read DateTime"
        ),
        "SELECT parseDateTime64BestEffortOrNull('last tuesday')": "Cannot read DateTime",
    }
    for query, message in cases.items():
        with pytest.raises(BadRequestError) as refused:
            client.query.hogql(query)
        assert message in str(refused.value.detail), query


def test_todatetime_reads_text_in_utc_and_keeps_a_given_offset() -> None:
    with run_sandbox() as served:
        answer = httpx.post(
            f"{served.url}/api/projects/1/query/",
            headers=AUTH,
            json={
                "query": {
                    "kind": "HogQLQuery",
                    "query": "SELECT toDateTime({zulu}), toDateTime({offset}), "
                    "toDateTime('2026-01-02 03:04:05'), toDateTime('2026-01-02 03:04:05.25'), "
                    "toDateTime(1767323045), toDateTime('2026-01-02 03:04:05', 'Asia/Tokyo'), "
                    "parseDateTime64BestEffortOrNull(concat('not a ', 'date')), "
                    "toDate('not a date')",
                    "values": {
                        "zulu": "2026-01-02T03:04:05Z",
                        "offset": "2026-01-02T05:04:05+02:00",
                    },
                }
            },
        )
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["results"]
    assert row[:5] == [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.250000Z",
        "2026-01-02T03:04:05Z",
    ]
    # Text without an offset is read in the zone given, and the answer is in that zone.
    assert row[5] == "2026-01-02T03:04:05+09:00"
    assert row[6:] == [None, None]
