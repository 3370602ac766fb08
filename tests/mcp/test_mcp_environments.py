"""The environment tools through a real MCP client: compare two environments, promote with the
user's agreement, refuse what the soak gate refuses, and ratchet enforcement.

A loopback sandbox serves staging (project 1) and prod (project 2); the MCP server's own
project is prod, on the same host. Staging holds the new plan (applied three hours ago, by the
sandbox's shifted clock) and two hours of conforming events.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp_test_helpers import preview_of, structured_answer, text_of, with_token

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.mcp_server.server import ServerOptions, create_server
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rollout"))

from rollout_helpers import (
    PLAN_AFTER,
    PLAN_BEFORE,
    STAGING,
    apply_to,
    checkout,
    event,
    hours,
    load,
    send,
    spread,
    two_projects,
    written_ago,
)

RATCHETED = PLAN_AFTER.replace(
    "  signed_up:\n    groups: [account]\n",
    "  signed_up:\n    groups: [account]\n"
    "    ratchet: {{soak: 2h, min_events: 50, environments: [staging]}}\n",
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with two_projects() as running:
        with written_ago(running, hours(3)):
            apply_to(load(PLAN_BEFORE, running.url), "prod")
            apply_to(load(RATCHETED, running.url), "staging")
        now = datetime.now(UTC)
        moments = spread(now - hours(1.9), now - hours(0.05), 200)
        send(
            running.url,
            STAGING,
            [
                *(checkout(True, m, i) for i, m in enumerate(moments)),
                *(event("signed_up", {"method": "email"}, m, i) for i, m in enumerate(moments)),
            ],
        )
        yield running


def _server(sandbox: RunningSandbox, allowed: tuple[str, ...]) -> Any:
    def prod() -> AsyncEventSchemaClient:
        return AsyncEventSchemaClient(
            api_key=DEMO_API_KEY, project_id=2, host=sandbox.url, rate_limit="off"
        )

    return create_server(ServerOptions(allowed_projects=allowed), client_factory=prod)


@pytest.fixture
async def mcp(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", DEMO_API_KEY)
    async with Client(_server(sandbox, ("1", "2"))) as client:
        yield client


def _arguments(sandbox: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {
        "plan_yaml": RATCHETED.format(url=sandbox.url),
        "source": "staging",
        "target": "prod",
        "soak": "2h",
        **extra,
    }


@pytest.mark.anyio
async def test_the_soak_gate_refuses_without_asking(mcp: Client, sandbox: RunningSandbox) -> None:
    result = await mcp.call_tool("promote_environment", _arguments(sandbox, soak="6h"))
    assert result.is_error
    text = text_of(result.content)
    assert "refusing to promote staging → prod" in text
    assert "the 6h soak ends at" in text
    assert "confirm_token" not in text


@pytest.mark.anyio
async def test_compare_then_promote_with_the_users_agreement(
    mcp: Client, sandbox: RunningSandbox
) -> None:
    compared = await structured_answer(mcp, "compare_environments", _arguments(sandbox))
    assert compared["soak"]["passed"] is True
    assert {change["action"] for change in compared["plan"]["changes"]} >= {
        "create_group",
        "update_group",
    }
    preview = preview_of(await mcp.call_tool("promote_environment", _arguments(sandbox)))
    assert preview["preview"]["kind"] == "promote"
    assert preview["preview"]["environment"] == "prod"
    assert 'update group "checkout"' in preview["preview"]["changes"]
    promoted = await structured_answer(
        mcp,
        "promote_environment",
        await with_token(mcp, "promote_environment", _arguments(sandbox)),
    )
    assert {item["status"] for item in promoted["report"]["items"]} == {"done"}
    after = await structured_answer(mcp, "compare_environments", _arguments(sandbox))
    assert after["plan"]["changes"] == []


@pytest.mark.anyio
async def test_keys_go_only_to_the_servers_host(mcp: Client, sandbox: RunningSandbox) -> None:
    elsewhere = RATCHETED.format(url=sandbox.url).replace(
        f'    host: "{sandbox.url}"\n    project_id: 2',
        '    host: "https://attacker.example"\n    project_id: 2',
    )
    assert "attacker.example" in elsewhere
    result = await mcp.call_tool(
        "compare_environments", {**_arguments(sandbox), "plan_yaml": elsewhere}
    )
    assert result.is_error
    assert "sends its keys only to its own host" in text_of(result.content)


@pytest.mark.anyio
async def test_ratchet_previews_then_switches(mcp: Client, sandbox: RunningSandbox) -> None:
    arguments = {"plan_yaml": RATCHETED.format(url=sandbox.url), "environment": "staging"}
    dry = await structured_answer(mcp, "ratchet_enforcement", {**arguments, "dry_run": True})
    assert [(step["event"], step["move"]) for step in dry["steps"]] == [("signed_up", "to_reject")]
    preview = preview_of(await mcp.call_tool("ratchet_enforcement", arguments))
    assert preview["preview"]["changes"] == ['"signed_up": allow → reject']
    done = await structured_answer(
        mcp, "ratchet_enforcement", await with_token(mcp, "ratchet_enforcement", arguments)
    )
    assert done["report"]["items"][0]["status"] == "done"
    again = await structured_answer(mcp, "ratchet_enforcement", {**arguments, "dry_run": True})
    assert again["steps"][0]["move"] == "keep"


@pytest.mark.anyio
async def test_other_projects_need_the_servers_allow_list(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", DEMO_API_KEY)
    async with Client(_server(sandbox, ())) as own_project_only:
        result = await own_project_only.call_tool("compare_environments", _arguments(sandbox))
    assert result.is_error
    text = text_of(result.content)
    assert "environment 'staging' is project 1, which this server may not act on" in text
    assert "EVENTSCHEMA_MCP_ALLOWED_PROJECTS" in text
