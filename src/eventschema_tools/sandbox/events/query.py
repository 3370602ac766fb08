"""``POST /api/projects/{project_id}/query/``: HogQL over the sandbox's events and warnings.

The request is PostHog's ``QueryRequest`` with a ``HogQLQuery``::

    {"query": {"kind": "HogQLQuery", "query": "SELECT ... {event} ...", "values": {"event": "x"}}}

The query reads ``events`` or ``system.ingestion_warnings`` (see ``hogql``), and the answer is
PostHog's ``HogQLQueryResponse``: ``columns``, ``results`` (rows as lists), ``types``
(``[column, ClickHouse type]`` pairs), ``hasMore``/``limit``/``offset`` (set when the query had
no ``LIMIT``), ``hogql``, ``clickhouse``, ``timings``, ``modifiers``... Date-times in results are
ISO 8601 in their column's time zone, UTC unless the query names another
(``2026-01-02T03:04:05.123456Z``, ``2026-01-02T12:04:05+09:00``).

The key needs the ``query:read`` scope and the request counts against the key's ``query`` rate
limit bucket (120/hour by default, like PostHog's ``HogQLQueryThrottle``). Queries always run to
completion before the answer (``refresh`` is accepted and ignored); while a serving sandbox
sends its ``demo-day`` day, queries wait until it is stored. A query outside the
supported subset, a placeholder without a value or an error ClickHouse reports about the query
itself is a 400 ``validation_error`` with the reason; only a failure of the engine is a 500.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.events.hogql import CompiledQuery, HogQLError, compile_hogql
from eventschema_tools.sandbox.events.parser_worker import ParserUnavailableError
from eventschema_tools.sandbox.events.store import (
    ClickHouseQueryError,
    EventStore,
    EventStoreUnavailableError,
)
from eventschema_tools.sandbox.http.errors import ApiError, error_body, validation_error
from eventschema_tools.sandbox.http.routing import Operation, endpoint, json_response
from eventschema_tools.sandbox.http.throttle import QUERY_BUCKET
from eventschema_tools.sandbox.state import RequestContext, sandbox_of

__all__ = ["QUERY_SCOPE", "routes", "run_hogql"]

QUERY_SCOPE: Final = "query:read"
QUERY_SETTINGS: Final = "readonly=2, max_execution_time=60"
"""Settings every query runs with, as PostHog appends them (plus the sandbox's output format)."""

# ClickHouse errors that are about the engine, not about the query a caller wrote.
_ENGINE_ERRORS: Final = frozenset(
    {"", "UNKNOWN_DATABASE", "UNKNOWN_TABLE", "MEMORY_LIMIT_EXCEEDED", "LOGICAL_ERROR"}
)
SEEDED_DAY_WAIT_SECONDS: Final = 120
"""How long a query waits for a `demo-day` day still being sent before it reads what is in."""
_DATETIME_TYPE: Final = re.compile(r"^(?:Nullable\()?DateTime(?:64)?(?:\(|\)|$)")
_TYPE_TIMEZONE: Final = re.compile(r"'([^']+)'")


def routes() -> list[BaseRoute]:
    """The query route."""
    return [
        endpoint(
            "/api/projects/{project_id}/query/",
            {"POST": Operation(QUERY_SCOPE, _create)},
            bucket=QUERY_BUCKET,
            name="query",
        )
    ]


def run_hogql(
    events: EventStore, project_id: int, query: str, values: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """Run a HogQL query on a project's events or ingestion warnings, answering like PostHog.

    The answer has the shape of PostHog's ``HogQLQueryResponse``.

    Raises:
        HogQLError: The query cannot be run (syntax, unsupported syntax, missing placeholder, too
            complex for the parser).
        ParserUnavailableError: The HogQL parser worker could not run.
        ClickHouseQueryError: ClickHouse refused or failed the translated query.
        EventStoreUnavailableError: The embedded engine is not available.
    """
    started = time.perf_counter()
    compiled = compile_hogql(
        query,
        values,
        events_table=events.events_table,
        project_id=project_id,
        warnings_table=events.warnings_table,
    )
    translated = time.perf_counter()
    result = events.select(compiled.clickhouse, settings=QUERY_SETTINGS)
    finished = time.perf_counter()
    rows = [_render_row(row, result.types) for row in result.rows]
    has_more = None
    if compiled.paginated and compiled.limit is not None:
        has_more = len(rows) > compiled.limit
        rows = rows[: compiled.limit]
    return {
        "clickhouse": _displayed_sql(compiled, events),
        "columns": list(compiled.columns),
        "error": None,
        "explain": None,
        "hasMore": has_more,
        "hogql": query,
        "is_cached": False,
        "last_refresh": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "limit": compiled.limit,
        "metadata": None,
        "modifiers": {},
        "offset": 0 if compiled.paginated else None,
        "query": query,
        "query_status": None,
        "resolved_date_range": None,
        "results": rows,
        "timezone": "UTC",
        "timings": [
            {"k": "./hogql", "t": round(translated - started, 6)},
            {"k": "./clickhouse_execute", "t": round(finished - translated, 6)},
            {"k": ".", "t": round(finished - started, 6)},
        ],
        "types": [[name, kind] for name, kind in zip(compiled.columns, result.types, strict=False)],
    }


async def _create(request: Request, context: RequestContext) -> Response:
    sandbox = sandbox_of(request)
    body = await sandbox.read_json(request)
    query, values = _hogql_request(body)
    if not sandbox.day_stored.is_set():
        await run_in_threadpool(sandbox.day_stored.wait, SEEDED_DAY_WAIT_SECONDS)
    try:
        answer = await run_in_threadpool(
            run_hogql, sandbox.events, context.project_id, query, values
        )
    except HogQLError as error:
        raise validation_error(str(error)) from None
    except ClickHouseQueryError as error:
        if error.name in _ENGINE_ERRORS:
            raise _engine_failure() from None
        raise validation_error(error.message, code=error.name.lower()) from None
    except EventStoreUnavailableError:
        raise _engine_failure() from None
    except ParserUnavailableError as error:
        raise ApiError(500, error_body("server_error", "error", f"HogQL parser: {error}")) from None
    return json_response(answer)


def _hogql_request(body: object) -> tuple[str, dict[str, object] | None]:
    if not isinstance(body, dict):
        raise validation_error("Expected a JSON object with a `query`.")
    query = body.get("query")
    if query is None:
        raise validation_error("This field is required.", attr="query", code="required")
    if not isinstance(query, dict):
        raise validation_error(
            'Expected {"kind": "HogQLQuery", "query": "SELECT ..."}.', attr="query"
        )
    kind = query.get("kind")
    if kind != "HogQLQuery":
        raise validation_error(
            f"Unsupported query kind {kind!r}: the sandbox runs only HogQLQuery "
            '({"kind": "HogQLQuery", "query": "SELECT ...", "values": {...}}).',
            attr="query",
        )
    text = query.get("query")
    if not isinstance(text, str) or not text.strip():
        raise validation_error("The HogQL query text is missing or empty.", attr="query__query")
    values = query.get("values")
    if values is not None and not isinstance(values, dict):
        raise validation_error("`values` must be an object.", attr="query__values")
    return text, values


def _engine_failure() -> ApiError:
    return ApiError(
        500, error_body("server_error", "error", "ClickHouse error while executing query.")
    )


def _render_row(row: list[Any], types: list[str]) -> list[Any]:
    return [
        _iso_datetime(value, kind)
        if isinstance(value, str) and _DATETIME_TYPE.match(kind)
        else value
        for value, kind in zip(row, types, strict=False)
    ]


def _iso_datetime(value: str, kind: str) -> str:
    """ClickHouse's ``2026-01-02 03:04:05.123456`` as DRF renders it, in the column's zone.

    The time is local to the zone the type names (``DateTime64(6, 'Asia/Tokyo')``; UTC, the
    session's, when it names none): ``2026-01-02T03:04:05.123456+09:00``, ``...Z`` for UTC.
    """
    zone = _TYPE_TIMEZONE.search(kind)
    try:
        timezone = ZoneInfo(zone[1]) if zone else UTC
        moment = datetime.fromisoformat(value).replace(tzinfo=timezone)
    except (ValueError, ZoneInfoNotFoundError):
        return value
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _displayed_sql(compiled: CompiledQuery, events: EventStore) -> str:
    # PostHog prints system.ingestion_warnings as ClickHouse's `ingestion_warnings`.
    return compiled.clickhouse.replace(events.events_table, "events").replace(
        events.warnings_table, "ingestion_warnings"
    )
