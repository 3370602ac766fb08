"""Stored timestamps render as DRF renders them: the fast path (slicing the stored text) gives
exactly what parsing it and calling ``isoformat()`` gives, for every instant."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from eventschema_tools.sandbox.storage.timestamps import from_storage, to_drf, to_storage


def _parsed(text: str) -> str:
    return from_storage(text).isoformat().removesuffix("+00:00") + "Z"


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    )
)
def test_slicing_the_stored_text_renders_what_parsing_it_does(moment: datetime) -> None:
    stored = to_storage(moment)
    assert to_drf(stored) == _parsed(stored)


def test_whole_seconds_carry_no_fraction_and_other_text_is_parsed() -> None:
    assert to_drf("2026-11-26T17:00:00.000000Z") == "2026-11-26T17:00:00Z"
    assert to_drf("2026-11-26T17:00:00.123400Z") == "2026-11-26T17:00:00.123400Z"
    assert to_drf(None) is None
