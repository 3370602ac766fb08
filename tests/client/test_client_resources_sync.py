"""Every method of the sync client, over loopback against the shared sandbox."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from eventschema_tools import (
    BadRequestError,
    EnforcementMode,
    EventSchemaClient,
    NotFoundError,
    PropertyInput,
    PropertyType,
)
from eventschema_tools.models import EventDefinition, PropertyGroup

Unique = Callable[[str], str]
MakeClient = Callable[..., EventSchemaClient]


def _paged(client: EventSchemaClient, make_sync_client: MakeClient, size: int) -> EventSchemaClient:
    """Another client on the same sandbox, reading ``size`` rows per list request."""
    return make_sync_client(client.host, page_size=size)


def _group(client: EventSchemaClient, unique: Unique, **fields: object) -> PropertyGroup:
    return client.property_groups.create(name=unique("group"), **fields)  # type: ignore[arg-type]


def _event(client: EventSchemaClient, unique: Unique) -> EventDefinition:
    return client.event_definitions.create(name=unique("event"))


def test_current_user_and_project(client: EventSchemaClient) -> None:
    user = client.current_user()
    project = client.project()

    assert user.email
    assert user.uuid is not None
    assert project.id == 1
    assert project.api_token == "phc_sandbox_demo"


class TestPropertyGroups:
    def test_create_returns_the_group_with_typed_properties(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        name = unique("checkout")
        group = client.property_groups.create(
            name=f"  {name} ",
            description="Every checkout event",
            properties=[
                PropertyInput(name="order_id", property_type=PropertyType.STRING, is_required=True),
                {"name": "amount", "property_type": "Numeric", "is_optional_in_types": True},
            ],
        )

        assert (group.name, group.description) == (name, "Every checkout event")
        assert [
            (p.name, p.property_type, p.is_required, p.is_optional_in_types)
            for p in group.properties
        ] == [
            ("amount", PropertyType.NUMERIC, False, True),
            ("order_id", PropertyType.STRING, True, False),
        ]

    def test_get_and_find_by_name(self, client: EventSchemaClient, unique: Unique) -> None:
        group = _group(client, unique)

        assert client.property_groups.get(group.id) == group
        assert client.property_groups.get(str(group.id)).name == group.name
        assert client.property_groups.find_by_name(group.name) == group
        assert client.property_groups.find_by_name(group.name.upper()) is None

    def test_list_reads_every_page_in_name_order(
        self, client: EventSchemaClient, unique: Unique, make_sync_client: MakeClient
    ) -> None:
        prefix = unique("paged")
        created = {client.property_groups.create(name=f"{prefix}_{i:02d}").id for i in range(7)}
        paged = _paged(client, make_sync_client, 3)

        listed = [g for g in paged.property_groups.list() if g.name.startswith(prefix)]

        assert {g.id for g in listed} == created
        assert [g.name for g in listed] == sorted(g.name for g in listed)

    def test_update_renames_and_keeps_properties_when_not_given(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        group = _group(client, unique, properties=[{"name": "plan", "property_type": "String"}])
        new_name = unique("renamed")

        updated = client.property_groups.update(group.id, name=new_name, description="new")

        assert (updated.name, updated.description) == (new_name, "new")
        assert [p.id for p in updated.properties] == [p.id for p in group.properties]

    def test_update_with_properties_replaces_the_whole_list(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        group = _group(
            client,
            unique,
            properties=[
                {"name": "a", "property_type": "String"},
                {"name": "b", "property_type": "String"},
            ],
        )

        updated = client.property_groups.update(
            group.id, properties=[{"name": "b", "property_type": "Boolean", "is_required": True}]
        )

        assert [(p.name, p.property_type, p.is_required) for p in updated.properties] == [
            ("b", PropertyType.BOOLEAN, True)
        ]
        assert updated.properties[0].id not in {p.id for p in group.properties}

    def test_delete_removes_the_group_and_its_bindings(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        group, event = _group(client, unique), _event(client, unique)
        client.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        client.property_groups.delete(group.id)

        with pytest.raises(NotFoundError):
            client.property_groups.get(group.id)
        assert list(client.event_schemas.list(event_definition=event.id)) == []

    def test_duplicate_name_is_a_bad_request_on_the_name(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        group = _group(client, unique)

        with pytest.raises(BadRequestError) as caught:
            client.property_groups.create(name=group.name)

        assert caught.value.attr == "name"
        assert caught.value.is_duplicate


class TestEventDefinitions:
    def test_create_get_and_get_by_name(self, client: EventSchemaClient, unique: Unique) -> None:
        name = unique("signed up")
        event = client.event_definitions.create(name=name, description="First visit", tags=["web"])

        assert (event.name, event.description, event.tags) == (name, "First visit", ["web"])
        assert event.enforcement_mode is EnforcementMode.ALLOW
        assert client.event_definitions.get(event.id) == event
        assert client.event_definitions.get_by_name(name).id == event.id

    def test_get_by_name_of_an_unknown_event_is_not_found(self, client: EventSchemaClient) -> None:
        with pytest.raises(NotFoundError, match="not found"):
            client.event_definitions.get_by_name(f"never_sent_{uuid4().hex}")

    def test_list_with_search_and_with_exact_names(
        self, client: EventSchemaClient, unique: Unique, make_sync_client: MakeClient
    ) -> None:
        word = unique("zebra")
        first = client.event_definitions.create(name=f"{word} clicked")
        second = client.event_definitions.create(name=f"{word} clicked twice")
        client.event_definitions.create(name=unique("unrelated"))

        paged = _paged(client, make_sync_client, 1)
        searched = list(paged.event_definitions.list(search=f"clicked {word}"))
        named = list(client.event_definitions.list(names=[first.name, "no such event"]))

        assert [e.id for e in searched] == [first.id, second.id]  # shorter names first
        assert [e.id for e in named] == [first.id]

    def test_update_sends_only_the_given_fields(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        event = client.event_definitions.create(name=unique("paid"), description="kept")

        updated = client.event_definitions.update(
            event.id, tags=["billing"], verified=True, enforcement_mode="reject"
        )

        assert updated.description == "kept"
        assert (updated.tags, updated.verified) == (["billing"], True)
        assert updated.enforcement_mode is EnforcementMode.REJECT

    def test_delete(self, client: EventSchemaClient, unique: Unique) -> None:
        event = _event(client, unique)

        client.event_definitions.delete(event.id)

        with pytest.raises(NotFoundError):
            client.event_definitions.get(event.id)


class TestEventSchemas:
    def test_create_binds_and_find_returns_the_binding(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        group, event = _group(client, unique), _event(client, unique)

        schema = client.event_schemas.create(
            event_definition=str(event.id), property_group_id=group.id
        )

        assert (schema.event_definition, schema.property_group.id) == (event.id, group.id)
        assert [e.name for e in schema.property_group.events] == [event.name]
        found = client.event_schemas.find(event_definition=event.id, property_group_id=group.id)
        assert found == schema
        other = _group(client, unique)
        assert (
            client.event_schemas.find(event_definition=event.id, property_group_id=other.id) is None
        )

    def test_list_filters_by_event_and_reads_newest_first(
        self, client: EventSchemaClient, unique: Unique, make_sync_client: MakeClient
    ) -> None:
        event = _event(client, unique)
        groups = [_group(client, unique) for _ in range(3)]
        created = [
            client.event_schemas.create(event_definition=event.id, property_group_id=g.id)
            for g in groups
        ]

        paged = _paged(client, make_sync_client, 2)
        listed = list(paged.event_schemas.list(event_definition=event.id))

        assert [s.id for s in listed] == [s.id for s in reversed(created)]
        assert {s.id for s in created} <= {s.id for s in client.event_schemas.list()}

    def test_update_moves_the_binding_to_another_group(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        event, first, second = (
            _event(client, unique),
            _group(client, unique),
            _group(client, unique),
        )
        schema = client.event_schemas.create(event_definition=event.id, property_group_id=first.id)

        moved = client.event_schemas.update(schema.id, property_group_id=second.id)

        assert (moved.id, moved.property_group.id, moved.event_definition) == (
            schema.id,
            second.id,
            event.id,
        )

    def test_duplicate_pair_is_a_bad_request(
        self, client: EventSchemaClient, unique: Unique
    ) -> None:
        group, event = _group(client, unique), _event(client, unique)
        client.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        with pytest.raises(BadRequestError) as caught:
            client.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        assert caught.value.is_duplicate
        assert caught.value.code == "unique"

    def test_delete(self, client: EventSchemaClient, unique: Unique) -> None:
        group, event = _group(client, unique), _event(client, unique)
        schema = client.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        client.event_schemas.delete(schema.id)

        assert (
            client.event_schemas.find(event_definition=event.id, property_group_id=group.id) is None
        )
        with pytest.raises(NotFoundError):
            client.event_schemas.delete(schema.id)


class TestQuery:
    def test_hogql_passes_values_as_placeholders(self, client: EventSchemaClient) -> None:
        result = client.query.hogql("SELECT {word} AS word, 1 + 1 AS two", values={"word": "it's"})

        assert result.columns == ["word", "two"]
        assert result.rows() == [{"word": "it's", "two": 2}]

    def test_hogql_syntax_error_is_a_bad_request(self, client: EventSchemaClient) -> None:
        with pytest.raises(BadRequestError) as caught:
            client.query.hogql("SELEC nothing FROM")

        assert caught.value.path == "/api/projects/1/query/"


def test_ids_are_accepted_as_uuid_or_text(client: EventSchemaClient, unique: Unique) -> None:
    group = _group(client, unique)

    assert client.property_groups.get(UUID(str(group.id))).id == group.id
    assert client.property_groups.get(f" {str(group.id).upper()} ").id == group.id


@pytest.mark.parametrize(
    "name", ["checkout & pay #1", "100% done?", "$ünïcode ✓ event", "a/b?c=d", "  padded  "]
)
def test_event_names_reach_the_api_intact(client: EventSchemaClient, name: str) -> None:
    unique_name = f"{name}{uuid4().hex[:6]}"
    created = client.event_definitions.create(name=unique_name)
    unique_name = unique_name.strip()  # trimmed, as PostHog trims it

    assert created.name == unique_name
    assert client.event_definitions.get_by_name(unique_name).id == created.id
    assert [e.id for e in client.event_definitions.list(names=[unique_name])] == [created.id]
