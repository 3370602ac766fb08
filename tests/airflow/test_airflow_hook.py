"""``EventSchemaHook``: connection fields to client, connection test, clear configuration errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from urllib.parse import quote

import pytest
from airflow.sdk import Connection

from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
from eventschema_tools.errors import ConfigurationError
from eventschema_tools.sandbox.config import DEMO_API_KEY, DEMO_PROJECT_ID

CONN_ENV = "AIRFLOW_CONN_POSTHOG_DEFAULT"


def _set(monkeypatch: pytest.MonkeyPatch, **fields: object) -> None:
    monkeypatch.setenv(CONN_ENV, json.dumps({"conn_type": "posthog", **fields}))


@pytest.mark.usefixtures("posthog_conn")
def test_get_conn_builds_a_client_for_the_connections_project(sandbox_url: str) -> None:
    with EventSchemaHook().get_conn() as client:
        project = client.project()

    assert project.id == DEMO_PROJECT_ID
    assert client.host == sandbox_url
    assert client.settings.max_retries == 0


def test_uri_form_extras_arrive_as_strings_and_are_coerced(
    sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = (
        f"posthog://:{DEMO_API_KEY}@{quote(sandbox_url, safe='')}/"
        f"?project_id={DEMO_PROJECT_ID}&timeout=7.5&max_retries=1&rate_limit=off"
    )
    monkeypatch.setenv(CONN_ENV, uri)

    with EventSchemaHook().get_conn() as client:
        assert client.settings.timeout == 7.5
        assert client.settings.max_retries == 1
        assert client.settings.rate_limits == ()
        assert client.project().id == DEMO_PROJECT_ID


@pytest.mark.usefixtures("posthog_conn")
def test_test_connection_reports_the_project() -> None:
    ok, message = EventSchemaHook().test_connection()

    assert ok, message
    assert message.startswith(f"Connected to PostHog project {DEMO_PROJECT_ID}")


def test_test_connection_with_a_wrong_key_says_why_without_the_key(
    set_connection: Callable[..., str],
) -> None:
    wrong_key = "phx_not_a_key_the_sandbox_knows"
    set_connection(api_key=wrong_key)

    ok, message = EventSchemaHook().test_connection()

    assert not ok
    assert "HTTP 401" in message
    assert wrong_key not in message
    assert "check the connection's password (a personal API key, phx_..." in message
    assert message.endswith("[connection 'posthog_default', or AIRFLOW_CONN_POSTHOG_DEFAULT]")
    assert "POSTHOG_PERSONAL_API_KEY" not in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        pytest.param(
            {"project_id": "404"},
            "project 404 not found (HTTP 404 on GET /api/projects/404/) — check the project id "
            "(the connection's project_id extra) and the host",
            id="project",
        ),
        pytest.param(
            {"host": "http://127.0.0.1:{port}"},
            "connection refused (GET /api/projects/1/) — check the host (the connection's host: "
            "us, eu or your instance's URL)",
            id="host",
        ),
    ],
)
def test_test_connection_hints_name_connection_fields_not_environment_variables(
    set_connection: Callable[..., str], fields: dict[str, str], says: str
) -> None:
    """Airflow reads only the connection: a hint naming POSTHOG_* would send users astray."""
    if "host" in fields:
        fields = {"host": fields["host"].format(port=_closed_port())}
    set_connection(**fields)

    ok, message = EventSchemaHook().test_connection()

    assert not ok
    assert says in message, message
    assert message.endswith("[connection 'posthog_default', or AIRFLOW_CONN_POSTHOG_DEFAULT]")
    assert "POSTHOG_" not in message.replace("AIRFLOW_CONN_POSTHOG_DEFAULT", "")
    assert "--project" not in message
    assert "--host" not in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"host": "us", "extra": {"project_id": "1"}},
            "the password must hold the personal API key",
            id="no-key",
        ),
        pytest.param(
            {"host": "us", "password": "phx_k"},
            'extra must hold the project id, e.g. {"project_id": "12345"}',
            id="no-project",
        ),
        pytest.param(
            {"password": "phx_k", "extra": {"project_id": "1", "projectid": "1"}},
            "extra has unknown fields projectid (known: project_id, timeout,",
            id="typo-in-extra",
        ),
        pytest.param(
            {"host": "localhost", "port": 8010, "password": "phx_k", "extra": {"project_id": "1"}},
            "port is not used: put it in the host URL",
            id="port",
        ),
        pytest.param(
            {"host": "us.posthog.com", "password": "phx_k", "extra": {"project_id": "1"}},
            "host must be 'us', 'eu' or an http(s) URL",
            id="host-without-scheme",
        ),
        pytest.param(
            {"password": "phx_k", "extra": {"project_id": "1", "timeout": -1}},
            "timeout",
            id="negative-timeout",
        ),
        pytest.param(
            {"password": "phx_k", "extra": {"project_id": "one"}},
            "project id must be a number or '@current'",
            id="project-not-a-number",
        ),
    ],
)
def test_bad_connection_fails_with_a_message_naming_it(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, object], expected: str
) -> None:
    _set(monkeypatch, **fields)

    with pytest.raises(ConfigurationError) as excinfo:
        EventSchemaHook().get_conn()

    assert str(excinfo.value).startswith("connection 'posthog_default': ")
    assert str(excinfo.value).count("posthog_default") == 1
    assert expected in str(excinfo.value)


def test_empty_extras_from_the_ui_form_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(
        monkeypatch,
        password="phx_k",
        extra={"project_id": "7", "timeout": None, "rate_limit": "", "query_rate_limit": None},
    )

    arguments = EventSchemaHook.client_arguments(Connection.get("posthog_default"))

    assert arguments == {"api_key": "phx_k", "host": "us", "project_id": "7"}


def test_connection_values_win_over_posthog_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTHOG_HOST", "eu")
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "999")
    _set(monkeypatch, password="phx_k", extra={"project_id": "7"})

    with EventSchemaHook().get_conn() as client:
        assert client.host == "https://us.posthog.com"
        assert client.project_id == "7"
