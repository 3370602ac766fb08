"""HogQL queries of ``infer``: pure builders and the decoding of their answers.

A run sends at most ⌈events / 200⌉ + 1 queries:

* :func:`volume_query`: every event name in the window with its count (one query);
* :func:`profile_query`: per batch of up to :data:`EVENTS_PER_QUERY` events, one row per
  (event, property key) with everything the inference needs: how many events carry the key,
  how many of its values are JSON numbers, booleans, objects or strings, how many strings parse
  as a number, a boolean or a date-time under PostHog's coercion rules (the fragments the audits
  use, :data:`~eventschema_tools.audit.queries.NUMBER_LITERAL`), how many have a known shape,
  how many distinct strings there are and the most frequent ones, and the numeric range. A row
  with the empty key counts the event's own volume (property names are never blank), so shares
  stay right under ``SAMPLE``.

Event names reach HogQL only as ``values`` placeholders; the query text is fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from eventschema_tools.audit.queries import (
    MAX_ROWS,
    NUMBER_LITERAL,
    NUMBER_TYPES,
    HogQLQuery,
    ratio_clause,
    sample_ratio,
)
from eventschema_tools.models import HogQLResult

__all__ = [
    "AUTO_SAMPLE_EVENTS",
    "ENUM_MAX_VALUES",
    "EVENTS_PER_QUERY",
    "SAMPLE_TARGET_EVENTS",
    "SHAPES",
    "KeyProfile",
    "decode_profiles",
    "decode_volumes",
    "profile_query",
    "query_bound",
    "sample_ratio",
    "volume_query",
]

EVENTS_PER_QUERY: Final = 200
"""Events profiled by one query."""

ENUM_MAX_VALUES: Final = 10
"""Strings with at most this many distinct values are enum candidates."""

AUTO_SAMPLE_EVENTS: Final = 5_000_000
"""Above this many events in the window, ``infer`` samples even when not asked to."""

SAMPLE_TARGET_EVENTS: Final = 1_000_000
"""An automatic sample aims at about this many events."""

SHAPES: Final = {
    "ISO currency": "^[A-Z]{3}$",
    "UUID": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "ISO date": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}.*)?$",
    "email": "^[^@ ]+@[^@ ]+[.][^@ ]+$",
}
"""Known shapes of string values (RE2), by name; ``email`` flags possible PII."""

_SHAPE_COLUMNS: Final = {"ISO currency": "currency", "UUID": "uuid", "ISO date": "iso_date"}
_WINDOW: Final = "timestamp >= toDateTime({since}) AND timestamp < toDateTime({until})"


def query_bound(events: int) -> int:
    """The most queries a run over ``events`` event names sends: ⌈events / 200⌉ + 1."""
    return math.ceil(events / EVENTS_PER_QUERY) + 1


def _window_values(since: datetime, until: datetime) -> dict[str, Any]:
    return {
        "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def volume_query(since: datetime, until: datetime) -> HogQLQuery:
    """Every event name in the window with its count, busiest first."""
    query = (
        "SELECT event, count() AS total\n"
        f"FROM events\nWHERE {_WINDOW}\n"
        f"GROUP BY event\nORDER BY total DESC, event\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, _window_values(since, until))


def decode_volumes(result: HogQLResult) -> dict[str, int]:
    """Event name → count, from a :func:`volume_query` answer."""
    return {str(row["event"]): int(row["total"]) for row in result.rows()}


def profile_query(
    events: list[str],
    since: datetime,
    until: datetime,
    *,
    sample: tuple[int, int] | None = None,
    include_sdk: bool = False,
) -> HogQLQuery:
    """One row per (event, property key) of ``events`` in the window (see the module doc).

    Args:
        events: The event names (at most :data:`EVENTS_PER_QUERY`).
        since: Start of the window (inclusive).
        until: End of the window (exclusive).
        sample: Read this ratio of the events (HogQL's ``SAMPLE``), per person.
        include_sdk: Also profile ``$``-prefixed properties.
    """
    keys = "arrayConcat([''], JSONExtractKeys(properties))"
    if not include_sdk:
        keys = f"arrayFilter(k -> NOT startsWith(k, '$'), {keys})"
    text = "JSONExtractString(properties, key)"
    string = "jt = 'String'"
    columns = [
        "event",
        f"arrayJoin({keys}) AS key",
        "count() AS rows",
        "countIf((JSONType(properties, key) AS jt) = 'Null') AS nulls",
        f"countIf(jt IN {NUMBER_TYPES}) AS numbers",
        "countIf(jt = 'Bool') AS booleans",
        "countIf(jt IN ('Object', 'Array')) AS objects",
        f"countIf({string}) AS strings",
        f"countIf({string} AND match(({text} AS text), {NUMBER_LITERAL})) AS numeric_strings",
        f"countIf({string} AND text IN ('true', 'false')) AS boolean_strings",
        f"countIf({string} AND match(text, '[0-9]')"
        " AND parseDateTime64BestEffortOrNull(text) IS NOT NULL) AS date_strings",
    ]
    for column in _SHAPE_COLUMNS.values():
        columns.append(f"countIf({string} AND match(text, {{shape_{column}}})) AS {column}")
    columns += [
        f"countIf({string} AND match(text, {{shape_email}})) AS email",
        f"uniq(if({string}, text, NULL)) AS distinct_strings",
        f"topK({ENUM_MAX_VALUES + 1})(if({string}, text, NULL)) AS string_values",
        f"min(if(jt IN {NUMBER_TYPES}, JSONExtractFloat(properties, key),"
        f" if({string}, toFloat64OrNull(text), NULL))) AS low",
        f"max(if(jt IN {NUMBER_TYPES}, JSONExtractFloat(properties, key),"
        f" if({string}, toFloat64OrNull(text), NULL))) AS high",
    ]
    sampling = ratio_clause(sample)
    query = (
        "SELECT " + ",\n  ".join(columns) + f"\nFROM events{sampling}\n"
        f"WHERE event IN {{events}} AND {_WINDOW}\n"
        f"GROUP BY event, key\nORDER BY event, key\nLIMIT {MAX_ROWS}"
    )
    values: dict[str, Any] = {"events": list(events), **_window_values(since, until)}
    values |= {f"shape_{column}": SHAPES[name] for name, column in _SHAPE_COLUMNS.items()}
    values["shape_email"] = SHAPES["email"]
    return HogQLQuery(query, values)


@dataclass(frozen=True)
class KeyProfile:
    """What one property key looked like on one event (counts are events, as read).

    ``rows`` counts events carrying the key, ``nulls`` those where it is ``null``; the other
    counts split the non-null values. ``distinct_strings`` counts the distinct strings
    (exactly while they are few) and ``values`` holds the most frequent ones, all of them while
    there are at most :data:`ENUM_MAX_VALUES`; ``shapes`` counts strings per shape name of
    :data:`SHAPES`.
    """

    event: str
    key: str
    rows: int
    nulls: int
    numbers: int
    booleans: int
    objects: int
    strings: int
    numeric_strings: int
    boolean_strings: int
    date_strings: int
    shapes: dict[str, int]
    distinct_strings: int
    values: tuple[str, ...]
    low: float | None
    high: float | None

    @property
    def present(self) -> int:
        """Events carrying a non-null value."""
        return self.rows - self.nulls


def decode_profiles(result: HogQLResult) -> tuple[dict[str, int], list[KeyProfile]]:
    """Per event its volume (the empty key's row), and the profile of every other key."""
    totals: dict[str, int] = {}
    profiles: list[KeyProfile] = []
    for row in result.rows():
        event, key = str(row["event"]), str(row["key"])
        if key == "":
            totals[event] = int(row["rows"])
            continue
        shapes = {name: int(row[column]) for name, column in _SHAPE_COLUMNS.items()}
        shapes["email"] = int(row["email"])
        profiles.append(
            KeyProfile(
                event=event,
                key=key,
                rows=int(row["rows"]),
                nulls=int(row["nulls"]),
                numbers=int(row["numbers"]),
                booleans=int(row["booleans"]),
                objects=int(row["objects"]),
                strings=int(row["strings"]),
                numeric_strings=int(row["numeric_strings"]),
                boolean_strings=int(row["boolean_strings"]),
                date_strings=int(row["date_strings"]),
                shapes=shapes,
                distinct_strings=int(row["distinct_strings"]),
                values=tuple(sorted(str(value) for value in row.get("string_values") or ())),
                low=_number(row.get("low")),
                high=_number(row.get("high")),
            )
        )
    return totals, profiles


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
