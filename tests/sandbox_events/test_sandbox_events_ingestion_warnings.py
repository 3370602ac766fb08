"""HogQL over `system.ingestion_warnings`: the warnings of events dropped by `reject` enforcement.

Each test serves two projects over HTTP, enforces a required `plan` on some events, drops events
without it through `/batch/` and reads the warnings back with `EventSchemaClient.query.hogql`, as
PostHog's HogQL reads them: `source`, `type`, `details` (JSON text) and `timestamp`, only the
querying project's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import httpx
import pytest
from sandbox_events_helpers import AUTH

from eventschema_tools import EventSchemaClient
from eventschema_tools.errors import BadRequestError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.sandbox.config import Project, SandboxConfig
from eventschema_tools.sandbox.events import capture

TOKENS = {1: "phc_sandbox_demo", 2: "phc_sandbox_2"}
COUNTED = """
SELECT JSONExtractString(details, 'eventName') AS event,
  toStartOfInterval(timestamp, toIntervalSecond(3600)) AS bucket,
  count()
FROM system.ingestion_warnings
WHERE type = 'schema_validation_failed' AND timestamp >= fromUnixTimestamp({since})
GROUP BY event, bucket
ORDER BY event, bucket
"""


class Clock(datetime):
    """``datetime`` whose ``now`` is ``moment``: the time capture stamps its warnings with."""

    moment = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Clock:
        return cls.fromtimestamp(cls.moment.timestamp(), tz)


@pytest.fixture
def served() -> Iterator[RunningSandbox]:
    config = SandboxConfig(projects=(Project(1), Project(2)), rate_limiting=False)
    with run_sandbox(config) as running:
        yield running


def client(served: RunningSandbox, project_id: int) -> EventSchemaClient:
    return EventSchemaClient(
        api_key=DEMO_API_KEY, project_id=project_id, host=served.url, max_retries=0
    )


def require_plan(served: RunningSandbox, project_id: int, event: str) -> None:
    """Bind a group requiring `plan` to `event` and set its enforcement to `reject`."""
    with httpx.Client(base_url=f"{served.url}/api/projects/{project_id}", headers=AUTH) as api:
        definition = api.post("/event_definitions/", json={"name": event})
        assert definition.status_code == 201, definition.text
        group = api.post(
            "/schema_property_groups/",
            json={
                "name": f"{event} plan",
                "properties": [{"name": "plan", "property_type": "String", "is_required": True}],
            },
        )
        assert group.status_code == 201, group.text
        bound = api.post(
            "/event_schemas/",
            json={
                "event_definition": definition.json()["id"],
                "property_group_id": group.json()["id"],
            },
        )
        assert bound.status_code == 201, bound.text
        patched = api.patch(
            f"/event_definitions/{definition.json()['id']}/", json={"enforcement_mode": "reject"}
        )
        assert patched.status_code == 200, patched.text


def send(served: RunningSandbox, project_id: int, *events: dict[str, Any]) -> None:
    answer = httpx.post(
        f"{served.url}/batch/", json={"api_key": TOKENS[project_id], "batch": list(events)}
    )
    assert answer.status_code == 200, answer.text


def planless(event: str, person: str = "u1") -> dict[str, Any]:
    """An event without the required `plan`: `reject` drops it."""
    return {"event": event, "distinct_id": person, "properties": {"seats": 3}}


def with_plan(event: str) -> dict[str, Any]:
    return {"event": event, "distinct_id": "u1", "properties": {"plan": "pro"}}


def test_dropped_events_are_counted_per_event_name_and_hour(
    served: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "datetime", Clock)
    for event in ("order_paid", "signup_done"):
        require_plan(served, 1, event)
    start = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)

    Clock.moment = start - timedelta(minutes=10)
    send(served, 1, planless("order_paid"))
    Clock.moment = start + timedelta(minutes=15)
    send(
        served,
        1,
        planless("order_paid"),
        planless("order_paid", "u2"),
        with_plan("order_paid"),
        planless("signup_done"),
        # Another type of warning, which the query leaves out.
        {"event": "page_viewed", "distinct_id": "u1", "timestamp": "not a time"},
    )
    Clock.moment = start + timedelta(minutes=40)
    send(served, 1, planless("order_paid"))
    Clock.moment = start + timedelta(minutes=65)
    send(served, 1, *(planless("signup_done", f"u{i}") for i in range(3)), planless("other"))

    with client(served, 1) as api:
        counted = api.query.hogql(COUNTED, values={"since": int(start.timestamp())})
        [[keys, kept]] = api.query.hogql(
            "SELECT JSONExtractKeys(any(w.details)), count() FROM system.ingestion_warnings w "
            "WHERE w.type = 'schema_validation_failed' AND w.source = 'plugin-server'"
        ).results
        [[stored]] = api.query.hogql("SELECT count() FROM events").results

    assert counted.columns == ["event", "bucket", "count()"]
    assert counted.results == [
        ["order_paid", "2026-03-04T09:00:00Z", 3],
        ["signup_done", "2026-03-04T09:00:00Z", 1],
        ["signup_done", "2026-03-04T10:00:00Z", 3],
    ]
    assert keys == ["eventUuid", "eventName", "distinctId", "errors"]
    assert kept == 8
    # The order with a plan, the page view and `other` (no schema enforced) are stored.
    assert stored == 3


def test_a_project_sees_only_its_own_warnings(served: RunningSandbox) -> None:
    require_plan(served, 1, "order_paid")
    require_plan(served, 2, "order_paid")
    send(served, 1, planless("order_paid", "one"))
    send(served, 2, planless("order_paid", "two"), planless("order_paid", "two"))
    query = (
        "SELECT JSONExtractString(details, 'distinctId') AS person, count() "
        "FROM system.ingestion_warnings GROUP BY person"
    )

    with client(served, 1) as first, client(served, 2) as second:
        seen_by_one = first.query.hogql(query).results
        seen_by_two = second.query.hogql(query).results
    answer = httpx.post(
        f"{served.url}/api/projects/1/query/",
        headers=AUTH,
        json={"query": {"kind": "HogQLQuery", "query": query}},
    ).json()

    assert seen_by_one == [["one", 1]]
    assert seen_by_two == [["two", 2]]
    # The hidden team_id filter, on PostHog's ClickHouse name for the table.
    assert "FROM ingestion_warnings WHERE equals(team_id, 1) " in answer["clickhouse"]


@pytest.mark.parametrize(
    ("query", "phrases"),
    [
        (
            "SELECT event FROM system.ingestion_warnings",
            [
                "Unable to resolve field: event",
                "system.ingestion_warnings table has the fields source, type, details, timestamp",
                "JSONExtractString(details, '<key>')",
            ],
        ),
        # The hidden field is no way around the project filter.
        ("SELECT count() FROM system.ingestion_warnings WHERE team_id = 2", ["field: team_id"]),
        ("SELECT w.properties FROM system.ingestion_warnings AS w", ["field: w.properties"]),
        ("SELECT details.eventName FROM system.ingestion_warnings", ["`details.eventName`"]),
        ("SELECT type FROM system.ingestion_warnings SAMPLE 1/10", ["only `events` is sampled"]),
        (
            "SELECT * FROM system.query_log",
            ["`system.query_log`", "only `FROM events` and `FROM system.ingestion_warnings`"],
        ),
    ],
)
def test_what_the_table_lacks_gets_a_clear_error(
    served: RunningSandbox, query: str, phrases: list[str]
) -> None:
    with client(served, 1) as api, pytest.raises(BadRequestError) as refused:
        api.query.hogql(query)

    for phrase in phrases:
        assert phrase in refused.value.detail


def test_from_events_still_reads_events(served: RunningSandbox) -> None:
    require_plan(served, 1, "order_paid")
    send(served, 1, with_plan("order_paid"), planless("order_paid"), planless("page_viewed"))

    with client(served, 1) as api:
        result = api.query.hogql(
            "SELECT e.event, properties.plan, count() FROM events AS e "
            "WHERE timestamp >= fromUnixTimestamp({since}) GROUP BY e.event, properties.plan "
            "ORDER BY e.event",
            values={"since": 0},
        )
        everything = api.query.hogql("SELECT * FROM events LIMIT 1")
        with pytest.raises(BadRequestError) as refused:
            api.query.hogql("SELECT details FROM events")

    assert result.results == [["order_paid", "pro", 1], ["page_viewed", None, 1]]
    assert everything.columns == ["uuid", "event", "distinct_id", "properties", "timestamp"]
    assert refused.value.detail.startswith(
        "Unable to resolve field: details. The events table has the fields uuid, event, "
        "distinct_id, properties, timestamp; read a property with properties.<name>"
    )
