"""The official PostHog SDK against the sandbox, and what `reject` enforcement does to it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import posthog
import pytest
from sandbox_events_helpers import AUTH

from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox

MISSING = object()

# Hand-labelled values per required property: which ones PostHog's ingestion accepts.
# `seats` is required by two groups (Numeric and Object), so either type is accepted.
SCHEMA = {
    "plan": ["String"],
    "seats": ["Numeric", "Object"],
    "trial": ["Boolean"],
    "paid_at": ["DateTime"],
    "cart": ["Object"],
}
VALID = {
    "plan": ["pro", "", 7, False, {"tier": 1}],
    "seats": [3, 2.5, "4", " 5 ", "-1e3", {"n": 1}, [1, 2]],
    "trial": [True, False, "true", "false"],
    "paid_at": ["2024-01-15T10:00:00Z", "2024-01-15 10:00:00", 1700000000, "15.01.2024"],
    "cart": [{"items": 2}, [], {}],
}
INVALID = {
    "plan": [MISSING, None],
    "seats": ["many", True, MISSING, None, ""],
    "trial": ["yes", 1, "TRUE", None, MISSING],
    "paid_at": ["soon", True, {"at": 1}, "2023-02-29", MISSING],
    "cart": ["[]", 3, None, MISSING],
}


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox() as running:
        yield running


def hogql(served: RunningSandbox, query: str, values: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        f"{served.url}/api/projects/1/query/",
        headers=AUTH,
        json={"query": {"kind": "HogQLQuery", "query": query, "values": values or {}}},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def sdk(served: RunningSandbox, errors: list[Exception], **options: Any) -> posthog.Posthog:
    return posthog.Posthog(
        project_api_key=DEMO_PROJECT_TOKEN,
        host=served.url,
        on_error=lambda error, _batch: errors.append(error),
        **options,
    )


def bind_required_groups(served: RunningSandbox, event: str, mode: str) -> None:
    with httpx.Client(base_url=served.url, headers=AUTH) as api:
        definition = api.post("/api/projects/1/event_definitions/", json={"name": event}).json()
        groups = [
            {k: v for k, v in SCHEMA.items() if k != "seats"} | {"seats": ["Numeric"]},
            {"seats": ["Object"]},
        ]
        for index, group in enumerate(groups):
            created = api.post(
                "/api/projects/1/schema_property_groups/",
                json={
                    "name": f"{event} group {index}",
                    "properties": [
                        {"name": name, "property_type": kinds[0], "is_required": True}
                        for name, kinds in group.items()
                    ]
                    + [{"name": "coupon", "property_type": "Numeric", "is_required": False}],
                },
            )
            assert created.status_code == 201, created.text
            bound = api.post(
                "/api/projects/1/event_schemas/",
                json={
                    "event_definition": definition["id"],
                    "property_group_id": created.json()["id"],
                },
            )
            assert bound.status_code == 201, bound.text
        patched = api.patch(
            f"/api/projects/1/event_definitions/{definition['id']}/",
            json={"enforcement_mode": mode},
        )
        assert patched.status_code == 200, patched.text


def generated_events(seed: int, count: int) -> list[tuple[dict[str, Any], set[str]]]:
    """Events with known broken properties: (properties, names of the invalid ones)."""
    rng = random.Random(seed)
    generated = []
    for index in range(count):
        properties: dict[str, Any] = {"index": index, "coupon": "not checked: optional"}
        broken = set()
        for name in SCHEMA:
            if rng.random() < 0.12:
                value = rng.choice(INVALID[name])
                broken.add(name)
            else:
                value = rng.choice(VALID[name])
            if value is not MISSING:
                properties[name] = value
        generated.append((properties, broken))
    return generated


def test_sync_mode_events_are_accepted_and_land_in_events(served: RunningSandbox) -> None:
    errors: list[Exception] = []
    client = sdk(served, errors, sync_mode=True)
    for index in range(5):
        client.capture("sdk_sync_event", distinct_id=f"user-{index}", properties={"n": index})
    client.shutdown()

    assert errors == []
    found = hogql(
        served,
        "SELECT distinct_id, JSONExtractInt(properties, 'n'), JSONExtractString(properties, '$lib')"
        " FROM events WHERE event = {event} ORDER BY distinct_id",
        {"event": "sdk_sync_event"},
    )
    assert found == [[f"user-{i}", i, "posthog-python"] for i in range(5)]


def test_gzipped_background_batches_are_accepted(served: RunningSandbox) -> None:
    errors: list[Exception] = []
    client = sdk(served, errors, gzip=True, flush_at=50)
    for index in range(260):
        client.capture(
            "sdk_batched_event", distinct_id=f"user-{index % 7}", properties={"n": index}
        )
    client.flush()
    client.shutdown()

    assert errors == []
    found = hogql(
        served,
        "SELECT count(), uniq(distinct_id), sum(JSONExtractInt(properties, 'n')) FROM events"
        " WHERE event = {event}",
        {"event": "sdk_batched_event"},
    )
    assert found == [[260, 7, sum(range(260))]]


@pytest.mark.parametrize(("mode", "event"), [("reject", "order_paid"), ("allow", "order_seen")])
def test_reject_drops_exactly_the_failing_events_and_counts_warnings(
    served: RunningSandbox, mode: str, event: str
) -> None:
    bind_required_groups(served, event, mode)
    generated = generated_events(seed=11 if mode == "reject" else 12, count=300)
    before = httpx.get(f"{served.url}/_sandbox/ingestion_warnings", params={"limit": 1000}).json()

    errors: list[Exception] = []
    client = sdk(served, errors, gzip=True)
    for index, (properties, _) in enumerate(generated):
        client.capture(event, distinct_id=f"buyer-{index}", properties=properties)
    client.flush()
    client.shutdown()

    assert errors == []
    expected_kept = sorted(
        index for index, (_, broken) in enumerate(generated) if mode == "allow" or not broken
    )
    kept = hogql(
        served,
        "SELECT JSONExtractInt(properties, 'index') AS i FROM events WHERE event = {event}"
        " ORDER BY i LIMIT 1000",
        {"event": event},
    )
    assert [row[0] for row in kept] == expected_kept
    assert 0 < len(expected_kept) < len(generated) or mode == "allow"

    after = httpx.get(f"{served.url}/_sandbox/ingestion_warnings", params={"limit": 1000}).json()
    new_warnings = [w for w in after["results"] if w["details"].get("eventName") == event]
    failing = {index: broken for index, (_, broken) in enumerate(generated) if broken}
    if mode == "allow":
        assert new_warnings == []
        return
    assert after["counts"].get("schema_validation_failed", 0) - before["counts"].get(
        "schema_validation_failed", 0
    ) == len(failing)
    by_buyer = {w["details"]["distinctId"]: w["details"]["errors"] for w in new_warnings}
    assert set(by_buyer) == {f"buyer-{index}" for index in failing}
    for index, broken in failing.items():
        errors_of_event = by_buyer[f"buyer-{index}"]
        assert {error["property"] for error in errors_of_event} == broken
        properties = generated[index][0]
        for error in errors_of_event:
            missing = properties.get(error["property"]) is None
            assert error["reason"] == ("missing_required" if missing else "type_mismatch")
