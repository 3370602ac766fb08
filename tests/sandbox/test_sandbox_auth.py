"""Authentication, scopes, project access and isolation, checked in PostHog's order."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, ApiKey, Project, SandboxApp

pytestmark = pytest.mark.anyio

GROUPS = "/api/projects/1/schema_property_groups/"


@pytest.fixture
def keyed_app(sandbox_app: Callable[..., SandboxApp]) -> SandboxApp:
    return sandbox_app(
        projects=(Project(1), Project(2)),
        api_keys=(
            ApiKey("phx_unscoped"),
            ApiKey("phx_star", ("*",)),
            ApiKey("phx_reader", ("event_definition:read",)),
            ApiKey("phx_writer", ("event_definition:write",)),
            ApiKey("phx_query", ("query:read",)),
            ApiKey("phx_project2", ("event_definition:write", "user:read"), projects=(2,)),
        ),
    )


async def test_missing_credentials_are_401(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(keyed_app, "phx_unscoped")

    response = await client.get(GROUPS, headers={"Authorization": ""})

    assert response.status_code == 401
    assert response.json() == {
        "type": "authentication_error",
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
        "attr": None,
    }


@pytest.mark.parametrize("token", ["phx_unknown", DEMO_PROJECT_TOKEN])
async def test_unknown_key_or_project_token_is_401(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient], token: str
):
    response = await asgi_client_for(keyed_app, token).get(GROUPS)

    assert response.status_code == 401
    assert response.json() == {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Personal API key found in request Authorization header is invalid.",
        "attr": None,
    }


async def test_non_bearer_authorization_is_not_authenticated(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(keyed_app, "phx_unscoped")

    response = await client.get(GROUPS, headers={"Authorization": "Basic cGh4X3N0YXI6"})

    assert response.json()["code"] == "not_authenticated"


async def test_read_scope_cannot_write(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    reader = asgi_client_for(keyed_app, "phx_reader")

    assert (await reader.get(GROUPS)).status_code == 200
    response = await reader.post(GROUPS, json={"name": "nope"})

    assert response.status_code == 403
    assert response.json() == {
        "type": "authentication_error",
        "code": "permission_denied",
        "detail": "API key missing required scope 'event_definition:write'",
        "attr": None,
    }


async def test_write_scope_implies_read(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    writer = asgi_client_for(keyed_app, "phx_writer")

    assert (await writer.post(GROUPS, json={"name": "by writer"})).status_code == 201
    assert (await writer.get(GROUPS)).json()["count"] == 1


async def test_other_scopes_do_not_grant_schema_access(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    response = await asgi_client_for(keyed_app, "phx_query").get(GROUPS)

    assert response.status_code == 403
    assert response.json()["detail"] == "API key missing required scope 'event_definition:read'"


@pytest.mark.parametrize("token", ["phx_unscoped", "phx_star"])
async def test_star_and_unscoped_keys_may_do_everything(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient], token: str
):
    client = asgi_client_for(keyed_app, token)

    assert (await client.post(GROUPS, json={"name": token})).status_code == 201
    assert (await client.get("/api/users/@me/")).status_code == 200
    assert (await client.get("/api/projects/2/")).status_code == 200


async def test_key_limited_to_a_project_is_refused_elsewhere(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(keyed_app, "phx_project2")

    refused = await client.get(GROUPS)
    allowed = await client.get("/api/projects/2/schema_property_groups/")
    current = await client.post(
        "/api/projects/@current/schema_property_groups/", json={"name": "lands in 2"}
    )

    assert refused.status_code == 403
    assert (
        refused.json()["detail"] == "API key does not have access to the requested project: ID 1."
    )
    assert allowed.status_code == 200
    assert current.status_code == 201
    assert (await client.get("/api/projects/2/schema_property_groups/")).json()["count"] == 1


async def test_at_current_is_the_first_project_for_unrestricted_keys(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(keyed_app, "phx_unscoped")

    await client.post("/api/projects/@current/schema_property_groups/", json={"name": "current"})

    assert (await client.get(GROUPS)).json()["count"] == 1
    project = await client.get("/api/projects/@current/")
    assert (project.json()["id"], project.json()["api_token"]) == (1, DEMO_PROJECT_TOKEN)


@pytest.mark.parametrize("project_id", ["3", "abc", "0"])
async def test_unknown_project_is_404(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient], project_id: str
):
    response = await asgi_client_for(keyed_app, "phx_unscoped").get(
        f"/api/projects/{project_id}/schema_property_groups/"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_checks_run_key_then_project_then_scope(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    reader = asgi_client_for(keyed_app, "phx_reader")
    stranger = asgi_client_for(keyed_app, "phx_nobody")

    assert (await stranger.post("/api/projects/9/schema_property_groups/")).status_code == 401
    assert (await reader.post("/api/projects/9/schema_property_groups/")).status_code == 404
    assert (await reader.post(GROUPS, content=b"{not json")).status_code == 403


async def test_projects_are_isolated(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(keyed_app, "phx_unscoped")
    created = await client.post(
        "/api/projects/2/schema_property_groups/", json={"name": "Same name"}
    )

    assert (await client.get(GROUPS)).json()["count"] == 0
    assert (await client.get(f"{GROUPS}{created.json()['id']}/")).status_code == 404
    assert (await client.delete(f"{GROUPS}{created.json()['id']}/")).status_code == 404
    # The same name is free in project 1: uniqueness is per project.
    assert (await client.post(GROUPS, json={"name": "Same name"})).status_code == 201


async def test_users_me_needs_user_read(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    refused = await asgi_client_for(keyed_app, "phx_reader").get("/api/users/@me/")
    me = await asgi_client_for(keyed_app, "phx_project2").get("/api/users/@me/")

    assert refused.status_code == 403
    assert refused.json()["detail"] == "API key missing required scope 'user:read'"
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == "sandbox@example.com"
    assert body["team"]["id"] == 2
    assert body["organization"]["id"] == body["team"]["organization"]
    assert [team["id"] for team in body["organization"]["teams"]] == [2]


async def test_project_endpoint_needs_project_read(
    keyed_app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
):
    refused = await asgi_client_for(keyed_app, "phx_reader").get("/api/projects/1/")
    project = await asgi_client_for(keyed_app, "phx_unscoped").get("/api/projects/2/")

    assert refused.json()["detail"] == "API key missing required scope 'project:read'"
    assert project.json()["api_token"] == "phc_sandbox_2"


async def test_key_repr_never_shows_the_token():
    key = ApiKey("phx_abcdefghijklmnopqrstuvwxyz0123456789", ("*",))

    assert "phx_abcdefghijklmnopqrstuvwxyz0123456789" not in repr(key)
    assert key.masked == "phx_ab…(40 chars)"
