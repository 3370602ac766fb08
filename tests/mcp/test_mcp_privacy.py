"""Personal data through the MCP server: the privacy audit and plan inference on the demo day,
whose events carry planted emails, phone numbers and a card number, never return a raw value."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp_test_helpers import structured_answer

from eventschema_tools.sandbox.storage.simulated_day import PLANTED_PII

pytestmark = pytest.mark.anyio

RAW = ("jane.doe", "li.wei", "omar.haddad", "ana.silva", "4242 4242 4242 4242", "7946 0")


@pytest.fixture
def sandbox_seed() -> str:
    """The demo project, its day of events included."""
    return "demo"


async def test_the_privacy_audit_names_every_case_with_masked_values(client: Client) -> None:
    answer = await structured_answer(client, "audit_events", {"kinds": ["privacy"]})
    found = {(item["event"], item["property"], item["code"]) for item in answer["findings"]}
    assert found == PLANTED_PII
    text = json.dumps(answer)
    assert "**** **** **** 4242" in text
    for raw in RAW:
        assert raw not in text


async def test_inference_copies_no_personal_value_into_the_plan(client: Client) -> None:
    answer = await structured_answer(
        client,
        "infer_tracking_plan",
        {"days": 1, "events": ["legacy_export_clicked", "onboarding_tip_dismissed"]},
    )
    text = json.dumps(answer)
    assert "feedback" in answer["text"]
    assert "payment_reference: {type: String, pii: drop}" in answer["text"]
    for raw in RAW:
        assert raw not in text
