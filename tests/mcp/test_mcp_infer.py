"""``infer_tracking_plan`` through a real MCP client, on a sandbox holding the demo project.

The tool reads a simulated day of product events with HogQL and returns the proposed plan as
YAML text plus the evidence. Bad arguments come back as one sentence before any request; a
HogQL error from the server comes back as a tool error, never with the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp_test_helpers import SANDBOX_URL, SECRET_KEY, structured_answer, text_of
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventschema_tools.client import AsyncEventSchemaClient
from eventschema_tools.inference import Inference
from eventschema_tools.mcp_server.server import ServerOptions, create_server
from eventschema_tools.mcp_server.tools import InferredPlan
from eventschema_tools.sandbox import SandboxApp
from eventschema_tools.tracking_plan.document import parse_document
from eventschema_tools.tracking_plan.file import parse_plan
from eventschema_tools.tracking_plan.lint import has_errors, lint_document

pytestmark = pytest.mark.anyio

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"
TOOL = "infer_tracking_plan"


@pytest.fixture
def sandbox_seed() -> str:
    """The demo project, its day of events included."""
    return "demo"


def requests_seen(sandbox: SandboxApp) -> int:
    return int(sandbox.sandbox.faults.stats()["requests"])


async def inferred(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    return await structured_answer(client, TOOL, arguments)


async def refusal(client: Client, arguments: dict[str, Any]) -> str:
    """A call that must fail: its one-line text, without pydantic's report or the key."""
    result = await client.call_tool(TOOL, arguments)
    assert result.is_error
    text = text_of(result.content)
    assert "\n" not in text, text
    assert "Traceback" not in text
    assert "errors.pydantic.dev" not in text
    assert SECRET_KEY not in text
    return text


def lint_clean(text: str) -> bool:
    return not has_errors(lint_document(parse_document(text, "<text>")))


# --- results ---------------------------------------------------------------------------------


async def test_the_tool_is_read_only_and_listed_in_read_only_mode(client: Client) -> None:
    [tool] = [tool for tool in (await client.list_tools()).tools if tool.name == TOOL]

    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is True
    assert tool.annotations.destructive_hint is False
    assert set(tool.input_schema["properties"]) == {
        "days",
        "since",
        "until",
        "events",
        "min_volume",
        "required_share",
        "sample",
        "include_sdk",
        "plan_yaml",
        "plan_id",
    }


def test_the_answer_is_the_inference_without_its_parsed_plan() -> None:
    assert set(InferredPlan.model_fields) == set(Inference.model_fields) - {"plan"}
    for name, field in InferredPlan.model_fields.items():
        assert field.annotation == Inference.model_fields[name].annotation, name


async def test_returns_the_proposed_plan_text_and_its_evidence_once(
    client: Client, sandbox: SandboxApp
) -> None:
    answer = await inferred(client, {"days": 2, "plan_id": "inferred-web"})

    assert "plan" not in answer, "the plan is in the text, not twice"
    proposed = parse_plan(answer["text"], "<text>")
    assert proposed.plan_id == "inferred-web"
    assert lint_clean(answer["text"])
    assert {"feature_used", "user_logged_in"} <= set(proposed.events)
    assert {item["event"] for item in answer["events"]} == set(proposed.events)
    assert {group["name"] for group in answer["groups"]} == set(proposed.property_groups)
    assert answer["changes"] is None
    assert 1 <= answer["queries"] <= answer["query_bound"]
    assert answer["window"]["label"] == "2d"
    assert len(json.dumps(answer)) < 2 * len(answer["text"]) + 200_000


async def test_events_filter_and_sampling_reach_the_core(client: Client) -> None:
    answer = await inferred(client, {"events": ["feature_*"], "sample": 0.5, "min_volume": 5})

    assert [item["event"] for item in answer["events"]] == ["feature_used"]
    assert answer["sample_rate"] == 0.5


async def test_an_existing_plan_gets_changes_and_keeps_its_comments(client: Client) -> None:
    existing = EXAMPLE_PLAN.read_text(encoding="utf-8")

    answer = await inferred(client, {"plan_yaml": existing})

    assert answer["changes"] is not None
    assert answer["changes"]["plan_id"] == "saas-web"
    assert answer["changes"]["changes"], "the demo day carries what the plan lacks"
    assert "# Tracking plan of a B2B SaaS product" in answer["text"]
    proposed = parse_plan(answer["text"], "<text>")
    assert set(parse_plan(existing, "<plan>").events) <= set(proposed.events)
    assert lint_clean(answer["text"])


# --- bad arguments and failures --------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"since": "2999-01-01"}, "the window starts in the future", id="future"),
        pytest.param({"days": 3, "since": "2026-01-01"}, "not both", id="days-and-since"),
        pytest.param({"sample": 2}, "bad sample rate", id="sample-above-1"),
        pytest.param({"sample": "half"}, "sample", id="sample-not-a-number"),
        pytest.param({"required_share": 1.5}, "bad required share", id="required-share"),
        pytest.param({"min_volume": 0}, "bad min volume", id="min-volume"),
        pytest.param({"events": []}, "events", id="no-patterns"),
        pytest.param({"plan_id": "not a plan id"}, "plan id", id="plan-id"),
        pytest.param({"plan_yaml": "version: [1"}, "<plan_yaml>", id="broken-plan"),
        pytest.param({"window": "7d"}, "unknown argument 'window'", id="unknown-argument"),
    ],
)
async def test_bad_arguments_are_one_sentence_before_any_request(
    client: Client, sandbox: SandboxApp, arguments: dict[str, Any], message: str
) -> None:
    before = requests_seen(sandbox)

    text = await refusal(client, arguments)

    assert message in text
    assert requests_seen(sandbox) == before


async def test_a_window_without_matching_events_is_a_tool_error(client: Client) -> None:
    text = await refusal(client, {"events": ["nothing_*"]})

    assert "nothing_*" in text


async def test_a_hogql_error_from_the_server_is_a_tool_error(sandbox: SandboxApp) -> None:
    broken = BreakingHogQL(sandbox)
    server = create_server(
        ServerOptions(read_only=True), client_factory=lambda: client_through(broken)
    )
    async with Client(server) as connected:
        text = await refusal(connected, {})

    assert broken.broken >= 1
    assert "HTTP 400 on POST /api/projects/1/query/" in text


# --- a sandbox whose HogQL answers are errors ------------------------------------------------

BROKEN_HOGQL = "SELECT count( FROM events"


def client_through(app: ASGIApp) -> AsyncEventSchemaClient:
    return AsyncEventSchemaClient(
        api_key=SECRET_KEY,
        project_id=1,
        host=SANDBOX_URL,
        max_retries=0,
        rate_limit="off",
        query_rate_limit="off",
        transport=httpx.ASGITransport(app=app),
    )


class BreakingHogQL:
    """ASGI middleware in front of the sandbox that gives every HogQL query a syntax error, so
    the sandbox's own parser answers 400, as PostHog does; everything else passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.broken = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/query/"):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        request["query"]["query"] = BROKEN_HOGQL
        self.broken += 1
        replaced: list[Message] = [
            {"type": "http.request", "body": json.dumps(request).encode(), "more_body": False}
        ]

        async def replay() -> Message:
            return replaced.pop() if replaced else await receive()

        await self.app(scope, replay, send)
