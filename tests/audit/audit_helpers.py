"""Helpers of the audit tests: send events and apply plans (``counting_client`` counts queries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from query_counting import counting_client as counting_client

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import TrackingPlan

BATCH_SIZE = 1000


def event(name: str, properties: dict[str, Any], *, age: timedelta) -> dict[str, Any]:
    """One event as the SDKs send it, ``age`` before now."""
    moment = datetime.now(UTC) - age
    return {
        "event": name,
        "distinct_id": "user-1",
        "properties": properties,
        "timestamp": moment.isoformat(),
    }


def send_events(url: str, events: Sequence[dict[str, Any]]) -> None:
    """POST events to the sandbox's /batch/ endpoint, as the Python SDK does."""
    with httpx.Client(base_url=url, timeout=60) as http:
        for start in range(0, len(events), BATCH_SIZE):
            batch = list(events[start : start + BATCH_SIZE])
            answer = http.post("/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch})
            assert answer.status_code == 200, answer.text


def apply_plan(client: EventSchemaClient, plan: TrackingPlan) -> None:
    """Make the sandbox project match ``plan`` (creating missing event definitions)."""
    report = apply(client, compute_plan(client, plan, create_events=True))
    assert all(item.status == "done" for item in report.items), report
