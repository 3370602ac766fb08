"""bind/unbind many pairs: names resolved with list calls, existing pairs skipped, every pair
reported, request counts at their lower bound."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plan_test_helpers import Recorded, make_recorded

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, ApiKey
from eventschema_tools.tracking_plan.bulk import (
    Pair,
    PairStatus,
    bind_async,
    pairs_for_group,
    parse_pairs_csv,
    unbind_async,
)

pytestmark = pytest.mark.anyio

EVENTS = [f"event_{i:02d}" for i in range(30)]
GROUPS_PATH = "/api/projects/1/schema_property_groups/"
EVENTS_PATH = "/api/projects/1/event_definitions/"
SCHEMAS_PATH = "/api/projects/1/event_schemas/"


async def _project(live: Recorded, bound: int = 5) -> dict[str, str]:
    """Events event_00..29 and groups checkout/user; checkout bound to the first `bound` events.

    Returns:
        Ids by name, for events and groups.
    """
    ids: dict[str, str] = {}
    for name in EVENTS:
        ids[name] = str((await live.client.event_definitions.create(name=name)).id)
    for name in ("checkout", "user"):
        ids[name] = str((await live.client.property_groups.create(name=name)).id)
    for name in EVENTS[:bound]:
        await live.client.event_schemas.create(
            event_definition=ids[name], property_group_id=ids["checkout"]
        )
    live.reset()
    return ids


async def _bound(live: Recorded, group: str) -> set[str]:
    found = await live.client.property_groups.find_by_name(group)
    assert found is not None
    return {event.name for event in found.events}


async def test_bind_by_names_skips_existing_pairs_and_reads_two_lists(live: Recorded) -> None:
    await _project(live)

    report = await bind_async(live.client, pairs_for_group("checkout", EVENTS))

    assert [r.status for r in report.results] == ["exists"] * 5 + ["created"] * 25
    assert report.ok
    assert report.summary() == "bind: 25 created, 5 exists, 0 failed."
    assert [path for _, path, _ in live.reads] == [GROUPS_PATH, EVENTS_PATH]
    assert "names=event_00%2Cevent_01" in live.reads[1][2]  # one exact-names request
    assert len(live.writes) == 25
    assert await _bound(live, "checkout") == set(EVENTS)


async def test_bind_by_ids_reads_only_the_group_list(live: Recorded) -> None:
    ids = await _project(live)

    report = await bind_async(live.client, [Pair(ids[e], ids["user"]) for e in EVENTS[:3]])

    assert report.count("created") == 3
    assert [path for _, path, _ in live.reads] == [GROUPS_PATH]


async def test_unknown_names_are_reported_with_suggestions(live: Recorded) -> None:
    await _project(live)

    report = await bind_async(
        live.client,
        [Pair("event_01", "chekout"), Pair("evnt_02", "user"), Pair("event_03", "user")],
    )

    statuses = [(r.status, r.detail) for r in report.results]
    assert statuses[0] == (
        "unresolved",
        "no property group named 'chekout'; did you mean 'checkout'?",
    )
    assert statuses[1][0] == "unresolved"
    assert "no event named 'evnt_02'" in statuses[1][1]
    assert statuses[2] == ("created", "")
    assert not report.ok
    assert len(live.writes) == 1


async def test_the_same_binding_twice_in_the_input_is_written_once(live: Recorded) -> None:
    ids = await _project(live)

    report = await bind_async(
        live.client, [Pair("event_10", "user"), Pair(ids["event_10"], ids["user"])]
    )

    assert [r.status for r in report.results] == ["created", "exists"]
    assert len(live.writes) == 1


async def test_unbind_deletes_bound_pairs_and_reports_absent_ones(
    recorded: Callable[..., Recorded],
) -> None:
    live = recorded(page_size=2)
    await _project(live)

    report = await unbind_async(live.client, pairs_for_group("checkout", EVENTS[3:7]))

    assert [r.status for r in report.results] == ["deleted", "deleted", "absent", "absent"]
    assert await _bound(live, "checkout") == set(EVENTS[:3])
    schema_reads = [query for _, path, query in live.reads if path == SCHEMAS_PATH]
    assert len(schema_reads) == 2  # 2 filtered lists beat 3 pages of the whole list
    assert all("event_definition=" in query for query in schema_reads)
    assert [method for method, _, _ in live.writes] == ["DELETE", "DELETE"]


async def test_unbind_of_many_events_reads_the_whole_binding_list_once(
    recorded: Callable[..., Recorded],
) -> None:
    live = recorded(page_size=10)
    await _project(live, bound=30)

    report = await unbind_async(live.client, pairs_for_group("checkout", EVENTS[:20]))

    assert report.count(PairStatus.DELETED) == 20
    schema_reads = [query for _, path, query in live.reads if path == SCHEMAS_PATH]
    assert len(schema_reads) == 3  # 30 bindings / 10 per page, not 20 filtered lists
    assert not any("event_definition=" in query for query in schema_reads)


async def test_a_key_without_write_scope_stops_the_run(recorded: Callable[..., Recorded]) -> None:
    read_only = ApiKey("phx_read_only_key", ("event_definition:read",))
    writer = recorded(api_keys=(ApiKey(DEMO_API_KEY), read_only))
    await _project(writer)
    reader = make_recorded(writer.app, read_only.token)
    try:
        report = await bind_async(reader.client, pairs_for_group("user", EVENTS[:4]), concurrency=1)
    finally:
        await reader.http.aclose()

    assert report.aborted is not None
    assert "event_definition:write" in report.aborted
    assert [r.status for r in report.results] == ["failed", "skipped", "skipped", "skipped"]


def test_pairs_from_csv() -> None:
    text = (
        "event,group\norder_paid, checkout\n\n# comment\n"
        "0190a8e4-7c1b-7d2e-9f00-0123456789ab,user\n"
    )

    assert parse_pairs_csv(text) == [
        Pair("order_paid", "checkout"),
        Pair("0190a8e4-7c1b-7d2e-9f00-0123456789ab", "user"),
    ]


def test_bad_pairs_files_name_the_line() -> None:
    with pytest.raises(InvalidInputError, match=r"pairs\.csv:3: expected two cells"):
        parse_pairs_csv("a,b\nc,d\nonly_one\n", "pairs.csv")
    with pytest.raises(InvalidInputError, match="has no pairs"):
        parse_pairs_csv("event,group\n", "pairs.csv")
    with pytest.raises(InvalidInputError, match="at least one event"):
        pairs_for_group("checkout", [" ", ""])
