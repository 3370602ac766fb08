"""Links into PostHog's web app, resolved against the session's loopback sandbox."""

from __future__ import annotations

import uuid

from eventschema_tools import EventSchemaClient
from eventschema_tools.catalog.links import (
    event_definition_url,
    schema_management_url,
    schema_page_url,
)
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox


def test_urls_follow_posthogs_routes() -> None:
    event_id = uuid.UUID("0190a8e4-7c1b-7d2e-9f00-0123456789ab")

    assert schema_management_url("https://eu.posthog.com", 7) == (
        "https://eu.posthog.com/project/7/data-management/schema"
    )
    assert event_definition_url("https://eu.posthog.com", "7", event_id) == (
        f"https://eu.posthog.com/project/7/data-management/events/{event_id}"
    )


def test_schema_page_of_an_event_uses_its_definition_id(sandbox_server: RunningSandbox) -> None:
    name = f"ui_links_{uuid.uuid4().hex}"
    with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox_server.url) as client:
        definition = client.event_definitions.create(name=name)

        assert schema_page_url(client, name) == (
            f"{sandbox_server.url}/project/1/data-management/events/{definition.id}"
        )


def test_schema_page_falls_back_to_the_schema_list(sandbox_server: RunningSandbox) -> None:
    schema_list = f"{sandbox_server.url}/project/1/data-management/schema"
    with EventSchemaClient(
        api_key=DEMO_API_KEY, project_id="@current", host=sandbox_server.url
    ) as client:
        assert schema_page_url(client, None) == schema_list
        assert schema_page_url(client, f"never_sent_{uuid.uuid4().hex}") == schema_list
