"""The sandbox's `SAMPLE` keeps the rows ClickHouse's own sampling keeps on PostHog's key.

PostHog's events table is `SAMPLE BY cityHash64(distinct_id)` and PostHog passes `SAMPLE` to
ClickHouse as written; the sandbox's table has no sampling key and filters on that key instead.
A reference table with the real sampling key, in the same embedded ClickHouse, says which people
each sample must hold.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import chdb
import httpx
import pytest
from sandbox_events_helpers import rows, send_batch

pytestmark = pytest.mark.anyio

PEOPLE = [f"user-{index}@example.com" for index in range(1500)] + ["ünïcode", "a b", "o'brien"]
SAMPLES = [
    "1/10",
    "0.1",
    "1/3",
    "1/3 OFFSET 1/3",
    "2/3 OFFSET 1/3",
    "0.4 OFFSET 0.8",
    "1/2 OFFSET 1/2",
    "0.001",
    "7/9 OFFSET 1/9",
    "0",
    "1",
    "1/2 OFFSET 1",
]


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[str, list[str]]]:
    """Sample → the people ClickHouse keeps with `SAMPLE BY cityHash64(distinct_id)`."""
    database = f"sample_reference_{uuid.uuid4().hex}"
    connection = chdb.connect(":memory:")
    try:
        connection.query(f"CREATE DATABASE {database}")
        connection.query(
            f"CREATE TABLE {database}.events (distinct_id String, n UInt8) ENGINE = MergeTree "
            "ORDER BY (cityHash64(distinct_id), n) SAMPLE BY cityHash64(distinct_id)"
        )
        people = ", ".join("'" + name.replace("'", "\\'") + "'" for name in PEOPLE)
        connection.query(
            f"INSERT INTO {database}.events SELECT arrayJoin([{people}]), arrayJoin([1, 2])"
        )
        kept = {}
        for sample in SAMPLES:
            answer = connection.query(
                f"SELECT DISTINCT distinct_id FROM {database}.events SAMPLE {sample} "
                "ORDER BY distinct_id",
                "JSONCompact",
            )
            kept[sample] = [row[0] for row in json.loads(answer.bytes())["data"]]
        yield kept
    finally:
        connection.query(f"DROP DATABASE IF EXISTS {database} SYNC")
        connection.close()


@pytest.fixture
async def crowd(client: httpx.AsyncClient) -> httpx.AsyncClient:
    moment = datetime.now(UTC).isoformat()
    batch = [
        {"event": "seen", "distinct_id": name, "timestamp": moment, "properties": {"n": copy}}
        for name in PEOPLE
        for copy in (1, 2)
    ]
    answer = await send_batch(client, batch)
    assert answer.status_code == 200, answer.text
    return client


async def test_samples_hold_the_people_clickhouse_sampling_holds(
    crowd: httpx.AsyncClient, reference: dict[str, list[str]]
) -> None:
    for sample in SAMPLES:
        kept = await rows(
            crowd,
            f"SELECT distinct_id, count() FROM events SAMPLE {sample} "
            "GROUP BY distinct_id ORDER BY distinct_id LIMIT 50000",
        )
        assert [name for name, _ in kept] == reference[sample], sample
        # Every event of a person kept is kept.
        assert all(count == 2 for _, count in kept), sample
    assert 0 < len(reference["1/10"]) < len(PEOPLE)
