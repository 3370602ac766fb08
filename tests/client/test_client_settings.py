"""Settings: arguments over environment over defaults, host shorthands, clear errors."""

from __future__ import annotations

import httpx
import pytest

from eventschema_tools import AsyncEventSchemaClient, ConfigurationError, EventSchemaClient
from eventschema_tools._constants import DEFAULT_PAGE_SIZE
from eventschema_tools.config import ClientSettings, RateLimit, parse_rate_limits

ENV_NAMES = (
    "POSTHOG_PERSONAL_API_KEY",
    "POSTHOG_PROJECT_ID",
    "POSTHOG_HOST",
    "EVENTSCHEMA_TIMEOUT",
    "EVENTSCHEMA_MAX_RETRIES",
    "EVENTSCHEMA_RATE_LIMIT",
    "EVENTSCHEMA_QUERY_RATE_LIMIT",
    "EVENTSCHEMA_PAGE_SIZE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_environment_supplies_every_setting(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("POSTHOG_PERSONAL_API_KEY", "phx_from_env")
    clean_env.setenv("POSTHOG_PROJECT_ID", "42")
    clean_env.setenv("POSTHOG_HOST", "eu")
    clean_env.setenv("EVENTSCHEMA_TIMEOUT", "7.5")
    clean_env.setenv("EVENTSCHEMA_MAX_RETRIES", "2")
    clean_env.setenv("EVENTSCHEMA_RATE_LIMIT", "10/second")
    clean_env.setenv("EVENTSCHEMA_QUERY_RATE_LIMIT", "off")
    clean_env.setenv("EVENTSCHEMA_PAGE_SIZE", "250")

    settings = ClientSettings.load()

    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "phx_from_env"
    assert (settings.project_id, settings.host) == ("42", "https://eu.posthog.com")
    assert (settings.timeout, settings.max_retries) == (7.5, 2)
    assert settings.rate_limits == (RateLimit(10, 1.0),)
    assert settings.query_rate_limits == ()
    assert settings.page_size == 250


def test_variable_names_are_read_regardless_of_case(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("posthog_personal_api_key", "phx_lower_case")
    clean_env.setenv("Posthog_Project_Id", "7")
    clean_env.setenv("OTHER_SETTING", "ignored")

    settings = ClientSettings.load()

    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "phx_lower_case"
    assert settings.project_id == "7"
    # Built directly, the settings read the environment too, under what they are given.
    assert ClientSettings(POSTHOG_PROJECT_ID="8").project_id == "8"
    assert ClientSettings().project_id == "7"


def test_arguments_override_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("POSTHOG_PERSONAL_API_KEY", "phx_from_env")
    clean_env.setenv("POSTHOG_PROJECT_ID", "42")
    clean_env.setenv("POSTHOG_HOST", "eu")
    clean_env.setenv("EVENTSCHEMA_MAX_RETRIES", "2")
    clean_env.setenv("EVENTSCHEMA_PAGE_SIZE", "250")

    client = EventSchemaClient(
        api_key="phx_from_argument",
        project_id=7,
        host="https://posthog.example.com",
        max_retries=0,
        page_size=20,
    )

    assert client.settings.api_key is not None
    assert client.settings.api_key.get_secret_value() == "phx_from_argument"
    assert (client.project_id, client.host) == ("7", "https://posthog.example.com")
    assert client.retry_policy.max_retries == 0
    assert client.page_size == 20


def test_arguments_left_as_none_fall_back_to_the_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("POSTHOG_PERSONAL_API_KEY", "phx_from_env")
    clean_env.setenv("POSTHOG_PROJECT_ID", "42")

    client = AsyncEventSchemaClient.from_env(host=None, project_id="@current")

    assert (client.project_id, client.host) == ("@current", "https://us.posthog.com")


def test_defaults_are_us_cloud_and_posthogs_rate_windows() -> None:
    settings = ClientSettings.load(api_key="phx_k", project_id=1)

    assert settings.host == "https://us.posthog.com"
    assert settings.rate_limits == (RateLimit(480, 60.0), RateLimit(4800, 3600.0))
    assert settings.query_rate_limits == (RateLimit(120, 3600.0),)
    assert (settings.timeout, settings.max_retries) == (30.0, 4)
    assert settings.page_size == DEFAULT_PAGE_SIZE == 1000


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("us", "https://us.posthog.com", id="us"),
        pytest.param("EU", "https://eu.posthog.com", id="eu-any-case"),
        pytest.param("https://posthog.example.com/", "https://posthog.example.com", id="slash"),
        pytest.param("http://127.0.0.1:8010", "http://127.0.0.1:8010", id="loopback-port"),
        pytest.param(
            "https://example.com/posthog/", "https://example.com/posthog", id="self-hosted-path"
        ),
    ],
)
def test_host_shorthands_and_self_hosted_urls(given: str, expected: str) -> None:
    assert ClientSettings.load(api_key="phx_k", project_id=1, host=given).host == expected


def test_a_self_hosted_path_prefix_is_kept_in_request_urls() -> None:
    client = EventSchemaClient(api_key="phx_k", project_id=3, host="https://example.com/posthog")

    assert client.follow_link("https://example.com/posthog/api/projects/3/event_schemas/?offset=1")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"host": "posthog.example.com"}, "host must be 'us', 'eu'", id="no-scheme"),
        pytest.param({"host": "ftp://example.com"}, "host must be", id="bad-scheme"),
        pytest.param({"project_id": "my-project"}, "project id must be a number", id="project"),
        pytest.param({"timeout": 0}, "timeout", id="zero-timeout"),
        pytest.param({"max_retries": -1}, "max_retries", id="negative-retries"),
        pytest.param({"rate_limit": "480 per minute"}, "bad rate limit", id="rate-syntax"),
        pytest.param({"rate_limit": "0/minute"}, "bad rate limit", id="rate-zero"),
        pytest.param({"query_rate_limit": "5/fortnight"}, "bad rate limit", id="rate-unit"),
        pytest.param({"page_size": 0}, "page_size .EVENTSCHEMA_PAGE_SIZE.", id="zero-page"),
        pytest.param({"page_size": "lots"}, "page_size", id="page-not-a-number"),
    ],
)
def test_malformed_values_raise_configuration_error(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EventSchemaClient(**{"api_key": "phx_k", "project_id": 1, **overrides})  # type: ignore[arg-type]


def test_malformed_environment_value_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("EVENTSCHEMA_TIMEOUT", "soon")

    with pytest.raises(ConfigurationError, match="EVENTSCHEMA_TIMEOUT"):
        ClientSettings.load(api_key="phx_k", project_id=1)


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        pytest.param({"project_id": 1}, "POSTHOG_PERSONAL_API_KEY", id="key"),
        pytest.param({"api_key": "phx_k"}, "POSTHOG_PROJECT_ID", id="project"),
        pytest.param(
            {"api_key": "   ", "project_id": 1}, "POSTHOG_PERSONAL_API_KEY", id="blank-key"
        ),
    ],
)
def test_missing_key_or_project_says_how_to_give_it(
    overrides: dict[str, object], missing: str
) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        ClientSettings.load(**overrides)


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown settings: api_token"):
        ClientSettings.load(api_token="phx_k", project_id=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", ()),
        ("none", ()),
        ("", ()),
        ("20/second", (RateLimit(20, 1.0),)),
        (" 480 / minutes , 4800/hour", (RateLimit(480, 60.0), RateLimit(4800, 3600.0))),
        ("1000/day", (RateLimit(1000, 86400.0),)),
    ],
)
def test_rate_limit_text(text: str, expected: tuple[RateLimit, ...]) -> None:
    assert parse_rate_limits(text) == expected


def test_transport_and_http_client_together_are_refused() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    with httpx.Client() as http, pytest.raises(ConfigurationError, match="not both"):
        EventSchemaClient(api_key="phx_k", project_id=1, transport=transport, http_client=http)


def test_an_empty_project_id_variable_counts_as_missing(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("POSTHOG_PROJECT_ID", "")

    with pytest.raises(ConfigurationError, match="missing the project id"):
        ClientSettings.load(api_key="phx_k")
