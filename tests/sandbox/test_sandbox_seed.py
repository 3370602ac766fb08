"""The `demo` seed is the project of the product the demo simulates and the example plan plans."""

from __future__ import annotations

from pathlib import Path

import httpx

from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox
from eventschema_tools.sandbox.storage.simulated_day import DEFAULT_EVENTS, EVENT_NAMES
from eventschema_tools.tracking_plan.file import load_plan

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"
AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def _all(client: httpx.Client, path: str) -> list[dict[str, object]]:
    return list(client.get(path, params={"limit": 1000}).json()["results"])


def test_the_seed_defines_every_planned_and_simulated_event_and_holds_the_day() -> None:
    plan = load_plan(EXAMPLE_PLAN)
    with (
        run_sandbox(seed="demo", rate_limiting=False) as running,
        httpx.Client(base_url=running.url, headers=AUTH) as client,
    ):
        definitions = _all(client, "/api/projects/1/event_definitions/")
        groups = _all(client, "/api/projects/1/schema_property_groups/")
        stored = running.sandbox.events.count_events(1)
        day_events = running.sandbox.events.select(
            "SELECT DISTINCT event FROM " + running.sandbox.events.events_table
        ).rows

    names = {str(item["name"]) for item in definitions}
    assert set(plan.events) <= names
    assert set(EVENT_NAMES) <= names
    assert stored == DEFAULT_EVENTS
    assert {row[0] for row in day_events} == set(EVENT_NAMES)
    seeded_groups = {str(group["name"]) for group in groups}
    twins = {
        (ours, theirs)
        for ours in plan.property_groups
        for theirs in seeded_groups
        if ours.casefold() == theirs.casefold()
    }
    assert twins == set()


def test_an_event_seen_in_the_day_was_last_seen_within_it() -> None:
    with (
        run_sandbox(seed="demo", rate_limiting=False) as running,
        httpx.Client(base_url=running.url, headers=AUTH) as client,
    ):
        definitions = {
            str(item["name"]): item for item in _all(client, "/api/projects/1/event_definitions/")
        }
        latest = dict(
            running.sandbox.events.select(
                "SELECT event, toString(max(timestamp)) FROM "
                + running.sandbox.events.events_table
                + " GROUP BY event"
            ).rows
        )

    for name, last in latest.items():
        seen = str(definitions[name]["last_seen_at"])
        assert seen[:19] == str(last).replace(" ", "T")[:19], name
