"""Binding a pair that already exists gives one outcome from every face.

`eventschema schemas create`, `eventschema bind`, the MCP tools `create_event_schema` and
`bind_property_group`, `Catalog.bind` and `AsyncCatalog.bind` all act on one loopback sandbox
over HTTP: each reports the existing binding (exit 0, "exists", ``created=false``) and the
sandbox still holds exactly one binding of the pair.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner, Result

pytest.importorskip("mcp")

from mcp import Client

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.catalog import AsyncCatalog, Catalog
from eventschema_tools.cli.main import app
from eventschema_tools.mcp_server.server import ServerOptions, create_server
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

pytestmark = pytest.mark.anyio

EVENT = "checkout_started"


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", rate_limiting=False) as running:
        yield running


@pytest.fixture
def settings(served: RunningSandbox, client_settings: Callable[[str], Any]) -> dict[str, Any]:
    return dict(client_settings(served.url))


@pytest.fixture
def client(settings: dict[str, Any]) -> Iterator[EventSchemaClient]:
    with EventSchemaClient(**settings) as client:
        yield client


@pytest.fixture
def bound(client: EventSchemaClient) -> tuple[str, str]:
    """A fresh group bound to EVENT: (group name, event schema id)."""
    group = client.property_groups.create(
        name=f"agreement_{uuid4().hex[:8]}",
        properties=[{"name": "order_id", "property_type": "String", "is_required": True}],
    )
    event = client.event_definitions.get_by_name(EVENT)
    schema = client.event_schemas.create(event_definition=event.id, property_group_id=group.id)
    return group.name, str(schema.id)


def _cli(served: RunningSandbox, *args: str) -> Result:
    env = {
        "POSTHOG_HOST": served.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_MAX_RETRIES": "0",
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


async def _mcp_call(settings: dict[str, Any], tool: str, arguments: dict[str, Any]) -> Any:
    server = create_server(
        ServerOptions(), client_factory=lambda: AsyncEventSchemaClient(**settings)
    )
    async with Client(server) as mcp:
        result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


def _bindings_of(client: EventSchemaClient, group: str) -> list[str]:
    event = client.event_definitions.get_by_name(EVENT)
    return [
        str(schema.id)
        for schema in client.event_schemas.list(event_definition=event.id)
        if schema.property_group.name == group
    ]


async def test_every_face_reports_an_existing_binding_the_same_way(
    served: RunningSandbox,
    settings: dict[str, Any],
    client: EventSchemaClient,
    bound: tuple[str, str],
) -> None:
    group, schema_id = bound

    create_text = _cli(served, "schemas", "create", "--event", EVENT, "--group", group)
    create_json = _cli(served, "schemas", "create", "-e", EVENT, "-g", group, "--json")
    bind_text = _cli(served, "bind", "--group", group, "--events", EVENT)
    bind_json = _cli(served, "bind", "--group", group, "--events", EVENT, "--json")
    tool = await _mcp_call(settings, "create_event_schema", {"event": EVENT, "group": group})
    bulk_tool = await _mcp_call(
        settings, "bind_property_group", {"group": group, "events": [EVENT]}
    )
    sync_outcome = Catalog(client).bind(event=EVENT, group=group)
    async with AsyncEventSchemaClient(**settings) as async_client:
        async_outcome = await AsyncCatalog(async_client).bind(event=EVENT, group=group)

    # Exit 0 and the word "exists", whichever command was used.
    for result in (create_text, create_json, bind_text, bind_json):
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert result.stderr == ""
    assert f"(schema {schema_id}): exists" in create_text.stdout
    assert "0 created, 1 exists, 0 failed" in bind_text.stdout
    assert [r["status"] for r in json.loads(bind_json.stdout)["results"]] == ["exists"]
    assert [r["status"] for r in bulk_tool["results"]] == ["exists"]
    # The outcome of a single bind is the same object from the CLI, MCP and Python.
    expected = sync_outcome.model_dump(mode="json")
    assert expected["created"] is False
    assert expected["binding"]["id"] == schema_id
    assert json.loads(create_json.stdout) == tool == async_outcome.model_dump(mode="json")
    assert tool == expected
    # None of them added a binding.
    assert _bindings_of(client, group) == [schema_id]


async def test_a_new_pair_is_created_once_and_then_exists_everywhere(
    served: RunningSandbox, settings: dict[str, Any], client: EventSchemaClient
) -> None:
    group = client.property_groups.create(name=f"agreement_new_{uuid4().hex[:8]}").name

    created = _cli(served, "schemas", "create", "-e", EVENT, "-g", group, "--json")
    tool = await _mcp_call(settings, "create_event_schema", {"event": EVENT, "group": group})

    assert created.exit_code == 0, created.stderr
    first = json.loads(created.stdout)
    assert first["created"] is True
    assert (tool["created"], tool["binding"]["id"]) == (False, first["binding"]["id"])
    assert _bindings_of(client, group) == [first["binding"]["id"]]
