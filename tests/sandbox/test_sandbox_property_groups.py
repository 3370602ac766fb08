"""Property groups: PostHog's behaviour cases 1-10 and the extra cases, over HTTP in-process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

GROUPS = "/api/projects/1/schema_property_groups/"


def prop(name: str, property_type: str = "String", **extra: Any) -> dict[str, Any]:
    return {"name": name, "property_type": property_type, **extra}


async def create_group(client: httpx.AsyncClient, name: str, **body: Any) -> dict[str, Any]:
    response = await client.post(GROUPS, json={"name": name, **body})
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


async def bind(client: httpx.AsyncClient, event_name: str, group_id: str) -> dict[str, Any]:
    definition = await client.post("/api/projects/1/event_definitions/", json={"name": event_name})
    assert definition.status_code == 201, definition.text
    schema = await client.post(
        "/api/projects/1/event_schemas/",
        json={"event_definition": definition.json()["id"], "property_group_id": group_id},
    )
    assert schema.status_code == 201, schema.text
    result: dict[str, Any] = schema.json()
    return result


# PostHog's behaviour cases (posthog/api/test/test_schema_property_group.py)


async def test_case_1_create_returns_properties_ordered_by_name(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS,
        json={
            "name": "User Info",
            "description": "User information properties",
            "properties": [
                prop("user_id", is_required=True, description="User ID"),
                prop("email", is_required=False, description="User email"),
            ],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "User Info"
    assert body["description"] == "User information properties"
    assert [(p["name"], p["is_required"]) for p in body["properties"]] == [
        ("email", False),
        ("user_id", True),
    ]


async def test_case_2_required_and_optional_in_types_flags_are_echoed(
    asgi_client: httpx.AsyncClient,
):
    body = await create_group(
        asgi_client,
        "Flags",
        properties=[
            prop("team_id", "Numeric", is_required=True, is_optional_in_types=True),
            prop("user_id", is_required=True, is_optional_in_types=False),
        ],
    )

    flags = {p["name"]: (p["is_required"], p["is_optional_in_types"]) for p in body["properties"]}
    assert flags == {"team_id": (True, True), "user_id": (True, False)}


async def test_case_3_patch_properties_recreates_them_with_new_ids(asgi_client: httpx.AsyncClient):
    group = await create_group(
        asgi_client, "Replace", properties=[prop("prop1"), prop("prop2", is_required=True)]
    )
    old = {p["name"]: p for p in group["properties"]}

    response = await asgi_client.patch(
        f"{GROUPS}{group['id']}/",
        json={
            "properties": [
                {**prop("prop1"), "id": old["prop1"]["id"]},
                {**prop("prop2_updated", "Numeric"), "id": old["prop2"]["id"]},
                prop("prop3", "Boolean"),
            ]
        },
    )

    assert response.status_code == 200
    properties = response.json()["properties"]
    assert [(p["name"], p["property_type"]) for p in properties] == [
        ("prop1", "String"),
        ("prop2_updated", "Numeric"),
        ("prop3", "Boolean"),
    ]
    old_ids = {p["id"] for p in group["properties"]}
    assert old_ids.isdisjoint(p["id"] for p in properties)


async def test_case_4_patch_with_fewer_properties_removes_the_others(
    asgi_client: httpx.AsyncClient,
):
    group = await create_group(asgi_client, "Shrink", properties=[prop("prop1"), prop("prop2")])

    response = await asgi_client.patch(
        f"{GROUPS}{group['id']}/", json={"properties": [prop("prop1")]}
    )

    assert response.status_code == 200
    assert [p["name"] for p in response.json()["properties"]] == ["prop1"]


async def test_case_5_duplicate_group_name_is_rejected(asgi_client: httpx.AsyncClient):
    await create_group(asgi_client, "Taken")

    response = await asgi_client.post(GROUPS, json={"name": "Taken"})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "A property group with this name already exists for this team",
        "attr": "name",
    }


async def test_case_6_free_form_property_names_are_accepted(asgi_client: httpx.AsyncClient):
    names = ["123startswithnumber", "has spaces", "has-dashes", "$special_prefix", "a" * 200]

    body = await create_group(asgi_client, "Free form", properties=[prop(n) for n in names])

    assert sorted(p["name"] for p in body["properties"]) == sorted(names)


async def test_case_7_blank_property_name_is_rejected(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(GROUPS, json={"name": "Blank", "properties": [prop("")]})

    assert response.status_code == 400
    body = response.json()
    assert "blank" in str(body) or "required" in str(body)
    # A bad entry in a nested list is reported as the stringified first entry under `properties`.
    assert body == {
        "type": "validation_error",
        "code": "{'name': ['blank']}",
        "detail": "{'name': [ErrorDetail(string='This field may not be blank.', code='blank')]}",
        "attr": "properties",
    }


async def test_case_8_property_name_over_200_characters_is_rejected(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS, json={"name": "Long", "properties": [prop("a" * 201)]}
    )

    assert response.status_code == 400
    assert "200 characters or less" in response.json()["detail"]
    assert response.json()["attr"] == "properties"


async def test_case_9_delete_removes_group_and_properties(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Doomed", properties=[prop("a"), prop("b")])

    deleted = await asgi_client.delete(f"{GROUPS}{group['id']}/")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await asgi_client.get(f"{GROUPS}{group['id']}/")).status_code == 404
    # The property names are free again: a group reusing them is created without conflict.
    assert (await asgi_client.get(GROUPS)).json()["count"] == 0


async def test_case_10_list_shows_the_bound_event(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Bound", properties=[prop("a")])
    await bind(asgi_client, "test_event", group["id"])

    response = await asgi_client.get(GROUPS)

    assert response.status_code == 200
    (listed,) = [g for g in response.json()["results"] if g["id"] == group["id"]]
    assert [event["name"] for event in listed["events"]] == ["test_event"]


# Extra cases (derived from PostHog's serializer and viewset)


async def test_patch_without_properties_keeps_them(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Keep", properties=[prop("a"), prop("b")])

    response = await asgi_client.patch(f"{GROUPS}{group['id']}/", json={"description": "new"})

    assert response.status_code == 200
    assert response.json()["description"] == "new"
    assert response.json()["properties"] == group["properties"]


async def test_put_without_properties_keeps_them(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Put keeps", properties=[prop("a")])

    response = await asgi_client.put(f"{GROUPS}{group['id']}/", json={"name": "Put kept"})

    assert response.status_code == 200
    assert response.json()["name"] == "Put kept"
    assert response.json()["properties"] == group["properties"]


async def test_empty_properties_list_deletes_them_all(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Empty", properties=[prop("a"), prop("b")])

    response = await asgi_client.patch(f"{GROUPS}{group['id']}/", json={"properties": []})

    assert response.status_code == 200
    assert response.json()["properties"] == []


async def test_duplicate_names_in_one_patch_are_rejected_and_nothing_changes(
    asgi_client: httpx.AsyncClient,
):
    group = await create_group(asgi_client, "Dupes", properties=[prop("keep")])

    response = await asgi_client.patch(
        f"{GROUPS}{group['id']}/",
        json={"name": "Renamed", "properties": [prop("x"), prop("x", "Numeric")]},
    )

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "A property named 'x' already exists in this group",
        "attr": "properties",
    }
    unchanged = (await asgi_client.get(f"{GROUPS}{group['id']}/")).json()
    assert unchanged["name"] == "Dupes"
    assert unchanged["properties"] == group["properties"]


async def test_put_without_name_is_rejected(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Needs name")

    response = await asgi_client.put(f"{GROUPS}{group['id']}/", json={"description": "x"})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "required",
        "detail": "This field is required.",
        "attr": "name",
    }


async def test_unknown_property_type_is_rejected(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS, json={"name": "Types", "properties": [prop("n", "Integer")]}
    )

    assert response.status_code == 400
    assert '"Integer" is not a valid choice.' in response.json()["detail"]
    assert response.json()["attr"] == "properties"


async def test_nested_error_in_a_later_property_reports_the_valid_first_one_as_empty(
    asgi_client: httpx.AsyncClient,
):
    response = await asgi_client.post(
        GROUPS, json={"name": "Second bad", "properties": [prop("fine"), prop("bad", "Nope")]}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "{}"
    assert response.json()["code"] == "{}"


async def test_properties_that_are_not_a_list_are_rejected(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(GROUPS, json={"name": "Not a list", "properties": "a,b"})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "not_a_list",
        "detail": 'Expected a list of items but got type "str".',
        "attr": "properties__non_field_errors",
    }


async def test_renaming_onto_an_existing_name_uses_the_update_message(
    asgi_client: httpx.AsyncClient,
):
    await create_group(asgi_client, "First")
    second = await create_group(asgi_client, "Second")

    response = await asgi_client.patch(f"{GROUPS}{second['id']}/", json={"name": "First"})

    assert response.status_code == 400
    assert response.json()["detail"] == "A property group with this name already exists"
    assert response.json()["attr"] == "name"


async def test_create_with_duplicate_property_names_is_not_atomic(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS, json={"name": "Half made", "properties": [prop("a"), prop("b"), prop("a")]}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "Could not create property group due to a database error."
    assert response.json()["attr"] is None
    (leftover,) = (await asgi_client.get(GROUPS)).json()["results"]
    assert leftover["name"] == "Half made"
    assert [p["name"] for p in leftover["properties"]] == ["a", "b"]


async def test_groups_are_listed_by_name(asgi_client: httpx.AsyncClient):
    for name in ["Charlie", "alpha", "Bravo"]:
        await create_group(asgi_client, name)

    response = await asgi_client.get(GROUPS)

    assert [g["name"] for g in response.json()["results"]] == ["Bravo", "Charlie", "alpha"]


async def test_bound_events_are_sorted_by_lower_cased_name(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Many events")
    for name in ["b_event", "A_event", "c_event"]:
        await bind(asgi_client, name, group["id"])

    listed = (await asgi_client.get(f"{GROUPS}{group['id']}/")).json()

    assert [event["name"] for event in listed["events"]] == ["A_event", "b_event", "c_event"]
    assert all(set(event) == {"id", "name"} for event in listed["events"])


async def test_created_by_is_the_key_owner(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Owned")

    assert group["created_by"]["id"] == 1
    assert group["created_by"]["email"] == "sandbox@example.com"


async def test_patched_property_missing_fields_take_model_defaults(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Partial", properties=[prop("a")])

    # Under PATCH, DRF's partial mode reaches the nested properties: absent fields are skipped.
    response = await asgi_client.patch(
        f"{GROUPS}{group['id']}/", json={"properties": [{"name": "b"}]}
    )

    assert response.status_code == 200
    (created,) = response.json()["properties"]
    assert (created["name"], created["property_type"], created["is_required"]) == ("b", "", False)


async def test_post_without_property_type_is_rejected(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS, json={"name": "No type", "properties": [{"name": "a"}]}
    )

    assert response.status_code == 400
    assert "This field is required." in response.json()["detail"]


async def test_unknown_request_fields_are_ignored(asgi_client: httpx.AsyncClient):
    group = await create_group(
        asgi_client, "Extra", id="not-mine", created_at="1999-01-01", colour="blue"
    )

    assert group["id"] != "not-mine"
    assert "colour" not in group
    assert not group["created_at"].startswith("1999")


@pytest.mark.parametrize("group_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_unknown_or_malformed_group_id_is_404(asgi_client: httpx.AsyncClient, group_id: str):
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        response = await asgi_client.request(method, f"{GROUPS}{group_id}/", json={"name": "x"})

        assert response.status_code == 404
        assert response.json() == {
            "type": "invalid_request",
            "code": "not_found",
            "detail": "Not found.",
            "attr": None,
        }


async def test_timestamps_are_drf_iso_8601_in_utc(asgi_client: httpx.AsyncClient):
    group = await create_group(asgi_client, "Times", properties=[prop("a")])

    for value in (group["created_at"], group["updated_at"], group["properties"][0]["created_at"]):
        assert value.endswith("Z")
        assert "+00:00" not in value
