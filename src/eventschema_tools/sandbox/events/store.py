"""The sandbox's ClickHouse tables, embedded in the process with chDB.

Two tables live in one ClickHouse database per store:

* ``events``: ``uuid``, ``event``, ``distinct_id``, ``properties`` (the JSON text of the event's
  properties object, as PostHog stores it), ``timestamp`` (``DateTime64(6, 'UTC')``) and
  ``team_id`` (the project);
* ``ingestion_warnings``: what ingestion refused and why (``schema_validation_failed``, ...).

chDB hosts one ClickHouse engine per process, bound to one storage path. In memory (the default)
every store gets a database of its own on the shared in-memory engine, so any number of sandboxes
can run side by side in one process and each sees only its own events; closing a store drops its
database. With a ``data_dir`` the engine stores its files under ``<data_dir>/clickhouse`` and the
events survive a restart, but then no other store may use a different path in the same process
at the same time (chDB refuses, and ``EventStoreUnavailableError`` says so).

The engine is opened on first use, so a sandbox that never receives an event never starts it.
Every call is serialised on one connection per store; run them from worker threads in async
code.
"""

from __future__ import annotations

import json
import re
import threading
import uuid as uuid_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple


def _connect(path: str) -> Any:
    # chDB is imported on first use: loading it costs about 340 MB of memory, which a sandbox
    # that never receives an event does not need.
    import chdb

    connect: Any = chdb.connect  # some chDB releases ship `connect` without annotations
    return connect(path)


__all__ = [
    "ClickHouseQueryError",
    "EventRow",
    "EventStore",
    "EventStoreError",
    "EventStoreUnavailableError",
    "IngestionWarning",
    "QueryResult",
]

INSERT_BATCH_ROWS: Final = 100_000
"""Rows per INSERT in ``insert_many``: large batches are what makes bulk loads fast."""

_RESULT_SETTINGS: Final = (
    "output_format_json_quote_64bit_integers=0, output_format_json_quote_decimals=0"
)
_TSV: Final = "TabSeparated"
_TSV_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPING: Final = re.compile(r"[\\\t\n\r]")
_ERROR_PATTERN: Final = re.compile(
    r"Code: (?P<code>\d+)\. DB::Exception: (?P<message>.*?)(?: \((?P<name>[A-Z_0-9]+)\))?\s*$",
    re.DOTALL,
)
_STATEMENT_SUFFIX: Final = re.compile(r"[.:]? In scope ")
_EVENTS_DDL: Final = """
CREATE TABLE IF NOT EXISTS {table} (
    uuid UUID,
    event String,
    distinct_id String,
    properties String,
    timestamp DateTime64(6, 'UTC'),
    team_id Int64
) ENGINE = MergeTree ORDER BY (team_id, event, timestamp)
"""
_WARNINGS_DDL: Final = """
CREATE TABLE IF NOT EXISTS {table} (
    team_id Int64,
    type String,
    source String,
    details String,
    timestamp DateTime64(6, 'UTC')
) ENGINE = MergeTree ORDER BY (team_id, timestamp)
"""


class EventStoreError(Exception):
    """Base of the errors the event store raises."""


class EventStoreUnavailableError(EventStoreError):
    """The embedded ClickHouse engine cannot be opened (e.g. another path is in use)."""


class ClickHouseQueryError(EventStoreError):
    """ClickHouse refused or failed a query.

    Attributes:
        code: ClickHouse's numeric error code (0 when the message carried none).
        name: ClickHouse's error name, e.g. ``UNKNOWN_FUNCTION`` (empty when unknown).
        message: ClickHouse's message, with the store's internal database name removed.
    """

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message


class EventRow(NamedTuple):
    """One event as stored.

    Attributes:
        uuid: The event's UUID (text).
        event: The event name.
        distinct_id: Who did it.
        properties: The JSON text of the event's properties object.
        timestamp: When it happened (a timezone-aware datetime; naive ones are taken as UTC).
    """

    uuid: str
    event: str
    distinct_id: str
    properties: str
    timestamp: datetime


@dataclass(frozen=True)
class IngestionWarning:
    """One event ingestion refused or changed, and why.

    Attributes:
        type: PostHog's warning type, e.g. ``schema_validation_failed``.
        source: What raised it (``plugin-server`` in PostHog's naming).
        details: The warning's details (event name, uuid, errors, ...).
        timestamp: When it was raised.
    """

    type: str
    source: str
    details: dict[str, Any]
    timestamp: datetime


@dataclass(frozen=True)
class QueryResult:
    """Rows of a SELECT, with ClickHouse's column names and types."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]


class EventStore:
    """The ``events`` and ``ingestion_warnings`` tables of one sandbox.

    Args:
        data_dir: Keep the engine's files under ``<data_dir>/clickhouse`` (events survive a
            restart); ``None`` keeps everything in memory.
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir
        self._database = "eventschema" if data_dir else f"eventschema_{uuid_module.uuid4().hex}"
        self._lock = threading.Lock()
        self._connection: Any = None
        self._closed = False

    @property
    def events_table(self) -> str:
        """The fully qualified name of the ``events`` table, quoted for SQL."""
        return f"`{self._database}`.`events`"

    @property
    def warnings_table(self) -> str:
        """The fully qualified name of the ``ingestion_warnings`` table, quoted for SQL."""
        return f"`{self._database}`.`ingestion_warnings`"

    def insert_many(
        self, project_id: int, events: Iterable[EventRow], *, batch_rows: int = INSERT_BATCH_ROWS
    ) -> int:
        """Store events, streamed into ClickHouse in large blocks.

        Args:
            project_id: The project the events belong to.
            events: The events; any iterable, consumed once.
            batch_rows: Rows per block sent to the engine.

        Returns:
            How many events were stored.
        """
        project = f"\t{int(project_id)}\n"
        lines = (
            "\t".join(
                (
                    _escaped(row.uuid),
                    _escaped(row.event),
                    _escaped(row.distinct_id),
                    _escaped(row.properties),
                    row.timestamp.isoformat(),
                )
            )
            + project
            for row in events
        )
        return self._insert(self.events_table, lines, batch_rows)

    def add_warnings(self, project_id: int, warnings: Sequence[IngestionWarning]) -> None:
        """Record ingestion warnings for a project."""
        lines = (
            "\t".join(
                (
                    str(int(project_id)),
                    _escaped(warning.type),
                    _escaped(warning.source),
                    _escaped(json.dumps(warning.details, ensure_ascii=False)),
                    warning.timestamp.isoformat(),
                )
            )
            + "\n"
            for warning in warnings
        )
        self._insert(self.warnings_table, lines, INSERT_BATCH_ROWS)

    def warnings(self, project_id: int, *, limit: int = 1000) -> list[IngestionWarning]:
        """Return a project's ingestion warnings, newest first."""
        # Only integers and the store's own table names are formatted into these statements.
        result = self.select(
            f"SELECT type, source, details, timestamp FROM {self.warnings_table} "  # noqa: S608
            f"WHERE team_id = {int(project_id)} ORDER BY timestamp DESC LIMIT {int(limit)}"
        )
        return [
            IngestionWarning(
                type=row[0],
                source=row[1],
                details=json.loads(row[2]),
                timestamp=datetime.fromisoformat(row[3]).replace(tzinfo=UTC),
            )
            for row in result.rows
        ]

    def warning_counts(self, project_id: int) -> dict[str, int]:
        """Return how many ingestion warnings a project has, per warning type."""
        result = self.select(
            f"SELECT type, count() FROM {self.warnings_table} "  # noqa: S608
            f"WHERE team_id = {int(project_id)} GROUP BY type ORDER BY type"
        )
        return {row[0]: int(row[1]) for row in result.rows}

    def count_events(self, project_id: int) -> int:
        """Return how many events a project has."""
        result = self.select(
            f"SELECT count() FROM {self.events_table} WHERE team_id = {int(project_id)}"  # noqa: S608
        )
        return int(result.rows[0][0])

    def select(self, sql: str, *, settings: str = "") -> QueryResult:
        """Run one SELECT and return its rows.

        Args:
            sql: The statement, without a ``SETTINGS`` clause or ``FORMAT``.
            settings: Extra ClickHouse settings, as ``name=value`` pairs joined by commas.

        Raises:
            ClickHouseQueryError: ClickHouse refused or failed the query.
        """
        all_settings = f"{settings}, {_RESULT_SETTINGS}" if settings else _RESULT_SETTINGS
        raw = self._run(f"{sql} SETTINGS {all_settings}", "JSONCompact")
        document = json.loads(raw)
        return QueryResult(
            columns=[column["name"] for column in document["meta"]],
            types=[column["type"] for column in document["meta"]],
            rows=document["data"],
        )

    def close(self) -> None:
        """Drop an in-memory store's database and release the engine connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                if self._data_dir is None:
                    connection.query(f"DROP DATABASE IF EXISTS `{self._database}` SYNC")
            finally:
                connection.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------

    def _insert(self, table: str, lines: Iterable[str], batch_rows: int) -> int:
        """Stream TabSeparated lines (each ending with a newline) into a table."""
        written = 0
        with self._lock:
            connection = self._open()
            inserter: Any = None
            chunk: list[str] = []
            try:
                for line in lines:
                    chunk.append(line)
                    if len(chunk) >= batch_rows:
                        inserter = inserter or connection.send_insert(f"INSERT INTO {table}", _TSV)
                        inserter.append("".join(chunk))
                        written += len(chunk)
                        chunk = []
                if chunk:
                    inserter = inserter or connection.send_insert(f"INSERT INTO {table}", _TSV)
                    inserter.append("".join(chunk))
                    written += len(chunk)
                if inserter is not None:
                    inserter.finish()
            except RuntimeError as exc:
                raise self._query_error(str(exc)) from None
            finally:
                if inserter is not None:
                    inserter.close()
        return written

    def _run(self, sql: str, output_format: str) -> str:
        with self._lock:
            connection = self._open()
            try:
                result = connection.query(sql, output_format)
            except RuntimeError as exc:
                raise self._query_error(str(exc)) from None
            text: str = result.bytes().decode("utf-8")
            return text

    def _open(self) -> Any:
        if self._closed:
            raise EventStoreUnavailableError("the event store is closed")
        if self._connection is not None:
            return self._connection
        path = ":memory:"
        if self._data_dir is not None:
            engine_dir = self._data_dir / "clickhouse"
            engine_dir.mkdir(parents=True, exist_ok=True)
            path = str(engine_dir)
        try:
            # Typed as Any: some chDB releases ship `connect` without annotations.
            connection = _connect(path)
        except RuntimeError as exc:
            raise EventStoreUnavailableError(
                f"cannot open the embedded ClickHouse engine at {path!r}: {exc}. chDB runs one "
                "engine per process on a single storage path; close the other sandboxes of this "
                "process, or run this one in a process of its own."
            ) from None
        try:
            connection.query("SET session_timezone = 'UTC'")
            # Timestamps are written as ISO 8601 (with their UTC offset, or naive meaning UTC).
            connection.query("SET date_time_input_format = 'best_effort'")
            connection.query(f"CREATE DATABASE IF NOT EXISTS `{self._database}`")
            connection.query(_EVENTS_DDL.format(table=self.events_table))
            connection.query(_WARNINGS_DDL.format(table=self.warnings_table))
        except RuntimeError as exc:
            connection.close()
            raise EventStoreUnavailableError(f"cannot create the event tables: {exc}") from None
        self._connection = connection
        return connection

    def _query_error(self, text: str) -> ClickHouseQueryError:
        text = text.replace(f"`{self._database}`.", "").replace(f"{self._database}.", "")
        match = _ERROR_PATTERN.search(text)
        if match is None:
            return ClickHouseQueryError(0, "", text.strip())
        # ClickHouse appends the whole statement ("In scope SELECT ..."); the cause is enough.
        message = _STATEMENT_SUFFIX.split(match["message"], maxsplit=1)[0].strip()
        return ClickHouseQueryError(int(match["code"]), match["name"] or "", message)


def _escaped(text: str) -> str:
    return text.translate(_TSV_ESCAPES) if _NEEDS_ESCAPING.search(text) else text
