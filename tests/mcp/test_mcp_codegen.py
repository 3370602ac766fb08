"""``generate_event_helpers`` through a real MCP client: the module `eventschema codegen` writes,
from plan text without touching PostHog, or from the live project's schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp_test_helpers import SECRET_KEY, structured_answer, text_of

from eventschema_tools.codegen import generate_code
from eventschema_tools.sandbox import SandboxApp
from eventschema_tools.tracking_plan.file import parse_plan

pytestmark = pytest.mark.anyio

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"
TOOL = "generate_event_helpers"


def requests_seen(sandbox: SandboxApp) -> int:
    return int(sandbox.sandbox.faults.stats()["requests"])


async def test_from_plan_text_the_module_is_the_cli_s_and_posthog_is_not_asked(
    client: Client, sandbox: SandboxApp
) -> None:
    text = EXAMPLE_PLAN.read_text(encoding="utf-8")
    before = requests_seen(sandbox)
    answer = await structured_answer(
        client, TOOL, {"language": "typescript", "sdk": "posthog-node", "plan_yaml": text}
    )
    expected = generate_code(
        parse_plan(text, "<plan_yaml>"), language="typescript", sdk="posthog-node"
    )
    assert answer == {
        "language": "typescript",
        "sdk": "posthog-node",
        "module": "posthog-typed.ts",
        "events": 13,
        "schema_hash": expected.manifest.schema_hash,
        "code": expected.files["posthog-typed.ts"],
    }
    assert requests_seen(sandbox) == before


async def test_from_the_live_project(client: Client, seeded: dict[str, Any]) -> None:
    answer = await structured_answer(client, TOOL, {"language": "python"})
    assert answer["module"] == "posthog_typed.py"
    assert "def capture_checkout_completed(" in answer["code"]
    assert "    order_id: str,\n" in answer["code"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"language": "python", "sdk": "posthog-js", "plan_yaml": "version: 1\n"},
            "python helpers call posthog",
        ),
        ({"language": "python", "plan_yaml": "version: 2\n"}, "unsupported version 2"),
    ],
)
async def test_bad_arguments_are_one_sentence(
    client: Client, arguments: dict[str, Any], message: str
) -> None:
    result = await client.call_tool(TOOL, arguments)
    assert result.is_error
    text = text_of(result.content)
    assert message in text
    assert "Traceback" not in text
    assert SECRET_KEY not in text
