"""The query budget: a 200-event audit in at most 4 queries, within the sandbox's query limit."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from audit_helpers import apply_plan, counting_client, event, send_events

from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.errors import RateLimitError
from eventschema_tools.sandbox import RateLimit, run_sandbox
from eventschema_tools.tracking_plan.file import TrackingPlan

EVENTS = [f"feature_{index:03d}_used" for index in range(200)]
GROUPS = {
    "context": {"workspace_id": "String", "seats": "Numeric", "beta": "Boolean"},
    "timing": {"started_at": "DateTime", "duration_ms": "Numeric"},
    "payload": {"details": "Object", "source": "String"},
}


def _plan() -> TrackingPlan:
    groups = {
        name: {
            "properties": {
                prop: {"type": kind, "required": index == 0}
                for index, (prop, kind) in enumerate(props.items())
            }
        }
        for name, props in GROUPS.items()
    }
    names = list(GROUPS)
    events = {name: {"groups": names[: 1 + index % 3]} for index, name in enumerate(EVENTS)}
    return TrackingPlan.model_validate({"version": 1, "property_groups": groups, "events": events})


def test_an_audit_of_200_bound_events_takes_at_most_4_queries() -> None:
    plan = _plan()
    with run_sandbox(rate_limiting=False) as sandbox:
        send_events(
            sandbox.url,
            [
                event(name, {"workspace_id": "w", "seats": "many"}, age=timedelta(minutes=3))
                for name in EVENTS
            ],
        )
        with counting_client(sandbox.url) as (client, queries):
            apply_plan(client, plan)
            report = run_audit(client, audit_options(plan=plan))
    assert len(report.events) == 200
    assert len(queries) == report.queries <= 4
    wrong_seats = [
        item.event
        for item in report.findings
        if item.code == "wrong_type" and item.property == "seats"
    ]
    assert len(wrong_seats) == 200


def test_audits_stay_within_the_sandboxs_query_limit() -> None:
    plan = TrackingPlan.model_validate(
        {
            "version": 1,
            "property_groups": {"g": {"properties": {"a": {"type": "Numeric"}}}},
            "events": {"probe": {"groups": ["g"]}},
        }
    )
    with run_sandbox(query_rate_limits=(RateLimit(3, 1.0),)) as sandbox:
        send_events(sandbox.url, [event("probe", {"a": 1}, age=timedelta(minutes=1))])
        with counting_client(sandbox.url, query_rate_limit="3/second") as (client, queries):
            apply_plan(client, plan)
            started = time.monotonic()
            for _ in range(2):
                report = run_audit(client, audit_options(plan=plan))
                assert report.queries == 4
            elapsed = time.monotonic() - started
        # Eight queries under "3 per second" with no 429 (retries are off): the client waited.
        assert len(queries) == 8
        assert elapsed >= 2.0
        time.sleep(1.1)  # let the sandbox's one-second window empty
        with counting_client(sandbox.url, query_rate_limit="off") as (client, _):
            for _ in range(3):
                client.query.hogql("SELECT count() FROM events")
            with pytest.raises(RateLimitError):
                client.query.hogql("SELECT count() FROM events")
