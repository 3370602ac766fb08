"""The batched conformance query counts what a straightforward query per event counts.

The batched query reads each row's properties once and shares slots between events; the
reference here reads every property straight from ``properties`` with ``JSONType`` and
``JSONExtract*`` (the plainest HogQL for the same checks), one query per event. Data covers
missing properties, wrong types, ``null``, nested JSON, numeric and date strings, enum, pattern
and range rules, unexpected and ``$`` keys, many events sharing a slot's name and events that
put different names in the same slot.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eventschema_tools import EventSchemaClient
from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation, ValueRules
from eventschema_tools.audit.queries import (
    NUMBER_LITERAL,
    NUMBER_TYPES,
    conformance_queries,
    decode_conformance,
    enum_pattern,
)
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.sandbox.events.store import EventRow

WINDOW = 3600
VALUES: list[Any] = [
    None,
    "free",
    "pro",
    "gold",
    "12",
    " 7 ",
    "0x1f",
    "1.5e3",
    "many",
    "true",
    "yes",
    "2026-05-01T10:00:00Z",
    "soon",
    "ab.12",
    "",
    3,
    -4,
    2.5,
    1e10,
    True,
    False,
    {"nested": {"deep": [1, {"x": None}]}},
    [1, "two", [3]],
    {},
    [],
]


def _prop(name: str, types: set[str], required: bool, **rules: Any) -> PropertyExpectation:
    return PropertyExpectation(name, frozenset(types), required, ValueRules(**rules))


def _expectations() -> list[EventExpectation]:
    shared = (
        _prop("plan", {"String"}, True, enum=("free", "pro", "5")),
        _prop("amount", {"Numeric"}, True, minimum=0, maximum=100),
        _prop("flag", {"Boolean"}, False),
        _prop("when", {"DateTime"}, False),
        _prop("payload", {"Object"}, False),
    )
    expected = [EventExpectation(f"shared_{index:02d}", shared) for index in range(8)]
    expected += [
        EventExpectation(
            "odd_names",
            (
                _prop("code", {"String"}, True, regex="^[a-z]+\\.[0-9]{2}$"),
                _prop("amount", {"Numeric", "Boolean"}, False, minimum=-1),
                _prop("zeta", {"DateTime", "Object"}, True),
            ),
        ),
        EventExpectation("short", (_prop("plan", {"Numeric"}, False),)),
        EventExpectation("nothing_expected", ()),
    ]
    return expected


def _rows(expected: list[EventExpectation], rng: random.Random) -> list[EventRow]:
    keys = ["plan", "amount", "flag", "when", "payload", "code", "zeta", "other", "$lib", ""]
    now = datetime.now(UTC) - timedelta(seconds=5)
    rows = []
    for item in expected:
        for _ in range(40):
            props = {key: rng.choice(VALUES) for key in keys if rng.random() < 0.6}
            rows.append(EventRow(str(uuid.uuid4()), item.event, "u", json.dumps(props), now))
    return rows


def _accepted(types: frozenset[str]) -> str:
    text = "JSONExtractString(properties, {name})"
    checks = {
        "Numeric": f"jt IN {NUMBER_TYPES} OR jt = 'String' AND match({text}, {NUMBER_LITERAL})",
        "Boolean": f"jt = 'Bool' OR jt = 'String' AND {text} IN ('true', 'false')",
        "DateTime": f"jt IN {NUMBER_TYPES} OR jt = 'String'"
        f" AND parseDateTime64BestEffortOrNull({text}) IS NOT NULL",
        "Object": "jt IN ('Object', 'Array')",
    }
    if "String" in types or not types <= checks.keys():
        return "jt != 'Null'"
    return " OR ".join(f"({checks[kind]})" for kind in sorted(types))


def _broken(rules: ValueRules) -> str:
    text = "JSONExtractString(properties, {name})"
    checks = []
    if rules.enum is not None:
        checks.append(f"jt = 'String' AND NOT match({text}, {{enum}})")
        checks.append("jt != 'String' AND NOT match(JSONExtractRaw(properties, {name}), {enum})")
    if rules.regex is not None:
        checks.append(f"jt = 'String' AND NOT match({text}, {{regex}})")
    for bound, operator in (("minimum", "<"), ("maximum", ">")):
        if getattr(rules, bound) is not None:
            checks.append(
                f"jt IN {NUMBER_TYPES} AND JSONExtractFloat(properties, {{name}})"
                f" {operator} {{{bound}}}"
            )
            checks.append(f"jt = 'String' AND toFloat64OrNull({text}) {operator} {{{bound}}}")
    return " OR ".join(f"({check})" for check in checks) or "0"


def _reference(client: EventSchemaClient, item: EventExpectation) -> dict[str, Any]:
    """Each count of one event, read with one plain query per property."""
    base = "FROM events WHERE event = {event} AND timestamp >= now() - toIntervalSecond(3600)"
    counts: dict[str, Any] = {}
    names = [prop.name for prop in item.properties]
    values: dict[str, Any] = {"event": item.event, "names": names}
    total = client.query.hogql(
        "SELECT count() AS total, countIf(arrayExists(x -> x = '' OR NOT startsWith(x, '$')"
        f" AND NOT has({{names}}, x), JSONExtractKeys(properties))) AS unexpected {base}",
        values=values,
    ).rows()[0]
    counts["events"], counts["unexpected"] = total["total"], total["unexpected"]
    rejected = []
    for prop in item.properties:
        rules = prop.rules
        values = {
            "event": item.event,
            "name": prop.name,
            "enum": enum_pattern(rules.enum) if rules.enum is not None else "",
            "regex": rules.regex or "",
            "minimum": rules.minimum if rules.minimum is not None else 0,
            "maximum": rules.maximum if rules.maximum is not None else 0,
        }
        row = client.query.hogql(
            "SELECT countIf((JSONType(properties, {name}) AS jt) = 'Null') AS missing,"
            f" countIf({_accepted(prop.types)}) AS accepted,"
            f" countIf(jt != 'Null' AND ({_broken(rules)})) AS broken {base}",
            values=values,
        ).rows()[0]
        counts[prop.name] = (row["missing"], row["accepted"], row["broken"])
        if prop.required:
            accepted = _accepted(prop.types).replace("jt", "JSONType(properties, {name})")
            rejected.append(
                client.query.hogql(
                    "SELECT groupArray(toString(uuid)) AS ids FROM events WHERE event = {event}"
                    f" AND timestamp >= now() - toIntervalSecond(3600) AND NOT ({accepted})",
                    values=values,
                ).rows()[0]["ids"]
            )
    counts["would_reject"] = len({event_id for ids in rejected for event_id in ids})
    return counts


def _batched(
    client: EventSchemaClient, expected: list[EventExpectation], **budget: int
) -> dict[str, Any]:
    found = {}
    for query, chunk in conformance_queries(expected, WINDOW, **budget):
        result = client.query.hogql(query.query, values=query.values)
        for conformance in decode_conformance(result, chunk):
            counts: dict[str, Any] = {
                "events": conformance.events,
                "unexpected": conformance.with_unexpected_properties,
                "would_reject": conformance.would_reject,
            }
            for prop in conformance.properties:
                accepted = prop.present - prop.wrong_type
                counts[prop.property] = (prop.missing, accepted, prop.rule_violations)
            found[conformance.event] = counts
    return found


@pytest.fixture(scope="module")
def expected(sandbox: RunningSandbox) -> list[EventExpectation]:
    """The expectations, with their events stored in the module's sandbox."""
    items = _expectations()
    sandbox.sandbox.events.insert_many(1, _rows(items, random.Random(20)))
    return items


def test_batched_counts_equal_a_plain_query_per_event(
    client: EventSchemaClient, expected: list[EventExpectation]
) -> None:
    batched = _batched(client, expected)
    for item in expected:
        assert batched[item.event] == _reference(client, item), item.event
    triples = [count for counts in batched.values() for count in counts.values()]
    for position in range(3):  # some missing, some accepted, some broken rules
        assert any(isinstance(c, tuple) and c[position] for c in triples)
    assert all(counts["unexpected"] for counts in batched.values())
    assert any(counts["would_reject"] for counts in batched.values())


def test_a_small_size_budget_splits_the_batch_and_keeps_the_counts(
    client: EventSchemaClient, expected: list[EventExpectation]
) -> None:
    whole = conformance_queries(expected, WINDOW)
    budget = whole[0][0].size // 3
    split = conformance_queries(expected, WINDOW, max_chars=budget)
    assert len(whole) == 1 < len(split)
    # A part holding only the events that share their slots passes each slot's name as one value.
    assert any(isinstance(query.values.get("n0"), str) for query, _ in split)
    assert _batched(client, expected, max_chars=budget) == _batched(client, expected)
