"""Every method of the async client, in-process against a fresh sandbox per test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eventschema_tools import (
    AsyncEventSchemaClient,
    BadRequestError,
    EnforcementMode,
    NotFoundError,
    PropertyInput,
    PropertyType,
)
from eventschema_tools.sandbox import SandboxApp

pytestmark = pytest.mark.anyio

MakeClient = Callable[..., AsyncEventSchemaClient]


async def test_current_user_and_project(aclient: AsyncEventSchemaClient) -> None:
    user = await aclient.current_user()
    project = await aclient.project()

    assert user.email == "sandbox@example.com"
    assert (project.id, project.api_token) == (1, "phc_sandbox_demo")


class TestAsyncPropertyGroups:
    async def test_create_get_find_list(
        self, aclient: AsyncEventSchemaClient, app: SandboxApp, make_async_client: MakeClient
    ) -> None:
        created = await aclient.property_groups.create(
            name="checkout",
            description="Every checkout event",
            properties=[
                PropertyInput(name="order_id", property_type=PropertyType.STRING, is_required=True),
                {"name": "amount", "property_type": "Numeric"},
            ],
        )
        others = [await aclient.property_groups.create(name=f"group {i}") for i in range(4)]

        assert [p.name for p in created.properties] == ["amount", "order_id"]
        assert await aclient.property_groups.get(created.id) == created
        assert await aclient.property_groups.find_by_name("checkout") == created
        assert await aclient.property_groups.find_by_name("Checkout") is None
        two_per_page = make_async_client(app, page_size=2)
        listed = [g async for g in two_per_page.property_groups.list()]
        assert [g.id for g in listed] == [created.id, *(g.id for g in others)]

    async def test_update_replaces_properties_only_when_given(
        self, aclient: AsyncEventSchemaClient
    ) -> None:
        group = await aclient.property_groups.create(
            name="billing", properties=[{"name": "plan", "property_type": "String"}]
        )

        renamed = await aclient.property_groups.update(group.id, name="billing v2")
        replaced = await aclient.property_groups.update(
            group.id, properties=[{"name": "seats", "property_type": "Numeric"}]
        )

        assert renamed.name == "billing v2"
        assert [p.id for p in renamed.properties] == [p.id for p in group.properties]
        assert [(p.name, p.property_type) for p in replaced.properties] == [
            ("seats", PropertyType.NUMERIC)
        ]

    async def test_delete_cascades_to_bindings(self, aclient: AsyncEventSchemaClient) -> None:
        group = await aclient.property_groups.create(name="doomed")
        event = await aclient.event_definitions.create(name="page_viewed")
        await aclient.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        await aclient.property_groups.delete(group.id)

        with pytest.raises(NotFoundError):
            await aclient.property_groups.get(group.id)
        assert [s async for s in aclient.event_schemas.list()] == []


class TestAsyncEventDefinitions:
    async def test_create_get_get_by_name_update_delete(
        self, aclient: AsyncEventSchemaClient
    ) -> None:
        event = await aclient.event_definitions.create(name="trial started", tags=["growth"])

        assert await aclient.event_definitions.get(event.id) == event
        assert (await aclient.event_definitions.get_by_name("trial started")).id == event.id
        updated = await aclient.event_definitions.update(
            event.id,
            description="Trial began",
            hidden=True,
            enforcement_mode=EnforcementMode.REJECT,
        )
        assert (updated.description, updated.hidden, updated.tags) == (
            "Trial began",
            True,
            ["growth"],
        )
        assert updated.enforcement_mode is EnforcementMode.REJECT

        await aclient.event_definitions.delete(event.id)
        with pytest.raises(NotFoundError):
            await aclient.event_definitions.get_by_name("trial started")

    async def test_list_with_search_and_names_across_pages(
        self, aclient: AsyncEventSchemaClient, app: SandboxApp, make_async_client: MakeClient
    ) -> None:
        for name in ["button clicked", "link clicked", "button clicked twice", "page viewed"]:
            await aclient.event_definitions.create(name=name)
        one, three = make_async_client(app, page_size=1), make_async_client(app, page_size=3)

        searched = [e.name async for e in one.event_definitions.list(search="clicked button")]
        named = [
            e.name async for e in one.event_definitions.list(names=["page viewed", "link clicked"])
        ]
        everything = [e.name async for e in three.event_definitions.list()]

        assert searched == ["button clicked", "button clicked twice"]
        assert sorted(named) == ["link clicked", "page viewed"]
        assert sorted(everything) == sorted(
            ["button clicked", "link clicked", "button clicked twice", "page viewed"]
        )


class TestAsyncEventSchemas:
    async def test_create_find_list_update_delete(
        self, aclient: AsyncEventSchemaClient, app: SandboxApp, make_async_client: MakeClient
    ) -> None:
        first = await aclient.property_groups.create(name="first")
        second = await aclient.property_groups.create(name="second")
        signup = await aclient.event_definitions.create(name="signed_up")
        login = await aclient.event_definitions.create(name="logged_in")

        schema = await aclient.event_schemas.create(
            event_definition=signup.id, property_group_id=first.id
        )
        other = await aclient.event_schemas.create(
            event_definition=login.id, property_group_id=first.id
        )

        found = await aclient.event_schemas.find(
            event_definition=signup.id, property_group_id=first.id
        )
        missing = await aclient.event_schemas.find(
            event_definition=signup.id, property_group_id=second.id
        )
        assert found is not None
        assert (found.id, missing) == (schema.id, None)
        one_per_page = make_async_client(app, page_size=1)
        assert [s.id async for s in one_per_page.event_schemas.list()] == [
            other.id,
            schema.id,
        ]
        assert [s.id async for s in aclient.event_schemas.list(event_definition=login.id)] == [
            other.id
        ]

        moved = await aclient.event_schemas.update(schema.id, property_group_id=second.id)
        assert (moved.id, moved.property_group.name) == (schema.id, "second")

        await aclient.event_schemas.delete(schema.id)
        assert [s.id async for s in aclient.event_schemas.list()] == [other.id]

    async def test_duplicate_pair_is_a_bad_request(self, aclient: AsyncEventSchemaClient) -> None:
        group = await aclient.property_groups.create(name="g")
        event = await aclient.event_definitions.create(name="e")
        await aclient.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        with pytest.raises(BadRequestError, match="unique"):
            await aclient.event_schemas.create(
                event_definition=event.id, property_group_id=group.id
            )

    async def test_bindings_of_one_group_share_one_validated_group(
        self, aclient: AsyncEventSchemaClient
    ) -> None:
        group = await aclient.property_groups.create(
            name="shared", properties=[{"name": "plan", "property_type": "String"}]
        )
        for name in ("a", "b", "c"):
            event = await aclient.event_definitions.create(name=name)
            await aclient.event_schemas.create(
                event_definition=event.id, property_group_id=group.id
            )

        schemas = [s async for s in aclient.event_schemas.list()]

        assert len({id(s.property_group) for s in schemas}) == 1
        assert [e.name for e in schemas[0].property_group.events] == ["a", "b", "c"]


class TestAsyncQuery:
    async def test_hogql_with_values(self, aclient: AsyncEventSchemaClient) -> None:
        result = await aclient.query.hogql("SELECT {n} * 2 AS doubled", values={"n": 21})

        assert result.rows() == [{"doubled": 42}]

    async def test_hogql_error_carries_the_validation_detail(
        self, aclient: AsyncEventSchemaClient
    ) -> None:
        with pytest.raises(BadRequestError) as caught:
            await aclient.query.hogql("SELECT FROM WHERE")

        assert caught.value.type == "validation_error"
        assert caught.value.detail
