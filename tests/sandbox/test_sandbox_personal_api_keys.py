"""`/api/personal_api_keys/@current/`: a key reads itself, and nothing else, as in PostHog.

PostHog's `PersonalApiKeySelfAccessPermission` lets a personal API key retrieve only itself
(no scope needed) and refuses every other action with "This action does not support Personal
API Key access". The answer shows the key masked (`phx_...abcd`), never its value.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from eventschema_tools.sandbox import ApiKey, Project, SandboxApp

pytestmark = pytest.mark.anyio

READER = "phx_key_reader_0123456789abcdef"
LIMITED = "phx_key_limited_0123456789abcdef"
NO_KEY_ACCESS = "This action does not support Personal API Key access"


@pytest.fixture
def app(sandbox_app: Callable[..., SandboxApp]) -> SandboxApp:
    return sandbox_app(
        projects=(Project(1), Project(2)),
        api_keys=(ApiKey(READER, ("event_definition:read",)), ApiKey(LIMITED, projects=(2,))),
    )


async def test_a_key_reads_itself_without_any_scope_for_it(
    app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
) -> None:
    response = await asgi_client_for(app, READER).get("/api/personal_api_keys/@current/")

    assert response.status_code == 200
    body = response.json()
    assert body["scopes"] == ["event_definition:read"]
    assert body["scoped_teams"] == []
    assert body["mask_value"] == "phx_...cdef"
    assert body["value"] is None
    assert READER not in response.text


async def test_an_unscoped_key_shows_every_scope_and_its_projects(
    app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
) -> None:
    client = asgi_client_for(app, LIMITED)

    current = (await client.get("/api/personal_api_keys/@current")).json()
    by_id = await client.get(f"/api/personal_api_keys/{current['id']}/")

    assert current["scopes"] == ["*"]
    assert current["scoped_teams"] == [2]
    assert by_id.json() == current


async def test_everything_else_on_the_path_is_refused(
    app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
) -> None:
    client = asgi_client_for(app, READER)
    other = (await asgi_client_for(app, LIMITED).get("/api/personal_api_keys/@current/")).json()

    listed = await client.get("/api/personal_api_keys/")
    deleted = await client.delete("/api/personal_api_keys/@current/")
    someone_else = await client.get(f"/api/personal_api_keys/{other['id']}/")
    unknown = await client.get("/api/personal_api_keys/no-such-key/")

    for refused in (listed, deleted, someone_else):
        assert (refused.status_code, refused.json()["detail"]) == (403, NO_KEY_ACCESS)
    assert unknown.status_code == 404


async def test_a_wrong_key_is_401(
    app: SandboxApp, asgi_client_for: Callable[..., httpx.AsyncClient]
) -> None:
    response = await asgi_client_for(app, "phx_nope").get("/api/personal_api_keys/@current/")

    assert response.status_code == 401
