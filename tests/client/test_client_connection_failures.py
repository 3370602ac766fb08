"""A host that does not answer: the error names it and what to check, and fails fast.

A refused connection or a host name that does not resolve is a wrong host far more often than
an outage, so it gets at most one retry; timeouts keep the full count. Each retry is announced
on the ``eventschema_tools.retry`` logger (the CLI shows it on a terminal).
"""

from __future__ import annotations

import logging
import socket
import ssl

import httpx
import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools._base_client import certificate_check, describe_transport_failure
from eventschema_tools._retry import RetryPolicy, is_connect_failure
from eventschema_tools.errors import APIConnectionError, APITimeoutError

KEY = "phx_connection_failure_secret_key_0123"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def caused_by(error: httpx.TransportError, cause: BaseException) -> httpx.TransportError:
    error.__cause__ = cause
    return error


def attempts(records: list[logging.LogRecord]) -> int:
    return sum(1 for r in records if r.name == "eventschema_tools" and "attempt" in r.getMessage())


def test_a_refused_connection_names_the_host_and_is_retried_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    client = EventSchemaClient(api_key=KEY, project_id=1, host=host, max_retries=4)
    client.retry_policy = RetryPolicy(max_retries=4, initial_delay=0.001, max_delay=0.002)
    caplog.set_level(logging.DEBUG, logger="eventschema_tools")

    with client, pytest.raises(APIConnectionError) as raised:
        client.property_groups.list().__next__()

    message = str(raised.value)
    assert message.startswith(f"cannot reach PostHog at {host}: connection refused")
    assert "POSTHOG_HOST" in message
    assert "--host" in message
    assert raised.value.host == host
    assert raised.value.request_sent is False
    assert KEY not in message
    assert attempts(caplog.records) == 2


@pytest.mark.anyio
async def test_the_async_client_says_the_same() -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    client = AsyncEventSchemaClient(api_key=KEY, project_id=1, host=host)
    client.retry_policy = RetryPolicy(max_retries=4, initial_delay=0.001, max_delay=0.002)

    async with client:
        with pytest.raises(APIConnectionError) as raised:
            await client.current_user()

    assert str(raised.value).startswith(f"cannot reach PostHog at {host}: connection refused")
    assert "POSTHOG_HOST" in str(raised.value)


def test_credentials_in_the_host_url_are_not_repeated() -> None:
    port = closed_port()
    client = EventSchemaClient(
        api_key=KEY, project_id=1, host=f"http://user:hunter2@127.0.0.1:{port}", max_retries=0
    )

    with client, pytest.raises(APIConnectionError) as raised:
        client.current_user()

    assert "hunter2" not in str(raised.value)
    assert f"http://127.0.0.1:{port}" in str(raised.value)


@pytest.mark.parametrize(
    ("error", "reason", "hint"),
    [
        pytest.param(
            caused_by(httpx.ConnectError("x"), ConnectionRefusedError(111, "refused")),
            "connection refused",
            "the server is running",
            id="refused",
        ),
        pytest.param(
            caused_by(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
            "the host name does not resolve",
            "DNS",
            id="dns",
        ),
        pytest.param(
            caused_by(httpx.ConnectError("x"), ssl.SSLError(1, "WRONG_VERSION_NUMBER")),
            "TLS failed",
            "https://",
            id="tls",
        ),
        pytest.param(httpx.ConnectTimeout("x"), "connecting timed out", "firewall", id="connect"),
        pytest.param(httpx.ReadTimeout("x"), "timed out waiting", "EVENTSCHEMA_TIMEOUT", id="read"),
        pytest.param(httpx.RemoteProtocolError("x"), "dropped", "try again", id="dropped"),
    ],
)
def test_each_failure_says_what_happened_and_what_to_check(
    error: httpx.TransportError, reason: str, hint: str
) -> None:
    said, check = describe_transport_failure(error)

    assert reason in said
    assert hint in check


def test_connect_failures_get_one_retry_and_timeouts_all_of_them() -> None:
    refused = APIConnectionError("x", method="GET", path="/", request_sent=False)
    timeout = APITimeoutError("x", method="GET", path="/", request_sent=False)
    dropped = APIConnectionError("x", method="GET", path="/", request_sent=True)

    assert is_connect_failure(refused)
    assert not is_connect_failure(timeout)
    assert not is_connect_failure(dropped)


def test_each_retry_is_announced_on_the_retry_logger(caplog: pytest.LogCaptureFixture) -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    client = EventSchemaClient(api_key=KEY, project_id=1, host=host)
    client.retry_policy = RetryPolicy(max_retries=4, initial_delay=0.001, max_delay=0.002)
    caplog.set_level(logging.INFO, logger="eventschema_tools.retry")

    with client, pytest.raises(APIConnectionError):
        client.current_user()

    notices = [r.getMessage() for r in caplog.records if r.name == "eventschema_tools.retry"]
    assert len(notices) == 1
    assert notices[0].startswith("retrying in ")
    assert f"cannot reach PostHog at {host}: connection refused" in notices[0]
    assert "POSTHOG_HOST" not in notices[0]


def test_a_plain_http_host_loads_no_certificates_and_could_not_skip_checking_them() -> None:
    context = certificate_check("http://127.0.0.1:9")

    assert isinstance(context, ssl.SSLContext)
    assert context.get_ca_certs() == []
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_an_https_host_checks_certificates_against_the_ca_bundle() -> None:
    assert certificate_check("https://posthog.example") is True
