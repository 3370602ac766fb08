"""Listing event schemas through the page decoder gives exactly what per-row validation gives.

The reference reads the body with the plain JSON decoder and validates one row at a time (each
group first, as a ``PropertyGroup``, then its row), raising at the first row that does not fit.
Pages are generated with shared groups, a group per binding, unknown fields at every level,
values pydantic converts (UUID spellings, timestamps, numbers as booleans), rows and groups that
do not validate, and the same values written as different bytes.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import from_json

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.errors import EventSchemaError
from eventschema_tools.models import EventSchema, PropertyGroup, parse_response

HOST = "http://posthog.test"

Outcome = tuple[list[EventSchema], str | None]


# --- the reference: plain decoding, one row at a time ----------------------------------------


def per_row(body: bytes, max_rows: int | None = None) -> Outcome:
    """The schemas and the error (type and message) of plain per-row validation."""
    try:
        rows = from_json(body)["results"]
    except (ValueError, TypeError, KeyError) as exc:
        return [], f"not a page: {type(exc).__name__}"
    if not isinstance(rows, list):
        return [], "not a page: results is not a list"
    schemas: list[EventSchema] = []
    seen: set[str] = set()
    for row in rows:
        key = str(row.get("id"))
        if key in seen:
            continue
        seen.add(key)
        if max_rows is not None and len(schemas) >= max_rows:
            break
        try:
            group = row.get("property_group")
            if isinstance(group, dict):
                row = {**row, "property_group": parse_response(PropertyGroup, group)}
            schemas.append(parse_response(EventSchema, row))
        except EventSchemaError as exc:
            return schemas, f"{type(exc).__name__}: {exc}"
    return schemas, None


# --- what the client gives ---------------------------------------------------------------------


def _transport(body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body))


def _failure(exc: EventSchemaError) -> str:
    """How a listing failed, as the outcomes compare it."""
    if "expected a page of results" in str(exc):
        return "not a page"
    return f"{type(exc).__name__}: {exc}"


def listed(body: bytes, max_rows: int | None = None) -> Outcome:
    schemas: list[EventSchema] = []
    with EventSchemaClient(
        api_key="phx_test", project_id=1, host=HOST, rate_limit="off", transport=_transport(body)
    ) as client:
        try:
            for schema in client.event_schemas.list(max_rows=max_rows):
                schemas.append(schema)
        except EventSchemaError as exc:
            return schemas, _failure(exc)
    return schemas, None


def listed_async(body: bytes, max_rows: int | None = None) -> Outcome:
    async def read() -> Outcome:
        schemas: list[EventSchema] = []
        async with AsyncEventSchemaClient(
            api_key="phx_test",
            project_id=1,
            host=HOST,
            rate_limit="off",
            transport=_transport(body),
        ) as client:
            try:
                async for schema in client.event_schemas.list(max_rows=max_rows):
                    schemas.append(schema)
            except EventSchemaError as exc:
                return schemas, _failure(exc)
        return schemas, None

    return anyio.run(read)


def _shape(value: Any) -> Any:
    """Everything a caller can see of a model: field values with their types, which fields
    were set, and the unknown fields, recursively."""
    if isinstance(value, BaseModel):
        return (
            type(value),
            {name: _shape(getattr(value, name)) for name in type(value).model_fields},
            sorted(value.model_fields_set),
            {key: _shape(item) for key, item in (value.model_extra or {}).items()},
        )
    if isinstance(value, list):
        return [_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return (type(value), value, getattr(value, "tzinfo", None).__class__)


def assert_same(body: bytes, max_rows: int | None = None) -> None:
    expected, expected_error = per_row(body, max_rows)
    for got, error in (listed(body, max_rows), listed_async(body, max_rows)):
        if expected_error is not None and expected_error.startswith("not a page"):
            assert (got, error) == ([], "not a page")
            continue
        assert error == expected_error
        assert got == expected
        assert [_shape(schema) for schema in got] == [_shape(schema) for schema in expected]
        assert [schema.model_dump_json() for schema in got] == [
            schema.model_dump_json() for schema in expected
        ]


# --- generated pages ---------------------------------------------------------------------------

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
unknown_fields = st.dictionaries(
    st.text(min_size=1, max_size=6).map(lambda name: f"x_{name}"), json_values, max_size=2
)


def _uuid_spellings(value: str) -> list[Any]:
    return [value, value.upper(), value.replace("-", ""), f"urn:uuid:{value}"]


uuids = st.uuids().map(str).flatmap(lambda value: st.sampled_from(_uuid_spellings(value)))
# Mostly what PostHog sends, sometimes what pydantic converts, rarely what fails: most pages
# then take the fast path, and every page is compared whichever path it takes.
timestamps = st.sampled_from(
    ["2026-01-02T03:04:05.123456Z"] * 12
    + ["2026-01-02T03:04:05+02:00", "2026-01-02T03:04:05", "2026-01-02", 1767323045, 1767323045.5]
    + [None, "not a time"]
)
property_types = st.sampled_from(
    ["String", "Numeric", "Boolean", "DateTime", "Object"] * 4 + ["Integer"]
)
booleans = st.sampled_from([True, False] * 8 + [0, 1, "true", "no", None])


@st.composite
def properties(draw: st.DrawFn) -> dict[str, Any]:
    prop = {
        "id": draw(uuids),
        "name": draw(st.text(min_size=1, max_size=10)),
        "property_type": draw(property_types),
        "is_required": draw(booleans),
        "is_optional_in_types": draw(st.booleans()),
        "description": draw(st.text(max_size=10)),
        "created_at": draw(timestamps),
        "updated_at": draw(timestamps),
        **draw(unknown_fields),
    }
    for name in draw(st.sets(st.sampled_from(["id", "description", "updated_at"]))):
        del prop[name]
    return prop


@st.composite
def groups(draw: st.DrawFn) -> dict[str, Any]:
    group: dict[str, Any] = {
        "id": draw(uuids),
        "name": draw(st.text(max_size=10)),
        "description": draw(st.text(max_size=10)),
        "properties": draw(st.lists(properties(), max_size=3)),
        "events": draw(
            st.none()
            | st.text(max_size=5)
            | st.lists(
                st.fixed_dictionaries({"id": uuids, "name": st.text(max_size=8)}), max_size=3
            )
        ),
        "created_at": draw(timestamps),
        "updated_at": draw(timestamps),
        "created_by": draw(
            st.none()
            | st.fixed_dictionaries(
                {"id": st.integers(1, 5), "email": st.text(max_size=8)}, optional={}
            ).flatmap(lambda user: unknown_fields.map(lambda extra: {**user, **extra}))
        ),
        **draw(unknown_fields),
    }
    return group


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    pool = draw(st.lists(groups(), min_size=1, max_size=4))
    ids = [str(uuid4()) for _ in range(8)]
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        group: Any = (
            draw(st.sampled_from(pool))
            if draw(st.integers(0, 9))
            else draw(groups() | st.none() | st.just([]) | st.just("group"))
        )
        row: dict[str, Any] = {
            "id": draw(st.sampled_from(ids) | uuids),
            "event_definition": draw(uuids),
            "property_group": group,
            "created_at": draw(timestamps),
            "updated_at": draw(timestamps),
            **(draw(unknown_fields) if draw(st.integers(0, 5)) == 0 else {}),
        }
        for name in draw(st.sets(st.sampled_from(["property_group", "created_at"]), max_size=1)):
            if draw(st.integers(0, 20)) == 0:
                del row[name]
        rows.append(row)
    page = {"count": len(rows), "next": None, "previous": None, "results": rows}
    return json.dumps(
        page,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
        sort_keys=draw(st.booleans()),
    ).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=pages(), max_rows=st.none() | st.integers(1, 6))
def test_generated_pages_equal_per_row_validation(body: bytes, max_rows: int | None) -> None:
    assert_same(body, max_rows)


# --- pages of the two common kinds, and odd bodies ---------------------------------------------


def _group(name: str, events: int) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "name": name,
        "description": "",
        "properties": [
            {
                "id": str(uuid4()),
                "name": f"p{p}",
                "property_type": "String",
                "is_required": p % 2 == 0,
                "is_optional_in_types": False,
                "description": "",
                "created_at": "2026-01-02T03:04:05.123456Z",
                "updated_at": "2026-01-02T03:04:05.123456Z",
            }
            for p in range(3)
        ],
        "events": [{"id": str(uuid4()), "name": f"{name}.{e}"} for e in range(events)],
        "created_at": "2026-01-02T03:04:05.123456Z",
        "updated_at": "2026-01-02T03:04:05.123456Z",
        "created_by": {"id": 1, "email": "a@example.com", "is_email_verified": True},
    }


def _row(group: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "event_definition": str(uuid4()),
        "property_group": group,
        "created_at": "2026-01-02T03:04:05.123456Z",
        "updated_at": "2026-01-02T03:04:05.123456Z",
        **extra,
    }


def _body(rows: list[Any], **page: Any) -> bytes:
    return json.dumps({"count": len(rows), "next": None, "results": rows, **page}).encode()


SHARED = [_group(f"g{g}", 5) for g in range(4)]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_body([_row(SHARED[i % 4]) for i in range(20)]), id="shared groups"),
        pytest.param(_body([_row(_group(f"g{i}", 1)) for i in range(20)]), id="distinct groups"),
        pytest.param(
            _body([_row(SHARED[0], property_group_version=2), _row(SHARED[1])]),
            id="unknown row field",
        ),
        pytest.param(
            _body([_row(SHARED[0]), _row({**SHARED[0], "name": 5}), _row(SHARED[1])]),
            id="group that does not validate",
        ),
        pytest.param(
            _body([_row(SHARED[0]), {**_row(SHARED[1]), "event_definition": "x"}]),
            id="row that does not validate",
        ),
        pytest.param(_body([_row(SHARED[0]), _row(None)]), id="null group"),
        pytest.param(_body([_row(SHARED[0]), _row([SHARED[0]])]), id="group in a list"),
        pytest.param(_body([_row(SHARED[0]), _row(SHARED[0])][:1] * 2), id="same row twice"),
        pytest.param(
            _body([_row(SHARED[0])]).replace(b'"name": "g0"', b'"name": "g\xff"'), id="not UTF-8"
        ),
        pytest.param(
            _body([_row(SHARED[0])], previous="\u00e9").replace(b"\\u00e9", b"\xff"),
            id="not UTF-8 where paging does not look",
        ),
        pytest.param(_body([_row(SHARED[0])]).replace(b'"p0"', b"NaN"), id="NaN"),
        pytest.param(b'{"results": {"a": 1}}', id="results not a list"),
        pytest.param(b'{"results": [1, 2]}', id="rows not objects"),
        pytest.param(b"<html>gateway</html>", id="not JSON"),
        pytest.param(b"", id="empty body"),
        pytest.param(_body([]), id="empty page"),
    ],
)
def test_odd_and_common_pages_equal_per_row_validation(body: bytes) -> None:
    if body == b'{"results": [1, 2]}':
        # Plain paging cannot read rows that are not objects either; both fail the same way.
        with pytest.raises(AttributeError):
            per_row(body)
        with pytest.raises(AttributeError):
            listed(body)
        return
    assert_same(body)
    assert_same(body, max_rows=3)


def test_bindings_of_one_group_share_its_model() -> None:
    schemas, error = listed(_body([_row(SHARED[0]), _row(SHARED[1]), _row(SHARED[0])]))
    assert error is None
    assert schemas[0].property_group is schemas[2].property_group
