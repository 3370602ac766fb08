"""Trailing slashes: every route answers with and without it, like PostHog, and never redirects.

PostHog's API router sets `trailing_slash = r"/?"` and its capture service routes `/batch` and
`/batch/` (and `/e`, `/capture`, `/i/v0/e`) alike, so both forms reach the same handler directly:
authentication first, no 3xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, ApiKey, SandboxApp

pytestmark = pytest.mark.anyio

BASE_URL = "http://sandbox.test"
UNKNOWN_ID = "0189a8e6-1111-4000-8000-000000000000"
DEFINITIONS = "/api/projects/1/event_definitions/"
GROUPS = "/api/projects/1/schema_property_groups/"
SCHEMAS = "/api/projects/1/event_schemas/"
QUERY = "/api/projects/1/query/"

# Every PostHog API operation the sandbox serves: (method, path as PostHog documents it).
API_OPERATIONS = [
    ("GET", "/api/users/@me/"),
    ("GET", "/api/projects/1/"),
    ("GET", DEFINITIONS),
    ("POST", DEFINITIONS),
    ("GET", DEFINITIONS + "by_name/"),
    ("GET", f"{DEFINITIONS}{UNKNOWN_ID}/"),
    ("PUT", f"{DEFINITIONS}{UNKNOWN_ID}/"),
    ("PATCH", f"{DEFINITIONS}{UNKNOWN_ID}/"),
    ("DELETE", f"{DEFINITIONS}{UNKNOWN_ID}/"),
    ("GET", GROUPS),
    ("POST", GROUPS),
    ("GET", f"{GROUPS}{UNKNOWN_ID}/"),
    ("PUT", f"{GROUPS}{UNKNOWN_ID}/"),
    ("PATCH", f"{GROUPS}{UNKNOWN_ID}/"),
    ("DELETE", f"{GROUPS}{UNKNOWN_ID}/"),
    ("GET", SCHEMAS),
    ("POST", SCHEMAS),
    ("PUT", f"{SCHEMAS}{UNKNOWN_ID}/"),
    ("PATCH", f"{SCHEMAS}{UNKNOWN_ID}/"),
    ("DELETE", f"{SCHEMAS}{UNKNOWN_ID}/"),
    ("POST", QUERY),
]
FORMS = ["with slash", "without slash"]
NOT_AUTHENTICATED = {
    "type": "authentication_error",
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "attr": None,
}


def shaped(path: str, form: str) -> str:
    """`path` (written with its trailing slash) in the requested form."""
    assert path.endswith("/")
    return path if form == "with slash" else path.rstrip("/")


@pytest.fixture
async def anonymous(sandbox_app: Callable[..., SandboxApp]) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending no credentials at all."""
    transport = httpx.ASGITransport(app=sandbox_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
async def test_no_key_is_401_on_both_forms(
    anonymous: httpx.AsyncClient, method: str, path: str, form: str
) -> None:
    response = await anonymous.request(method, shaped(path, form), json={})

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert "location" not in response.headers


@pytest.mark.parametrize("form", FORMS)
async def test_a_scoped_key_meets_the_same_refusals_on_both_forms(
    sandbox_app: Callable[..., SandboxApp],
    asgi_client_for: Callable[..., httpx.AsyncClient],
    form: str,
) -> None:
    app = sandbox_app(
        api_keys=(ApiKey("phx_unscoped"), ApiKey("phx_reader", ("event_definition:read",)))
    )
    reader = asgi_client_for(app, "phx_reader")
    unscoped = asgi_client_for(app, "phx_unscoped")
    one_schema = shaped(f"{SCHEMAS}{UNKNOWN_ID}/", form)

    missing_scope = await reader.post(shaped(DEFINITIONS, form), json={"name": "x"})
    unsupported = await reader.get(one_schema)
    not_allowed = await unscoped.get(one_schema)

    assert missing_scope.status_code == 403
    assert "event_definition:write" in missing_scope.json()["detail"]
    assert unsupported.status_code == 403
    assert unsupported.json()["detail"] == "This action does not support Personal API Key access"
    assert not_allowed.status_code == 405
    assert not_allowed.json()["code"] == "method_not_allowed"


async def _populate(client: httpx.AsyncClient) -> dict[str, str]:
    definition = await client.post(DEFINITIONS, json={"name": "order_paid"})
    group = await client.post(
        GROUPS,
        json={"name": "billing", "properties": [{"name": "amount", "property_type": "Numeric"}]},
    )
    assert (definition.status_code, group.status_code) == (201, 201), group.text
    schema = await client.post(
        SCHEMAS,
        json={"event_definition": definition.json()["id"], "property_group_id": group.json()["id"]},
    )
    assert schema.status_code == 201, schema.text
    return {
        "definition": definition.json()["id"],
        "group": group.json()["id"],
        "schema": schema.json()["id"],
    }


async def test_every_read_answers_the_same_on_both_forms(asgi_client: httpx.AsyncClient) -> None:
    ids = await _populate(asgi_client)
    reads: list[tuple[str, dict[str, Any]]] = [
        ("/api/users/@me/", {}),
        ("/api/projects/1/", {}),
        (DEFINITIONS, {"search": "order"}),
        (DEFINITIONS + "by_name/", {"name": "order_paid"}),
        (f"{DEFINITIONS}{ids['definition']}/", {}),
        (GROUPS, {}),
        (f"{GROUPS}{ids['group']}/", {}),
        (SCHEMAS, {"event_definition": ids["definition"]}),
    ]

    for path, params in reads:
        slashed = await asgi_client.get(path, params=params)
        bare = await asgi_client.get(path.rstrip("/"), params=params)

        assert slashed.status_code == 200, (path, slashed.text)
        assert (bare.status_code, bare.json()) == (200, slashed.json()), path


async def test_every_write_works_without_the_slash(asgi_client: httpx.AsyncClient) -> None:
    created = await asgi_client.post(DEFINITIONS.rstrip("/"), json={"name": "signed_up"})
    assert created.status_code == 201, created.text
    definition = f"{DEFINITIONS}{created.json()['id']}"

    patched = await asgi_client.patch(definition, json={"description": "A sign-up"})
    replaced = await asgi_client.put(definition, json={"tags": ["growth"]})
    group = await asgi_client.post(
        GROUPS.rstrip("/"),
        json={"name": "account", "properties": [{"name": "plan", "property_type": "String"}]},
    )
    group_path = f"{GROUPS}{group.json()['id']}"
    renamed = await asgi_client.patch(group_path, json={"name": "account_v2"})
    schema = await asgi_client.post(
        SCHEMAS.rstrip("/"),
        json={"event_definition": created.json()["id"], "property_group_id": group.json()["id"]},
    )
    query = await asgi_client.post(
        QUERY.rstrip("/"), json={"query": {"kind": "HogQLQuery", "query": "SELECT 1"}}
    )

    assert (patched.status_code, patched.json()["description"]) == (200, "A sign-up")
    assert (replaced.status_code, replaced.json()["tags"]) == (200, ["growth"])
    assert group.status_code == 201, group.text
    assert (renamed.status_code, renamed.json()["name"]) == (200, "account_v2")
    assert schema.status_code == 201, schema.text
    assert (query.status_code, query.json()["results"]) == (200, [[1]])

    removed_schema = await asgi_client.delete(f"{SCHEMAS}{schema.json()['id']}")
    removed_group = await asgi_client.delete(group_path)
    removed_definition = await asgi_client.delete(definition)

    assert [removed_schema.status_code, removed_group.status_code] == [204, 204]
    assert removed_definition.status_code == 204
    assert (await asgi_client.get(definition)).status_code == 404
    assert (await asgi_client.get(group_path + "/")).status_code == 404


def _concrete(route: Route) -> str:
    """A request path for `route`: project 1, an unknown UUID for any other parameter."""
    path = route.path_format
    for name in route.param_convertors:
        path = path.replace("{" + name + "}", "1" if name == "project_id" else UNKNOWN_ID)
    return path


async def test_no_route_answers_with_a_redirect(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
) -> None:
    app = sandbox_app(rate_limiting=False)
    client = asgi_client_for(app)
    routes = [route for route in app.routes if isinstance(route, Route)]
    assert len(routes) >= 15  # every resource, capture and admin route is enumerated
    tried = 0

    for route in routes:
        path = _concrete(route)
        for candidate in {path.rstrip("/") or "/", path.rstrip("/") + "/"}:
            for method in sorted(route.methods or {"GET"}):
                body = {"api_key": DEMO_PROJECT_TOKEN, "batch": []} if method == "POST" else None
                response = await client.request(method, candidate, json=body)
                tried += 1

                assert not 300 <= response.status_code < 400, (method, candidate)
                assert "location" not in response.headers, (method, candidate)
                if "id" not in route.param_convertors:
                    # Only an unknown object may be missing: the path itself is always served.
                    assert response.status_code != 404, (method, candidate)

    assert tried > 100


@pytest.mark.parametrize(
    "path",
    ["/api/projects/1/dashboards", "/api/projects/1/dashboards/", "/nowhere", "/nowhere/", "/api"],
)
async def test_an_unknown_path_is_a_404_in_either_form(
    asgi_client: httpx.AsyncClient, path: str
) -> None:
    response = await asgi_client.get(path)

    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
    assert "location" not in response.headers


@pytest.mark.parametrize(
    "path", ["/_sandbox/stats", "/_sandbox/faults", "/_sandbox/ingestion_warnings"]
)
async def test_sandbox_admin_routes_take_both_forms(
    asgi_client: httpx.AsyncClient, path: str
) -> None:
    bare = await asgi_client.get(path)
    slashed = await asgi_client.get(path + "/")

    assert (bare.status_code, slashed.status_code) == (200, 200)
    assert slashed.json().keys() == bare.json().keys()
