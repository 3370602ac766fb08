"""Stored records are written as JSON with exactly the bytes Starlette's JSON response writes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from eventschema_tools.sandbox.http.routing import json_response, records_response

# What a stored record holds: no floats (see `records_response`). Lone surrogates cannot be
# stored, so text is whatever UTF-8 can carry, control characters and U+2028 included.
_text = st.text(st.characters(exclude_categories=["Cs"]))
_records = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | _text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_text, children, max_size=5),
    max_leaves=40,
)


@given(_records)
def test_records_are_written_byte_for_byte_as_json_response_writes_them(record: Any) -> None:
    fast, plain = records_response(record, status_code=201), json_response(record, 201)
    assert fast.body == plain.body
    assert fast.status_code == plain.status_code == 201
    assert fast.headers["content-type"] == plain.headers["content-type"]
    assert fast.headers["content-length"] == plain.headers["content-length"]
