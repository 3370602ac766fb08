"""Serving other machines: non-loopback binds need --allow-remote, and then /_sandbox/ needs a key.

The CLI runs as a real subprocess (its entry point, its exit codes); the route checks run over real
HTTP against sandboxes with `allow_remote` on.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Route
from test_sandbox_cli import CLI, running_cli, wait_until_serving

from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    ApiKey,
    ConfigError,
    RunningSandbox,
    create_app,
    run_sandbox,
)
from eventschema_tools.sandbox.http.faults import ADMIN_PREFIX
from eventschema_tools.sandbox.http.remote import is_loopback

SECRET = "phx_remote_test_secret_0123456789ab"
KEY = {"Authorization": f"Bearer {SECRET}"}
NOT_AUTHENTICATED = {
    "type": "authentication_error",
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "attr": None,
}


def admin_requests() -> list[tuple[str, str]]:
    """(method, path) of every route the sandbox serves under /_sandbox/, from its own routes."""
    app = create_app()
    try:
        found = [
            (method, route.path)
            for route in app.routes
            if isinstance(route, Route) and route.path.startswith(ADMIN_PREFIX)
            for method in sorted(route.methods or ())
        ]
    finally:
        app.sandbox.close()
    return found


ADMIN_REQUESTS = admin_requests()


@pytest.fixture(scope="module")
def remote_sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(api_keys=(ApiKey(SECRET),), allow_remote=True, rate_limiting=False) as running:
        yield running


def test_every_sandbox_admin_route_is_covered_here():
    paths = {path for _, path in ADMIN_REQUESTS}

    assert paths >= {"/_sandbox/faults", "/_sandbox/stats", "/_sandbox/ingestion_warnings"}
    assert ("PUT", "/_sandbox/faults") in ADMIN_REQUESTS


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_host_other_than_loopback_is_refused_without_allow_remote(host: str):
    result = subprocess.run(
        [*CLI, "sandbox", "--bind", host, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("eventschema: error: bind address ")
    assert "not a loopback address" in lines[0]
    assert "--allow-remote" in lines[0]


def test_a_loopback_host_needs_no_flag_and_admin_routes_no_key():
    with running_cli("sandbox", "--bind", "localhost", "--port", "0") as (url, banner):
        wait_until_serving(url)
        stats = httpx.get(f"{url}/_sandbox/stats")

    assert stats.status_code == 200
    assert not any("remote" in line for line in banner)


def test_allow_remote_serves_all_interfaces_and_guards_the_fault_switch():
    args = ["sandbox", "--bind", "0.0.0.0", "--allow-remote", "--port", "0", "--api-key", SECRET]
    with running_cli(*args) as (url, banner):
        local = url.replace("0.0.0.0", "127.0.0.1")
        wait_until_serving(local)
        attack = httpx.put(f"{local}/_sandbox/faults", json={"error_503": 1.0})
        faults_after_attack = httpx.get(f"{local}/_sandbox/faults", headers=KEY)
        with_key = httpx.put(f"{local}/_sandbox/faults", json={"latency": 0.001}, headers=KEY)

    assert url.startswith("http://0.0.0.0:")
    assert "  remote use allowed: /_sandbox/ routes need an API key too" in banner
    assert not any("warning" in line for line in banner)
    assert SECRET not in "\n".join(banner)
    assert attack.status_code == 401
    assert attack.json() == NOT_AUTHENTICATED
    assert faults_after_attack.json()["error_503"] == 0.0
    assert with_key.status_code == 200
    assert with_key.json()["latency"] == 0.001


def test_allow_remote_with_the_public_demo_key_warns_in_the_banner():
    args = ["sandbox", "--bind", "0.0.0.0", "--allow-remote", "--port", "0"]
    with running_cli(*args) as (_url, banner):
        pass

    assert f"  warning: {DEMO_API_KEY} is public; give --api-key to keep others out" in banner


@pytest.mark.parametrize(("method", "path"), ADMIN_REQUESTS)
def test_every_admin_route_refuses_a_request_without_a_key(
    remote_sandbox: RunningSandbox, method: str, path: str
):
    response = httpx.request(method, f"{remote_sandbox.url}{path}", json={})

    assert response.status_code == 401
    if method != "HEAD":
        assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(("method", "path"), ADMIN_REQUESTS)
def test_every_admin_route_refuses_an_unknown_key(
    remote_sandbox: RunningSandbox, method: str, path: str
):
    response = httpx.request(
        method, f"{remote_sandbox.url}{path}", headers={"Authorization": "Bearer phx_wrong"}
    )

    assert response.status_code == 401
    if method != "HEAD":
        assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(("method", "path"), ADMIN_REQUESTS)
def test_every_admin_route_answers_with_the_key(
    remote_sandbox: RunningSandbox, method: str, path: str
):
    body = {} if method == "PUT" else None
    response = httpx.request(method, f"{remote_sandbox.url}{path}", json=body, headers=KEY)

    assert response.status_code in (200, 204), response.text


@pytest.mark.parametrize(
    "path",
    ["/_sandbox/faults/", "/_sandbox/nothing-here", "/%5Fsandbox/faults", "/_sandbox/stats?x=1"],
)
def test_other_spellings_under_the_admin_prefix_are_refused_too(
    remote_sandbox: RunningSandbox, path: str
):
    response = httpx.put(f"{remote_sandbox.url}{path}", json={"error_503": 1.0})

    assert response.status_code == 401
    assert remote_sandbox.sandbox.faults.config.error_503 == 0.0


def test_the_api_routes_still_need_their_key_as_before(remote_sandbox: RunningSandbox):
    anonymous = httpx.get(f"{remote_sandbox.url}/api/projects/1/event_schemas/")
    keyed = httpx.get(f"{remote_sandbox.url}/api/projects/1/event_schemas/", headers=KEY)

    assert anonymous.status_code == 401
    assert keyed.status_code == 200


def test_loopback_is_127_0_0_0_8_ipv6_loopback_and_localhost_only():
    loopback = ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LOCALHOST"]
    remote = ["0.0.0.0", "::", "", "10.0.0.1", "::ffff:10.0.0.1", "localhost.example.com"]

    assert all(is_loopback(host) for host in loopback)
    assert not any(is_loopback(host) for host in remote)


def test_python_refuses_a_remote_host_without_allow_remote():
    with pytest.raises(ConfigError, match="--allow-remote"), run_sandbox(host="0.0.0.0"):
        pass
