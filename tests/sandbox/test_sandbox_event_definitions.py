"""Event definitions: list filters and ordering, CRUD, by_name, and the store API for ingestion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eventschema_tools.sandbox import SandboxApp

pytestmark = pytest.mark.anyio

DEFINITIONS = "/api/projects/1/event_definitions/"


async def create(client: httpx.AsyncClient, name: str, **body: Any) -> dict[str, Any]:
    response = await client.post(DEFINITIONS, json={"name": name, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(DEFINITIONS, params=params)
    assert response.status_code == 200, response.text
    return [d["name"] for d in response.json()["results"]]


async def test_create_returns_enterprise_fields_with_null_timestamps(
    asgi_client: httpx.AsyncClient,
):
    created = await create(asgi_client, "order_placed", description="An order", tags=[" Revenue "])

    assert created["name"] == "order_placed"
    assert created["description"] == "An order"
    assert created["tags"] == ["revenue"]
    assert created["created_at"] is None
    assert created["last_seen_at"] is None
    assert created["enforcement_mode"] == "allow"
    assert created["verified"] is False
    assert created["updated_by"]["id"] == 1
    assert created["owner"] is None
    assert created["media_preview_urls"] == []
    assert "volume_30_day" not in created


async def test_duplicate_name_is_rejected(asgi_client: httpx.AsyncClient):
    await create(asgi_client, "twice")

    response = await asgi_client.post(DEFINITIONS, json={"name": "twice"})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "Event definition with name 'twice' already exists",
        "attr": "name",
    }


async def test_search_needs_every_term_and_orders_by_length(asgi_client: httpx.AsyncClient):
    for name in ["checkout_completed_v2", "Checkout_started", "checkout", "cart_viewed"]:
        await create(asgi_client, name)

    assert await names(asgi_client, search="CHECKOUT") == [
        "checkout",
        "Checkout_started",
        "checkout_completed_v2",
    ]
    assert await names(asgi_client, search="check  comp") == ["checkout_completed_v2"]
    assert await names(asgi_client, search="checkout nothing") == []


async def test_search_folds_non_ascii_letters(asgi_client: httpx.AsyncClient):
    await create(asgi_client, "Überweisung_gesendet")

    assert await names(asgi_client, search="überweisung") == ["Überweisung_gesendet"]


async def test_names_filter_takes_repeated_and_comma_separated_values(
    asgi_client: httpx.AsyncClient,
):
    for name in ["a", "b", "c", "d"]:
        await create(asgi_client, name)

    response = await asgi_client.get(DEFINITIONS, params=[("names", "a,c"), ("names", "d")])

    assert sorted(d["name"] for d in response.json()["results"]) == ["a", "c", "d"]


async def test_event_type_filter(asgi_client: httpx.AsyncClient):
    await create(asgi_client, "$pageview")
    await create(asgi_client, "custom")

    assert await names(asgi_client, event_type="event_posthog") == ["$pageview"]
    assert await names(asgi_client, event_type="event_custom") == ["custom"]
    assert sorted(await names(asgi_client, event_type="all")) == ["$pageview", "custom"]
    bad = await asgi_client.get(DEFINITIONS, params={"event_type": "actions"})
    assert bad.status_code == 400
    assert (
        bad.json()["detail"]
        == "Not a valid event type. Use one of: event, event_custom, event_posthog."
    )
    assert bad.json()["attr"] == "event_type"


async def test_default_order_is_recent_days_first_then_name_never_seen_last(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    app = sandbox_app()
    client = asgi_client_for(app)
    await create(client, "aaa_never_seen")
    today = datetime.now(UTC)
    app.sandbox.store.touch_event_definitions(1, ["zz_today", "mm_today"], today)
    app.sandbox.store.touch_event_definitions(1, ["bb_last_week"], today - timedelta(days=7))

    assert await names(client) == ["mm_today", "zz_today", "bb_last_week", "aaa_never_seen"]
    assert await names(client, ordering="-name") == [
        "zz_today",
        "mm_today",
        "bb_last_week",
        "aaa_never_seen",
    ]


async def test_hidden_and_verified_together_are_rejected(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "both")

    response = await asgi_client.patch(
        f"{DEFINITIONS}{created['id']}/", json={"hidden": True, "verified": True}
    )

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "An event cannot be both hidden and verified",
        "attr": None,
    }


async def test_verifying_clears_hidden_and_hiding_clears_verified(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "toggle")
    url = f"{DEFINITIONS}{created['id']}/"

    hidden = (await asgi_client.patch(url, json={"hidden": True})).json()
    verified = (await asgi_client.patch(url, json={"verified": True})).json()
    hidden_again = (await asgi_client.patch(url, json={"hidden": True})).json()

    assert (hidden["hidden"], hidden["verified"]) == (True, False)
    assert (verified["hidden"], verified["verified"]) == (False, True)
    assert verified["verified_by"]["id"] == 1
    assert verified["verified_at"] is not None
    assert (hidden_again["hidden"], hidden_again["verified"]) == (True, False)
    assert hidden_again["verified_by"] is None


async def test_name_is_read_only_after_creation(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "fixed_name")

    response = await asgi_client.patch(f"{DEFINITIONS}{created['id']}/", json={"name": "renamed"})

    assert response.status_code == 200
    assert response.json()["name"] == "fixed_name"


async def test_enforcement_mode_can_be_set_to_reject_and_back(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "strict")
    url = f"{DEFINITIONS}{created['id']}/"

    assert (await asgi_client.patch(url, json={"enforcement_mode": "reject"})).json()[
        "enforcement_mode"
    ] == "reject"
    assert (await asgi_client.patch(url, json={"enforcement_mode": "allow"})).json()[
        "enforcement_mode"
    ] == "allow"
    bad = await asgi_client.patch(url, json={"enforcement_mode": "enforce"})
    assert bad.json()["detail"] == '"enforce" is not a valid choice.'
    assert bad.json()["code"] == "invalid_choice"


async def test_reject_mode_needs_the_feature_flag_when_it_is_off(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(reject_mode_allowed=False))
    created = await create(client, "gated")

    response = await client.patch(
        f"{DEFINITIONS}{created['id']}/", json={"enforcement_mode": "reject"}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == (
        'Setting schema enforcement mode to "reject" requires the schema-enforcement-reject '
        "feature flag"
    )
    assert (await client.get(f"{DEFINITIONS}{created['id']}/")).json()[
        "enforcement_mode"
    ] == "allow"


async def test_owner_must_be_a_known_user(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "owned")
    url = f"{DEFINITIONS}{created['id']}/"

    assert (await asgi_client.patch(url, json={"owner": 1})).json()["owner"]["id"] == 1
    unknown = await asgi_client.patch(url, json={"owner": 42})
    assert unknown.json()["detail"] == 'Invalid pk "42" - object does not exist.'
    wrong_type = await asgi_client.patch(url, json={"owner": "me"})
    assert wrong_type.json()["detail"] == "Incorrect type. Expected pk value, received str."


async def test_by_name_finds_exact_names_with_plain_error_bodies(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "exact_name")
    by_name = f"{DEFINITIONS}by_name/"

    found = await asgi_client.get(by_name, params={"name": "exact_name"})
    missing = await asgi_client.get(by_name, params={"name": "EXACT_NAME"})
    no_name = await asgi_client.get(by_name)

    assert found.status_code == 200
    assert found.json()["id"] == created["id"]
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Event definition with name 'EXACT_NAME' not found"}
    assert no_name.status_code == 400
    assert no_name.json() == {"detail": "Query parameter 'name' is required"}


async def test_retrieve_update_and_delete_by_id(asgi_client: httpx.AsyncClient):
    created = await create(asgi_client, "lifecycle")
    url = f"{DEFINITIONS}{created['id']}/"

    assert (await asgi_client.get(url)).json()["name"] == "lifecycle"
    put = await asgi_client.put(url, json={"description": "replaced", "tags": ["a", "b", "A"]})
    assert (put.json()["description"], put.json()["tags"]) == ("replaced", ["a", "b"])
    assert (await asgi_client.delete(url)).status_code == 204
    assert (await asgi_client.get(url)).status_code == 404


@pytest.mark.parametrize("definition_id", ["undefined", "00000000-0000-4000-8000-000000000000"])
async def test_unknown_or_malformed_id_is_404(asgi_client: httpx.AsyncClient, definition_id: str):
    response = await asgi_client.get(f"{DEFINITIONS}{definition_id}/")

    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


@pytest.mark.parametrize(
    ("params", "attr", "detail"),
    [
        ({"limit": "0"}, "limit", "Ensure this value is greater than or equal to 1."),
        ({"limit": "many"}, "limit", "A valid integer is required."),
        ({"offset": "-1"}, "offset", "Ensure this value is greater than or equal to 0."),
    ],
)
async def test_limit_and_offset_are_validated(
    asgi_client: httpx.AsyncClient, params: dict[str, str], attr: str, detail: str
):
    response = await asgi_client.get(DEFINITIONS, params=params)

    assert response.status_code == 400
    assert (response.json()["attr"], response.json()["detail"]) == (attr, detail)


async def test_exclude_hidden(asgi_client: httpx.AsyncClient):
    hidden = await create(asgi_client, "secret")
    await create(asgi_client, "visible")
    await asgi_client.patch(f"{DEFINITIONS}{hidden['id']}/", json={"hidden": True})

    assert await names(asgi_client, exclude_hidden="true") == ["visible"]


async def test_touch_creates_and_advances_definitions(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    app = sandbox_app()
    client = asgi_client_for(app)
    api_created = await create(client, "declared_first")
    first, later = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)

    app.sandbox.store.touch_event_definitions(1, ["declared_first", "new_event"], later)
    app.sandbox.store.touch_event_definitions(1, ["declared_first"], first)

    declared = (await client.get(f"{DEFINITIONS}{api_created['id']}/")).json()
    assert declared["last_seen_at"] == "2026-01-02T00:00:00Z"
    assert declared["created_at"] == "2026-01-02T00:00:00Z"
    new = (await client.get(f"{DEFINITIONS}by_name/", params={"name": "new_event"})).json()
    assert new["last_seen_at"] == "2026-01-02T00:00:00Z"


async def test_enforced_required_properties_lists_reject_mode_events_only(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    app = sandbox_app()
    client = asgi_client_for(app)
    strict, lax = await create(client, "strict"), await create(client, "lax")
    groups = []
    for name, kind in [("Money", "Numeric"), ("Money text", "String")]:
        response = await client.post(
            "/api/projects/1/schema_property_groups/",
            json={
                "name": name,
                "properties": [
                    {"name": "amount", "property_type": kind, "is_required": True},
                    {"name": "note", "property_type": "String", "is_required": False},
                ],
            },
        )
        groups.append(response.json()["id"])
    for definition in (strict, lax):
        for group_id in groups:
            await client.post(
                "/api/projects/1/event_schemas/",
                json={"event_definition": definition["id"], "property_group_id": group_id},
            )
    await client.patch(f"{DEFINITIONS}{strict['id']}/", json={"enforcement_mode": "reject"})

    enforced = app.sandbox.store.enforced_required_properties(1)

    assert [(e.event, e.property, e.property_types) for e in enforced] == [
        ("strict", "amount", ("Numeric", "String"))
    ]


async def test_demo_seed_has_thirty_definitions_groups_and_bindings(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(seed="demo"))

    definitions = (await client.get(DEFINITIONS)).json()
    groups = (await client.get("/api/projects/1/schema_property_groups/")).json()
    schemas = (await client.get("/api/projects/1/event_schemas/")).json()

    assert definitions["count"] == 30
    assert {"$pageview", "user_signed_up", "checkout_completed", "subscription_upgraded"} <= {
        d["name"] for d in definitions["results"]
    }
    assert groups["count"] == 5
    assert schemas["count"] == 12
    completed = next(d for d in definitions["results"] if d["name"] == "checkout_completed")
    assert completed["enforcement_mode"] == "reject"


async def test_tags_and_excluded_properties_filters(asgi_client: httpx.AsyncClient):
    await create(asgi_client, "billing_event", tags=["billing", "revenue"])
    await create(asgi_client, "growth_event", tags=["growth"])
    await create(asgi_client, "untagged")

    assert sorted(await names(asgi_client, tags='["revenue", "growth"]')) == [
        "billing_event",
        "growth_event",
    ]
    assert len(await names(asgi_client, tags="not json")) == 3
    assert await names(asgi_client, excluded_properties='["billing_event", "growth_event"]') == [
        "untagged"
    ]
    assert (
        await asgi_client.get(DEFINITIONS, params={"excluded_properties": "["})
    ).status_code == 500
