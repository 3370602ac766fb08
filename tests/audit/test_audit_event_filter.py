"""Auditing only some events: `events=` / `--events` limits conformance and enforcement."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from audit_helpers import apply_plan, counting_client, event, send_events
from typer.testing import CliRunner

from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.cli.main import app
from eventschema_tools.errors import InvalidInputError, UnknownNameError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox
from eventschema_tools.tracking_plan.file import parse_plan

PLAN = parse_plan(
    """\
version: 1
property_groups:
  order:
    properties:
      order_id: {type: String, required: true}
events:
  order_placed: {groups: [order]}
  order_refunded: {groups: [order]}
"""
)


@pytest.fixture(scope="module")
def seeded(sandbox: RunningSandbox) -> RunningSandbox:
    recent = timedelta(minutes=5)
    placed = [event("order_placed", {"order_id": "a1"}, age=recent)] * 5
    refunded = [event("order_refunded", {}, age=recent)] * 3
    send_events(sandbox.url, placed + refunded)
    with counting_client(sandbox.url) as (client, _):
        apply_plan(client, PLAN)
    return sandbox


def test_only_the_named_events_are_measured(seeded: RunningSandbox) -> None:
    with counting_client(seeded.url) as (client, _):
        report = run_audit(client, audit_options(kinds="conformance", events=["order_refunded"]))
    assert [item.event for item in report.events] == ["order_refunded"]
    assert report.events[0].events == 3
    missing = [f for f in report.findings if f.code == "missing_required"]
    assert {(f.event, f.property) for f in missing} == {("order_refunded", "order_id")}
    assert report.queries <= 2


def test_an_event_without_a_schema_is_refused_with_close_names(seeded: RunningSandbox) -> None:
    with counting_client(seeded.url) as (client, _), pytest.raises(UnknownNameError) as caught:
        run_audit(client, audit_options(kinds="conformance", events=["order_plcaed"]))
    assert "order_placed" in caught.value.suggestions
    assert "order_plcaed" in str(caught.value)


def test_an_empty_event_list_is_refused_before_any_request() -> None:
    with pytest.raises(InvalidInputError, match="events is empty"):
        audit_options(events=" , ")


def test_cli_events_option(seeded: RunningSandbox) -> None:
    env = {
        "POSTHOG_HOST": seeded.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_QUERY_RATE_LIMIT": "off",
    }
    args = ["audit", "--kinds", "conformance", "--events", "order_placed", "--format", "json"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr
    assert [item["event"] for item in json.loads(result.stdout)["events"]] == ["order_placed"]
