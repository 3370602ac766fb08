"""HogQL in the sandbox: PostHog's own parser, and a translation to ClickHouse SQL.

Queries are parsed by PostHog's HogQL parser (the ``hogql-parser`` package, ``parse_select_json``,
run in a worker process by ``parser_worker``) and the JSON syntax tree is translated here into
ClickHouse SQL for the sandbox's ``events`` and ``ingestion_warnings`` tables. The translation
accepts a subset of HogQL, the one schema audits need:

* one ``SELECT`` over ``events`` (optionally aliased, optionally ``SAMPLE 1/10 [OFFSET 1/2]``:
  a share of the people, the rows ClickHouse's sampling keeps on PostHog's sampling key
  ``cityHash64(distinct_id)``) or over ``system.ingestion_warnings`` (optionally aliased),
  with ``DISTINCT``, ``WHERE``, ``GROUP BY``, ``HAVING``, ``ORDER BY`` and ``LIMIT``; no
  joins, subqueries, ``UNION``, ``WITH``, ``ARRAY JOIN``, window functions or ``OFFSET``
  (PostHog refuses ``OFFSET`` on personal-API-key queries too);
* on ``events`` the fields ``uuid``, ``event``, ``distinct_id``, ``properties`` and
  ``timestamp``, and ``properties.<name>``, which reads like PostHog's: the property as a string,
  ``NULL`` when it is missing or ``null`` (use ``JSONType``/``JSONExtract*`` on ``properties``
  for typed access); on ``system.ingestion_warnings`` PostHog's fields ``source``, ``type``,
  ``details`` (JSON text: ``JSONExtractString(details, 'eventName')``) and ``timestamp``;
  either way a query sees only its own project's rows (PostHog's hidden ``team_id``);
* constants, arrays, tuples, ``AND``/``OR``/``NOT``, comparisons, ``IN``, ``LIKE``, ``=~``,
  ``BETWEEN``, arithmetic, aliases, lambdas inside ``array*`` functions, and the functions in
  ``SUPPORTED_FUNCTIONS`` (parametric aggregations such as ``topK(10)(x)`` checked as PostHog
  checks them; ``toDateTime`` and the date-time parsers printed as PostHog prints them, in UTC,
  the sandbox project's time zone);
* ``{placeholders}`` filled from ``values`` (strings, numbers, booleans, ``null``, lists of them).

Everything else is refused with ``HogQLUnsupportedError``, whose message says what is supported.
Every constant and placeholder value reaches the SQL as an escaped ClickHouse literal, and every
name as an escaped identifier, so no value can change the shape of a query.

As in PostHog, a query without ``LIMIT`` returns at most 100 rows (``DEFAULT_LIMIT``) and tells
whether there are more; an explicit ``LIMIT`` is capped at 50,000 rows (``MAX_LIMIT``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from eventschema_tools.sandbox.events.parser_worker import (
    DEFAULT_PARSE_TIMEOUT,
    ParserCrashedError,
    ParseTimeoutError,
    parse_select,
)

__all__ = [
    "DEFAULT_LIMIT",
    "EVENT_FIELDS",
    "INGESTION_WARNING_FIELDS",
    "MAX_LIMIT",
    "OFFSET_NOT_ALLOWED_MESSAGE",
    "SUPPORTED_FUNCTIONS",
    "CompiledQuery",
    "HogQLError",
    "HogQLSyntaxError",
    "HogQLTooComplexError",
    "HogQLUnsupportedError",
    "compile_hogql",
    "parse_hogql",
]

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 50_000
EVENT_FIELDS: Final = ("uuid", "event", "distinct_id", "properties", "timestamp")
INGESTION_WARNING_FIELDS: Final = ("source", "type", "details", "timestamp")
"""The visible fields of PostHog's ``system.ingestion_warnings``, in PostHog's order."""
OFFSET_NOT_ALLOWED_MESSAGE: Final = (
    "OFFSET is not supported on queries made with a personal API key. For pagination, use keyset "
    "pagination on the `timestamp` column, e.g. `WHERE timestamp > :last_seen_timestamp ORDER BY "
    "timestamp LIMIT N`. For bulk data extraction, use batch exports: "
    "https://posthog.com/docs/cdp/batch-exports"
)

_SUPPORTED_SYNTAX: Final = (
    "The sandbox runs one SELECT over `events` (optionally with SAMPLE 0.1 or SAMPLE 1/10; "
    "fields uuid, event, distinct_id, properties, timestamp and properties.<name>) or over "
    "`system.ingestion_warnings` (fields source, type, details, timestamp) with "
    "DISTINCT, WHERE, GROUP BY, HAVING, ORDER BY and LIMIT, "
    "constants, arrays, tuples, AND/OR/NOT, comparisons, IN, LIKE, =~, BETWEEN, arithmetic, "
    "aliases, lambdas in array functions, {placeholders} and the functions listed at "
    "SUPPORTED_FUNCTIONS."
)
_HIDDEN_COLUMN: Final = "team_id"
_IDENTIFIER_ESCAPES: Final = {"\\": "\\\\", "`": "\\`"}
_STRING_ESCAPES: Final = {
    "\\": "\\\\",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
    "\r": "\\r",
    "\n": "\\n",
    "\t": "\\t",
    "\0": "\\0",
    "\a": "\\a",
    "\v": "\\v",
}
_CONTROL_CHARACTER: Final = re.compile(r"[\x00-\x1f\x7f]")
_TIMEZONE: Final = "UTC"
"""The sandbox project's time zone, which PostHog's date-time functions read text in."""
# Text PostHog hands to ClickHouse's own toDateTime64/toDateTime instead of the parser.
_CLICKHOUSE_DATETIME64: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,6}")
_CLICKHOUSE_DATETIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?")
_DATED_OR_NUMBER_FUNCTIONS: Final = frozenset(
    {"now", "today", "toDate", "toDateTime", "toStartOfHour", "toStartOfDay", "toUnixTimestamp"}
    | {"parseDateTime64BestEffortOrNull", "parseDateTimeBestEffort", "dateDiff", "length"}
    | {"toStartOfInterval", "fromUnixTimestamp"}
)


class HogQLError(ValueError):
    """A HogQL query the sandbox cannot run; the message says why (a 400 for the caller)."""


class HogQLSyntaxError(HogQLError):
    """The query does not parse as HogQL."""


class HogQLUnsupportedError(HogQLError):
    """The query parses but uses something outside the sandbox's HogQL subset."""


class HogQLTooComplexError(HogQLError):
    """The query is too large or nests too deeply: the parser overran its time or stopped."""


@dataclass(frozen=True)
class _Function:
    """How a HogQL function is written in ClickHouse SQL, and how many arguments it takes.

    ``min_params``/``max_params`` bound the parameters of a parametric aggregation
    (``topK(10)(x)``); ``datetime`` marks the functions PostHog reads in the project's time
    zone (``_Translator._datetime_call``); ``overload`` is the ClickHouse function PostHog
    calls instead when the first argument is a date, a date-time or a number.
    """

    clickhouse: str
    min_args: int
    max_args: int | None
    aggregate: bool = False
    takes_lambda: bool = False
    min_params: int = 0
    max_params: int = 0
    suffix_args: tuple[str, ...] = ()
    datetime: bool = False
    overload: str | None = None


def _functions() -> dict[str, _Function]:
    table: dict[str, _Function] = {}

    def add(names: str, min_args: int, max_args: int | None, **options: Any) -> None:
        clickhouse = options.pop("clickhouse", None)
        for name in names.split():
            table[name] = _Function(clickhouse or name, min_args, max_args, **options)

    add("count", 0, 1, aggregate=True)
    add("sumIf avgIf minIf maxIf anyIf argMax argMin", 2, 2, aggregate=True)
    add("countIf", 1, 2, aggregate=True)
    add("sum avg min max any median", 1, 1, aggregate=True)
    # PostHog checks parameters only where it requires them, so these keep ClickHouse's
    # optional `max_size` parameter: groupUniqArray(21)(x).
    add("groupArray groupUniqArray", 1, 1, aggregate=True, max_params=1)
    add("groupArrayIf groupUniqArrayIf", 2, 2, aggregate=True, max_params=1)
    add("sumMap minMap maxMap", 1, 2, aggregate=True)
    add("sumMapIf minMapIf maxMapIf", 2, 3, aggregate=True)
    add("argMinIf argMaxIf", 3, 3, aggregate=True)
    add("uniq uniqExact", 1, None, aggregate=True)
    add("uniqIf", 2, None, aggregate=True)
    add("quantile topK", 1, 1, aggregate=True, min_params=1, max_params=1)
    add("isValidJSON", 1, 1)
    add("JSONHas JSONLength JSONType JSONExtractString JSONExtractRaw JSONExtractFloat", 1, None)
    add("JSONExtractInt JSONExtractUInt JSONExtractBool JSONExtractArrayRaw", 1, None)
    add("JSONExtractKeys", 1, None)
    add("JSONExtractKeysAndValuesRaw", 1, None)
    add("has hasAny hasAll indexOf", 2, 2)
    add("transform", 3, 4)
    add("arrayEnumerate", 1, 1)
    add("length empty notEmpty arrayJoin arrayDistinct lengthUTF8", 1, 1)
    add("arrayIntersect arrayConcat arraySort", 1, None)
    add("arrayStringConcat", 1, 2)
    add("arrayExists arrayAll arrayFilter arrayMap arrayCount", 1, None, takes_lambda=True)
    add("toString", 1, 2)
    add("toTypeName toFloat64OrNull toInt64OrNull toStartOfHour toStartOfDay", 1, 1)
    # PostHog's table: an optional third argument is the origin of the intervals.
    add("toStartOfInterval", 2, 3)
    add("fromUnixTimestamp", 1, 1)
    add("toDate", 1, 1, clickhouse="toDateOrNull", overload="toDate")
    add("toFloatOrNull", 1, 1, clickhouse="toFloat64OrNull")
    add("toIntOrNull", 1, 1, clickhouse="toInt64OrNull")
    add("toFloat", 1, 1, clickhouse="accurateCastOrNull", suffix_args=("'Float64'",))
    add("toInt", 1, 1, clickhouse="accurateCastOrNull", suffix_args=("'Int64'",))
    # PostHog's table: these parse text in the project's time zone (or the one given second).
    add("toDateTime", 1, 2, datetime=True, overload="toDateTime")
    add("parseDateTime64BestEffortOrNull parseDateTimeBestEffort", 1, 2, datetime=True)
    add("toUnixTimestamp", 1, 1)
    add("now today", 0, 0)
    add("dateDiff", 3, 4)
    add("toIntervalSecond toIntervalMinute toIntervalHour toIntervalDay toIntervalWeek", 1, 1)
    add("toIntervalMonth toIntervalYear", 1, 1)
    add("trim trimLeft trimRight lower upper", 1, 1)
    add("startsWith endsWith match like ilike notLike notILike position splitByChar", 2, 2)
    add("concat", 1, None)
    add("substring", 2, 3)
    add("replaceAll replaceRegexpAll replaceRegexpOne", 3, 3)
    add("if", 3, 3)
    add("multiIf", 3, None)
    add("isNull isNotNull assumeNotNull", 1, 1)
    add("coalesce", 1, None)
    add("ifNull nullIf", 2, 2)
    add("equals notEquals less greater lessOrEquals greaterOrEquals", 2, 2)
    add("and or", 2, None)
    add("not abs", 1, 1)
    add("plus minus multiply divide modulo intDiv least greatest", 2, 2)
    add("round floor ceil", 1, 2)
    add("tuple", 0, None)
    add("tupleElement", 2, 2)
    return table


SUPPORTED_FUNCTIONS: Final[Mapping[str, _Function]] = _functions()
# SQL-standard names HogQL (like ClickHouse) accepts in any letter case.
_CASE_INSENSITIVE_NAMES: Final = (
    "count sum avg min max if coalesce isNull ifNull nullIf lower upper length concat "
    "substring abs round floor ceil trim not and or"
)
_CASE_INSENSITIVE: Final = {name.lower(): name for name in _CASE_INSENSITIVE_NAMES.split(" ")}
_COMPARISONS: Final = {
    "==": "equals",
    "!=": "notEquals",
    "<": "less",
    "<=": "lessOrEquals",
    ">": "greater",
    ">=": "greaterOrEquals",
    "in": "in",
    "not in": "notIn",
    "like": "like",
    "not like": "notLike",
    "ilike": "ilike",
    "not ilike": "notILike",
}
_ORDERING: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})
_REGEX_COMPARISONS: Final = {"=~": (False, False), "!~": (True, False), "=~*": (False, True)}
_REGEX_COMPARISONS_NEGATED_CI: Final = "!~*"
_ARITHMETIC: Final = {"+": "plus", "-": "minus", "*": "multiply", "/": "divide", "%": "modulo"}
_SELECT_CLAUSES: Final = frozenset(
    {"node", "start", "end", "select", "select_from", "distinct", "where", "group_by"}
    | {"having", "order_by", "limit"}
)


@dataclass(frozen=True)
class CompiledQuery:
    """A HogQL query translated to ClickHouse SQL.

    Attributes:
        clickhouse: The SQL to run, on the events table given to ``compile_hogql``.
        columns: The result's column names, as PostHog names them (alias, or the expression's
            HogQL text).
        paginated: True when the query had no ``LIMIT``: the SQL fetches ``limit + 1`` rows so
            the answer can say whether there are more (``hasMore``).
        limit: The rows to return when ``paginated`` (``DEFAULT_LIMIT``), else ``None``.
    """

    clickhouse: str
    columns: tuple[str, ...]
    paginated: bool
    limit: int | None


def parse_hogql(query: str, *, timeout: float = DEFAULT_PARSE_TIMEOUT) -> dict[str, Any]:
    """Parse a HogQL SELECT statement with PostHog's parser.

    The parser runs in a worker process (see ``parser_worker``), so a query that takes it long
    cannot stall the caller.

    Args:
        query: The HogQL text.
        timeout: Seconds the parser may take.

    Returns:
        The syntax tree, as the parser's JSON decodes (nodes are dicts with a ``node`` key).

    Raises:
        HogQLSyntaxError: The text does not parse; the message is the parser's, with the line
            and column.
        HogQLTooComplexError: The parser did not finish within ``timeout``, stopped on the
            query, or the tree nests too deeply to read.
        ParserUnavailableError: The parser worker could not run.
    """
    if not isinstance(query, str):
        raise HogQLSyntaxError(f"a HogQL query must be a string, got {type(query).__name__}")
    try:
        tree: dict[str, Any] = json.loads(parse_select(query, timeout=timeout))
    except UnicodeEncodeError:
        raise HogQLSyntaxError("the query is not valid Unicode text") from None
    except ParseTimeoutError:
        raise HogQLTooComplexError(
            f"The HogQL parser did not finish within {timeout:g} seconds. Its time grows steeply "
            "with how deeply function calls nest and with the number of calls: nest fewer calls "
            "(e.g. `x IS NULL` instead of `isNull(x)`), or split the query."
        ) from None
    except ParserCrashedError:
        raise HogQLTooComplexError(
            "The HogQL parser stopped on this query: it is too large or nests too deeply (e.g. "
            "a long chain of `::` casts, `[...]` subscripts or operators). Nest less, or split "
            "the query."
        ) from None
    except RecursionError:
        raise _too_deep() from None
    if tree.get("error"):
        offset = (tree.get("start") or {}).get("offset")
        where = ""
        if isinstance(offset, int):
            line = query.count("\n", 0, offset) + 1
            column = offset - query.rfind("\n", 0, offset)
            where = f" (line {line}, column {column})"
        raise HogQLSyntaxError(f"{tree.get('message', 'syntax error')}{where}")
    return tree


def compile_hogql(
    query: str,
    values: Mapping[str, object] | None,
    *,
    events_table: str,
    project_id: int,
    warnings_table: str | None = None,
) -> CompiledQuery:
    """Translate a HogQL query into ClickHouse SQL over one project's events or warnings.

    Args:
        query: The HogQL text.
        values: Values for the query's ``{placeholders}``.
        events_table: The quoted, fully qualified name of the events table to read.
        project_id: Only this project's rows are visible to the query.
        warnings_table: The quoted, fully qualified name of the ingestion warnings table that
            ``FROM system.ingestion_warnings`` reads; ``None`` refuses that table.

    Raises:
        HogQLSyntaxError: The query does not parse.
        HogQLUnsupportedError: The query is outside the supported subset, uses an unknown field
            or function, or a placeholder without a value.
        HogQLTooComplexError: The query is too large or nests too deeply.
    """
    tree = parse_hogql(query)
    checked_values = _check_values(values or {})
    tables = {_EVENTS.name: events_table}
    if warnings_table is not None:
        tables[_INGESTION_WARNINGS.name] = warnings_table
    try:
        return _Translator(query, checked_values, tables, project_id).select(tree)
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> HogQLTooComplexError:
    return HogQLTooComplexError(
        "The query's expressions nest too deeply for the sandbox to translate; nest less, or "
        "split the query."
    )


# --- values and literals --------------------------------------------------------------------------


def _check_values(values: Mapping[str, object]) -> dict[str, object]:
    if not isinstance(values, Mapping):
        raise HogQLUnsupportedError(
            "`values` must be an object mapping placeholder names to values"
        )
    for name, value in values.items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if item is not None and not isinstance(item, str | int | float | bool):
                raise HogQLUnsupportedError(
                    f"value {{{name}}} must be a string, number, boolean, null or a list of them; "
                    f"got {type(item).__name__}"
                )
    return dict(values)


def _literal(value: object) -> str:
    """Render a value as a ClickHouse literal; strings are quoted and escaped."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return f"'{_escape(value, _STRING_ESCAPES)}'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    raise HogQLUnsupportedError(f"cannot use a {type(value).__name__} as a value")


def _identifier(name: str) -> str:
    """Render a name as a backquoted ClickHouse identifier."""
    return f"`{_escape(name, _IDENTIFIER_ESCAPES)}`"


def _escape(text: str, escapes: Mapping[str, str]) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise HogQLUnsupportedError("text in a query must be valid Unicode") from None
    escaped = "".join(escapes.get(char, char) for char in text)
    return _CONTROL_CHARACTER.sub(lambda found: f"\\x{ord(found.group()):02x}", escaped)


# --- the translation ------------------------------------------------------------------------------


# PostHog's events table is sampled by person: `SAMPLE BY cityHash64(distinct_id)`, and PostHog
# hands `SAMPLE` to ClickHouse as written. ClickHouse keeps the rows whose sampling key falls in
# [offset, offset + size) of the key's range, both ends truncated to integers; the sandbox's
# table has no sampling key, so the same range becomes a filter (the same rows, without the
# speed-up).
_SAMPLE_KEY: Final = "cityHash64(distinct_id)"
_SAMPLE_KEY_RANGE: Final = 1 << 64
_SAMPLE_SHARE_HINT: Final = "give a share between 0 and 1, such as 0.1 or 1/10"


def _ratio(node: Mapping[str, Any] | None, what: str) -> Fraction:
    """A ``RatioExpr`` (``0.1``, ``1/10``) as the exact fraction ClickHouse reads."""
    if node and node.get("node") == "Placeholder":
        raise HogQLUnsupportedError(
            f"{what} takes a ratio written in the query, not a placeholder; {_SAMPLE_SHARE_HINT}"
        )
    if not node or node.get("node") != "RatioExpr":
        raise _unsupported(f"{what} written as {_describe(node or {})}")
    parts = []
    for side in (node.get("left"), node.get("right")):
        if side is None:
            parts.append(Fraction(1))
            continue
        value = side.get("value") if side.get("node") == "Constant" else None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise HogQLUnsupportedError(f"{what} must be a ratio of numbers; {_SAMPLE_SHARE_HINT}")
        if value < 0:
            raise HogQLUnsupportedError(f"{what} must not be negative; {_SAMPLE_SHARE_HINT}")
        # The decimal text PostHog prints for the number, read exactly (0.1 is 1/10).
        parts.append(Fraction(str(value)))
    if parts[1] == 0:
        raise HogQLUnsupportedError(f"{what} divides by zero; {_SAMPLE_SHARE_HINT}")
    return parts[0] / parts[1]


def _sample_filter(sample: Mapping[str, Any]) -> str | None:
    """The filter that keeps the rows ``SAMPLE size [OFFSET offset]`` keeps (None: all rows)."""
    size = _ratio(sample.get("sample_value"), "SAMPLE")
    offset = Fraction(0)
    if sample.get("offset_value"):
        offset = _ratio(sample["offset_value"], "SAMPLE OFFSET")
    for what, value in (("SAMPLE", size), ("SAMPLE OFFSET", offset)):
        if value > 1:
            raise HogQLUnsupportedError(
                f"{what} {value} is a number of rows, which ClickHouse turns into a share from "
                f"its estimate of the rows it would read; the sandbox cannot reproduce that, so "
                f"{_SAMPLE_SHARE_HINT}"
            )
    if size in (0, 1):
        # ClickHouse reads SAMPLE 1, and SAMPLE 0, as no sampling, which takes no OFFSET.
        if offset > 0:
            raise HogQLUnsupportedError(
                f"Sampling offset is incorrect because no sampling: SAMPLE {size} reads every "
                f"event, so it takes no OFFSET; {_SAMPLE_SHARE_HINT}"
            )
        return None
    if offset == 1:
        return "0"
    low = int(offset * _SAMPLE_KEY_RANGE)
    high = offset + size
    checks = [f"greaterOrEquals({_SAMPLE_KEY}, {low})"] if low else []
    if high < 1:
        checks.append(f"less({_SAMPLE_KEY}, {int(high * _SAMPLE_KEY_RANGE)})")
    if len(checks) < 2:
        return checks[0] if checks else None
    return f"and({', '.join(checks)})"


@dataclass(frozen=True)
class _Table:
    """A table the sandbox's HogQL reads, as PostHog's database schema describes it.

    ``name`` is how a query names it after ``FROM``; ``implicit_alias`` is the name PostHog gives
    it when the query does not (its chain joined with ``__``); ``json_field`` is the field read
    with ``<field>.<key>``; ``hint`` ends the message for a field the table does not have.
    """

    name: str
    fields: tuple[str, ...]
    implicit_alias: str
    hint: str
    json_field: str | None = None
    sampled: bool = False


_EVENTS: Final = _Table(
    "events",
    EVENT_FIELDS,
    "events",
    "read a property with properties.<name> or JSONExtract*(properties, '<name>')",
    json_field="properties",
    sampled=True,
)
_INGESTION_WARNINGS: Final = _Table(
    "system.ingestion_warnings",
    INGESTION_WARNING_FIELDS,
    "system__ingestion_warnings",
    "details is JSON text: read a key with JSONExtractString(details, '<key>')",
)
_TABLES: Final = {table.name: table for table in (_EVENTS, _INGESTION_WARNINGS)}


class _Translator:
    """Turns one parsed SELECT into ClickHouse SQL, refusing what it does not know."""

    def __init__(
        self,
        query: str,
        values: Mapping[str, object],
        tables: Mapping[str, str],
        project_id: int,
    ) -> None:
        self._query = query
        self._values = values
        self._tables = tables
        self._project_id = project_id
        # The fields a query without FROM names are still checked against the events table's.
        self._table = _EVENTS
        self._table_names = {_EVENTS.implicit_alias}
        self._aliases: set[str] = set()
        self._lambda_scopes: list[set[str]] = []
        self._allow_star = False
        self._sample_filter: str | None = None

    def select(self, tree: Mapping[str, Any]) -> CompiledQuery:
        if tree.get("node") != "SelectQuery":
            raise _unsupported(f"{_describe(tree)} (only a single SELECT)")
        for clause, content in tree.items():
            if clause not in _SELECT_CLAUSES and content not in (None, False, [], {}):
                raise self._clause_error(clause)
        source = self._check_from(tree.get("select_from"))
        self._aliases = set(_collect_aliases(tree))
        if _HIDDEN_COLUMN in self._aliases:
            raise _unsupported(f"`{_HIDDEN_COLUMN}` cannot be used as an alias")

        columns: list[str] = []
        expressions: list[str] = []
        for item in tree.get("select") or []:
            if item.get("node") == "Field" and item.get("chain") == ["*"]:
                columns.extend(self._table.fields)
                expressions.extend(self._table.fields)
                continue
            columns.append(self._column_name(item))
            expressions.append(self._expression(item, top_level=True))
        if not expressions:
            raise _unsupported("a SELECT without columns")

        sql = ["SELECT DISTINCT" if tree.get("distinct") else "SELECT", ", ".join(expressions)]
        if source is not None:
            sql.append(f"FROM {source}")
            condition = f"equals({_HIDDEN_COLUMN}, {int(self._project_id)})"
            if self._sample_filter is not None:
                condition = f"and({condition}, {self._sample_filter})"
            if tree.get("where") is not None:
                condition = f"and({condition}, {self._expression(tree['where'])})"
            sql.append(f"WHERE {condition}")
        elif tree.get("where") is not None:
            sql.append(f"WHERE {self._expression(tree['where'])}")
        if tree.get("group_by"):
            sql.append("GROUP BY " + ", ".join(self._expression(e) for e in tree["group_by"]))
        if tree.get("having") is not None:
            sql.append(f"HAVING {self._expression(tree['having'])}")
        if tree.get("order_by"):
            sql.append("ORDER BY " + ", ".join(self._order(e) for e in tree["order_by"]))
        limit = self._limit(tree.get("limit"))
        sql.append(f"LIMIT {DEFAULT_LIMIT + 1 if limit is None else limit}")
        return CompiledQuery(
            clickhouse=" ".join(sql),
            columns=tuple(columns),
            paginated=limit is None,
            limit=DEFAULT_LIMIT if limit is None else None,
        )

    # clauses

    def _clause_error(self, clause: str) -> HogQLError:
        if clause == "offset":
            return HogQLUnsupportedError(OFFSET_NOT_ALLOWED_MESSAGE)
        readable = {
            "ctes": "WITH",
            "prewhere": "PREWHERE",
            "limit_by": "LIMIT BY",
            "limit_with_ties": "LIMIT WITH TIES",
            "window_exprs": "WINDOW",
            "array_join_op": "ARRAY JOIN",
            "array_join_list": "ARRAY JOIN",
            "qualify": "QUALIFY",
            "settings": "SETTINGS",
            "view_name": "views",
        }.get(clause, clause)
        return _unsupported(readable)

    def _check_from(self, source: Mapping[str, Any] | None) -> str | None:
        """Check the ``FROM`` clause and return the SQL name of the table it reads (or None)."""
        if source is None:
            return None
        table = source.get("table") or {}
        chain = table.get("chain") if table.get("node") == "Field" else None
        name = ".".join(map(str, chain or [])) or _describe(table)
        if source.get("node") != "JoinExpr" or name not in self._tables:
            readable = " and ".join(f"`FROM {known}`" for known in self._tables)
            raise _unsupported(f"reading from `{name}` (only {readable})")
        self._table = _TABLES[name]
        self._table_names = {self._table.implicit_alias}
        for extra, clause in (("next_join", "JOIN"), ("table_final", "FINAL")):
            if source.get(extra):
                raise _unsupported(clause)
        if source.get("sample"):
            if not self._table.sampled:
                raise _unsupported(f"SAMPLE on `{name}` (only `events` is sampled)")
            self._sample_filter = _sample_filter(source["sample"])
        if source.get("constraint") or source.get("join_type"):
            raise _unsupported("JOIN")
        if source.get("table_args"):
            raise _unsupported("table arguments")
        if source.get("alias"):
            self._table_names.add(source["alias"])
        return self._tables[name]

    def _limit(self, node: Mapping[str, Any] | None) -> int | None:
        if node is None:
            return None
        value = self._constant_value(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise HogQLUnsupportedError(f"LIMIT must be a non-negative integer, got {value!r}")
        return min(value, MAX_LIMIT)

    def _constant_value(self, node: Mapping[str, Any]) -> object:
        if node.get("node") == "Constant":
            return node.get("value")
        if node.get("node") == "Placeholder":
            return self._placeholder_value(node)
        raise _unsupported(f"{_describe(node)} in LIMIT (use a number or a placeholder)")

    def _order(self, node: Mapping[str, Any]) -> str:
        if node.get("node") != "OrderExpr":
            return self._expression(node)
        direction = "DESC" if str(node.get("order", "ASC")).upper() == "DESC" else "ASC"
        return f"{self._expression(node['expr'])} {direction}"

    def _column_name(self, node: Mapping[str, Any]) -> str:
        if node.get("node") == "Alias":
            return str(node["alias"])
        start, end = node.get("start"), node.get("end")
        if start and end:
            return self._query[start["offset"] : end["offset"]]
        if node.get("node") == "Field":
            return ".".join(str(part) for part in node["chain"])
        return _describe(node)

    # expressions

    def _expression(self, node: Mapping[str, Any], *, top_level: bool = False) -> str:
        kind = node.get("node")
        if kind == "Alias":
            return self._alias(node, top_level=top_level)
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            raise _unsupported(_describe(node))
        return handler(self, node)

    def _alias(self, node: Mapping[str, Any], *, top_level: bool) -> str:
        expression = f"{self._expression(node['expr'])} AS {_identifier(str(node['alias']))}"
        return expression if top_level else f"({expression})"

    def _constant(self, node: Mapping[str, Any]) -> str:
        return _literal(node.get("value"))

    def _placeholder(self, node: Mapping[str, Any]) -> str:
        return _literal(self._placeholder_value(node))

    def _placeholder_value(self, node: Mapping[str, Any]) -> object:
        expression = node.get("expr") or {}
        chain = expression.get("chain") if expression.get("node") == "Field" else None
        if not chain or len(chain) != 1:
            raise _unsupported("a placeholder that is not a plain {name}")
        name = str(chain[0])
        if name not in self._values:
            available = ", ".join(sorted(self._values)) or "none"
            raise HogQLUnsupportedError(
                f"Placeholder {{{name}}} is not available in this context. Add it to `values`; "
                f"values given: {available}"
            )
        return self._values[name]

    def _field(self, node: Mapping[str, Any]) -> str:
        chain = list(node.get("chain") or [])
        if len(chain) > 1 and chain[0] in self._table_names:
            chain = chain[1:]
        head = chain[0] if chain else ""
        if chain == ["*"]:
            if self._allow_star:
                return "*"
            raise _unsupported("`*` here (use `SELECT *` or `count(*)`)")
        table = self._table
        if head in table.fields:
            if len(chain) == 1:
                return str(head)
            if head == table.json_field:
                return _property_access(chain[1:])
            raise _unsupported(f"field access `{'.'.join(map(str, chain))}`")
        defined_here = head in self._aliases or any(head in s for s in self._lambda_scopes)
        if len(chain) == 1 and isinstance(head, str) and head != _HIDDEN_COLUMN and defined_here:
            return _identifier(head)
        raise HogQLUnsupportedError(
            f"Unable to resolve field: {'.'.join(map(str, node.get('chain') or []))}. The "
            f"{table.name} table has the fields {', '.join(table.fields)}; {table.hint}."
        )

    def _call(self, node: Mapping[str, Any]) -> str:
        name = str(node.get("name"))
        function = SUPPORTED_FUNCTIONS.get(name)
        if function is None and name.lower() in _CASE_INSENSITIVE:
            function = SUPPORTED_FUNCTIONS[_CASE_INSENSITIVE[name.lower()]]
        if function is None:
            raise HogQLUnsupportedError(
                f"Unsupported function call '{name}(...)'. The sandbox supports: "
                f"{', '.join(sorted(SUPPORTED_FUNCTIONS, key=str.lower))}."
            )
        arguments = list(node.get("args") or [])
        count = len(arguments)
        if count < function.min_args or (
            function.max_args is not None and count > function.max_args
        ):
            expected = (
                str(function.min_args)
                if function.min_args == function.max_args
                else f"{function.min_args} to {function.max_args or 'any number of'}"
            )
            raise HogQLUnsupportedError(
                f"Function '{name}' expects {expected} arguments, got {count}"
            )
        if node.get("distinct") and not function.aggregate:
            raise _unsupported(f"DISTINCT inside '{name}(...)'")
        params = self._params(name, function, node.get("params"))
        if node.get("filter_expr") or node.get("order_by"):
            raise _unsupported(f"FILTER or ORDER BY inside '{name}(...)'")
        rendered = [
            self._argument(argument, function, position)
            for position, argument in enumerate(arguments)
        ]
        overloaded = bool(function.overload) and self._is_dated_or_number(arguments[0])
        if function.datetime:
            return self._datetime_call(function, overloaded, arguments, rendered)
        clickhouse = function.overload if overloaded and function.overload else function.clickhouse
        rendered.extend(function.suffix_args)
        distinct = "DISTINCT " if node.get("distinct") else ""
        return f"{clickhouse}{params}({distinct}{', '.join(rendered)})"

    def _params(self, name: str, function: _Function, params: list[Any] | None) -> str:
        """The parameters of a parametric aggregation, ``(10)`` in ``topK(10)(x)``, checked."""
        if params is None:
            if function.min_params:
                raise HogQLUnsupportedError(
                    f"Aggregation '{name}' requires parameters in addition to arguments, e.g. "
                    f"{name}(10)(x)"
                )
            return ""
        if not function.max_params:
            raise _unsupported(f"parameters on '{name}(...)'")
        count, low, high = len(params), function.min_params, function.max_params
        if not low <= count <= high:
            # PostHog's wording (validate_function_args).
            bound = (
                str(low) if low == high else f"at least {low}" if count < low else f"at most {high}"
            )
            plural = "" if (low if count < low else high) == 1 else "s"
            raise HogQLUnsupportedError(
                f"Aggregation '{name}' expects {bound} parameter{plural}, found {count}"
            )
        values = [
            self._placeholder_value(param)
            if param.get("node") == "Placeholder"
            else param.get("value")
            for param in params
        ]
        if any(
            param.get("node") not in ("Constant", "Placeholder")
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            for param, value in zip(params, values, strict=True)
        ):
            raise HogQLUnsupportedError(
                f"The parameters of '{name}(...)' must be numbers, e.g. {name}(10)(x)"
            )
        return "(" + ", ".join(_literal(value) for value in values) + ")"

    def _datetime_call(
        self, function: _Function, overloaded: bool, arguments: list[Any], rendered: list[str]
    ) -> str:
        """``toDateTime`` and the best-effort parsers, printed as PostHog prints them.

        PostHog appends the project's time zone (the sandbox's is UTC) unless a second argument
        gives one, and the precision 6 the 64-bit parsers take before it. ``toDateTime`` of a date,
        date-time or number is ClickHouse's ``toDateTime``; a constant string goes to the strict
        parser (an unreadable one is an error, not NULL), or to ``toDateTime``/``toDateTime64``
        when it is already in ClickHouse's own format. A string with its own offset (``Z``,
        ``+02:00``) keeps it: the time zone only applies to strings without one.
        """
        value, timezone = rendered[0], rendered[1] if len(rendered) > 1 else _literal(_TIMEZONE)
        if overloaded:
            return f"{function.overload}({value}, {timezone})"
        parser = "parseDateTime64BestEffortOrNull"
        text = self._constant_text(arguments[0]) if len(arguments) == 1 else None
        if text is not None:
            if _CLICKHOUSE_DATETIME64.fullmatch(text):
                return f"toDateTime64({value}, 6, {timezone})"
            if _CLICKHOUSE_DATETIME.fullmatch(text):
                return f"toDateTime({value}, {timezone})"
            parser = "parseDateTime64BestEffort"
        return f"{parser}({value}, 6, {timezone})"

    def _constant_text(self, node: Mapping[str, Any]) -> str | None:
        value: object = None
        if node.get("node") == "Constant":
            value = node.get("value")
        elif node.get("node") == "Placeholder":
            value = self._placeholder_value(node)
        return value if isinstance(value, str) else None

    def _is_dated_or_number(self, node: Mapping[str, Any]) -> bool:
        """Whether PostHog would type ``node`` as a date, a date-time or a number."""
        kind = node.get("node")
        if kind == "Alias":
            return self._is_dated_or_number(node["expr"])
        if kind in ("Constant", "Placeholder"):
            value = node.get("value") if kind == "Constant" else self._placeholder_value(node)
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "Call":
            return str(node.get("name")) in _DATED_OR_NUMBER_FUNCTIONS
        if kind == "ArithmeticOperation":
            return self._is_dated_or_number(node["left"])
        return self._is_timestamp(node)

    def _argument(self, node: Mapping[str, Any], function: _Function, position: int) -> str:
        if node.get("node") == "Lambda":
            if not function.takes_lambda or position != 0:
                raise _unsupported("a lambda outside the first argument of an array function")
            return self._lambda(node)
        if function.clickhouse == "count" and node.get("chain") == ["*"]:
            with self._star_allowed():
                return self._expression(node)
        return self._expression(node)

    @contextmanager
    def _star_allowed(self) -> Iterator[None]:
        self._allow_star = True
        try:
            yield
        finally:
            self._allow_star = False

    def _lambda(self, node: Mapping[str, Any]) -> str:
        names = [str(name) for name in node.get("args") or []]
        if not names or _HIDDEN_COLUMN in names:
            raise _unsupported("a lambda without arguments or with an argument named team_id")
        self._lambda_scopes.append(set(names))
        try:
            body = self._expression(node["expr"])
        finally:
            self._lambda_scopes.pop()
        return f"({', '.join(_identifier(name) for name in names)}) -> {body}"

    def _compare(self, node: Mapping[str, Any]) -> str:
        operator = str(node.get("op"))
        left, right = node["left"], node["right"]
        if right.get("node") in ("SelectQuery", "SelectSetQuery"):
            raise _unsupported("a subquery")
        if operator in ("==", "!=") and _is_null(right):
            return f"{'isNull' if operator == '==' else 'isNotNull'}({self._expression(left)})"
        if operator in ("==", "!=") and _is_null(left):
            return f"{'isNull' if operator == '==' else 'isNotNull'}({self._expression(right)})"
        pair = f"{self._expression(left)}, {self._expression(right)}"
        if operator in _ORDERING and (self._is_timestamp(left) or self._is_timestamp(right)):
            # `timestamp > '2026-01-02T03:04:05Z'` compares instants, as it does in PostHog.
            pair = f"{self._instant(left)}, {self._instant(right)}"
        if operator in _COMPARISONS:
            return f"{_COMPARISONS[operator]}({pair})"
        if operator in _REGEX_COMPARISONS or operator == _REGEX_COMPARISONS_NEGATED_CI:
            negated, insensitive = _REGEX_COMPARISONS.get(operator, (True, True))
            pattern = self._expression(right)
            if insensitive:
                pattern = f"concat('(?i)', {pattern})"
            test = f"match({self._expression(left)}, {pattern})"
            return f"not({test})" if negated else test
        raise _unsupported(f"the comparison operator {operator!r}")

    def _is_timestamp(self, node: Mapping[str, Any]) -> bool:
        if node.get("node") != "Field":
            return False
        chain = list(node.get("chain") or [])
        if len(chain) == 2 and chain[0] in self._table_names:
            chain = chain[1:]
        return chain == ["timestamp"]

    def _instant(self, node: Mapping[str, Any]) -> str:
        rendered = self._expression(node)
        is_text = (node.get("node") == "Constant" and isinstance(node.get("value"), str)) or (
            node.get("node") == "Placeholder" and isinstance(self._placeholder_value(node), str)
        )
        return f"parseDateTime64BestEffort({rendered}, 6, 'UTC')" if is_text else rendered

    def _arithmetic(self, node: Mapping[str, Any]) -> str:
        operator = str(node.get("op"))
        if operator not in _ARITHMETIC:
            raise _unsupported(f"the operator {operator!r}")
        left, right = self._expression(node["left"]), self._expression(node["right"])
        return f"{_ARITHMETIC[operator]}({left}, {right})"

    def _logical(self, node: Mapping[str, Any]) -> str:
        function = "and" if node.get("node") == "And" else "or"
        parts = [self._expression(expression) for expression in node.get("exprs") or []]
        if len(parts) == 1:
            return parts[0]
        return f"{function}({', '.join(parts)})"

    def _not(self, node: Mapping[str, Any]) -> str:
        return f"not({self._expression(node['expr'])})"

    def _between(self, node: Mapping[str, Any]) -> str:
        keyword = "NOT BETWEEN" if node.get("negated") else "BETWEEN"
        return (
            f"({self._expression(node['expr'])} {keyword} {self._expression(node['low'])} "
            f"AND {self._expression(node['high'])})"
        )

    def _array(self, node: Mapping[str, Any]) -> str:
        return "[" + ", ".join(self._expression(e) for e in node.get("exprs") or []) + "]"

    def _tuple(self, node: Mapping[str, Any]) -> str:
        return "tuple(" + ", ".join(self._expression(e) for e in node.get("exprs") or []) + ")"

    def _array_access(self, node: Mapping[str, Any]) -> str:
        if node.get("nullish"):
            raise _unsupported("`?.[]` access")
        array, index = self._expression(node["array"]), self._expression(node["property"])
        return f"arrayElement({array}, {index})"

    def _tuple_access(self, node: Mapping[str, Any]) -> str:
        if node.get("nullish"):
            raise _unsupported("`?.` access")
        return f"tupleElement({self._expression(node['tuple'])}, {int(node['index'])})"


_HANDLERS: Final = {
    "Constant": _Translator._constant,
    "Placeholder": _Translator._placeholder,
    "Field": _Translator._field,
    "Call": _Translator._call,
    "CompareOperation": _Translator._compare,
    "ArithmeticOperation": _Translator._arithmetic,
    "And": _Translator._logical,
    "Or": _Translator._logical,
    "Not": _Translator._not,
    "BetweenExpr": _Translator._between,
    "Array": _Translator._array,
    "Tuple": _Translator._tuple,
    "ArrayAccess": _Translator._array_access,
    "TupleAccess": _Translator._tuple_access,
}


def _property_access(path: Sequence[object]) -> str:
    """PostHog's reading of ``properties.a.b``: the JSON value as a string, NULL when missing."""
    keys = ", ".join(_literal(key) for key in path)
    raw = f"JSONExtractRaw(properties, {keys})"
    return f"replaceRegexpAll(nullIf(nullIf({raw}, ''), 'null'), '^\"|\"$', '')"


def _collect_aliases(node: object) -> Iterator[str]:
    if isinstance(node, Mapping):
        if node.get("node") == "Alias":
            yield str(node["alias"])
        for key, value in node.items():
            if key not in ("start", "end"):
                yield from _collect_aliases(value)
    elif isinstance(node, list):
        for item in node:
            yield from _collect_aliases(item)


def _is_null(node: Mapping[str, Any]) -> bool:
    return node.get("node") == "Constant" and node.get("value") is None


def _describe(node: Mapping[str, Any]) -> str:
    kind = str(node.get("node", "this syntax"))
    return {
        "SelectSetQuery": "UNION, INTERSECT and EXCEPT",
        "SelectQuery": "a subquery",
        "Lambda": "a lambda outside an array function",
        "TypeCast": "type casts (`::`)",
        "WindowFunction": "window functions",
        "HogQLXTag": "HogQLX tags",
        "Dict": "dictionaries",
        "ExprCall": "calling an expression",
        "JoinExpr": "JOIN",
    }.get(kind, kind)


def _unsupported(what: str) -> HogQLUnsupportedError:
    return HogQLUnsupportedError(f"Not supported: {what}. {_SUPPORTED_SYNTAX}")
