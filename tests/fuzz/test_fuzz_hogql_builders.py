"""Fuzz the audits' HogQL builders with hostile names, against a plain Python oracle.

Event and property names are drawn from text with quotes, backslashes, braces, newlines and
unicode. For each example a fresh sandbox stores random events; every query the builders make
must parse with PostHog's HogQL parser and, run on the sandbox through the client, give the
same numbers as counting the same events in Python:

* conformance: per event, rows, and per expected property present / missing / wrong type /
  rule violations, plus rows with unexpected properties and rows `reject` would drop;
* property breakdown: rows per (event, key, JSON type);
* event volumes: rows per event name.

Values are kept to kinds whose type is unambiguous (numbers, booleans, words that are not
numbers or dates, objects, arrays, null), so the oracle needs no copy of the coercion rules.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from fuzz_settings import fuzz_settings
from hypothesis import given, note
from hypothesis import strategies as st

from eventschema_tools import AsyncEventSchemaClient
from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation, ValueRules
from eventschema_tools.audit.model import EventConformance
from eventschema_tools.audit.queries import (
    conformance_queries,
    decode_conformance,
    decode_event_volumes,
    decode_property_breakdown,
    event_volume_query,
    property_breakdown_query,
)
from eventschema_tools.sandbox import DEMO_API_KEY, create_app
from eventschema_tools.sandbox.events.hogql import parse_hogql
from eventschema_tools.sandbox.events.store import EventRow

WINDOW_SECONDS = 3600
TYPES = ("String", "Numeric", "Boolean", "DateTime", "Object")
WORDS = ("qq", "kw", "xyzzy", "true", "false")
ENUM_POOL = ("qq", "kw", "true", "5", "{}")

hostile = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("'\"\\{}[]()`,;%$\n\t -_.:=<>")), st.characters(codec="utf-8")
    ),
    min_size=1,
    max_size=8,
)
values = st.one_of(
    st.none(),
    st.integers(-1000, 1000),
    st.sampled_from([1.5, -2.25, 1e10]),
    st.booleans(),
    st.sampled_from(WORDS),
    st.sampled_from([{}, {"a": 1}, [], [1, "x"]]),
)


@st.composite
def expectations(draw: st.DrawFn, event: str) -> EventExpectation:
    props = []
    for name in draw(st.lists(hostile, max_size=3, unique=True)):
        types = frozenset(draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2)))
        rules = ValueRules()
        if types == {"String"} and draw(st.booleans()):
            enum = draw(st.lists(st.sampled_from(ENUM_POOL), min_size=1, unique=True))
            rules = ValueRules(enum=tuple(enum))
        elif types == {"Numeric"} and draw(st.booleans()):
            rules = ValueRules(minimum=draw(st.sampled_from([None, -10.0, 0.0])), maximum=100.0)
        props.append(PropertyExpectation(name, types, draw(st.booleans()), rules))
    props.sort(key=lambda prop: prop.name)
    return EventExpectation(event, tuple(props))


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[EventExpectation], list[tuple[str, dict[str, Any]]]]:
    """Expectations for 1–3 hostile event names, and random events (some of other names)."""
    names = draw(st.lists(hostile, min_size=1, max_size=3, unique=True))
    expected = [draw(expectations(name)) for name in names]
    rows: list[tuple[str, dict[str, Any]]] = []
    others = draw(st.lists(hostile, max_size=2))
    for item in expected:
        for _ in range(draw(st.integers(0, 5))):
            props = {prop.name: draw(values) for prop in item.properties if draw(st.integers(0, 3))}
            for key in draw(
                st.lists(st.one_of(hostile, st.sampled_from(["", "$lib"])), max_size=2)
            ):
                props.setdefault(key, draw(values))
            rows.append((item.event, props))
    rows += [(name, {"k": 1}) for name in others]
    return expected, rows


# --- the oracle ---------------------------------------------------------------------------------


def accepts(types: frozenset[str], value: Any) -> bool:
    """Whether a value is present, non-null and of one of `types` (for the kinds used here)."""
    if value is None:
        return False
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return any(
        {
            "String": True,
            "Numeric": is_number,
            "Boolean": isinstance(value, bool) or value in ("true", "false"),
            "DateTime": is_number,
            "Object": isinstance(value, dict | list),
        }[kind]
        for kind in types
    )


def json_text(value: Any) -> str:
    """The text ClickHouse compares an enum with: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def breaks_rules(rules: ValueRules, value: Any) -> bool:
    if rules.enum is not None and json_text(value) not in rules.enum:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    too_small = rules.minimum is not None and value < rules.minimum
    return too_small or (rules.maximum is not None and value > rules.maximum)


def oracle_conformance(
    item: EventExpectation, rows: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    mine = [props for event, props in rows if event == item.event]
    names = item.names
    result: dict[str, Any] = {
        "events": len(mine),
        "unexpected": sum(
            any(not key.startswith("$") and key not in names for key in props) for props in mine
        ),
        "would_reject": sum(
            any(
                prop.required
                and (props.get(prop.name) is None or not accepts(prop.types, props[prop.name]))
                for prop in item.properties
            )
            for props in mine
        ),
    }
    for prop in item.properties:
        present = [props[prop.name] for props in mine if props.get(prop.name) is not None]
        result[prop.name] = {
            "present": len(present),
            "missing": len(mine) - len(present),
            "wrong_type": sum(not accepts(prop.types, value) for value in present),
            "rule_violations": sum(breaks_rules(prop.rules, value) for value in present),
        }
    return result


def seen_conformance(conformance: EventConformance) -> dict[str, Any]:
    result: dict[str, Any] = {
        "events": conformance.events,
        "unexpected": conformance.with_unexpected_properties,
        "would_reject": conformance.would_reject,
    }
    for prop in conformance.properties:
        result[prop.property] = {
            "present": prop.present,
            "missing": prop.missing,
            "wrong_type": prop.wrong_type,
            "rule_violations": prop.rule_violations,
        }
    return result


def json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    return {float: "Double", str: "String", dict: "Object", list: "Array"}[type(value)]


# --- running on the sandbox ---------------------------------------------------------------------


async def run_case(
    expected: list[EventExpectation], rows: list[tuple[str, dict[str, Any]]]
) -> None:
    app = create_app(rate_limiting=False)
    now = datetime.now(UTC) - timedelta(seconds=5)
    app.sandbox.events.insert_many(
        1,
        [
            EventRow(str(uuid.uuid4()), event, "user", json.dumps(props), now)
            for event, props in rows
        ],
    )
    transport = httpx.ASGITransport(app=app)
    client = AsyncEventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host="http://sandbox.test",
        rate_limit="off",
        query_rate_limit="off",
        transport=transport,
    )
    try:
        # The sandbox parses every query with PostHog's parser (a query that does not parse is
        # a 400, which fails the test); the short queries are also parsed here directly.
        for query, chunk in conformance_queries(expected, WINDOW_SECONDS):
            result = await client.query.hogql(query.query, values=query.values)
            for conformance, item in zip(decode_conformance(result, chunk), chunk, strict=True):
                assert seen_conformance(conformance) == oracle_conformance(item, rows), item

        events = [item.event for item in expected]
        breakdown = property_breakdown_query(events, WINDOW_SECONDS)
        parse_hogql(breakdown.query)
        result = await client.query.hogql(breakdown.query, values=breakdown.values)
        seen = {(k.event, k.key, k.json_type): k.events for k in decode_property_breakdown(result)}
        wanted = Counter(
            (event, key, json_type(value))
            for event, props in rows
            if event in events
            for key, value in props.items()
        )
        assert seen == dict(wanted)

        volumes = event_volume_query(WINDOW_SECONDS)
        parse_hogql(volumes.query)
        result = await client.query.hogql(volumes.query, values=volumes.values)
        counted = {volume.event: volume.events for volume in decode_event_volumes(result)}
        assert counted == dict(Counter(event for event, _ in rows))
    finally:
        await client.close()
        app.sandbox.close()


@fuzz_settings(0.25)
@given(case=cases())
def test_audit_queries_count_what_python_counts_whatever_the_names(
    case: tuple[list[EventExpectation], list[tuple[str, dict[str, Any]]]],
) -> None:
    note(repr(case))
    anyio.run(run_case, *case)
