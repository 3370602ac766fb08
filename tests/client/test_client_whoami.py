"""``client.whoami()``: who the key is, its scopes and projects, and the configured project.

Both clients against one sandbox with an unscoped key, a narrow key and a key limited to
project 2; the key itself is never in the result, only its masked form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ProjectNotFoundError,
    make_status_error,
)
from eventschema_tools.identity import WhoAmI, grants, mask_key
from eventschema_tools.sandbox import ApiKey, Project, RunningSandbox, SandboxApp, run_sandbox

pytestmark = pytest.mark.anyio

FULL = "phx_whoami_full_key_0123456789abcdef"
NARROW = "phx_whoami_narrow_key_0123456789abcd"
SECOND = "phx_whoami_second_key_0123456789abcd"
KEYS = (
    ApiKey(FULL),
    ApiKey(NARROW, ("event_definition:read",)),
    ApiKey(SECOND, ("event_definition:write", "user:read"), projects=(2,)),
)
PROJECTS = (Project(1, name="Web"), Project(2, name="Mobile"))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, api_keys=KEYS, projects=PROJECTS) as running:
        yield running


@pytest.fixture
def app(sandbox_app: Callable[..., SandboxApp]) -> SandboxApp:
    return sandbox_app(rate_limiting=False, api_keys=KEYS, projects=PROJECTS)


def whoami(server: RunningSandbox, key: str, project: int | str = 1) -> WhoAmI:
    with EventSchemaClient(api_key=key, project_id=project, host=server.url) as client:
        return client.whoami()


def test_an_unscoped_key_shows_its_user_project_and_every_scope(server: RunningSandbox) -> None:
    who = whoami(server, FULL)

    assert who.host == server.url
    assert (who.project_id, who.project and who.project.name) == ("1", "Web")
    assert who.user is not None
    assert who.user.email == "sandbox@example.com"
    assert who.scopes == ["*"]
    assert who.missing_scopes == {}
    assert who.unavailable == {}
    assert who.key_mask == "phx_...cdef"
    assert FULL not in who.model_dump_json() + repr(who)


def test_a_narrow_key_lists_what_it_cannot_read_and_the_scopes_it_lacks(
    server: RunningSandbox,
) -> None:
    who = whoami(server, NARROW)

    assert who.scopes == ["event_definition:read"]
    assert who.user is None
    assert who.project is None
    assert who.unavailable["user"] == "needs the scope 'user:read'"
    assert who.unavailable["project"].startswith("needs the scope 'project:read'")
    assert "the project exists" in who.unavailable["project"]
    assert set(who.missing_scopes or {}) == {"event_definition:write", "query:read"}


def test_a_key_limited_to_another_project_is_refused_with_the_project_named(
    server: RunningSandbox,
) -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        whoami(server, SECOND, project=1)

    assert "project: ID 1" in str(raised.value)
    assert "POSTHOG_PROJECT_ID" in str(raised.value)
    assert whoami(server, SECOND, project=2).key.scoped_teams == [2]  # type: ignore[union-attr]


def test_a_project_that_is_not_there_is_a_configuration_error_naming_it(
    server: RunningSandbox,
) -> None:
    with pytest.raises(ProjectNotFoundError) as raised:
        whoami(server, FULL, project=999)

    assert isinstance(raised.value, ConfigurationError)
    assert isinstance(raised.value, NotFoundError)
    assert str(raised.value).startswith("project 999 not found")


def test_a_wrong_key_is_an_authentication_error(server: RunningSandbox) -> None:
    with pytest.raises(AuthenticationError):
        whoami(server, "phx_not_a_key_of_this_sandbox")


async def test_the_async_twin_gives_the_same_answer(
    app: SandboxApp,
    make_async_client: Callable[..., AsyncEventSchemaClient],
    server: RunningSandbox,
) -> None:
    client = make_async_client(app, api_key=NARROW)

    who = await client.whoami()

    expected = whoami(server, NARROW)
    assert who.model_dump(exclude={"host"}) == expected.model_dump(exclude={"host"})


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/api/projects/999/", ProjectNotFoundError),
        ("/api/projects/999/schema_property_groups/", ProjectNotFoundError),
        ("/base/api/projects/@current/query/", ProjectNotFoundError),
        (
            "/api/projects/1/schema_property_groups/6a1f0ab0-8f2e-4a57-9d3e-0d9b55f1c0de/",
            NotFoundError,
        ),
        ("/api/projects/1/event_definitions/by_name/", NotFoundError),
    ],
)
def test_a_404_on_the_project_or_its_lists_is_about_the_project(
    path: str, error: type[NotFoundError]
) -> None:
    made = make_status_error(
        status_code=404, method="GET", path=path, body={"detail": "Not found."}
    )

    assert type(made) is error


@pytest.mark.parametrize(
    ("scopes", "required", "granted"),
    [
        ([], "query:read", True),
        (["*"], "event_definition:write", True),
        (["event_definition:write"], "event_definition:read", True),
        (["event_definition:read"], "event_definition:write", False),
        (["query:read"], "event_definition:read", False),
    ],
)
def test_scopes_are_judged_as_posthog_does(scopes: list[str], required: str, granted: bool) -> None:
    assert grants(scopes, required) is granted


def test_a_short_key_is_masked_whole() -> None:
    assert mask_key("phx_short") == "********"
