"""The HogQL the audits send: names only as values, batching, row limits, PostHog's parser."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from audit_helpers import apply_plan, counting_client, event, send_events
from hypothesis import given, settings
from hypothesis import strategies as st

from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation, ValueRules
from eventschema_tools.audit.queries import (
    MAX_ROWS,
    conformance_queries,
    event_volume_query,
    property_breakdown_chunks,
    property_breakdown_query,
)
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.sandbox.events.hogql import parse_hogql
from eventschema_tools.tracking_plan.file import TrackingPlan

NASTY = [
    "it's",
    'say "hi"',
    "back\\slash",
    "{events}",
    "{n0}}",
    "line\nbreak",
    "'; DROP TABLE events; --",
    "tab\tand\x00nul",
    "ünïcödé 🎉",
]
ALIAS = re.compile(r"^[a-z]+(_[a-z]+)*(_\d+)?$")


def _shape(names: list[str], events: list[str]) -> list[EventExpectation]:
    """Three events of different shapes (types, rules, required flags) named as given."""
    n = names
    return [
        EventExpectation(
            events[0],
            (
                PropertyExpectation(n[0], frozenset({"Numeric"}), True, ValueRules(minimum=0)),
                PropertyExpectation(n[1], frozenset({"String"}), False, ValueRules(enum=(n[2],))),
                PropertyExpectation(n[3], frozenset({"Boolean", "Numeric"}), True),
            ),
        ),
        EventExpectation(
            events[1],
            (
                PropertyExpectation(n[0], frozenset({"DateTime"}), False),
                PropertyExpectation(n[4], frozenset({"Object"}), True, ValueRules(regex=n[5])),
            ),
        ),
        EventExpectation(events[2], ()),
    ]


def _all_queries(expected: list[EventExpectation]) -> list[tuple[str, dict[str, object]]]:
    built = [(query.query, query.values) for query, _ in conformance_queries(expected, 3600)]
    events = [item.event for item in expected]
    built.append((property_breakdown_query(events, 3600).query, {"events": events}))
    built.append((event_volume_query(3600).query, {}))
    return built


def _renamed(names: list[str], events: list[str]) -> tuple[list[str], list[str]]:
    """The same names replaced by plain ones, keeping their order and which ones are equal.

    Names may decide the query's *shape* only through order and equality (properties are
    sorted, equal settings are merged); with those kept, the text must not change at all.
    """
    plain = {name: f"p{rank:03d}" for rank, name in enumerate(sorted(set(names)))}
    plain_events = {name: f"e{rank:03d}" for rank, name in enumerate(sorted(set(events)))}
    return [plain[name] for name in names], [plain_events[name] for name in events]


def test_names_reach_hogql_only_as_values() -> None:
    nasty_names, nasty_events = NASTY[:6], NASTY[6:9]
    nasty_queries = _all_queries(_shape(nasty_names, nasty_events))
    plain_queries = _all_queries(_shape(*_renamed(nasty_names, nasty_events)))
    assert [text for text, _ in plain_queries] == [text for text, _ in nasty_queries]
    carried = json.dumps([values for _, values in nasty_queries])
    for name in NASTY:
        assert json.dumps(name)[1:-1] in carried


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=12), min_size=6, max_size=6),
    events=st.lists(st.text(min_size=1, max_size=12), min_size=3, max_size=3, unique=True),
)
def test_no_name_can_change_the_query_text(names: list[str], events: list[str]) -> None:
    reference = _all_queries(_shape(*_renamed(names, events)))
    candidate = _all_queries(_shape(names, events))
    assert [text for text, _ in candidate] == [text for text, _ in reference]


def test_every_query_parses_with_posthogs_parser_and_names_its_columns_plainly() -> None:
    for text, _ in _all_queries(_shape(NASTY[:6], NASTY[6:9])):
        tree = parse_hogql(text)
        assert tree["node"] == "SelectQuery"
        aliases = [item["alias"] for item in tree["select"] if item.get("node") == "Alias"]
        assert aliases
        assert all(ALIAS.match(alias) for alias in aliases), aliases
        assert tree["limit"]["value"] <= MAX_ROWS


def _many(count: int, properties: int = 4) -> list[EventExpectation]:
    return [
        EventExpectation(
            f"event_{index:03d}",
            tuple(
                PropertyExpectation(f"p{k}", frozenset({"Numeric"}), k == 0)
                for k in range(properties)
            ),
        )
        for index in range(count)
    ]


def test_two_hundred_events_fit_in_one_conformance_query() -> None:
    batches = conformance_queries(_many(200, properties=8), 86400)
    assert len(batches) == 1
    assert batches[0][0].size < 120_000


def test_row_limit_splits_events_and_covers_each_once() -> None:
    expected = _many(200)
    batches = conformance_queries(expected, 86400, max_rows=64)
    assert [len(chunk) for _, chunk in batches] == [64, 64, 64, 8]
    covered = [item.event for _, chunk in batches for item in chunk]
    assert sorted(covered) == sorted(item.event for item in expected)
    for query, chunk in batches:
        assert query.values["events"] == [item.event for item in chunk]


def test_size_budget_splits_queries_and_keeps_an_oversized_event_alone() -> None:
    expected = _many(60, properties=3)
    whole = conformance_queries(expected, 86400)
    assert len(whole) == 1
    budget = conformance_queries(expected[:20], 86400)[0][0].size
    batches = conformance_queries(expected, 86400, max_chars=budget)
    assert [len(chunk) for _, chunk in batches] == [20, 20, 20]
    assert all(query.size <= budget for query, _ in batches)
    assert sum(len(chunk) for _, chunk in batches) == 60
    huge = [EventExpectation("huge", _many(1, properties=60)[0].properties), *expected[:3]]
    alone = conformance_queries(huge, 86400, max_chars=budget)
    assert [item.event for item in alone[0][1]] == ["huge"]
    assert alone[0][0].size > budget


def test_breakdown_chunks_split_long_event_lists() -> None:
    names = [f"{'x' * 200}{index}" for index in range(1000)]
    chunks = list(property_breakdown_chunks(names, 3600, max_chars=40_000))
    assert len(chunks) > 1
    assert [name for chunk in chunks for name in chunk.values["events"]] == names  # type: ignore[union-attr]


ENUM_VALUES = ["a.b", "x\\Ey", "(c)", "d|e", "f*"]
PATTERN = "^[a-z]+\\.[0-9]{2}$"


def test_regex_characters_in_enums_and_patterns_match_literally(sandbox: RunningSandbox) -> None:
    plan = TrackingPlan.model_validate(
        {
            "version": 1,
            "property_groups": {
                "g": {
                    "properties": {
                        "kind": {"type": "String", "rules": {"enum": ENUM_VALUES}},
                        "code": {"type": "String", "rules": {"pattern": PATTERN}},
                    }
                }
            },
            "events": {"regex_probe": {"groups": ["g"]}},
        }
    )
    # (kind, code, kind breaks its enum, code breaks its pattern), by construction.
    samples = [
        ("a.b", "ab.12", False, False),
        ("aXb", "ab.1", True, True),
        ("x\\Ey", "abc.99", False, False),
        ("xEy", "ab-12", True, True),
        ("(c)", "AB.12", False, True),
        ("c", "zz.00", True, False),
        ("d|e", "q.10x", False, True),
        ("d", "q.10", True, False),
        ("f*", "a.12", False, False),
        ("fff", "a.12", True, False),
    ]
    events = [
        event("regex_probe", {"kind": kind, "code": code}, age=timedelta(minutes=1))
        for kind, code, _, _ in samples * 3
    ]
    send_events(sandbox.url, events)
    with counting_client(sandbox.url) as (client, _):
        apply_plan(client, plan)
        report = run_audit(client, audit_options(plan=plan, kinds="conformance"))
    stats = {prop.property: prop.rule_violations for prop in report.events[0].properties}
    assert stats == {
        "kind": 3 * sum(breaks for _, _, breaks, _ in samples),
        "code": 3 * sum(breaks for _, _, _, breaks in samples),
    }


@pytest.mark.parametrize("window", [60, 86400 * 30])
def test_window_is_a_value_not_text(window: int) -> None:
    assert event_volume_query(window).query == event_volume_query(1).query
    assert event_volume_query(window).values == {"window_seconds": window}
