"""Event schema pages read from the project's own index: same pages, older databases upgraded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eventschema_tools.sandbox.storage.store import NewProperty, Store


def _bind(store: Store, project_id: int, event: str, group_id: str) -> str:
    definition = store.create_event_definition(project_id, event, {})
    return store.create_event_schema(project_id, definition.id, group_id).id


def _seed(store: Store) -> dict[int, list[str]]:
    """Two projects with interleaved bindings; each project's schema ids, oldest first."""
    ids: dict[int, list[str]] = {1: [], 2: []}
    groups = {
        project: store.create_property_group(
            project, "shared", "", [NewProperty(name="plan", property_type="String")], None
        ).id
        for project in ids
    }
    for n in range(7):
        for project in ids:
            ids[project].append(_bind(store, project, f"event_{n}", groups[project]))
    return ids


def _pages(store: Store, project_id: int, size: int) -> tuple[int, list[str]]:
    total, first = store.list_event_schemas(project_id, size, 0)
    seen = [schema.id for schema in first]
    while len(seen) < total:
        _, page = store.list_event_schemas(project_id, size, len(seen))
        seen.extend(schema.id for schema in page)
    return total, seen


def test_pages_hold_only_the_projects_schemas_newest_first() -> None:
    store = Store()
    try:
        ids = _seed(store)
        for project, created in ids.items():
            assert _pages(store, project, 3) == (7, created[::-1])
        definition = store.get_event_definition_by_name(2, "event_4")
        assert definition is not None
        total, page = store.list_event_schemas(2, 10, 0, definition.id)
        assert (total, [schema.id for schema in page]) == (1, [ids[2][4]])
        assert store.list_event_schemas(1, 10, 0, definition.id) == (0, [])
    finally:
        store.close()


def test_a_database_written_before_schemas_carried_their_project_is_upgraded(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path)
    ids = _seed(store)
    store.close()
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:
        conn.execute("DROP INDEX event_schemas_newest")
        conn.execute("ALTER TABLE event_schemas DROP COLUMN project_id")
    conn.close()

    reopened = Store.open(tmp_path)
    try:
        for project, created in ids.items():
            assert _pages(reopened, project, 4) == (7, created[::-1])
        group = reopened.create_property_group(1, "later", "", [], None)
        newest = _bind(reopened, 1, "event_new", group.id)
        assert _pages(reopened, 1, 5) == (8, [newest, *ids[1][::-1]])
    finally:
        reopened.close()
