"""PostHog ingestion's type coercion rules, value by value."""

from __future__ import annotations

import httpx
import pytest
from sandbox_events_helpers import rows

from eventschema_tools.sandbox.events.coercion import (
    Violation,
    can_coerce,
    is_clickhouse_datetime,
    validate_event,
)

# (value, String, Numeric, Boolean, DateTime, Object): whether ingestion accepts the value.
COERCION_TABLE = [
    ("hello", True, False, False, False, False),
    ("", True, False, False, False, False),
    (0, True, True, False, True, False),
    (-12, True, True, False, True, False),
    (3.25, True, True, False, True, False),
    (True, True, False, True, False, False),
    (False, True, False, True, False, False),
    ("42", True, True, False, False, False),
    ("  1.5e3\n", True, True, False, False, False),
    ("-0.5", True, True, False, False, False),
    (".5", True, True, False, False, False),
    ("0x1A", True, True, False, False, False),
    ("1_000", True, False, False, False, False),
    ("Infinity", True, False, False, False, False),
    ("1e400", True, False, False, False, False),
    ("NaN", True, False, False, False, False),
    ("   ", True, False, False, False, False),
    ("true", True, False, True, False, False),
    ("false", True, False, True, False, False),
    ("True", True, False, False, False, False),
    ("yes", True, False, False, False, False),
    ({"a": 1}, True, False, False, False, True),
    ({}, True, False, False, False, True),
    ([1, 2], True, False, False, False, True),
    ([], True, False, False, False, True),
    ("2024-01-15T10:00:00Z", True, False, False, True, False),
    ("2024-01-15 10:00:00.123", True, False, False, True, False),
    ("1700000000", True, True, False, True, False),
    ("20240115", True, True, False, True, False),
    ("2024-02-30", True, False, False, False, False),
    ("not a date", True, False, False, False, False),
]
TYPES = ("String", "Numeric", "Boolean", "DateTime", "Object")

# Strings ClickHouse's best-effort parser and PostHog's re-implementation agree on.
DATETIME_STRINGS = [
    "2024-01-15T10:00:00Z",
    "2024-01-15T10:00:00.123456+02:00",
    "2024-01-15 10:00:00",
    "2024-01-15",
    "2024/01/15",
    "15.01.2024",
    "15-Jan-24",
    "Mon, 15 Jan 2024 10:00:00 GMT",
    "Jan 15, 2024",
    "20240115103000",
    "1700000000",
    "1700000000.5",
    "1700000000123",
    "2024-01-15 10:00:00 PM",
    "01/12/2017, 18:31:44",
    "  2024-01-15  ",
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "2024-01-15T10:00:00xyz",
    "12345",
    "0",
    "tomorrow",
    "",
    "10:00",
]


@pytest.mark.parametrize(("value", *TYPES), COERCION_TABLE)
def test_each_type_accepts_exactly_the_values_ingestion_accepts(
    value: object, String: bool, Numeric: bool, Boolean: bool, DateTime: bool, Object: bool
) -> None:
    expected = dict(zip(TYPES, (String, Numeric, Boolean, DateTime, Object), strict=True))
    assert {kind: can_coerce(value, kind) for kind in TYPES} == expected


@pytest.mark.parametrize("kind", TYPES)
def test_null_is_never_a_value(kind: str) -> None:
    assert can_coerce(None, kind) is False


def test_an_unknown_type_accepts_any_value_like_posthog() -> None:
    assert can_coerce("anything", "Any") is True


def test_missing_and_null_required_properties_are_missing_required() -> None:
    required = {"plan": ("String",), "seats": ("Numeric",)}
    assert validate_event({"seats": None}, required) == [
        Violation("plan", "missing_required"),
        Violation("seats", "missing_required"),
    ]
    assert validate_event(None, {"plan": ("String",)}) == [Violation("plan", "missing_required")]


def test_a_type_mismatch_reports_the_expected_types_and_the_value_as_posthog_renders_it() -> None:
    violations = validate_event(
        {"seats": "many", "trial": 1.0, "meta": True},
        {"seats": ("Numeric",), "trial": ("Boolean",), "meta": ("Object",)},
    )
    assert [v.to_warning_error() for v in violations] == [
        {
            "property": "seats",
            "reason": "type_mismatch",
            "expectedTypes": ["Numeric"],
            "actualValue": "many",
        },
        {
            "property": "trial",
            "reason": "type_mismatch",
            "expectedTypes": ["Boolean"],
            "actualValue": "1",
        },
        {
            "property": "meta",
            "reason": "type_mismatch",
            "expectedTypes": ["Object"],
            "actualValue": "true",
        },
    ]


def test_a_property_defined_by_several_groups_accepts_any_of_their_types() -> None:
    required = {"amount": ("Numeric", "Object")}
    assert validate_event({"amount": "12"}, required) == []
    assert validate_event({"amount": {"value": 12}}, required) == []
    assert [v.reason for v in validate_event({"amount": "twelve"}, required)] == ["type_mismatch"]


def test_optional_and_unknown_properties_are_not_checked() -> None:
    assert validate_event({"anything": object()}, {}) == []


@pytest.mark.anyio
async def test_datetime_rule_agrees_with_clickhouse_best_effort_parsing(
    client: httpx.AsyncClient,
) -> None:
    results = await rows(
        client,
        "SELECT arrayJoin({texts}) AS text, isNotNull(parseDateTime64BestEffortOrNull(text))",
        {"texts": DATETIME_STRINGS},
    )
    clickhouse = {text: bool(parsed) for text, parsed in results}
    assert clickhouse.keys() == set(DATETIME_STRINGS)
    assert {text: is_clickhouse_datetime(text) for text in DATETIME_STRINGS} == {
        text: clickhouse[text] for text in DATETIME_STRINGS
    }
