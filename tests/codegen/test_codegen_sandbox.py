"""What the generated helpers emit, PostHog's ingestion accepts: with every event of the plan in
``reject`` enforcement, helpers called with any arguments their types allow (hypothesis) send
events that all land, through the real SDKs (posthog for Python, posthog-node for TypeScript)
against the sandbox, and none trips the helpers' own checks."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import posthog
import pytest
from codegen_helpers import TSC, example_plan, typescript_folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_clients import demo_client
from test_codegen_python import load_module

from eventschema_tools.codegen import generate_code
from eventschema_tools.codegen.model import EventCode, PropertyCode, code_spec
from eventschema_tools.codegen.names import snake
from eventschema_tools.models import EnforcementMode
from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    DEMO_PROJECT_TOKEN,
    RunningSandbox,
    run_sandbox,
)
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import EventSpec, TrackingPlan

# What the SDK adds to every event as super properties (the plan marks them optional_in_types).
SUPER_PROPERTIES = {"workspace_id": "w-1", "workspace_plan": "team"}


def rejecting_plan() -> TrackingPlan:
    """The example plan with every event in reject enforcement (no ratchet deciding it)."""
    plan = example_plan()
    events = {
        name: EventSpec(
            **{**spec.model_dump(), "enforcement": EnforcementMode.REJECT, "ratchet": None}
        )
        for name, spec in plan.events.items()
    }
    return plan.model_copy(update={"events": events})


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox() as running:
        with demo_client(running.url) as client:
            report = apply(client, compute_plan(client, rejecting_plan(), create_events=True))
        assert report.ok, report
        yield running


def value_of(prop: PropertyCode) -> st.SearchStrategy[Any]:
    """Any value the generated types allow for ``prop`` under the plan's rules."""
    if prop.enum is not None:
        return st.sampled_from(prop.enum)
    kind = prop.types[0]
    if kind == "String":
        if prop.pattern is not None:
            return st.from_regex(prop.pattern, fullmatch=True)
        return st.text(max_size=30)
    if kind == "Numeric":
        low, high = prop.minimum, prop.maximum
        return st.integers(
            min_value=None if low is None else int(low),
            max_value=None if high is None else int(high),
        ) | st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if kind == "Boolean":
        return st.booleans()
    if kind == "DateTime":
        return st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        )
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
    return st.dictionaries(st.text(max_size=10), scalars, max_size=4) | st.lists(
        scalars, max_size=4
    )


def arguments_of(event: EventCode) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments of the event's helper (by property name): required ones always."""
    fields = {}
    for prop in event.properties:
        value = value_of(prop)
        fields[prop.name] = value if prop.required else st.none() | value
    return st.fixed_dictionaries(fields)


EVENTS = code_spec(example_plan()).events
CALLS = st.lists(
    st.sampled_from(EVENTS).flatmap(lambda event: st.tuples(st.just(event), arguments_of(event))),
    min_size=1,
    max_size=8,
)


def landed(served: RunningSandbox, ids: list[str]) -> set[str]:
    response = httpx.post(
        f"{served.url}/api/projects/1/query/",
        headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        json={
            "query": {
                "kind": "HogQLQuery",
                "query": "SELECT toString(uuid) FROM events WHERE toString(uuid) IN {ids}",
                "values": {"ids": ids},
            }
        },
    )
    assert response.status_code == 200, response.text
    return {row[0] for row in response.json()["results"]}


def rejected(served: RunningSandbox, distinct_id: str) -> list[dict[str, Any]]:
    warnings = httpx.get(f"{served.url}/_sandbox/ingestion_warnings", params={"limit": 1000})
    return [
        item
        for item in warnings.json()["results"]
        if item["details"].get("distinctId") == distinct_id
    ]


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    module = load_module(tmp_path_factory.mktemp("typed"), example_plan(), "posthog_typed_sandbox")
    module.configure_checks(enabled=True, on_violation=module.raise_violation)
    yield module
    del sys.modules["posthog_typed_sandbox"]


def sdk_client(served: RunningSandbox, errors: list[Exception]) -> posthog.Posthog:
    return posthog.Posthog(
        project_api_key=DEMO_PROJECT_TOKEN,
        host=served.url,
        sync_mode=True,
        super_properties=SUPER_PROPERTIES,
        on_error=lambda error, _batch: errors.append(error),
    )


def test_reject_enforcement_is_on(served: RunningSandbox) -> None:
    # The control: an event the helpers would never send is dropped, so the test below can fail.
    errors: list[Exception] = []
    client = sdk_client(served, errors)
    event_id = str(uuid.uuid4())
    client.capture("subscription_started", distinct_id="control", uuid=event_id, properties={})
    client.shutdown()
    assert errors == []
    assert landed(served, [event_id]) == set()
    assert rejected(served, "control")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=CALLS)
def test_python_helpers_emit_only_events_ingestion_accepts(
    served: RunningSandbox, typed: ModuleType, calls: list[tuple[EventCode, dict[str, Any]]]
) -> None:
    errors: list[Exception] = []
    client = sdk_client(served, errors)
    distinct_id = f"py-{uuid.uuid4()}"
    sent = []
    for event, arguments in calls:
        helper = getattr(typed, "capture_" + snake(event.name))
        event_id = str(uuid.uuid4())
        keywords = {snake(name): value for name, value in arguments.items()}
        helper(client, distinct_id=distinct_id, uuid=event_id, **keywords)
        sent.append(event_id)
    client.shutdown()
    assert errors == []
    assert rejected(served, distinct_id) == []
    assert landed(served, sent) == set(sent)


NODE_SCRIPT = """\
const { readFileSync } = require('node:fs')
const { PostHog } = require('posthog-node')
const { captureEvent, configureChecks, throwViolation } = require('./posthog-typed.js')

const [host, token, file] = process.argv.slice(2)
const { distinctId, calls } = JSON.parse(readFileSync(file, 'utf8'))
const client = new PostHog(token, { host, flushAt: 1, flushInterval: 0 })
client.register({ workspace_id: 'w-1', workspace_plan: 'team' })
configureChecks({ enabled: true, onViolation: throwViolation })
for (const [event, properties, uuid] of calls) {
  captureEvent(client, event, { distinctId, uuid, properties })
}
client.shutdown().then(() => console.log('sent', calls.length))
"""


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(CALLS, min_size=1, max_size=1))
def test_typescript_helpers_emit_only_events_ingestion_accepts(
    served: RunningSandbox, compiled_node: Path, batches: list[Any]
) -> None:
    distinct_id = f"ts-{uuid.uuid4()}"
    calls = [
        [
            event.name,
            {name: _jsonable(value) for name, value in arguments.items() if value is not None},
            str(uuid.uuid4()),
        ]
        for event, arguments in batches[0]
    ]
    data = compiled_node / f"{distinct_id}.json"
    data.write_text(json.dumps({"distinctId": distinct_id, "calls": calls}), encoding="utf-8")
    result = subprocess.run(
        ["node", "run.js", served.url, DEMO_PROJECT_TOKEN, str(data)],
        cwd=compiled_node,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sent = [call[2] for call in calls]
    assert rejected(served, distinct_id) == []
    assert landed(served, sent) == set(sent)


@pytest.fixture(scope="module")
def compiled_node() -> Iterator[Path]:
    """The posthog-node helpers and the runner, compiled to JavaScript (CommonJS)."""
    with typescript_folder() as folder:
        generate_code(example_plan(), language="typescript", sdk="posthog-node").write(folder)
        (folder / "run.js").write_text(NODE_SCRIPT, encoding="utf-8")
        result = subprocess.run(
            [
                str(TSC),
                "--strict",
                "--target",
                "es2020",
                "--module",
                "commonjs",
                "--skipLibCheck",
                "--outDir",
                ".",
                "posthog-typed.ts",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        yield folder
