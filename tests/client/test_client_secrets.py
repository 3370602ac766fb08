"""The API key appears in no log record, exception message or repr, whatever happens."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest

from eventschema_tools import (
    AsyncEventSchemaClient,
    ClientSettings,
    ConfigurationError,
    EventSchemaClient,
    EventSchemaError,
)
from eventschema_tools._retry import RetryPolicy
from eventschema_tools.sandbox import ApiKey, FaultConfig, RunningSandbox, run_sandbox

# Distinctive, so any leak (whole or in part) is found by a plain substring search.
CANARY = "phx_CanaryKey0123456789abcdefXYZ"
WRONG_KEY = "phx_WrongCanary9876543210zyxwvuTS"
FRAGMENTS = (CANARY, CANARY[4:20], WRONG_KEY, WRONG_KEY[4:20])


@pytest.fixture(scope="module")
def canary_server() -> Iterator[RunningSandbox]:
    keys = (ApiKey(CANARY), ApiKey("phx_read_only_canary", ("event_definition:read",)))
    with run_sandbox(rate_limiting=False, api_keys=keys) as running:
        yield running


def _leaks(text: str) -> list[str]:
    return [fragment for fragment in FRAGMENTS if fragment in text]


def _exception_texts(exc: BaseException) -> Iterator[str]:
    """The message, repr and full formatted traceback of an error and its whole chain."""
    yield "".join(traceback.format_exception(exc))
    while exc is not None:
        yield str(exc)
        yield repr(exc)
        yield repr(vars(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def _provoke_everything(
    client: EventSchemaClient, impatient: EventSchemaClient, server: RunningSandbox
) -> list[BaseException]:
    """Successes, every error class, retries, a drop and a timeout, with the key in use."""
    errors: list[BaseException] = []
    group = client.property_groups.create(name="secret-safe")
    event = client.event_definitions.create(name="secret_safe_event")
    client.event_schemas.create(event_definition=event.id, property_group_id=group.id)
    list(client.event_schemas.list())  # one row per page: `next` links carry the key too
    calls = [
        lambda: client.property_groups.create(name="secret-safe"),  # 400
        lambda: client.property_groups.get("0190a8e4-7c1b-7d2e-9f00-0123456789ab"),  # 404
        lambda: client.request("GET", client.project_path("event_schemas", group.id)),  # 405
        lambda: client.query.hogql("SELECT nonsense FROM"),  # 400 from HogQL
        lambda: client.property_groups.get("not-a-uuid"),  # rejected before sending
    ]
    for call in calls:
        try:
            call()
        except EventSchemaError as exc:
            errors.append(exc)
    faults = server.sandbox.faults
    for config, caller in (
        (FaultConfig(error_503=1.0), client),
        (FaultConfig(throttle=1.0, retry_after=0), client),
        (FaultConfig(drop=1.0), client),
        (FaultConfig(slow=1.0, slow_delay=0.4), impatient),
    ):
        faults.configure(config)
        try:
            caller.property_groups.update(group.id, description="x")
        except EventSchemaError as exc:
            errors.append(exc)
        finally:
            faults.configure(FaultConfig())
    return errors


@pytest.fixture
def all_debug_logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """Capture DEBUG from every logger, even ones other code quietened or detached."""
    caplog.set_level(logging.DEBUG)
    for name in ("eventschema_tools", "httpx", "httpcore", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    return caplog


def test_key_is_in_no_log_record_error_or_repr(
    canary_server: RunningSandbox, all_debug_logs: pytest.LogCaptureFixture
) -> None:
    caplog = all_debug_logs
    fast = RetryPolicy(max_retries=1, initial_delay=0.01, max_retry_after=0.05)
    client = EventSchemaClient(api_key=CANARY, project_id=1, host=canary_server.url, page_size=1)
    impatient = EventSchemaClient(api_key=CANARY, project_id=1, host=canary_server.url, timeout=0.2)
    client.retry_policy = impatient.retry_policy = fast

    errors = _provoke_everything(client, impatient, canary_server)
    impatient.close()
    for key in (WRONG_KEY, "phx_read_only_canary"):
        other = EventSchemaClient(api_key=key, project_id=1, host=canary_server.url, max_retries=0)
        try:
            other.property_groups.create(name="denied")
        except EventSchemaError as exc:
            errors.append(exc)
        other.close()

    assert {type(e).__name__ for e in errors} >= {
        "AuthenticationError",
        "PermissionDeniedError",
        "BadRequestError",
        "NotFoundError",
        "APIStatusError",
        "InvalidInputError",
        "InternalServerError",
        "RateLimitError",
        "APIConnectionError",
        "APITimeoutError",
    }
    assert any(r.name.startswith("httpx") for r in caplog.records), "httpx logs were not captured"
    assert any(r.name == "eventschema_tools" for r in caplog.records)
    for record in caplog.records:
        assert not _leaks(record.getMessage()), record.getMessage()
        assert not _leaks(repr(record.args)), record.args
    for error in errors:
        for text in _exception_texts(error):
            assert not _leaks(text), text
    texts = [repr(client), str(client), repr(client.settings), str(client.settings)]
    texts += [repr(client.rate_budget), repr(client.settings.model_dump())]
    texts += [client.settings.model_dump_json()]
    client.close()
    for text in texts:
        assert not _leaks(text), text


def test_our_log_lines_say_method_path_status_attempt_and_time(
    canary_server: RunningSandbox, all_debug_logs: pytest.LogCaptureFixture
) -> None:
    caplog = all_debug_logs
    with EventSchemaClient(api_key=CANARY, project_id=1, host=canary_server.url) as client:
        client.project()

    lines = [r.getMessage() for r in caplog.records if r.name == "eventschema_tools"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /api/projects/1/ -> 200 (attempt 1, ")


@pytest.mark.anyio
async def test_async_client_repr_and_settings_hide_the_key() -> None:
    async with AsyncEventSchemaClient(api_key=CANARY, project_id=5, host="eu") as client:
        texts = [repr(client), repr(client.settings), str(vars(client.settings))]

    assert texts[0] == "AsyncEventSchemaClient(host='https://eu.posthog.com', project_id='5')"
    for text in texts:
        assert not _leaks(text), text


def test_configuration_errors_never_echo_the_key() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ClientSettings.load(api_key=CANARY, project_id="not a project", host="nowhere")

    for text in _exception_texts(caught.value):
        assert not _leaks(text), text
