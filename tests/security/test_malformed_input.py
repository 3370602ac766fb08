"""A key or an argument that cannot go into a request is one clear line, never a traceback.

Keys come from files and `$(cat keyfile)` with a trailing newline, from a copy with a stray
space, or with a look-alike non-ASCII letter; arguments come from a shell in another encoding
than UTF-8. Each is run through the real `eventschema` process (and the library), on a host
where nothing answers when the point is that no request is made.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from security_helpers import CANARY, MARK, text_of

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.config import ClientSettings
from eventschema_tools.errors import ConfigurationError, InvalidInputError
from eventschema_tools.sandbox import ApiKey, RunningSandbox, run_sandbox

SCRIPT = Path(sys.executable).with_name("eventschema")
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", api_keys=(ApiKey(CANARY),), rate_limiting=False) as running:
        yield running


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def eventschema(host: str, key: str, *args: str | bytes) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POSTHOG_HOST": host,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": key,
        "EVENTSCHEMA_MAX_RETRIES": "0",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@needs_script
@pytest.mark.parametrize("end", ["\n", "\r\n", " \t"], ids=["newline", "CRLF", "blanks"])
def test_a_key_with_surrounding_whitespace_works(served: RunningSandbox, end: str) -> None:
    result = eventschema(served.url, f" {CANARY}{end}", "groups", "list", "--json")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[")


@needs_script
@pytest.mark.parametrize(
    "key",
    [f"{CANARY[:8]}é{CANARY[8:]}", f"{CANARY[:8]} {CANARY[8:]}", f"{CANARY}\nsecond line"],
    ids=["non-ASCII", "inner space", "two lines"],
)
def test_a_key_that_cannot_be_a_header_is_one_line_without_the_key(key: str) -> None:
    result = eventschema(closed_port_url(), key, "groups", "list")

    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: invalid settings: api_key (POSTHOG_PERSONAL_API_KEY)")
    assert "cannot reach" not in result.stderr  # refused before any connection
    assert MARK not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@needs_script
def test_a_non_utf8_event_argument_is_one_line(served: RunningSandbox) -> None:
    result = eventschema(served.url, CANARY, "schemas", "list", "--event", b"checkout\xff\xfe")

    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert "is not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_settings_refuse_such_a_key_without_showing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ClientSettings.load(api_key=f"{CANARY[:8]}\u00a0{CANARY[8:]}", project_id=1)

    assert MARK not in text_of(caught.value)
    assert ClientSettings.load(api_key=f"{CANARY}\n", project_id=1).api_key is not None
    stripped = ClientSettings.load(api_key=f"\t{CANARY}\n", project_id=1).api_key
    assert stripped is not None
    assert stripped.get_secret_value() == CANARY


def test_text_that_is_not_utf8_is_invalid_input_in_both_clients(served: RunningSandbox) -> None:
    name = b"checkout\xff".decode("utf-8", "surrogateescape")
    settings = {"api_key": CANARY, "project_id": 1, "host": served.url, "rate_limit": "off"}

    async def from_async() -> InvalidInputError:
        async with AsyncEventSchemaClient(**settings) as client:
            with pytest.raises(InvalidInputError) as caught:
                await client.event_definitions.get_by_name(name)
        return caught.value

    with EventSchemaClient(**settings) as client:
        with pytest.raises(InvalidInputError) as sync_error:
            client.event_definitions.get_by_name(name)
        with pytest.raises(InvalidInputError) as body_error:
            client.property_groups.create(name="ok", description=name)
    async_error = anyio.run(from_async)

    assert str(sync_error.value) == str(async_error)
    assert "the 'name' parameter" in str(sync_error.value)
    assert "the request body" in str(body_error.value)
