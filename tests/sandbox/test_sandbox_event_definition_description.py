"""An event definition's description: "" or null exactly where PostHog gives each.

PostHog keeps the description on `EnterpriseEventDefinition` (`TextField(null=True, default="")`),
an extension row that ingestion does not write. So a definition created through the API has
description "", one created by ingestion lists with null, and reading it by id or by name (or
changing it) creates the extension with description "" (`EventDefinitionViewSet`'s
`_get_event_definition`). The client and the tracking plan treat "" and null alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, SandboxApp
from eventschema_tools.sandbox.storage.store import Store
from eventschema_tools.tracking_plan import LiveState, diff, pull_async
from eventschema_tools.tracking_plan.file import dump_plan, parse_plan

pytestmark = pytest.mark.anyio

DEFINITIONS = "/api/projects/1/event_definitions/"


async def ingest(client: httpx.AsyncClient, *names: str) -> None:
    """Send one event per name through capture, as an SDK would."""
    batch = [{"event": name, "distinct_id": "user-1", "properties": {}} for name in names]
    response = await client.post("/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch})
    assert response.status_code == 200, response.text


async def listed(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get(DEFINITIONS)
    assert response.status_code == 200, response.text
    return {definition["name"]: definition for definition in response.json()["results"]}


async def test_created_through_the_api_the_description_is_empty_everywhere(
    asgi_client: httpx.AsyncClient,
) -> None:
    created = await asgi_client.post(DEFINITIONS, json={"name": "order_paid"})
    assert created.status_code == 201, created.text
    definition_id = created.json()["id"]

    by_id = await asgi_client.get(f"{DEFINITIONS}{definition_id}/")
    by_name = await asgi_client.get(f"{DEFINITIONS}by_name/", params={"name": "order_paid"})

    assert created.json()["description"] == ""
    assert by_id.json()["description"] == ""
    assert by_name.json()["description"] == ""
    assert (await listed(asgi_client))["order_paid"]["description"] == ""


async def test_an_explicit_null_description_stays_null(asgi_client: httpx.AsyncClient) -> None:
    created = await asgi_client.post(DEFINITIONS, json={"name": "n", "description": None})
    definition = f"{DEFINITIONS}{created.json()['id']}/"
    cleared = await asgi_client.post(DEFINITIONS, json={"name": "c", "description": "was set"})
    patched = await asgi_client.patch(
        f"{DEFINITIONS}{cleared.json()['id']}/", json={"description": None}
    )

    assert created.json()["description"] is None
    assert (await asgi_client.get(definition)).json()["description"] is None
    assert patched.json()["description"] is None
    assert (await asgi_client.get(f"{DEFINITIONS}{cleared.json()['id']}/")).json()[
        "description"
    ] is None


async def test_an_ingested_definition_lists_with_null_until_read_by_id(
    asgi_client: httpx.AsyncClient,
) -> None:
    await ingest(asgi_client, "page_viewed", "untouched")
    before = await listed(asgi_client)

    one = await asgi_client.get(f"{DEFINITIONS}{before['page_viewed']['id']}/")
    after = await listed(asgi_client)

    assert before["page_viewed"]["description"] is None
    assert one.json()["description"] == ""
    assert after["page_viewed"]["description"] == ""
    assert after["untouched"]["description"] is None


async def test_by_name_and_updates_also_give_an_ingested_definition_its_empty_description(
    asgi_client: httpx.AsyncClient,
) -> None:
    await ingest(asgi_client, "looked_up", "tagged", "deleted")
    ids = {name: d["id"] for name, d in (await listed(asgi_client)).items()}

    by_name = await asgi_client.get(f"{DEFINITIONS}by_name/", params={"name": "looked_up"})
    tagged = await asgi_client.patch(f"{DEFINITIONS}{ids['tagged']}/", json={"tags": ["web"]})
    refused = await asgi_client.patch(
        f"{DEFINITIONS}{ids['deleted']}/", json={"hidden": True, "verified": True}
    )
    after = await listed(asgi_client)

    assert by_name.json()["description"] == ""
    assert (tagged.json()["description"], tagged.json()["tags"]) == ("", ["web"])
    # PostHog creates the extension before validating the body, so even a refused change does.
    assert refused.status_code == 400
    assert {name: d["description"] for name, d in after.items()} == {
        "looked_up": "",
        "tagged": "",
        "deleted": "",
    }


async def test_the_extension_is_created_once_and_survives_more_events(
    asgi_client: httpx.AsyncClient,
) -> None:
    await ingest(asgi_client, "signed_up")
    ingested = (await listed(asgi_client))["signed_up"]
    url = f"{DEFINITIONS}{ingested['id']}/"

    first = (await asgi_client.get(url)).json()
    second = (await asgi_client.get(url)).json()
    await ingest(asgi_client, "signed_up")
    again = (await listed(asgi_client))["signed_up"]

    # Creating the extension row stamps updated_at (auto_now); reading it again does not.
    assert datetime.fromisoformat(first["updated_at"]) > datetime.fromisoformat(
        ingested["updated_at"]
    )
    assert second["updated_at"] == first["updated_at"]
    assert again["description"] == ""
    assert again["updated_at"] == first["updated_at"]


def test_a_database_written_before_the_extension_column_is_upgraded(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.touch_event_definitions(1, ["ingested"], datetime.now(UTC))
    store.create_event_definition(1, "described", {"description": "Set by hand"})
    store.close()
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:
        conn.execute("ALTER TABLE event_definitions DROP COLUMN enterprise")
    conn.close()

    reopened = Store.open(tmp_path)
    try:
        ingested = reopened.get_event_definition_by_name(1, "ingested")
        described = reopened.get_event_definition_by_name(1, "described")
        assert ingested is not None
        assert described is not None
        assert ingested.description is None
        promoted = reopened.promote_event_definition(1, ingested.id)
        kept = reopened.promote_event_definition(1, described.id)
    finally:
        reopened.close()

    assert promoted is not None
    assert kept is not None
    assert (promoted.description, kept.description) == ("", "Set by hand")


@pytest.fixture
async def client(sandbox_app: Callable[..., SandboxApp]) -> AsyncIterator[AsyncEventSchemaClient]:
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app(rate_limiting=False)),
        base_url="http://sandbox.test",
    )
    async with AsyncEventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host="http://sandbox.test", http_client=http
    ) as api:
        yield api
    await http.aclose()


async def test_pull_and_plan_treat_an_empty_description_as_none(
    client: AsyncEventSchemaClient,
) -> None:
    created = await client.event_definitions.create(name="order_paid")
    group = await client.property_groups.create(
        name="billing", properties=[{"name": "amount", "property_type": "Numeric"}]
    )
    await client.event_schemas.create(event_definition=created.id, property_group_id=group.id)
    assert created.description == ""

    pulled = await pull_async(client)
    live = await LiveState.read_async(client)
    written = dump_plan(pulled)
    with_empty = parse_plan(
        written.replace("groups: [billing]", 'groups: [billing]\n    description: ""')
    )

    assert pulled.events["order_paid"].description is None
    assert "description" not in written
    assert diff(parse_plan(written), live).is_empty
    assert with_empty.events["order_paid"].description == ""
    assert diff(with_empty, live).is_empty
