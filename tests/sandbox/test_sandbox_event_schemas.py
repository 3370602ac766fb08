"""Event schemas: PostHog's behaviour cases 16-20 and the extra cases, over HTTP in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from eventschema_tools.sandbox import ApiKey, Project, SandboxApp

pytestmark = pytest.mark.anyio

SCHEMAS = "/api/projects/1/event_schemas/"
MISSING = "00000000-0000-4000-8000-000000000000"


async def definition(client: httpx.AsyncClient, name: str, project_id: int = 1) -> str:
    response = await client.post(
        f"/api/projects/{project_id}/event_definitions/", json={"name": name}
    )
    assert response.status_code == 201, response.text
    definition_id: str = response.json()["id"]
    return definition_id


async def group(client: httpx.AsyncClient, name: str, project_id: int = 1) -> dict[str, Any]:
    response = await client.post(
        f"/api/projects/{project_id}/schema_property_groups/",
        json={"name": name, "properties": [{"name": "plan", "property_type": "String"}]},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def bind(client: httpx.AsyncClient, definition_id: str, group_id: str) -> httpx.Response:
    return await client.post(
        SCHEMAS, json={"event_definition": definition_id, "property_group_id": group_id}
    )


@pytest.fixture
def two_projects(sandbox_app: Callable[..., SandboxApp]) -> SandboxApp:
    return sandbox_app(projects=(Project(1), Project(2)))


# PostHog's behaviour cases (TestEventSchemaAPI)


async def test_case_16_create_embeds_the_group(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "signed_up")
    created_group = await group(asgi_client, "Signup")

    response = await bind(asgi_client, definition_id, created_group["id"])

    assert response.status_code == 201
    body = response.json()
    assert body["event_definition"] == definition_id
    assert body["property_group"]["id"] == created_group["id"]
    assert body["property_group"]["properties"][0]["name"] == "plan"
    assert body["property_group"]["events"] == [{"id": definition_id, "name": "signed_up"}]


async def test_case_17_same_pair_twice_is_rejected_as_unique(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "paid")
    created_group = await group(asgi_client, "Payment")
    assert (await bind(asgi_client, definition_id, created_group["id"])).status_code == 201

    response = await bind(asgi_client, definition_id, created_group["id"])

    assert response.status_code == 400
    assert "unique" in response.text.lower()
    assert response.json() == {
        "type": "validation_error",
        "code": "unique",
        "detail": "The fields event_definition, property_group_id must make a unique set.",
        "attr": None,
    }


async def test_case_18_delete_removes_the_schema(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "viewed")
    created_group = await group(asgi_client, "View")
    schema = (await bind(asgi_client, definition_id, created_group["id"])).json()

    response = await asgi_client.delete(f"{SCHEMAS}{schema['id']}/")

    assert response.status_code == 204
    assert (await asgi_client.get(SCHEMAS)).json()["results"] == []
    assert (await asgi_client.delete(f"{SCHEMAS}{schema['id']}/")).status_code == 404


async def test_case_19_group_of_another_project_does_not_exist(
    two_projects: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(two_projects)
    definition_id = await definition(client, "here")
    foreign_group = await group(client, "There", project_id=2)

    response = await bind(client, definition_id, foreign_group["id"])

    assert response.status_code == 400
    assert "does not exist" in response.text
    assert (
        response.json()["detail"] == f'Invalid pk "{foreign_group["id"]}" - object does not exist.'
    )
    assert response.json()["code"] == "does_not_exist"
    assert response.json()["attr"] == "property_group_id"


async def test_case_20_event_definition_of_another_project_does_not_exist(
    two_projects: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(two_projects)
    foreign_definition = await definition(client, "elsewhere", project_id=2)
    local_group = await group(client, "Local")

    response = await bind(client, foreign_definition, local_group["id"])

    assert response.status_code == 400
    assert "does not exist" in response.text
    assert response.json()["attr"] == "event_definition"


# Extra cases


async def test_get_one_schema_is_405_for_an_unscoped_key(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "e")
    schema = (await bind(asgi_client, definition_id, (await group(asgi_client, "G"))["id"])).json()

    response = await asgi_client.get(f"{SCHEMAS}{schema['id']}/")

    assert response.status_code == 405
    assert response.json() == {
        "type": "invalid_request",
        "code": "method_not_allowed",
        "detail": 'Method "GET" not allowed.',
        "attr": None,
    }


async def test_get_one_schema_is_403_for_a_scoped_key(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    app = sandbox_app(api_keys=(ApiKey("phx_star", ("*",)),))
    client = asgi_client_for(app, "phx_star")

    response = await client.get(f"{SCHEMAS}{MISSING}/")

    assert response.status_code == 403
    assert response.json()["detail"] == "This action does not support Personal API Key access"


async def test_list_filters_by_event_definition(asgi_client: httpx.AsyncClient):
    first, second = await definition(asgi_client, "first"), await definition(asgi_client, "second")
    shared = await group(asgi_client, "Shared")
    await bind(asgi_client, first, shared["id"])
    await bind(asgi_client, second, shared["id"])

    response = await asgi_client.get(SCHEMAS, params={"event_definition": second})

    assert response.json()["count"] == 1
    assert [s["event_definition"] for s in response.json()["results"]] == [second]
    unknown = await asgi_client.get(SCHEMAS, params={"event_definition": MISSING})
    assert unknown.json() == {"count": 0, "next": None, "previous": None, "results": []}


async def test_malformed_filter_fails_like_the_database_does(asgi_client: httpx.AsyncClient):
    response = await asgi_client.get(SCHEMAS, params={"event_definition": "nope"})

    assert response.status_code == 500
    assert response.json() == {
        "type": "server_error",
        "code": "error",
        "detail": "A server error occurred.",
        "attr": None,
    }


async def test_list_is_newest_first(asgi_client: httpx.AsyncClient):
    target = await group(asgi_client, "Order")
    created = []
    for name in ["one", "two", "three"]:
        created.append(
            (await bind(asgi_client, await definition(asgi_client, name), target["id"])).json()
        )

    listed = (await asgi_client.get(SCHEMAS)).json()["results"]

    assert [s["id"] for s in listed] == [s["id"] for s in reversed(created)]


async def test_deleting_a_group_removes_its_schemas(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "cascade")
    doomed, kept = await group(asgi_client, "Doomed"), await group(asgi_client, "Kept")
    await bind(asgi_client, definition_id, doomed["id"])
    kept_schema = (await bind(asgi_client, definition_id, kept["id"])).json()

    await asgi_client.delete(f"/api/projects/1/schema_property_groups/{doomed['id']}/")

    assert [s["id"] for s in (await asgi_client.get(SCHEMAS)).json()["results"]] == [
        kept_schema["id"]
    ]


async def test_deleting_an_event_definition_removes_its_schemas(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "gone")
    kept_group = await group(asgi_client, "Survives")
    await bind(asgi_client, definition_id, kept_group["id"])

    deleted = await asgi_client.delete(f"/api/projects/1/event_definitions/{definition_id}/")

    assert deleted.status_code == 204
    assert (await asgi_client.get(SCHEMAS)).json()["count"] == 0
    survivor = await asgi_client.get(f"/api/projects/1/schema_property_groups/{kept_group['id']}/")
    assert survivor.json()["events"] == []


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("not-a-uuid", "“not-a-uuid” is not a valid UUID."),
        ("1234", "“1234” is not a valid UUID."),
        (123, 'Invalid pk "123" - object does not exist.'),
        (True, "Incorrect type. Expected pk value, received bool."),
        (None, "This field may not be null."),
    ],
)
async def test_bad_event_definition_values(
    asgi_client: httpx.AsyncClient, value: object, detail: str
):
    target = await group(asgi_client, "Target")

    response = await asgi_client.post(
        SCHEMAS, json={"event_definition": value, "property_group_id": target["id"]}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert response.json()["attr"] == "event_definition"


async def test_malformed_uuid_has_code_invalid_input(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        SCHEMAS, json={"event_definition": "x", "property_group_id": "y"}
    )

    assert response.json()["code"] == "invalid_input"


async def test_missing_fields_are_required_event_definition_first(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(SCHEMAS, json={})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "required",
        "detail": "This field is required.",
        "attr": "event_definition",
    }
    only_definition = await asgi_client.post(
        SCHEMAS, json={"event_definition": await definition(asgi_client, "half")}
    )
    assert only_definition.json()["attr"] == "property_group_id"


async def test_response_never_contains_property_group_id(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "write_only")
    created = (await bind(asgi_client, definition_id, (await group(asgi_client, "W"))["id"])).json()
    listed = (await asgi_client.get(SCHEMAS)).json()["results"][0]

    assert "property_group_id" not in created
    assert "property_group_id" not in listed
    assert set(created) == {"id", "event_definition", "property_group", "created_at", "updated_at"}


async def test_patch_moves_a_schema_to_another_group(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "moving")
    source, target = await group(asgi_client, "Source"), await group(asgi_client, "Target")
    schema = (await bind(asgi_client, definition_id, source["id"])).json()

    response = await asgi_client.patch(
        f"{SCHEMAS}{schema['id']}/", json={"property_group_id": target["id"]}
    )

    assert response.status_code == 200
    assert response.json()["property_group"]["id"] == target["id"]
    assert response.json()["id"] == schema["id"]
    assert response.json()["updated_at"] > schema["updated_at"]


async def test_patch_onto_an_existing_pair_is_unique(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "clash")
    first, second = await group(asgi_client, "First"), await group(asgi_client, "Second")
    await bind(asgi_client, definition_id, first["id"])
    schema = (await bind(asgi_client, definition_id, second["id"])).json()

    response = await asgi_client.patch(
        f"{SCHEMAS}{schema['id']}/", json={"property_group_id": first["id"]}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "unique"


async def test_put_repeating_its_own_pair_is_rejected_by_validate(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "same")
    target = await group(asgi_client, "Same pair")
    schema = (await bind(asgi_client, definition_id, target["id"])).json()

    response = await asgi_client.put(
        f"{SCHEMAS}{schema['id']}/",
        json={"event_definition": definition_id, "property_group_id": target["id"]},
    )

    # The serializer's validate() checks the pair without excluding the schema itself.
    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "Property group 'Same pair' is already added to this event schema",
        "attr": None,
    }


async def test_put_needs_both_fields(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "put_me")
    schema = (await bind(asgi_client, definition_id, (await group(asgi_client, "P"))["id"])).json()

    response = await asgi_client.put(
        f"{SCHEMAS}{schema['id']}/", json={"event_definition": definition_id}
    )

    assert response.status_code == 400
    assert response.json()["attr"] == "property_group_id"


async def test_unknown_fields_are_ignored(asgi_client: httpx.AsyncClient):
    definition_id = await definition(asgi_client, "extra")
    target = await group(asgi_client, "Extra")

    response = await asgi_client.post(
        SCHEMAS,
        json={"event_definition": definition_id, "property_group_id": target["id"], "x": 1},
    )

    assert response.status_code == 201
    assert "x" not in response.json()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_unknown_or_malformed_schema_id_is_404(asgi_client: httpx.AsyncClient, method: str):
    for schema_id in ("garbage", MISSING):
        response = await asgi_client.request(method, f"{SCHEMAS}{schema_id}/", json={})

        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
