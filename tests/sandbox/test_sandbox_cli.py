"""`eventschema sandbox` as a subprocess, and the option parsers it uses."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from eventschema_tools.cli.main import main
from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    ApiKey,
    ConfigError,
    RateLimit,
    SandboxConfig,
    parse_rate_limits,
)

SECRET = "phx_cli_test_secret_0123456789abcdef"
CLI = [sys.executable, "-m", "eventschema_tools.cli.main"]


@contextmanager
def running_cli(*args: str) -> Iterator[tuple[str, list[str]]]:
    """Start the CLI, wait for its banner, yield (base URL, banner lines), then stop it."""
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + 20
        while not banner or not banner[-1].startswith("Press Ctrl+C"):
            line = process.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise AssertionError(
                    f"no banner; stderr: {process.stderr.read() if process.stderr else ''}"
                )
            banner.append(line.rstrip("\n"))
        url = banner[0].rsplit(" ", 1)[-1]
        yield url, banner
    finally:
        process.terminate()
        process.communicate(timeout=10)


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{url}/_sandbox/stats", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_sandbox_command_serves_projects_keys_and_demo_seed():
    args = ["sandbox", "--port", "0", "--seed", "demo", "--project", "1", "--project", "7"]
    args += ["--api-key", f"{SECRET}:event_definition:read", "--rate-limit", "100/minute"]
    with running_cli(*args) as (url, banner):
        wait_until_serving(url)
        headers = {"Authorization": f"Bearer {SECRET}"}
        schemas = httpx.get(f"{url}/api/projects/1/event_schemas/", headers=headers)
        other_project = httpx.get(f"{url}/api/projects/7/event_definitions/", headers=headers)
        write = httpx.post(
            f"{url}/api/projects/1/schema_property_groups/", headers=headers, json={}
        )

    text = "\n".join(banner)
    assert url.startswith("http://127.0.0.1:")
    assert SECRET not in text
    assert "phx_cl…(36 chars): event_definition:read" in text
    assert "project 7: Project 7 (project token phc_sandbox_7)" in text
    assert "rate limits per key: 100/minute" in text
    assert schemas.status_code == 200
    assert schemas.json()["count"] == 12
    assert schemas.json()["next"] is None
    assert other_project.json()["count"] == 0
    assert write.status_code == 403


def test_data_dir_and_faults_are_reported(tmp_path: Path):
    data_dir = tmp_path / "data"
    with running_cli(
        "sandbox", "--port", "0", "--data-dir", str(data_dir), "--faults", "seed=3,error_503=1"
    ) as (url, banner):
        wait_until_serving(url)
        response = httpx.get(
            f"{url}/api/projects/1/event_schemas/",
            headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        )

    assert f"  data: {data_dir}" in banner
    assert "  faults: seed=3, error_503=1.0" in banner
    assert response.status_code == 503
    assert (data_dir / "sandbox.sqlite3").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "nope"], "Invalid value for '--port'"),
        (["--port", "70000"], "Invalid value for '--port'"),
        (["--api-key", "phx_x:admin"], "unknown scope 'admin'"),
        (["--api-key", "phx_x:"], "API key has ':' but no scopes"),
        (["--rate-limit", "fast"], "rate limit 'fast' is not N/PERIOD"),
        (
            ["--rate-limit", "10/minute", "--no-rate-limit"],
            "either --rate-limit or --no-rate-limit",
        ),
        (["--faults", "drop=2"], "fault 'drop' must be a share between 0 and 1"),
        (["--seed", "huge"], "unknown seed 'huge'; available: demo"),
        (["--project", "0"], "project id must be a positive integer"),
        (["--project", "x"], "Invalid value for '--project'"),
    ],
)
def test_bad_options_fail_with_one_line_and_exit_2(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setattr(sys, "argv", ["eventschema", "sandbox", *args])

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    output = capsys.readouterr()
    assert output.out == ""
    lines = output.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("eventschema: error: ")
    assert message in lines[0]


def test_console_usage_error_has_no_traceback():
    result = subprocess.run(
        [*CLI, "sandbox", "--port", "nope"], capture_output=True, text=True, timeout=30, check=False
    )

    assert result.returncode == 2
    assert result.stderr == (
        "eventschema: error: Invalid value for '--port': "
        "Input should be a valid integer, unable to parse string as an integer\n"
    )


def test_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "sandbox", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert result.returncode == 1
    assert result.stderr.startswith(f"eventschema: error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


# Parsers shared by the CLI and Python


def test_api_key_parsing():
    assert ApiKey.parse("phx_a") == ApiKey("phx_a")
    assert ApiKey.parse("phx_a").allows("query:read")
    scoped = ApiKey.parse("phx_b:event_definition:write, query:read")
    assert scoped.scopes == ("event_definition:write", "query:read")
    assert scoped.allows("event_definition:read")
    assert not scoped.allows("project:read")
    assert ApiKey.parse("phx_c:*").allows("user:read")


def test_rate_limit_parsing():
    assert parse_rate_limits("480/minute,4800/hour") == (
        RateLimit(480, 60.0),
        RateLimit(4800, 3600.0),
    )
    assert parse_rate_limits("5/s") == (RateLimit(5, 1.0),)
    assert str(RateLimit(120, 3600.0)) == "120/hour"
    with pytest.raises(ConfigError, match="at least 1 request"):
        parse_rate_limits("0/minute")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"projects": ()}, "at least one project"),
        ({"api_keys": (ApiKey("a"), ApiKey("a"))}, "configured twice"),
        ({"api_keys": (ApiKey("a", projects=(5,)),)}, "does not serve"),
        ({"api_keys": (ApiKey("phc_sandbox_demo"),)}, "also a project token"),
    ],
)
def test_config_errors_explain_the_fix(settings: dict[str, object], message: str):
    with pytest.raises(ConfigError, match=message):
        SandboxConfig(**settings)  # type: ignore[arg-type]


def test_data_dir_that_is_a_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    monkeypatch.setattr(sys, "argv", ["eventschema", "sandbox", "--data-dir", str(not_a_dir)])

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    assert (
        capsys.readouterr().err
        == f"eventschema: error: cannot use --data-dir {not_a_dir}: File exists\n"
    )


def test_unreadable_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    (tmp_path / "sandbox.sqlite3").write_bytes(b"not a database " * 20)
    args = ["eventschema", "sandbox", "--port", "0", "--data-dir", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", args)

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        f"eventschema: error: cannot open the sandbox database in {tmp_path}: "
        "file is not a database\n"
    )


def test_public_names_resolve_lazily():
    import eventschema_tools.sandbox as package

    for name in package.__all__:
        assert getattr(package, name) is not None
    assert sorted(package.__all__) == sorted(package._MODULE_OF)
