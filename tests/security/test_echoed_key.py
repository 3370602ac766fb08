"""A server or proxy that echoes the request's headers in an error page never makes the key show.

The proxy of `echo_proxy` answers chosen requests with the `Authorization` header in the body
(JSON for 4xx, HTML for 5xx). Every face is run through it: the library (sync and async), the
`eventschema` process, the MCP server through a real client, and an Airflow DAG, whose
`tracking_plan` XCom carries each failed write's reason. The key must show nowhere, and
`[redacted]` must show where it was, which proves the echo was really read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from echo_proxy import EchoProxy, echo_proxy
from security_helpers import CANARY, MARK, LeakWatch, text_of

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.errors import APIStatusError, BadRequestError, InternalServerError
from eventschema_tools.sandbox import ApiKey, run_sandbox

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("eventschema")
EXAMPLE_PLAN = REPO / "examples" / "tracking-plan.yaml"


@pytest.fixture
def proxy() -> Iterator[EchoProxy]:
    with (
        run_sandbox(seed="demo", api_keys=(ApiKey(CANARY),), rate_limiting=False) as served,
        echo_proxy(served.url) as running,
    ):
        yield running


def options(proxy: EchoProxy) -> dict[str, Any]:
    return {
        "api_key": CANARY,
        "project_id": 1,
        "host": proxy.url,
        "rate_limit": "off",
        "query_rate_limit": "off",
    }


def assert_redacted(watch: LeakWatch, *texts: str) -> None:
    watch.assert_clean()
    assert all("[redacted]" in text for text in texts), texts


def test_the_library_redacts_an_echoed_key_in_4xx_and_5xx_errors(
    watch: LeakWatch, proxy: EchoProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.echo = {"POST": 400, "GET": 502}
    with EventSchemaClient(**options(proxy), max_retries=1) as client:
        client.retry_policy = client.retry_policy.__class__(
            max_retries=1, initial_delay=0.001, max_delay=0.01
        )
        with pytest.raises(BadRequestError) as refused:
            client.property_groups.create(name="echoed")
        with pytest.raises(InternalServerError) as failed:
            list(client.property_groups.list())
    for where, caught in (("400", refused.value), ("502", failed.value)):
        watch.add(where, caught)
        watch.add(f"{where} body", caught.body)
    retries = [r.getMessage() for r in caplog.records if r.name == "eventschema_tools.retry"]

    assert proxy.echoed == 3  # the create, and the list tried twice
    assert_redacted(watch, str(refused.value), str(failed.value), text_of(refused.value.body))
    assert "Bearer [redacted]" in str(refused.value)
    assert retries
    assert all(MARK not in line for line in retries)


def test_the_async_client_redacts_it_too(watch: LeakWatch, proxy: EchoProxy) -> None:
    proxy.echo = {"POST": 400}

    async def create() -> APIStatusError:
        async with AsyncEventSchemaClient(**options(proxy)) as client:
            with pytest.raises(BadRequestError) as caught:
                await client.property_groups.create(name="echoed")
        return caught.value

    error = anyio.run(create)
    watch.add("async 400", error)

    assert_redacted(watch, str(error))


def test_the_cli_shows_an_echoed_error_without_the_key(proxy: EchoProxy) -> None:
    if not SCRIPT.exists():
        pytest.skip("the console script is not installed")
    env = {
        **os.environ,
        "POSTHOG_PERSONAL_API_KEY": CANARY,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_HOST": proxy.url,
        "EVENTSCHEMA_MAX_RETRIES": "0",
        "NO_COLOR": "1",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    proxy.echo = {"POST": 400}
    created = run("groups", "create", "echoed")
    proxy.echo = {"GET": 503}
    listed = run("groups", "list")

    for result, code in ((created, 1), (listed, 1)):
        assert result.returncode == code, result.stderr
        assert MARK not in result.stdout + result.stderr
        assert "[redacted]" in result.stderr
        assert result.stderr.startswith("error: HTTP ")
        assert "Traceback" not in result.stderr


def test_an_mcp_tool_error_shows_no_echoed_key(
    watch: LeakWatch, proxy: EchoProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mcp")
    from mcp import Client

    from eventschema_tools.mcp_server.server import ServerOptions, create_server

    for name, value in {
        "POSTHOG_PERSONAL_API_KEY": CANARY,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_HOST": proxy.url,
        "EVENTSCHEMA_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    proxy.echo = {"POST": 400}

    async def call() -> Any:
        async with Client(create_server(ServerOptions())) as client:
            return await client.call_tool(
                "create_property_group", {"name": "echoed", "properties": []}
            )

    result = anyio.run(call)
    watch.add("tool result", result.model_dump())

    assert result.is_error
    assert_redacted(watch, text_of(result.model_dump()))


def test_the_apply_task_xcom_holds_no_echoed_key(
    watch: LeakWatch, proxy: EchoProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("airflow")
    from airflow.utils import db
    from test_secret_hygiene import masking_off, run_dag, set_connection

    db.initdb()
    proxy.echo = {"POST": 400}
    with masking_off():
        set_connection(monkeypatch, proxy.url, CANARY)
        state, xcoms = run_dag(
            "eventschema_apply_tracking_plan", {"plan_path": str(EXAMPLE_PLAN), "fail_on": "never"}
        )
    watch.add("XComs", xcoms)
    reports = [value for value in xcoms if isinstance(value, dict) and value.get("report")]

    assert state == "failed", state
    assert reports, xcoms
    assert_redacted(watch, text_of(reports))
