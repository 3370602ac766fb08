"""Setting up and checking a connection, through the installed `eventschema` console script.

A wrong host, a wrong project, `--version`, `auth status`, close names that differ only by
case, and `pull --merge` over a hand-written plan, each run as a real process against a
loopback sandbox.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventschema_tools import EventSchemaClient, __version__
from eventschema_tools.sandbox import DEMO_API_KEY, ApiKey, RunningSandbox, run_sandbox

SCRIPT = Path(sys.executable).with_name("eventschema")
NARROW = "phx_setup_narrow_key_0123456789abcdef"

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    keys = (ApiKey(DEMO_API_KEY), ApiKey(NARROW, ("event_definition:read",)))
    with run_sandbox(rate_limiting=False, seed="demo", api_keys=keys) as running:
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=running.url) as client:
            client.event_definitions.create(name="Checkout")
        yield running


def eventschema(
    server: RunningSandbox | None, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "POSTHOG_HOST": server.url if server else "http://127.0.0.1:9",
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        **env,
    }
    return subprocess.run(
        [str(SCRIPT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_host_is_named_with_what_to_check() -> None:
    host = f"http://127.0.0.1:{closed_port()}"

    result = eventschema(None, "groups", "list", POSTHOG_HOST=host)

    line = one_error_line(result, 1)
    assert f"cannot reach PostHog at {host}: connection refused" in line
    assert "check the host (POSTHOG_HOST or --host" in line
    assert DEMO_API_KEY not in result.stdout + result.stderr
    assert "retrying" not in result.stderr  # not a terminal: only the final error


def test_a_project_that_does_not_exist_exits_3_naming_it(server: RunningSandbox) -> None:
    result = eventschema(server, "groups", "list", POSTHOG_PROJECT_ID="999")

    line = one_error_line(result, 3)
    assert line.startswith("error: project 999 not found")
    assert "POSTHOG_PROJECT_ID or --project" in line


def test_version_prints_the_distribution_and_its_version() -> None:
    result = eventschema(None, "--version")

    assert result.returncode == 0
    assert result.stdout == f"eventschema-tools {__version__}\n"


def test_auth_status_shows_who_and_what_with_the_key_masked(server: RunningSandbox) -> None:
    result = eventschema(server, "auth", "status")

    assert result.returncode == 0, result.stderr
    assert server.url in result.stdout
    assert "1 (Default project)" in result.stdout
    assert "sandbox@example.com" in result.stdout
    assert "phx_..._key" in result.stdout
    assert DEMO_API_KEY not in result.stdout + result.stderr


def test_auth_status_json_names_the_scopes_a_narrow_key_lacks(server: RunningSandbox) -> None:
    result = eventschema(server, "auth", "status", "--json", POSTHOG_PERSONAL_API_KEY=NARROW)

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["key"]["scopes"] == ["event_definition:read"]
    assert set(status["missing_scopes"]) == {"event_definition:write", "query:read"}
    assert status["unavailable"]["user"] == "needs the scope 'user:read'"
    assert status["key_mask"] == "phx_...cdef"
    assert NARROW not in result.stdout + result.stderr


def test_auth_status_with_a_wrong_key_exits_3(server: RunningSandbox) -> None:
    result = eventschema(server, "auth", "status", POSTHOG_PERSONAL_API_KEY="phx_wrong_key_00000")

    assert "POSTHOG_PERSONAL_API_KEY" in one_error_line(result, 3)


def test_a_name_that_differs_only_by_case_is_suggested(server: RunningSandbox) -> None:
    shown = eventschema(server, "events", "show", "checkout")
    audited = eventschema(server, "audit", "--events", "CHECKOUT_COMPLETED")

    assert "did you mean 'Checkout'" in one_error_line(shown, 1)
    assert "did you mean 'checkout_completed'" in one_error_line(audited, 1)


PLAN = """\
# Payments team's plan.
version: 1
property_groups:
  Product:   # the catalogue
    properties:
      product_id: {type: String, required: true}  # our SKU
events:
  product_viewed:
    groups: [Product]
"""


def test_pull_merge_keeps_comments_and_leaves_unmanaged_groups_out(
    server: RunningSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")

    result = eventschema(server, "pull", "--plan", str(path), "--merge")

    assert result.returncode == 0, result.stderr
    assert f"Merged into {path}: 1 updated, 1 added, 0 removed" in result.stderr
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Payments team's plan.\n")
    assert "  Product:   # the catalogue\n" in text
    assert "product_id: {type: String, required: true}  # our SKU" in text
    assert "price: {type: Numeric, required: true}" in text
    assert "product_added_to_cart:\n    groups: [Product]" in text
    assert "Checkout" not in text
    planned = eventschema(server, "plan", "--plan", str(path))
    assert "No changes" in planned.stdout, planned.stdout + planned.stderr


def test_pull_merge_needs_an_existing_file(server: RunningSandbox, tmp_path: Path) -> None:
    result = eventschema(server, "pull", "--plan", str(tmp_path / "new.yaml"), "--merge")

    assert "--merge refreshes an existing plan file" in one_error_line(result, 2)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_each_retry_is_announced_on_stderr() -> None:
    import pty

    host = f"http://127.0.0.1:{closed_port()}"
    leader, follower = pty.openpty()
    env = {**os.environ, "POSTHOG_HOST": host, "POSTHOG_PROJECT_ID": "1"}
    env["POSTHOG_PERSONAL_API_KEY"] = DEMO_API_KEY
    try:
        result = subprocess.run(
            [str(SCRIPT), "groups", "list"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=60,
            check=False,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)

    text = shown.decode("utf-8", "replace")
    assert result.returncode == 1
    assert "eventschema: retrying in " in text
    assert f"cannot reach PostHog at {host}: connection refused" in text
