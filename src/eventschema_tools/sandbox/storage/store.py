"""SQLite storage of the sandbox: event definitions, property groups with properties, event schemas.

One connection guarded by a re-entrant lock serves every thread (`check_same_thread=False`), so
concurrent requests are serialised at the statement or transaction level. The database lives in
memory unless a data directory is given; then it is `sandbox.sqlite3` there and survives restarts.

Every method is scoped by project: an id from another project behaves exactly like an unknown id.
Unique constraints carry PostHog's constraint names and surface as `UniqueViolation`, which the
routes translate into PostHog's messages. Deletes cascade as in PostHog: a property group takes its
properties and its event schemas with it, an event definition its event schemas.

An event definition created by ingestion is a bare row (`enterprise = 0`, description null), like
PostHog's base `EventDefinition` without its `EnterpriseEventDefinition` extension: lists show it
with a null description. Reading it by id or name, or changing it, gives it the extension, as
PostHog's `EventDefinitionViewSet` does (`promote_event_definition`): its description becomes "",
the model's default, which is also what a definition created through the API starts with.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast

from eventschema_tools.sandbox.storage.timestamps import MonotonicClock, to_storage

DATABASE_FILENAME: Final = "sandbox.sqlite3"
EVENT_DEFINITION_PROJECT_NAME: Final = "event_definition_proj_uniq"
GROUP_TEAM_NAME: Final = "unique_schema_property_group_team_name"
GROUP_PROPERTY_NAME: Final = "unique_property_group_property_name"
EVENT_SCHEMA_PAIR: Final = "unique_event_schema"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS event_definitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    project_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    owner_id INTEGER,
    created_at TEXT,
    updated_at TEXT NOT NULL,
    updated_by_id INTEGER,
    last_seen_at TEXT,
    verified INTEGER NOT NULL DEFAULT 0,
    verified_at TEXT,
    verified_by_id INTEGER,
    hidden INTEGER,
    enforcement_mode TEXT NOT NULL DEFAULT 'allow',
    default_columns TEXT NOT NULL DEFAULT '[]',
    enterprise INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX IF NOT EXISTS event_definition_proj_uniq
    ON event_definitions (project_id, name);
CREATE TABLE IF NOT EXISTS property_groups (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    project_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_schema_property_group_team_name
    ON property_groups (project_id, name);
CREATE TABLE IF NOT EXISTS group_properties (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    group_id TEXT NOT NULL REFERENCES property_groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    property_type TEXT NOT NULL,
    is_required INTEGER NOT NULL DEFAULT 0,
    is_optional_in_types INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_property_group_property_name
    ON group_properties (group_id, name);
CREATE TABLE IF NOT EXISTS event_schemas (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    event_definition_id TEXT NOT NULL REFERENCES event_definitions (id) ON DELETE CASCADE,
    property_group_id TEXT NOT NULL REFERENCES property_groups (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    project_id INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_event_schema
    ON event_schemas (event_definition_id, property_group_id);
"""

# Created once every column exists, older databases included. A schema's project is its
# definition's; keeping it on the schema row lets a list page walk `event_schemas_newest` newest
# first and stop after its page, and count without a join (a page at 100,000 schemas sorted all
# of them). `event_schemas_group_events` holds each group's bound events whole, so reading a
# group's events touches no table rows; it replaces the narrower `event_schemas_group`.
_INDEXES: Final = """
CREATE INDEX IF NOT EXISTS event_schemas_newest
    ON event_schemas (project_id, created_at DESC, seq DESC);
CREATE INDEX IF NOT EXISTS event_schemas_group_events
    ON event_schemas (property_group_id, event_definition_id);
DROP INDEX IF EXISTS event_schemas_group;
"""

# SQL text below is assembled only from fixed fragments, whitelisted column names and `?` / `:name`
# placeholders; values always travel as parameters (hence the S608 suppressions).

# The index behind each table's unique constraint, named as PostHog names its constraints.
_UNIQUE_BY_TABLE: Final = {
    "event_definitions": EVENT_DEFINITION_PROJECT_NAME,
    "property_groups": GROUP_TEAM_NAME,
    "group_properties": GROUP_PROPERTY_NAME,
    "event_schemas": EVENT_SCHEMA_PAIR,
}

_DEFINITION_COLUMNS: Final = frozenset(
    {
        "description",
        "tags",
        "owner_id",
        "updated_by_id",
        "verified",
        "verified_at",
        "verified_by_id",
        "hidden",
        "enforcement_mode",
        "default_columns",
        "created_at",
        "last_seen_at",
    }
)
_JSON_COLUMNS: Final = frozenset({"tags", "default_columns"})

_DEFINITION_ORDER_SQL: Final = {
    "name": "name",
    "last_seen_at": "last_seen_at",
    "last_seen_at::date": "substr(last_seen_at, 1, 10)",
    "created_at": "created_at",
    "created_at::date": "substr(created_at, 1, 10)",
}
DEFINITION_ORDERING_FIELDS: Final = tuple(_DEFINITION_ORDER_SQL)


class UniqueViolation(Exception):
    """A write hit a unique constraint; `constraint` is PostHog's constraint name."""

    def __init__(self, constraint: str, value: str | None = None) -> None:
        super().__init__(constraint)
        self.constraint = constraint
        self.value = value


@dataclass(frozen=True)
class NewProperty:
    """A property to create inside a group (missing fields take the model defaults)."""

    name: str
    property_type: str = ""
    is_required: bool = False
    is_optional_in_types: bool = False
    description: str = ""


@dataclass(frozen=True)
class PropertyRecord:
    """A stored property of a property group."""

    id: str
    name: str
    property_type: str
    is_required: bool
    is_optional_in_types: bool
    description: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class EventRef:
    """An event definition bound to a property group, as the group lists it."""

    id: str
    name: str


@dataclass(frozen=True)
class PropertyGroupRecord:
    """A stored property group with its properties (by name) and bound events (by lower name)."""

    id: str
    project_id: int
    name: str
    description: str
    created_by_id: int | None
    created_at: str
    updated_at: str
    properties: tuple[PropertyRecord, ...]
    events: tuple[EventRef, ...]


@dataclass(frozen=True)
class EventSchemaRecord:
    """A stored binding of a property group to an event definition."""

    id: str
    event_definition_id: str
    property_group: PropertyGroupRecord
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class EventDefinitionRecord:
    """A stored event definition."""

    id: str
    project_id: int
    name: str
    description: str | None
    tags: tuple[str, ...]
    owner_id: int | None
    created_at: str | None
    updated_at: str
    updated_by_id: int | None
    last_seen_at: str | None
    verified: bool
    verified_at: str | None
    verified_by_id: int | None
    hidden: bool | None
    enforcement_mode: str
    default_columns: tuple[str, ...]


@dataclass(frozen=True)
class EnforcedProperty:
    """A required property of an event in `reject` mode, with every type a bound group allows."""

    event: str
    property: str
    property_types: tuple[str, ...]


@dataclass(frozen=True)
class DefinitionQuery:
    """Filters, ordering and page of an event-definition listing.

    `ordering` holds `(field, descending)` pairs over `DEFINITION_ORDERING_FIELDS`; empty means
    PostHog's default (`-last_seen_at::date, name`). `name` is always the final tiebreaker, and a
    search without explicit ordering sorts by name length first.
    """

    search: str | None = None
    names: tuple[str, ...] = ()
    excluded_names: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    event_type: str = "event"
    exclude_hidden: bool = False
    ordering: tuple[tuple[str, bool], ...] = ()
    limit: int = 100
    offset: int = 0


class Store:
    """Thread-safe SQLite storage for one sandbox."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.clock = MonotonicClock()
        self._lock = threading.RLock()
        # Groups as last read, valid while the connection's change count stands still.
        self._group_cache: dict[str, PropertyGroupRecord] = {}
        self._group_cache_changes = -1
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
        try:
            self._conn.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
            _upgrade(self._conn)
            self._conn.executescript(_INDEXES)
        except sqlite3.Error:
            self._conn.close()
            raise

    @classmethod
    def open(cls, data_dir: Path | None) -> Store:
        """In memory without a directory, else `data_dir/sandbox.sqlite3` (created if missing)."""
        if data_dir is None:
            return cls()
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / DATABASE_FILENAME)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block in one transaction, rolled back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def is_empty(self, project_id: int) -> bool:
        """Whether the project has neither event definitions nor property groups."""
        row = self._one(
            "SELECT (SELECT count(*) FROM event_definitions WHERE project_id = :p)"
            " + (SELECT count(*) FROM property_groups WHERE project_id = :p) AS total",
            {"p": project_id},
        )
        return row is None or row["total"] == 0

    # Event definitions

    def list_event_definitions(
        self, project_id: int, query: DefinitionQuery
    ) -> tuple[int, list[EventDefinitionRecord]]:
        """Count and one page of the project's event definitions matching `query`."""
        conditions = ["project_id = :project_id"]
        params: dict[str, Any] = {"project_id": project_id}
        terms = (query.search or "").split()
        for index, term in enumerate(terms):
            conditions.append(f"instr(unicode_lower(name), :term{index}) > 0")
            params[f"term{index}"] = term.lower()
        if query.names:
            conditions.append(f"name IN ({_bind('name', query.names, params)})")
        if query.excluded_names:
            conditions.append(f"name NOT IN ({_bind('excluded', query.excluded_names, params)})")
        if query.tags:
            marks = _bind("tag", query.tags, params)
            tagged = f"EXISTS (SELECT 1 FROM json_each(tags) WHERE value IN ({marks}))"  # noqa: S608
            conditions.append(tagged)
        if query.event_type == "event_custom":
            conditions.append("name NOT LIKE '$%'")
        elif query.event_type == "event_posthog":
            conditions.append("name LIKE '$%'")
        if query.exclude_hidden:
            conditions.append("(hidden IS NULL OR hidden = 0)")
        where = " AND ".join(conditions)
        order = _definition_order(query, bool(terms))
        total = self._one(f"SELECT count(*) AS total FROM event_definitions WHERE {where}", params)  # noqa: S608
        params.update(limit=query.limit, offset=query.offset)
        rows = self._all(
            f"SELECT * FROM event_definitions WHERE {where} ORDER BY {order}"  # noqa: S608
            " LIMIT :limit OFFSET :offset",
            params,
        )
        return (0 if total is None else total["total"]), [_definition(row) for row in rows]

    def get_event_definition(
        self, project_id: int, definition_id: str
    ) -> EventDefinitionRecord | None:
        """The project's event definition with this id, if any."""
        row = self._one(
            "SELECT * FROM event_definitions WHERE project_id = ? AND id = ?",
            (project_id, definition_id),
        )
        return None if row is None else _definition(row)

    def get_event_definition_by_name(
        self, project_id: int, name: str
    ) -> EventDefinitionRecord | None:
        """The project's event definition with exactly this name, if any."""
        row = self._one(
            "SELECT * FROM event_definitions WHERE project_id = ? AND name = ?", (project_id, name)
        )
        return None if row is None else _definition(row)

    def create_event_definition(
        self, project_id: int, name: str, values: Mapping[str, object]
    ) -> EventDefinitionRecord:
        """Create a definition; `values` holds optional columns. Raises `UniqueViolation`.

        The definition has PostHog's enterprise extension: without a `description` in `values`
        it gets the model's default, "".
        """
        columns = _definition_values(values)
        columns.setdefault("description", "")
        columns.update(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            updated_at=to_storage(self.clock.now()),
        )
        names = ", ".join(columns)
        placeholders = ", ".join(f":{column}" for column in columns)
        with self._lock:
            self._execute(
                f"INSERT INTO event_definitions ({names}) VALUES ({placeholders})",  # noqa: S608
                columns,
            )
            created = self.get_event_definition(project_id, str(columns["id"]))
        assert created is not None
        return created

    def promote_event_definition(
        self, project_id: int, definition_id: str
    ) -> EventDefinitionRecord | None:
        """The definition with this id, first given the enterprise extension if it has none.

        PostHog creates the missing `EnterpriseEventDefinition` row (description "", `updated_at`
        now) whenever the API reads one definition or changes it. None when the id is unknown.
        """
        with self._lock:
            self._execute(
                "UPDATE event_definitions SET enterprise = 1, description = '', updated_at = ?"
                " WHERE project_id = ? AND id = ? AND enterprise = 0",
                (to_storage(self.clock.now()), project_id, definition_id),
            )
            return self.get_event_definition(project_id, definition_id)

    def update_event_definition(
        self, project_id: int, definition_id: str, values: Mapping[str, object]
    ) -> EventDefinitionRecord | None:
        """Update the given columns (and `updated_at`); None when the definition is unknown."""
        columns = _definition_values(values)
        columns["updated_at"] = to_storage(self.clock.now())
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        with self._lock:
            cursor = self._execute(
                f"UPDATE event_definitions SET {assignments} WHERE project_id = :pid AND id = :did",  # noqa: S608
                {**columns, "pid": project_id, "did": definition_id},
            )
            if cursor.rowcount == 0:
                return None
            return self.get_event_definition(project_id, definition_id)

    def delete_event_definition(self, project_id: int, definition_id: str) -> bool:
        """Delete a definition and its event schemas; False when it is unknown."""
        cursor = self._execute(
            "DELETE FROM event_definitions WHERE project_id = ? AND id = ?",
            (project_id, definition_id),
        )
        return cursor.rowcount > 0

    def touch_event_definitions(
        self, project_id: int, names: Iterable[str], seen_at: datetime
    ) -> None:
        """Record that events with these names were ingested at `seen_at`.

        Missing definitions are created (first seen now, without the enterprise extension, so
        with a null description); existing ones get `last_seen_at` moved forward and a
        `created_at` if they had none (definitions created through the API have none until
        their first event, as in PostHog).
        """
        seen = to_storage(seen_at)
        with self.transaction() as conn:
            for name in dict.fromkeys(names):
                conn.execute(
                    "INSERT INTO event_definitions (id, project_id, name, created_at, updated_at,"
                    " last_seen_at, enterprise) VALUES (?, ?, ?, ?, ?, ?, 0)"
                    " ON CONFLICT (project_id, name) DO UPDATE SET"
                    " last_seen_at = max(coalesce(last_seen_at, ''), excluded.last_seen_at),"
                    " created_at = coalesce(created_at, excluded.created_at)",
                    (str(uuid.uuid4()), project_id, name, seen, seen, seen),
                )

    def enforced_required_properties(self, project_id: int) -> list[EnforcedProperty]:
        """Required properties of the project's events in `reject` mode, as ingestion checks them.

        Only `is_required` properties count; when several bound groups define the same property,
        the union of their types is accepted (PostHog's enforcement manager does the same).
        """
        rows = self._all(
            "SELECT d.name AS event, p.name AS property, p.property_type AS property_type"
            " FROM event_definitions d"
            " JOIN event_schemas s ON s.event_definition_id = d.id"
            " JOIN group_properties p ON p.group_id = s.property_group_id"
            " WHERE d.project_id = ? AND d.enforcement_mode = 'reject' AND p.is_required = 1",
            (project_id,),
        )
        types: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        for row in rows:
            types[(row["event"], row["property"])].add(row["property_type"])
        return [
            EnforcedProperty(event, prop, tuple(sorted(kinds)))
            for (event, prop), kinds in sorted(types.items())
        ]

    # Property groups

    def list_property_groups(
        self, project_id: int, limit: int, offset: int
    ) -> tuple[int, list[PropertyGroupRecord]]:
        """Count and one page of the project's property groups, ordered by name."""
        total = self._one(
            "SELECT count(*) AS total FROM property_groups WHERE project_id = ?", (project_id,)
        )
        rows = self._all(
            "SELECT id FROM property_groups WHERE project_id = ? ORDER BY name, seq"
            " LIMIT ? OFFSET ?",
            (project_id, limit, offset),
        )
        groups = self._groups([row["id"] for row in rows])
        return (0 if total is None else total["total"]), [groups[row["id"]] for row in rows]

    def get_property_group(self, project_id: int, group_id: str) -> PropertyGroupRecord | None:
        """The project's property group with this id, if any."""
        group = self._groups([group_id]).get(group_id)
        return group if group is not None and group.project_id == project_id else None

    def has_property_group(self, project_id: int, group_id: str) -> bool:
        """Whether the project has a property group with this id."""
        row = self._one(
            "SELECT 1 FROM property_groups WHERE project_id = ? AND id = ?", (project_id, group_id)
        )
        return row is not None

    def has_event_definition(self, project_id: int, definition_id: str) -> bool:
        """Whether the project has an event definition with this id."""
        row = self._one(
            "SELECT 1 FROM event_definitions WHERE project_id = ? AND id = ?",
            (project_id, definition_id),
        )
        return row is not None

    def create_property_group(
        self,
        project_id: int,
        name: str,
        description: str,
        properties: Sequence[NewProperty],
        created_by_id: int | None,
    ) -> PropertyGroupRecord:
        """Create a group, then its properties, each row committed on its own.

        PostHog's serializer does not wrap this in a transaction, so when a later property fails
        (a duplicate name) the group and the properties before it stay. This keeps that.

        Raises:
            UniqueViolation: `GROUP_TEAM_NAME` for a taken name, `GROUP_PROPERTY_NAME` (with the
                property name) for a repeated property.
        """
        with self._lock:
            now = to_storage(self.clock.now())
            group_id = str(uuid.uuid4())
            self._execute(
                "INSERT INTO property_groups (id, project_id, name, description, created_by_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (group_id, project_id, name, description, created_by_id, now, now),
            )
            for new_property in properties:
                self._insert_property(self._conn, group_id, new_property)
            created = self.get_property_group(project_id, group_id)
        assert created is not None
        return created

    def update_property_group(
        self,
        project_id: int,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Sequence[NewProperty] | None = None,
    ) -> PropertyGroupRecord | None:
        """Update a group in one transaction; None when it is unknown.

        `properties=None` leaves the properties alone; a list replaces all of them (new ids and
        timestamps), as PostHog does because incoming property ids are read-only and dropped.

        Raises:
            UniqueViolation: as `create_property_group`; nothing is changed then.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT name, description FROM property_groups WHERE project_id = ? AND id = ?",
                (project_id, group_id),
            ).fetchone()
            if row is None:
                return None
            self._execute(
                "UPDATE property_groups SET name = ?, description = ?, updated_at = ? WHERE id = ?",
                (
                    row["name"] if name is None else name,
                    row["description"] if description is None else description,
                    to_storage(self.clock.now()),
                    group_id,
                ),
            )
            if properties is not None:
                conn.execute("DELETE FROM group_properties WHERE group_id = ?", (group_id,))
                for new_property in properties:
                    self._insert_property(conn, group_id, new_property)
        return self.get_property_group(project_id, group_id)

    def delete_property_group(self, project_id: int, group_id: str) -> bool:
        """Delete a group, its properties and its event schemas; False when it is unknown."""
        cursor = self._execute(
            "DELETE FROM property_groups WHERE project_id = ? AND id = ?", (project_id, group_id)
        )
        return cursor.rowcount > 0

    # Event schemas

    def list_event_schemas(
        self, project_id: int, limit: int, offset: int, event_definition_id: str | None = None
    ) -> tuple[int, list[EventSchemaRecord]]:
        """Count and one page of the project's event schemas, newest first."""
        where = "project_id = :project_id"
        params: dict[str, Any] = {"project_id": project_id, "limit": limit, "offset": offset}
        if event_definition_id is not None:
            where += " AND event_definition_id = :definition"
            params["definition"] = event_definition_id
        with self._lock:
            total = self._one(f"SELECT count(*) AS total FROM event_schemas WHERE {where}", params)  # noqa: S608
            rows = self._all(
                f"SELECT * FROM event_schemas WHERE {where}"  # noqa: S608
                " ORDER BY created_at DESC, seq DESC LIMIT :limit OFFSET :offset",
                params,
            )
        return (0 if total is None else total["total"]), self._schemas(rows)

    def get_event_schema(self, project_id: int, schema_id: str) -> EventSchemaRecord | None:
        """The project's event schema with this id, if any."""
        rows = self._all(
            "SELECT s.* FROM event_schemas s"
            " JOIN event_definitions d ON d.id = s.event_definition_id"
            " WHERE d.project_id = ? AND s.id = ?",
            (project_id, schema_id),
        )
        schemas = self._schemas(rows)
        return schemas[0] if schemas else None

    def event_schema_pair_exists(
        self, event_definition_id: str, property_group_id: str, *, excluding: str | None = None
    ) -> bool:
        """Whether the (event, group) pair is bound, optionally ignoring one schema id."""
        row = self._one(
            "SELECT 1 FROM event_schemas WHERE event_definition_id = ? AND property_group_id = ?"
            " AND id IS NOT ?",
            (event_definition_id, property_group_id, excluding),
        )
        return row is not None

    def create_event_schema(
        self, project_id: int, event_definition_id: str, property_group_id: str
    ) -> EventSchemaRecord:
        """Bind a group to an event definition. Raises `UniqueViolation` for a bound pair."""
        with self._lock:
            now = to_storage(self.clock.now())
            schema_id = str(uuid.uuid4())
            self._execute(
                "INSERT INTO event_schemas (id, project_id, event_definition_id, property_group_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (schema_id, project_id, event_definition_id, property_group_id, now, now),
            )
            created = self.get_event_schema(project_id, schema_id)
        assert created is not None
        return created

    def update_event_schema(
        self, project_id: int, schema_id: str, event_definition_id: str, property_group_id: str
    ) -> EventSchemaRecord | None:
        """Re-point a binding; None when it is unknown. Raises `UniqueViolation`."""
        with self._lock:
            if self.get_event_schema(project_id, schema_id) is None:
                return None
            self._execute(
                "UPDATE event_schemas SET event_definition_id = ?, property_group_id = ?,"
                " updated_at = ? WHERE id = ?",
                (event_definition_id, property_group_id, to_storage(self.clock.now()), schema_id),
            )
            return self.get_event_schema(project_id, schema_id)

    def delete_event_schema(self, project_id: int, schema_id: str) -> bool:
        """Delete a binding; False when it is unknown."""
        with self._lock:
            if self.get_event_schema(project_id, schema_id) is None:
                return False
            self._execute("DELETE FROM event_schemas WHERE id = ?", (schema_id,))
            return True

    # Internals

    def _insert_property(
        self, conn: sqlite3.Connection, group_id: str, new_property: NewProperty
    ) -> None:
        now = to_storage(self.clock.now())
        try:
            conn.execute(
                "INSERT INTO group_properties (id, group_id, name, property_type, is_required,"
                " is_optional_in_types, description, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(uuid.uuid4()),
                    group_id,
                    new_property.name,
                    new_property.property_type,
                    new_property.is_required,
                    new_property.is_optional_in_types,
                    new_property.description,
                    now,
                    now,
                ),
            )
        except sqlite3.IntegrityError as error:
            raise UniqueViolation(_constraint(error), new_property.name) from error

    def _groups(self, group_ids: Sequence[str]) -> dict[str, PropertyGroupRecord]:
        """The groups with these ids that exist, each with its properties and bound events.

        A page of schemas asks for the same few groups again and again, so groups read are kept
        until the next write of any kind (the connection's `total_changes` moves with every
        inserted, updated or deleted row). Inside an open transaction nothing is kept or used:
        a read there may see rows a rollback takes back without moving that count.
        """
        if not group_ids:
            return {}
        ids = list(dict.fromkeys(group_ids))
        with self._lock:
            if self._conn.in_transaction:
                return self._read_groups(ids)
            if self._conn.total_changes != self._group_cache_changes:
                self._group_cache = {}
                self._group_cache_changes = self._conn.total_changes
            cache = self._group_cache
            missing = [group_id for group_id in ids if group_id not in cache]
            if missing:
                cache.update(self._read_groups(missing))
            return {group_id: cache[group_id] for group_id in ids if group_id in cache}

    def _read_groups(self, ids: Sequence[str]) -> dict[str, PropertyGroupRecord]:
        marks = ", ".join("?" for _ in ids)
        group_rows = self._all(f"SELECT * FROM property_groups WHERE id IN ({marks})", ids)  # noqa: S608
        property_rows = self._all(
            f"SELECT * FROM group_properties WHERE group_id IN ({marks}) ORDER BY group_id, name",  # noqa: S608
            ids,
        )
        event_rows = self._all(
            "SELECT s.property_group_id AS group_id, d.id AS id, d.name AS name"  # noqa: S608
            " FROM event_schemas s JOIN event_definitions d ON d.id = s.event_definition_id"
            f" WHERE s.property_group_id IN ({marks})",
            ids,
        )
        properties: defaultdict[str, list[PropertyRecord]] = defaultdict(list)
        for row in property_rows:
            properties[row["group_id"]].append(_property(row))
        events: defaultdict[str, list[EventRef]] = defaultdict(list)
        for row in event_rows:
            events[row["group_id"]].append(EventRef(row["id"], row["name"]))
        return {
            row["id"]: PropertyGroupRecord(
                id=row["id"],
                project_id=row["project_id"],
                name=row["name"],
                description=row["description"],
                created_by_id=row["created_by_id"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                properties=tuple(properties[row["id"]]),
                events=tuple(sorted(events[row["id"]], key=lambda event: event.name.lower())),
            )
            for row in group_rows
        }

    def _schemas(self, rows: Sequence[sqlite3.Row]) -> list[EventSchemaRecord]:
        groups = self._groups([row["property_group_id"] for row in rows])
        return [
            EventSchemaRecord(
                id=row["id"],
                event_definition_id=row["event_definition_id"],
                property_group=groups[row["property_group_id"]],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.IntegrityError as error:
                raise UniqueViolation(_constraint(error)) from error

    def _one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())


def _add_column(conn: sqlite3.Connection, table: str, column: str, fill: str) -> None:
    """Give a database written before ``table`` had ``column`` (its SQL type and default) that
    column, and run ``fill`` to set it on the rows already there, in one transaction."""
    name = column.split()[0]
    if name in {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        conn.execute(fill)
    except sqlite3.Error:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database written by an earlier version to the current tables."""
    # Definitions with a null description are taken as ingested and not yet extended.
    _add_column(
        conn,
        "event_definitions",
        "enterprise INTEGER NOT NULL DEFAULT 1",
        "UPDATE event_definitions SET enterprise = 0 WHERE description IS NULL",
    )
    # A schema's project is its definition's.
    _add_column(
        conn,
        "event_schemas",
        "project_id INTEGER",
        "UPDATE event_schemas SET project_id = (SELECT d.project_id FROM event_definitions d"
        " WHERE d.id = event_schemas.event_definition_id)",
    )


def _bind(prefix: str, values: Sequence[str], params: dict[str, Any]) -> str:
    """Add `values` to `params` as :prefix0, :prefix1... and return those placeholders."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    params.update(zip(names, values, strict=True))
    return ", ".join(f":{name}" for name in names)


def _unicode_lower(value: str | None) -> str | None:
    # SQLite's lower() folds ASCII only; PostHog's ILIKE folds every letter.
    return value.lower() if isinstance(value, str) else value


def _constraint(error: sqlite3.IntegrityError) -> str:
    """PostHog's constraint name for SQLite's `UNIQUE constraint failed: table.col, ...`."""
    message = str(error)
    for table, constraint in _UNIQUE_BY_TABLE.items():
        if f" {table}." in message:
            return constraint
    raise error


def _definition_order(query: DefinitionQuery, searching: bool) -> str:
    ordering = list(query.ordering) or [("last_seen_at::date", True), ("name", False)]
    if not any(field == "name" for field, _ in ordering):
        ordering.append(("name", False))
    # SQLite sorts NULL lowest, which is PostHog's NULLS FIRST for ASC and NULLS LAST for DESC.
    clauses = [
        f"{_DEFINITION_ORDER_SQL[field]} {'DESC' if desc else 'ASC'}" for field, desc in ordering
    ]
    if searching and not query.ordering:
        clauses.insert(0, "length(name) ASC")
    return ", ".join([*clauses, "seq ASC"])


def _definition_values(values: Mapping[str, object]) -> dict[str, object]:
    unknown = set(values) - _DEFINITION_COLUMNS
    if unknown:
        raise ValueError(f"not event-definition columns: {sorted(unknown)}")
    return {
        column: json.dumps(list(cast(Iterable[str], value))) if column in _JSON_COLUMNS else value
        for column, value in values.items()
    }


def _definition(row: sqlite3.Row) -> EventDefinitionRecord:
    return EventDefinitionRecord(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        description=row["description"],
        tags=tuple(json.loads(row["tags"])),
        owner_id=row["owner_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        updated_by_id=row["updated_by_id"],
        last_seen_at=row["last_seen_at"],
        verified=bool(row["verified"]),
        verified_at=row["verified_at"],
        verified_by_id=row["verified_by_id"],
        hidden=None if row["hidden"] is None else bool(row["hidden"]),
        enforcement_mode=row["enforcement_mode"],
        default_columns=tuple(json.loads(row["default_columns"])),
    )


def _property(row: sqlite3.Row) -> PropertyRecord:
    return PropertyRecord(
        id=row["id"],
        name=row["name"],
        property_type=row["property_type"],
        is_required=bool(row["is_required"]),
        is_optional_in_types=bool(row["is_optional_in_types"]),
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
