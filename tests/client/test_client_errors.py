"""Errors: one status→class table, PostHog's fields and the request carried on every error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eventschema_tools import (
    APIStatusError,
    AsyncEventSchemaClient,
    AuthenticationError,
    BadRequestError,
    EventSchemaError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from eventschema_tools import errors as errors_module
from eventschema_tools.errors import make_status_error
from eventschema_tools.sandbox import ApiKey, FaultConfig, SandboxApp

MISSING = "0190a8e4-7c1b-7d2e-9f00-0123456789ab"

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        (599, InternalServerError),
        (405, APIStatusError),
        (409, APIStatusError),
        (413, APIStatusError),
        (415, APIStatusError),
    ],
)
async def test_status_to_class_table(status: int, error_class: type[APIStatusError]) -> None:
    error = make_status_error(status_code=status, method="GET", path="/p/", body=None)

    assert type(error) is error_class
    assert isinstance(error, EventSchemaError)
    assert error.status_code == status


async def test_every_error_class_is_exported_and_in_the_tree() -> None:
    for name in errors_module.__all__:
        value = getattr(errors_module, name)
        if isinstance(value, type):
            assert issubclass(value, EventSchemaError), name
            assert name in errors_module.__doc__, f"{name} is missing from the drawn tree"


async def test_duplicate_group_name_carries_posthogs_fields(
    aclient: AsyncEventSchemaClient,
) -> None:
    await aclient.property_groups.create(name="checkout")

    with pytest.raises(BadRequestError) as caught:
        await aclient.property_groups.create(name="checkout")

    error = caught.value
    assert (error.status_code, error.type, error.attr) == (400, "validation_error", "name")
    assert error.detail == "A property group with this name already exists for this team"
    assert (error.method, error.path) == ("POST", "/api/projects/1/schema_property_groups/")
    assert str(error) == (
        "HTTP 400 on POST /api/projects/1/schema_property_groups/: name: A property group with "
        f"this name already exists for this team [{error.code}]"
    )
    assert error.is_duplicate


async def test_not_found_names_the_path(aclient: AsyncEventSchemaClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await aclient.property_groups.get(MISSING)

    assert (caught.value.code, caught.value.detail) == ("not_found", "Not found.")
    assert caught.value.path == f"/api/projects/1/schema_property_groups/{MISSING}/"
    assert caught.value.method == "GET"


async def test_unrouted_method_is_a_plain_status_error(aclient: AsyncEventSchemaClient) -> None:
    # PostHog has no retrieve endpoint for one event schema.
    with pytest.raises(APIStatusError) as caught:
        await aclient.request("GET", aclient.project_path("event_schemas", MISSING))

    assert type(caught.value) is APIStatusError
    assert (caught.value.status_code, caught.value.code) == (405, "method_not_allowed")


async def test_unknown_key_is_an_authentication_error_with_a_hint(
    app: SandboxApp, make_async_client: Callable[..., AsyncEventSchemaClient]
) -> None:
    client = make_async_client(app, api_key="phx_unknown")

    with pytest.raises(AuthenticationError) as caught:
        await client.current_user()

    assert caught.value.status_code == 401
    assert caught.value.type == "authentication_error"
    assert "POSTHOG_PERSONAL_API_KEY" in str(caught.value)
    assert "phx_unknown" not in str(caught.value)


async def test_missing_scope_names_the_scope_to_add(
    sandbox_app: Callable[..., SandboxApp],
    make_async_client: Callable[..., AsyncEventSchemaClient],
) -> None:
    app = sandbox_app(
        rate_limiting=False,
        api_keys=(ApiKey("phx_reader", ("event_definition:read",)),),
    )
    client = make_async_client(app, api_key="phx_reader")
    assert [g async for g in client.property_groups.list()] == []

    with pytest.raises(PermissionDeniedError) as caught:
        await client.property_groups.create(name="not allowed")

    assert caught.value.missing_scope == "event_definition:write"
    assert "add the scope 'event_definition:write' to the personal API key" in str(caught.value)
    with pytest.raises(PermissionDeniedError) as query_denied:
        await client.query.hogql("SELECT 1")
    assert query_denied.value.missing_scope == "query:read"


async def test_server_errors_and_throttling_map_to_their_classes(
    app: SandboxApp, aclient: AsyncEventSchemaClient
) -> None:
    raised: dict[str, APIStatusError] = {}
    for name, faults in {
        "500": FaultConfig(error_500=1.0),
        "503": FaultConfig(error_503=1.0),
        "429": FaultConfig(throttle=1.0, retry_after=30),
    }.items():
        app.sandbox.faults.configure(faults)
        with pytest.raises(APIStatusError) as caught:
            await aclient.request("GET", "/api/users/@me/", max_retries=0)
        raised[name] = caught.value
    app.sandbox.faults.configure(FaultConfig())

    assert type(raised["500"]) is InternalServerError
    assert raised["500"].type == "server_error"
    assert type(raised["503"]) is InternalServerError
    assert raised["503"].detail  # a load balancer's HTML page, kept as text
    assert type(raised["429"]) is RateLimitError
    assert raised["429"].retry_after == 30.0
    assert "Expected available in 30 seconds" in raised["429"].detail
