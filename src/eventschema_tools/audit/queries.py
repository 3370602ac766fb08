"""HogQL queries of the audits: pure builders, the decoding of their answers, and the two drivers
(:func:`drive_queries`, :func:`drive_queries_async`) that send the queries a sans-I/O run yields.

PostHog allows about 120 HogQL queries an hour per key, so the audits batch: every query covers
many events and all their properties at once.

* :func:`conformance_queries`: one row per bound event. Each event's expected properties sit in
  numbered *slots*; slot ``k`` of an event is looked up per row from lists passed as ``values``
  (``{n3}`` holds the name of slot 3 of every event, ``{t3}`` its accepted types as letters,
  ...), indexed by the event's position in ``{events}`` (a hash lookup, :data:`EVENT_INDEX`);
  a list that is the same for every event is passed as one value. Each row's properties are
  parsed once (:func:`property_value`) and every check reads the slot's raw JSON text, so a
  query costs about what a hand-written one does. Each row counts, per slot, missing
  values, accepted values and value-rule violations, and per event the rows carrying an
  unexpected property and the rows ``reject`` enforcement would drop. A 200-event plan takes one
  query; larger ones are split so no query exceeds :data:`MAX_QUERY_CHARS` or :data:`MAX_ROWS`.
* :func:`property_breakdown_query`: every property key seen on the bound events, with its JSON
  type and count (unexpected properties and type shares).
* :func:`event_volume_query`: every event seen in the window with its count (unplanned events).

Event and property names reach HogQL only as ``values`` placeholders. The query text is built
from fixed fragments and slot numbers; column aliases are ``missing_3``, never a user's name.

HogQL's parser slows down sharply with deeply nested calls and brackets (a query nesting seven
levels can take half a minute to parse), so expressions stay at most five levels deep: each
placeholder lookup is named once with an alias, checks are flat ``AND``/``OR`` chains, and
wrong-type counts are derived (present minus accepted) rather than computed.

The type checks mirror PostHog ingestion's coercion rules: ``String`` accepts any non-null value;
``Numeric`` a JSON number, or a string that is a number literal to JavaScript once trimmed;
``Boolean`` ``true``/``false`` or exactly ``"true"``/``"false"``; ``DateTime`` a JSON number or
a string ClickHouse's ``parseDateTime64BestEffortOrNull`` reads; ``Object`` a JSON object or
array. Approximations: a numeric string too large for a double (``"1e400"``) counts as numeric,
and value rules read numeric strings only when they have no surrounding white space.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from eventschema_tools.audit.evidence import (
    MAX_EXAMPLES,
    MAX_VALUES,
    EvidenceContext,
    decode_evidence,
    release_key,
)
from eventschema_tools.audit.expectations import (
    EventExpectation,
    PropertyExpectation,
    ValueRules,
)
from eventschema_tools.audit.model import EventConformance, PropertyConformance
from eventschema_tools.models import HogQLResult

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "EVENT_INDEX",
    "MAX_QUERY_CHARS",
    "MAX_ROWS",
    "NUMBER_LITERAL",
    "NUMBER_TYPES",
    "WINDOW_FILTER",
    "EventVolume",
    "HogQLQuery",
    "KeyCount",
    "QuerySteps",
    "QueryValues",
    "conformance_queries",
    "decode_conformance",
    "decode_event_volumes",
    "decode_property_breakdown",
    "drive_queries",
    "drive_queries_async",
    "enum_pattern",
    "event_volume_query",
    "property_breakdown_chunks",
    "property_breakdown_query",
    "ratio_clause",
    "re2_problem",
    "sample_clause",
    "sample_ratio",
    "slot_breaks",
    "slot_columns",
    "split_into_queries",
    "unexpected_counts",
]

MAX_ROWS: Final = 50_000
"""The most rows a HogQL query may return (PostHog's ``MAX_SELECT_RETURNED_ROWS``)."""

MAX_QUERY_CHARS: Final = 120_000
"""Budget for a query's text plus its ``values`` once inlined (ClickHouse stops at 256 KiB)."""

WINDOW_FILTER: Final = "timestamp >= now() - toIntervalSecond({window_seconds})"
"""The window condition of every query over ``events`` (``window_seconds`` is a value)."""

EVENT_INDEX: Final = "transform(event, {events}, arrayEnumerate({events}), 0)"
"""HogQL of the place of the row's event in ``{events}`` (from 1; 0 when it is not there).

A hash lookup: ``indexOf({events}, event)`` compares the name with every listed event, which
for 500 events costs more than all the property checks together."""


_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class HogQLQuery:
    """A HogQL query and the ``values`` its placeholders read."""

    query: str
    values: dict[str, Any]

    @property
    def size(self) -> int:
        """The query's length with its values inlined where it reads them (roughly what
        ClickHouse receives: PostHog writes a value out at each of its placeholders)."""
        reads = Counter(_PLACEHOLDER.findall(self.query))
        return len(self.query) + sum(
            len(json.dumps(value)) * max(reads[name], 1) for name, value in self.values.items()
        )


@dataclass(frozen=True)
class KeyCount:
    """How many events of one name carried one property key with one JSON type."""

    event: str
    key: str
    json_type: str
    events: int


@dataclass(frozen=True)
class EventVolume:
    """How many events of one name arrived in the window, and when the last one did."""

    event: str
    events: int
    last_seen: datetime | None


T = TypeVar("T")
QuerySteps = Generator[HogQLQuery, HogQLResult, T]
"""A sans-I/O run: it yields the queries to send, is sent their answers, and returns a result."""


def drive_queries(client: EventSchemaClient, steps: QuerySteps[T]) -> T:
    """Send each query ``steps`` yields with ``client`` and return what the steps return."""
    try:
        query = next(steps)
        while True:
            query = steps.send(client.query.hogql(query.query, values=query.values))
    except StopIteration as finished:
        result: T = finished.value
    return result


async def drive_queries_async(client: AsyncEventSchemaClient, steps: QuerySteps[T]) -> T:
    """Async twin of :func:`drive_queries`."""
    try:
        query = next(steps)
        while True:
            query = steps.send(await client.query.hogql(query.query, values=query.values))
    except StopIteration as finished:
        result: T = finished.value
    return result


# --- conformance and enforcement ---------------------------------------------------------------

# Letters of the accepted types in the ``{tK}`` strings. "S" alone stands for "anything non-null"
# (String, or a type PostHog does not define); "-" marks an event without slot K.
_TYPE_LETTERS: Final = {"Numeric": "N", "Boolean": "B", "DateTime": "D", "Object": "O"}
_ANYTHING: Final = "S"
_NO_SLOT: Final = "-"
# Letters of the value rules in the ``{rfK}`` strings.
_RULE_ENUM: Final = "E"
_RULE_PATTERN: Final = "R"
_RULE_MIN: Final = "L"
_RULE_MAX: Final = "H"

_PAIRS: Final = "JSONExtractKeysAndValuesRaw(properties)"

NUMBER_TYPES: Final = "('Int64', 'UInt64', 'Double')"
"""The JSON types of numbers, as a HogQL tuple (``JSONType(...) IN NUMBER_TYPES``)."""
NUMBER_LITERAL: Final = (
    r"'^\\s*([+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
    r"|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+)\\s*$'"
)
"""HogQL literal of the RE2 pattern for a number literal to JavaScript's ``Number()`` once
trimmed (decimal with exponent, hexadecimal, octal or binary): what PostHog accepts as Numeric."""


def conformance_queries(
    expected: Sequence[EventExpectation],
    window_seconds: int,
    *,
    max_chars: int = MAX_QUERY_CHARS,
    max_rows: int = MAX_ROWS,
    sample: float | None = None,
) -> list[tuple[HogQLQuery, list[EventExpectation]]]:
    """Build the fewest conformance queries that cover ``expected``.

    Events are sorted by how many properties they expect (most first); each query then takes
    the longest run of them whose query stays under ``max_chars`` (text plus inlined values)
    and ``max_rows`` events. An event too large for the budget on its own still gets a query.

    Args:
        expected: The bound events and what they must look like.
        window_seconds: Only events newer than this many seconds count.
        max_chars: Size budget of one query.
        max_rows: The most events (result rows) per query.
        sample: Read this share of people (HogQL's ``SAMPLE``); ``None`` reads every event.

    Returns:
        Each query with the events it covers (what :func:`decode_conformance` needs).
    """
    ordered = sorted(expected, key=lambda item: (-len(item.properties), item.event))
    return split_into_queries(
        ordered,
        lambda chunk: _conformance_query(chunk, window_seconds, sample),
        max_chars=max_chars,
        max_items=max_rows,
    )


Item = TypeVar("Item")


def split_into_queries(
    items: Sequence[Item],
    build: Callable[[Sequence[Item]], HogQLQuery],
    *,
    max_chars: int,
    max_items: int,
) -> list[tuple[HogQLQuery, list[Item]]]:
    """Cut ``items`` into the longest runs whose query (``build(run)``) stays under
    ``max_chars`` and ``max_items``; an item too large on its own still gets a query."""
    batches: list[tuple[HogQLQuery, list[Item]]] = []
    start = 0
    while start < len(items):
        longest = min(max_items, len(items) - start)
        query = build(items[start : start + longest])
        if query.size > max_chars:
            # A query only grows with its items: search the longest run that fits.
            fits, too_many = 1, longest
            while too_many - fits > 1:
                middle = (fits + too_many) // 2
                if build(items[start : start + middle]).size > max_chars:
                    too_many = middle
                else:
                    fits = middle
            longest = fits
            query = build(items[start : start + longest])
        batches.append((query, list(items[start : start + longest])))
        start += longest
    return batches


# Python regular expressions that ClickHouse's RE2 engine refuses, with what they are.
_NOT_RE2: Final = (
    (re.compile(r"\(\?<?[=!]"), "a lookahead or lookbehind"),
    (re.compile(r"\(\?>"), "an atomic group"),
    (re.compile(r"\\[1-9]|\(\?P="), "a backreference"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "a possessive quantifier"),
    (re.compile(r"\\Z"), "\\Z (write \\z)"),
    (re.compile(r"\(\?[a-zA-Z]*x"), "verbose mode (?x)"),
)


def re2_problem(pattern: str) -> str | None:
    """What in ``pattern`` ClickHouse's regular expressions (RE2) do not support, or ``None``."""
    for construct, name in _NOT_RE2:
        if construct.search(pattern):
            return name
    return None


def enum_pattern(values: Sequence[str]) -> str:
    """An RE2 pattern matching exactly one of ``values`` (each quoted with ``\\Q...\\E``)."""
    quoted = ("\\Q" + value.replace("\\E", "\\E\\\\E\\Q") + "\\E" for value in values)
    return "^(?:" + "|".join(quoted) + ")$"


def _type_code(prop: PropertyExpectation) -> str:
    letters = {_TYPE_LETTERS.get(name, _ANYTHING) for name in prop.types}
    if not letters or _ANYTHING in letters or "String" in prop.types:
        return _ANYTHING
    return "".join(sorted(letters))


def _aligned(chunk: Sequence[EventExpectation]) -> list[list[PropertyExpectation]]:
    """Each event's properties, ordered so that a property several events share (a shared
    group) tends to sit in the same slot everywhere: uniform slots make shorter queries."""
    spread: dict[tuple[str, str], int] = {}
    for item in chunk:
        for prop in item.properties:
            key = (prop.name, _type_code(prop))
            spread[key] = spread.get(key, 0) + 1
    return [
        sorted(
            item.properties,
            key=lambda prop: (-spread[(prop.name, _type_code(prop))], prop.name),
        )
        for item in chunk
    ]


class QueryValues:
    """The ``values`` of one query over a list of events (row ``ei`` of each per-event list);
    a per-event list collapses to one value when it is the same for every event that has it.

    It also remembers the row-level aliases the query has defined (:meth:`alias`), since
    several builders add columns to one query and HogQL refuses an alias defined twice.
    """

    def __init__(self, events: list[str], window_seconds: int) -> None:
        self.data: dict[str, Any] = {"events": events, "window_seconds": int(window_seconds)}
        self._aliases: set[str] = set()

    def alias(self, name: str, expression: str) -> str:
        """``(expression AS name)`` the first time the query reads ``name``, ``name`` after.

        PostHog resolves an alias only after its definition, so callers put the returned text
        in the query in the order they ask for it.
        """
        if name in self._aliases:
            return name
        self._aliases.add(name)
        return f"({expression} AS {name})"

    def per_event(self, name: str, items: Sequence[object | None]) -> str:
        """Store ``items`` (``None`` = event without the slot) and return the HogQL to read it."""
        present = {json.dumps(item) for item in items if item is not None}
        if len(present) == 1:
            self.data[name] = next(item for item in items if item is not None)
            return f"{{{name}}}"
        filler = next((item for item in items if item is not None), "")
        self.data[name] = [filler if item is None else item for item in items]
        return f"{{{name}}}[ei]"


def _conformance_query(
    chunk: Sequence[EventExpectation], window_seconds: int, sample: float | None = None
) -> HogQLQuery:
    values = QueryValues([item.event for item in chunk], window_seconds)
    columns = ["event", f"countIf(({EVENT_INDEX} AS ei) > 0) AS total"]
    slots, reject = slot_columns(chunk, values)
    columns += slots
    columns.append(f"countIf({reject}) AS would_reject")
    names = ", ".join(f"name_{k}" for k in range(_slot_count(chunk)))
    # An event without slot K has '' as its name there, so an empty key is never "expected"
    # (property names are never blank).
    columns.append(
        "countIf(arrayExists(x -> x = '' OR NOT startsWith(x, '$') AND NOT has("
        f"[{names}], x), {property_keys(values)})) AS unexpected"
    )
    columns += _evidence_columns(chunk, values)
    query = (
        "SELECT " + ",\n  ".join(columns) + f"\nFROM events{sample_clause(sample)}\n"
        f"WHERE event IN {{events}} AND {WINDOW_FILTER}\n"
        f"GROUP BY event\nORDER BY event\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, values.data)


def _evidence_columns(chunk: Sequence[EventExpectation], values: QueryValues) -> list[str]:
    """Per event, the events and first time of each release; per slot, the breaking rows per
    release, up to 5 offending values and up to 3 example events (``audit.evidence``)."""
    release = release_key(lambda key: f"JSONExtractString({property_value(_quoted(key), values)})")
    columns = [
        f"sumMap([{release} AS release], [1]) AS release_events",
        "minMap([release], [toUnixTimestamp(timestamp)]) AS release_first_seen",
    ]
    session = property_value(_quoted("$session_id"), values)
    for k, breaks in enumerate(slot_breaks(chunk)):
        example = values.alias(
            "example",
            "concat(toString(uuid), '|', toString(toUnixTimestamp(timestamp)), '|', "
            f"JSONExtractString({session}), '|', distinct_id)",
        )
        columns += [
            f"sumMapIf([release], [1], ({breaks}) AS bad_{k}) AS release_violations_{k}",
            f"groupUniqArrayIf({MAX_VALUES})(raw_{k}, bad_{k} AND jt_{k} != 'Null') AS values_{k}",
            f"groupArrayIf({MAX_EXAMPLES})({example}, bad_{k}) AS examples_{k}",
        ]
    return columns


def _quoted(name: str) -> str:
    """A fixed property name (no quote or backslash in it) as a HogQL string literal."""
    return f"'{name}'"


def slot_breaks(chunk: Sequence[EventExpectation], prefix: str = "") -> list[str]:
    """Per slot of :func:`slot_columns`, the condition of a row that breaks the property: a
    required value missing, a value of the wrong type, or a broken value rule.

    It reads the aliases ``slot_columns`` and the reject condition define, so it belongs in
    the same query, after them.
    """
    p = prefix
    conditions = []
    for k in range(_slot_count(chunk)):
        present = [item[k] for item in _aligned(chunk) if k < len(item)]
        required = {prop.required for prop in present}
        checks = [f"{p}jt_{k} != 'Null' AND NOT {p}ok_{k}"]
        if required == {True}:
            checks.insert(0, f"{p}jt_{k} = 'Null'")
        elif required == {True, False}:
            checks.insert(0, f"{p}rq_{k} = 1 AND {p}jt_{k} = 'Null'")
        if any(prop.rules.any for prop in present):
            checks.append(f"{p}rb_{k}")
        conditions.append(f"{p}name_{k} != '' AND ({' OR '.join(checks)})")
    return conditions


def sample_clause(sample: float | None) -> str:
    """`` SAMPLE n/d`` for a share of people in (0, 1), or ``""`` to read every event."""
    if sample is None or sample >= 1:
        return ""
    return ratio_clause(sample_ratio(sample))


def ratio_clause(ratio: tuple[int, int] | None) -> str:
    """`` SAMPLE n/d`` for a ratio from :func:`sample_ratio`, or ``""`` for none."""
    return f" SAMPLE {ratio[0]}/{ratio[1]}" if ratio is not None else ""


def sample_ratio(rate: float) -> tuple[int, int]:
    """``rate`` as the ratio HogQL's ``SAMPLE`` takes (``0.1`` → ``(1, 10)``)."""
    inverse = 1 / rate
    if abs(inverse - round(inverse)) < 1e-9:
        return 1, round(inverse)
    for denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100, 1000, 10_000):
        numerator = rate * denominator
        if abs(numerator - round(numerator)) < 1e-9 and round(numerator) >= 1:
            return round(numerator), denominator
    return max(1, round(rate * 1_000_000)), 1_000_000


def _slot_count(chunk: Sequence[EventExpectation]) -> int:
    return max((len(item.properties) for item in chunk), default=0)


def slot_columns(
    chunk: Sequence[EventExpectation], values: QueryValues, prefix: str = ""
) -> tuple[list[str], str]:
    """The per-property count columns of one set of expectations, and the condition under which
    reject enforcement drops a row (a required property missing or not coercible).

    Row ``ei`` of every per-event list is the event at that place in ``values``' ``events``
    (which the caller's query defines as the alias ``ei``); ``prefix`` goes before every alias
    and parameter name, so two sets of expectations fit in one query. A slot's name is one
    value, not a per-event list, when every event has it; each row's properties are read once
    (:func:`property_value`), and slot ``k``'s checks read its raw JSON text ``raw_k``.
    """
    p = prefix
    aligned = _aligned(chunk)
    reject: list[str] = []
    columns: list[str] = []
    for k in range(_slot_count(chunk)):
        props = [item[k] if k < len(item) else None for item in aligned]
        present = [prop for prop in props if prop is not None]
        names = [prop.name if prop else "" for prop in props]
        if len(set(names)) == 1:
            values.data[f"{p}n{k}"] = names[0]
            name = f"{{{p}n{k}}}"
        else:
            values.data[f"{p}n{k}"] = names
            name = f"{{{p}n{k}}}[ei]"
        raw = property_value(f"({name} AS {p}name_{k})", values)
        columns.append(
            f"countIf((JSONType({raw} AS {p}raw_{k}) AS {p}jt_{k}) = 'Null'"
            f" AND {p}name_{k} != '') AS {p}missing_{k}"
        )
        codes = {_type_code(prop) for prop in present}
        if len(codes) == 1:
            accepted = " OR ".join(_type_checks(k, set(codes.pop()), guarded=False, prefix=p))
        else:
            values.data[f"{p}t{k}"] = [_type_code(prop) if prop else _NO_SLOT for prop in props]
            accepted = " OR ".join(
                [
                    f"({{{p}t{k}}}[ei] AS {p}tm_{k}) = '{_ANYTHING}' AND {p}jt_{k} != 'Null'",
                    *_type_checks(k, set("".join(codes)) - {_ANYTHING}, guarded=True, prefix=p),
                ]
            )
        columns.append(f"countIf(({accepted}) AS {p}ok_{k}) AS {p}accepted_{k}")
        required = {prop.required for prop in present}
        if required == {True}:
            reject.append(f"{p}name_{k} != '' AND NOT {p}ok_{k}")
        elif required == {True, False}:
            flag = values.per_event(
                f"{p}q{k}", [int(prop.required) if prop else None for prop in props]
            )
            reject.append(f"({flag} AS {p}rq_{k}) = 1 AND {p}name_{k} != '' AND NOT {p}ok_{k}")
        if any(prop.rules.any for prop in present):
            columns.append(_rule_column(k, props, values, prefix=p))
    return columns, " OR ".join(reject) or "1 = 0"


def property_value(name: str, values: QueryValues) -> str:
    """HogQL of the raw JSON text of the row's property ``name`` (a HogQL expression), ``''``
    when the row lacks it.

    The row's properties are parsed once into key and value lists (``prop_keys``,
    ``prop_values``), which every property lookup of the query shares, instead of parsing the
    JSON again for each check. The raw text reads as the property does: ``JSONType(raw)``,
    ``JSONExtractString(raw)``, ``JSONExtractFloat(raw)`` give what the same function gives for
    ``(properties, name)``, except that a whole-number double (``1.0``) types as ``Int64``.
    """
    raws = values.alias("prop_values", f"tupleElement({values.alias('prop_pairs', _PAIRS)}, 2)")
    return f"{raws}[indexOf({property_keys(values)}, {name})]"


def property_keys(values: QueryValues) -> str:
    """HogQL of the row's property keys, from the once-per-row parse of :func:`property_value`."""
    return values.alias("prop_keys", f"tupleElement({values.alias('prop_pairs', _PAIRS)}, 1)")


def _type_checks(k: int, letters: set[str], *, guarded: bool, prefix: str = "") -> list[str]:
    """The checks that slot ``k``'s value coerces to one of the types ``letters``.

    ``guarded`` prefixes each check with a test of the event's own type letters (``tm_K``),
    for slots whose events expect different types.
    """
    jt = f"{prefix}jt_{k}"
    text = f"JSONExtractString({prefix}raw_{k})"
    by_letter = {
        _ANYTHING: [f"{jt} != 'Null'"],
        "N": [
            f"{jt} IN {NUMBER_TYPES}",
            f"{jt} = 'String' AND match({text}, {NUMBER_LITERAL})",
        ],
        "B": [f"{jt} = 'Bool'", f"{jt} = 'String' AND {text} IN ('true', 'false')"],
        "D": [
            f"{jt} IN {NUMBER_TYPES}",
            f"{jt} = 'String' AND parseDateTime64BestEffortOrNull({text}) IS NOT NULL",
        ],
        "O": [f"{jt} IN ('Object', 'Array')"],
    }
    checks: list[str] = []
    for letter in sorted(letters):
        for check in by_letter[letter]:
            guard = f"position({prefix}tm_{k}, '{letter}') > 0 AND " if guarded else ""
            if guard + check not in checks:
                checks.append(guard + check)
    return checks


def _rule_column(
    k: int, props: Sequence[PropertyExpectation | None], values: QueryValues, prefix: str = ""
) -> str:
    """Rows where slot ``k``'s present value breaks a value rule (a flat OR chain).

    Enums match JSON strings by their text and numbers by their JSON form; patterns apply to
    strings; ``min``/``max`` to numbers and numeric strings.
    """
    p = prefix
    jt = f"{p}jt_{k}"
    raw = f"{p}raw_{k}"
    text = f"JSONExtractString({raw})"
    rule_letters = (_RULE_ENUM, _RULE_PATTERN, _RULE_MIN, _RULE_MAX)
    letters = [
        "".join(letter for letter in rule_letters if _rule_setting(letter, prop.rules) is not None)
        if prop
        else None
        for prop in props
    ]
    present = {item for item in letters if item is not None}
    mixed = len(present) > 1
    guard = ""
    if mixed:
        values.data[f"{p}rf{k}"] = [item or "" for item in letters]
    checks: list[str] = []
    for letter in rule_letters:
        if not any(letter in item for item in present):
            continue
        if mixed:
            guard = f"position({p}rf_{k}, '{letter}') > 0 AND "
        setting = values.per_event(
            f"{p}{letter.lower()}{k}",
            [None if prop is None else _rule_setting(letter, prop.rules) for prop in props],
        )
        if letter == _RULE_ENUM:
            checks.append(f"{guard}{jt} = 'String' AND NOT match({text}, {setting})")
            checks.append(f"{guard}{jt} != 'String' AND NOT match({raw}, {setting})")
        elif letter == _RULE_PATTERN:
            checks.append(f"{guard}{jt} = 'String' AND NOT match({text}, {setting})")
        else:
            operator = "<" if letter == _RULE_MIN else ">"
            number = f"JSONExtractFloat({raw})"
            checks.append(f"{guard}{jt} IN {NUMBER_TYPES} AND {number} {operator} {setting}")
            checks.append(
                f"{guard}{jt} = 'String' AND toFloat64OrNull({text}) {operator} {setting}"
            )
    scope = f"({{{p}rf{k}}}[ei] AS {p}rf_{k}) != '' AND " if mixed else ""
    return (
        f"countIf(({scope}{p}name_{k} != '' AND {jt} != 'Null' AND ({' OR '.join(checks)}))"
        f" AS {p}rb_{k}) AS {p}rule_violations_{k}"
    )


def _rule_setting(letter: str, rules: ValueRules) -> object | None:
    """The value of one kind of rule (the enum as an RE2 pattern), or ``None`` when unset."""
    if letter == _RULE_ENUM:
        return enum_pattern(rules.enum) if rules.enum is not None else None
    if letter == _RULE_PATTERN:
        return rules.regex
    return rules.minimum if letter == _RULE_MIN else rules.maximum


def decode_conformance(
    result: HogQLResult,
    chunk: Sequence[EventExpectation],
    context: EvidenceContext | None = None,
) -> list[EventConformance]:
    """Turn a conformance query's rows into one :class:`EventConformance` per event of ``chunk``.

    Events without rows in the window get zero counts. A present value that is not accepted has
    the wrong type. With a ``context``, each property that broke carries its evidence.
    """
    rows = {row["event"]: row for row in result.rows()}
    decoded: list[EventConformance] = []
    for item, aligned in zip(chunk, _aligned(chunk), strict=True):
        row = rows.get(item.event, {})
        total = int(row.get("total", 0))
        properties = []
        for k, prop in enumerate(aligned):
            missing = int(row.get(f"missing_{k}", 0))
            present = total - missing
            properties.append(
                PropertyConformance(
                    property=prop.name,
                    types=sorted(prop.types),
                    required=prop.required,
                    present=present,
                    missing=missing,
                    wrong_type=present - int(row.get(f"accepted_{k}", 0)),
                    rule_violations=int(row.get(f"rule_violations_{k}", 0)),
                    evidence=decode_evidence(row, k, context) if context and row else None,
                )
            )
        decoded.append(
            EventConformance(
                event=item.event,
                events=total,
                with_unexpected_properties=int(row.get("unexpected", 0)),
                would_reject=int(row.get("would_reject", 0)),
                enforcement_mode=item.enforcement_mode,
                properties=sorted(properties, key=lambda entry: entry.property),
            )
        )
    return decoded


# --- property keys and event volumes -----------------------------------------------------------


def property_breakdown_query(
    events: Sequence[str], window_seconds: int, sample: float | None = None
) -> HogQLQuery:
    """Every property key on ``events`` in the window, with its JSON type and event count."""
    query = (
        "SELECT event, arrayJoin(JSONExtractKeys(properties)) AS key,"
        " JSONType(properties, key) AS json_type, count() AS total\n"
        f"FROM events{sample_clause(sample)}\nWHERE event IN {{events}} AND {WINDOW_FILTER}\n"
        "GROUP BY event, key, json_type\n"
        f"ORDER BY total DESC, event, key, json_type\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, {"events": list(events), "window_seconds": int(window_seconds)})


def property_breakdown_chunks(
    events: Sequence[str],
    window_seconds: int,
    *,
    max_chars: int = MAX_QUERY_CHARS,
    sample: float | None = None,
) -> Iterator[HogQLQuery]:
    """Split :func:`property_breakdown_query` so each query stays under ``max_chars``."""
    chunk: list[str] = []
    size = 0
    for event in events:
        cost = len(json.dumps(event)) + 2
        if chunk and size + cost > max_chars // 2:
            yield property_breakdown_query(chunk, window_seconds, sample)
            chunk, size = [], 0
        chunk.append(event)
        size += cost
    if chunk:
        yield property_breakdown_query(chunk, window_seconds, sample)


def decode_property_breakdown(result: HogQLResult) -> list[KeyCount]:
    """Turn a breakdown query's rows into :class:`KeyCount` s."""
    return [
        KeyCount(str(row["event"]), str(row["key"]), str(row["json_type"]), int(row["total"]))
        for row in result.rows()
    ]


def event_volume_query(
    window_seconds: int, events: Sequence[str] | None = None, sample: float | None = None
) -> HogQLQuery:
    """Every event name seen in the window (or only ``events``) with its count and last time,
    busiest first."""
    values: dict[str, Any] = {"window_seconds": int(window_seconds)}
    only = ""
    if events is not None:
        values["events"] = list(events)
        only = "event IN {events} AND "
    query = (
        "SELECT event, count() AS total, max(timestamp) AS last_seen\n"
        f"FROM events{sample_clause(sample)}\nWHERE {only}{WINDOW_FILTER}\n"
        f"GROUP BY event\nORDER BY total DESC, event\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, values)


def decode_event_volumes(result: HogQLResult) -> list[EventVolume]:
    """Turn a volume query's rows into :class:`EventVolume` s."""
    return [
        EventVolume(str(row["event"]), int(row["total"]), _timestamp(row.get("last_seen")))
        for row in result.rows()
    ]


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def unexpected_counts(
    keys: Sequence[KeyCount], allowed: Mapping[str, frozenset[str]]
) -> dict[str, dict[str, int]]:
    """Per event, each key that is neither expected nor ``$``-prefixed, with its event count."""
    found: dict[str, dict[str, int]] = {}
    for item in keys:
        names = allowed.get(item.event)
        if names is None or item.key.startswith("$") or item.key in names:
            continue
        per_event = found.setdefault(item.event, {})
        # A key with several JSON types comes in several rows; each row is distinct events.
        per_event[item.key] = per_event.get(item.key, 0) + item.events
    return found
