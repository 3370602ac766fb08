"""The server as users start it: over stdio, over streamable HTTP, with good and bad settings.

These tests spawn real processes (`python mcp_server.py` and the `eventschema-mcp` script) that
talk to a loopback sandbox, and pass their environment explicitly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("mcp")

import httpx2
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_test_helpers import MODES, SECRET_KEY

from eventschema_tools.mcp_server.server import main, parse_options
from eventschema_tools.sandbox import ApiKey, RunningSandbox, run_sandbox

ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = ROOT / "mcp_server.py"
CONSOLE_SCRIPT = Path(sys.executable).with_name("eventschema-mcp")
TOKEN = "mcp-http-token-3b8e1f"


@pytest.fixture(scope="module")
def loopback_sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, api_keys=(ApiKey(SECRET_KEY),)) as running:
        response = httpx.post(
            f"{running.url}/api/projects/1/schema_property_groups/",
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            json={"name": "transport_check", "properties": []},
        )
        assert response.status_code == 201
        yield running


def server_env(sandbox: RunningSandbox, **extra: str) -> dict[str, str]:
    """Only what the server needs: the SDK's stdio client does not pass the parent's env on."""
    return {
        "POSTHOG_PERSONAL_API_KEY": SECRET_KEY,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_HOST": sandbox.url,
        **extra,
    }


def group_names(structured: dict[str, object] | None) -> list[str]:
    assert structured is not None
    items = structured["items"]
    assert isinstance(items, list)
    return [item["name"] for item in items]


# --- stdio ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stdio_process_lists_tools_and_calls_one(
    loopback_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(SERVER_SCRIPT), "--read-only"],
        env=server_env(loopback_sandbox),
        cwd=str(tmp_path),
    )
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("list_property_groups", {})
            missing = await client.call_tool("get_property_group", {"group": "transport_chek"})
    assert "list_event_schemas" in tools
    assert "delete_event_schema" not in tools  # --read-only
    assert not result.is_error
    assert group_names(result.structured_content) == ["transport_check"]
    assert missing.is_error
    assert "did you mean 'transport_check'" in missing.content[0].text  # type: ignore[union-attr]
    assert SECRET_KEY not in stderr_path.read_text()


# --- streamable HTTP -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_server(
    loopback_sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("http") / "server.log"
    env = {**server_env(loopback_sandbox, EVENTSCHEMA_MCP_TOKEN=TOKEN), "PATH": os.defpath}
    command = [str(CONSOLE_SCRIPT), "--transport", "streamable-http", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert SECRET_KEY not in log.read_text()
    assert TOKEN not in log.read_text()


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_http_without_the_token_is_401(http_server: str) -> None:
    for headers in (JSON_HEADERS, {**JSON_HEADERS, "Authorization": "Bearer wrong-token"}):
        response = httpx.post(http_server, headers=headers, content=json.dumps(INITIALIZE))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_http_refuses_a_foreign_host_or_origin(http_server: str) -> None:
    authorized = {**JSON_HEADERS, "Authorization": f"Bearer {TOKEN}"}
    body = json.dumps(INITIALIZE)
    foreign_host = httpx.post(
        http_server, headers={**authorized, "Host": "attacker.example:80"}, content=body
    )
    assert foreign_host.status_code == 421
    foreign_origin = httpx.post(
        http_server, headers={**authorized, "Origin": "http://attacker.example"}, content=body
    )
    assert foreign_origin.status_code == 403
    own = httpx.post(http_server, headers=authorized, content=body)
    assert own.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_http_with_the_token_works(http_server: str, mode: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(http_server, http_client=http)
        async with Client(transport, mode=mode) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("list_property_groups", {"search": "transport"})
    assert "delete_event_schema" in tools
    assert not result.is_error
    assert group_names(result.structured_content) == ["transport_check"]


# --- settings ------------------------------------------------------------------------------------


SETTINGS = (
    "POSTHOG_PERSONAL_API_KEY",
    "POSTHOG_PROJECT_ID",
    "POSTHOG_HOST",
    "EVENTSCHEMA_MCP_READ_ONLY",
    "EVENTSCHEMA_MCP_TOKEN",
    "EVENTSCHEMA_MCP_ALLOWED_PROJECTS",
)


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], **env: str
) -> str:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_missing_settings_fail_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = run_main(monkeypatch, capsys, [])
    assert err.count("\n") == 1
    assert "POSTHOG_PERSONAL_API_KEY" in err
    assert "POSTHOG_PROJECT_ID" in err


def test_bad_settings_name_the_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = {"POSTHOG_PERSONAL_API_KEY": SECRET_KEY}
    err = run_main(monkeypatch, capsys, ["--project-id", "abc"], **key)
    assert "project id must be a number" in err
    err = run_main(
        monkeypatch, capsys, [], POSTHOG_PROJECT_ID="1", EVENTSCHEMA_MCP_READ_ONLY="maybe", **key
    )
    assert "EVENTSCHEMA_MCP_READ_ONLY must be 1 or 0" in err
    err = run_main(
        monkeypatch,
        capsys,
        ["--transport", "streamable-http", "--bind", "0.0.0.0"],
        POSTHOG_PROJECT_ID="1",
        **key,
    )
    assert "needs a bearer token" in err
    assert SECRET_KEY not in err
    err = run_main(
        monkeypatch,
        capsys,
        ["--transport", "streamable-http", "--host", "0.0.0.0"],
        POSTHOG_PROJECT_ID="1",
        **key,
    )
    assert err.count("\n") == 1
    assert "--host is the PostHog host" in err
    assert "use --bind 0.0.0.0" in err
    err = run_main(monkeypatch, capsys, ["--port", "70000"], POSTHOG_PROJECT_ID="1", **key)
    assert "port must be between 1 and 65535" in err


def test_options_come_from_flags_and_environment() -> None:
    options, overrides = parse_options(
        ["--project-id", "7", "--posthog-host", "eu", "--bind", "::1", "--port", "9000"],
        env={
            "EVENTSCHEMA_MCP_READ_ONLY": "true",
            "EVENTSCHEMA_MCP_TOKEN": TOKEN,
            "EVENTSCHEMA_MCP_ALLOWED_PROJECTS": "7, 8",
        },
    )
    assert (options.read_only, options.bind, options.port, options.token) == (
        True,
        "::1",
        9000,
        TOKEN,
    )
    assert options.allowed_projects == ("7", "8")
    assert overrides == {"project_id": "7", "host": "eu"}
    assert TOKEN not in repr(options)
    defaults, _ = parse_options([], env={})
    assert (defaults.read_only, defaults.transport, defaults.token) == (False, "stdio", None)
    assert defaults.bind == "127.0.0.1"
    _, same_host = parse_options(["--host", "https://posthog.example.com"], env={})
    assert same_host == {"project_id": None, "host": "https://posthog.example.com"}


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the console script is not installed")
def test_help_says_host_is_the_posthog_host_and_bind_the_address() -> None:
    shown = subprocess.run(
        [str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    flat = " ".join(shown.split())

    assert "--host HOST, --posthog-host HOST PostHog host, as in eventschema" in flat
    assert "--bind ADDRESS Address to serve HTTP on" in flat
    assert "--port PORT" in flat


def test_projects_outside_the_allow_list_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = {"POSTHOG_PERSONAL_API_KEY": SECRET_KEY}
    err = run_main(monkeypatch, capsys, ["--allow-project", "2"], POSTHOG_PROJECT_ID="1", **key)
    assert "project 1 is not in the allowed projects (2)" in err
    err = run_main(
        monkeypatch,
        capsys,
        [],
        POSTHOG_PROJECT_ID="@current",
        EVENTSCHEMA_MCP_ALLOWED_PROJECTS="1, 2",
        **key,
    )
    assert "(not @current)" in err


def test_importing_the_server_never_imports_airflow() -> None:
    code = (
        "import sys, eventschema_tools.mcp_server.server\n"
        "assert 'airflow' not in sys.modules, 'airflow imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
