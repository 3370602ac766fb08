"""HogQL's ``SAMPLE`` on the events table, ``topK`` and ``toDateTime``, as PostHog runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sandbox_events_helpers import hogql, rows, send_batch

pytestmark = pytest.mark.anyio

PEOPLE = 2000
EVENTS_PER_PERSON = 3


@pytest.fixture
async def crowd(client: httpx.AsyncClient) -> httpx.AsyncClient:
    moment = datetime.now(UTC) - timedelta(hours=1)
    batch = [
        {
            "event": "visited",
            "distinct_id": f"person-{person}",
            "properties": {"page": ("home", "pricing", "docs")[copy], "n": person},
            "timestamp": moment.isoformat(),
        }
        for person in range(PEOPLE)
        for copy in range(EVENTS_PER_PERSON)
    ]
    answer = await send_batch(client, batch)
    assert answer.status_code == 200, answer.text
    return client


async def test_a_sample_keeps_a_share_of_the_people_with_all_their_events(
    crowd: httpx.AsyncClient,
) -> None:
    query = "SELECT count() AS n, uniq(distinct_id) AS people FROM events SAMPLE 1/10"
    [[events, people]] = await rows(crowd, query)
    # A binomial draw of 2,000 people at 10 %: 200 ± 3 standard deviations (about 40).
    assert 160 <= people <= 240
    assert events == people * EVENTS_PER_PERSON
    # The same people every time, and the decimal spelling is the same sample.
    assert await rows(crowd, query) == [[events, people]]
    assert await rows(crowd, query.replace("1/10", "0.1")) == [[events, people]]


async def test_offsets_split_the_people_into_disjoint_samples(crowd: httpx.AsyncClient) -> None:
    base = "SELECT count() AS n FROM events SAMPLE 1/2"
    [[first]] = await rows(crowd, base)
    [[second]] = await rows(crowd, base + " OFFSET 1/2")
    [[everyone]] = await rows(crowd, "SELECT count() AS n FROM events")
    assert first + second == everyone == PEOPLE * EVENTS_PER_PERSON
    assert 0 < first < everyone


@pytest.mark.parametrize(
    ("sample", "share"),
    [("SAMPLE 1", 1), ("SAMPLE 1/1", 1), ("SAMPLE 0", 1), ("SAMPLE 1/2 OFFSET 1", 0)],
)
async def test_samples_clickhouse_reads_as_everything_or_nothing(
    crowd: httpx.AsyncClient, sample: str, share: int
) -> None:
    # ClickHouse reads SAMPLE 1 and SAMPLE 0 as no sampling, and an OFFSET of 1 leaves nothing.
    [[count]] = await rows(crowd, f"SELECT count() FROM events {sample}")
    assert count == share * PEOPLE * EVENTS_PER_PERSON


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ("SAMPLE 3/2", "SAMPLE 3/2 is a number of rows"),
        ("SAMPLE 1000", "SAMPLE 1000 is a number of rows"),
        ("SAMPLE 0x10", "SAMPLE 16 is a number of rows"),
        ("SAMPLE 1/2 OFFSET 3", "SAMPLE OFFSET 3 is a number of rows"),
        ("SAMPLE 1/0", "SAMPLE divides by zero"),
        ("SAMPLE -0.5", "SAMPLE must not be negative"),
        ("SAMPLE 1/2 OFFSET -1/2", "SAMPLE OFFSET must not be negative"),
        ("SAMPLE inf", "SAMPLE must be a ratio of numbers"),
        ("SAMPLE nan", "SAMPLE must be a ratio of numbers"),
        ("SAMPLE 1 OFFSET 1/2", "no sampling: SAMPLE 1 reads every event"),
        ("SAMPLE 0 OFFSET 1/2", "no sampling: SAMPLE 0 reads every event"),
        ("SAMPLE {ratio}", "not a placeholder"),
    ],
)
async def test_bad_samples_are_refused_with_a_reason(
    crowd: httpx.AsyncClient, sample: str, message: str
) -> None:
    answer = await hogql(crowd, f"SELECT count() FROM events {sample}", {"ratio": 0.1})
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert message in detail
    assert "such as 0.1 or 1/10" in detail


async def test_topk_and_todatetime(crowd: httpx.AsyncClient) -> None:
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = (
        "SELECT topK(2)(JSONExtractString(properties, 'page')) AS pages, count() AS n "
        "FROM events WHERE timestamp >= toDateTime({since}) AND timestamp < toDateTime({until})"
    )
    [[pages, count]] = await rows(crowd, query, {"since": since, "until": "2999-01-01T00:00:00Z"})
    assert count == PEOPLE * EVENTS_PER_PERSON
    assert len(pages) == 2
    assert set(pages) <= {"home", "pricing", "docs"}
    [[none]] = await rows(
        crowd, "SELECT count() FROM events WHERE timestamp >= toDateTime({t})", {"t": "2999-01-01"}
    )
    assert none == 0
