"""Helpers of the rollout tests: a sandbox serving a staging and a prod project, the plan that
names them, and events sent into staging at chosen (simulated) times."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY, Project, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.environments import environment_client, environment_plan
from eventschema_tools.tracking_plan.file import TrackingPlan, parse_plan

STAGING = Project(1, "Staging", "phc_staging_token")
PROD = Project(2, "Production", "phc_prod_token")
KEYS = {"POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY}

# The plan as prod has it today: checkout without amount, no signup event.
PLAN_BEFORE = """\
version: 1
plan_id: web
property_groups:
  checkout:
    properties:
      order_id: {{type: String, required: true}}
events:
  checkout_completed:
    groups: [checkout]
    description: A customer paid
environments:
  staging: {{host: "{url}", project_id: 1, enforcement: allow}}
  prod:
    host: "{url}"
    project_id: 2
    events:
      checkout_completed: {{enforcement: reject}}
"""

# The plan tried in staging: amount becomes required, signup gets its own group.
PLAN_AFTER = """\
version: 1
plan_id: web
property_groups:
  checkout:
    properties:
      order_id: {{type: String, required: true}}
      amount: {{type: Numeric, required: true}}
  account:
    properties:
      method: {{type: String, required: true}}
events:
  checkout_completed:
    groups: [checkout]
    description: A customer paid
  signed_up:
    groups: [account]
environments:
  staging: {{host: "{url}", project_id: 1, enforcement: allow}}
  prod:
    host: "{url}"
    project_id: 2
    events:
      checkout_completed: {{enforcement: reject}}
"""


class _EarlierClock:
    """The sandbox store's clock, ``shift`` in the past: what it writes was written then."""

    def __init__(self, shift: timedelta) -> None:
        self.shift = shift

    def now(self) -> datetime:
        return datetime.now(UTC) - self.shift


@contextmanager
def written_ago(sandbox: RunningSandbox, shift: timedelta) -> Iterator[None]:
    """Objects the sandbox creates or updates meanwhile carry times ``shift`` ago."""
    store = sandbox.sandbox.store
    clock = store.clock
    store.clock = _EarlierClock(shift)  # type: ignore[assignment]
    try:
        yield
    finally:
        store.clock = clock


@contextmanager
def two_projects() -> Iterator[RunningSandbox]:
    """A loopback sandbox serving staging (project 1) and prod (project 2), limits off."""
    with run_sandbox(projects=(STAGING, PROD), rate_limiting=False) as sandbox:
        yield sandbox


def plan_text(template: str, url: str) -> str:
    """A plan template with the sandbox's URL as both environments' host."""
    return template.format(url=url)


def load(template: str, url: str) -> TrackingPlan:
    """Parse a plan template for the sandbox at ``url``."""
    return parse_plan(plan_text(template, url))


def client(plan: TrackingPlan, environment: str) -> EventSchemaClient:
    """A client of one environment, with the demo key (it reaches both projects)."""
    return environment_client(plan, environment, environ=KEYS)


def apply_to(plan: TrackingPlan, environment: str) -> None:
    """Apply ``plan`` (with that environment's overrides) to one environment's project."""
    with client(plan, environment) as one:
        writes = compute_plan(one, environment_plan(plan, environment), create_events=True)
        report = apply(one, writes)
    assert report.ok, report


def checkout(good: bool, moment: datetime, index: int) -> dict[str, Any]:
    """A checkout_completed event: with ``amount`` when ``good``, without it otherwise."""
    properties: dict[str, Any] = {"order_id": f"o-{index}"}
    if good:
        properties["amount"] = 10 + index % 7
    return event("checkout_completed", properties, moment, index)


def event(name: str, properties: dict[str, Any], moment: datetime, index: int) -> dict[str, Any]:
    """One event as the SDKs send it, at ``moment``."""
    return {
        "event": name,
        "distinct_id": f"user-{index % 13}",
        "properties": properties,
        "timestamp": moment.isoformat(),
    }


def spread(start: datetime, end: datetime, count: int) -> list[datetime]:
    """``count`` moments evenly spread over ``[start, end)``."""
    step = (end - start) / count
    return [start + step * index for index in range(count)]


def send(url: str, project: Project, events: Sequence[dict[str, Any]]) -> None:
    """POST events to the sandbox's ``/batch/`` for ``project``."""
    answer = httpx.post(
        f"{url}/batch/", json={"api_key": project.api_token, "batch": list(events)}, timeout=60
    )
    assert answer.status_code == 200, answer.text


def hours(count: float) -> timedelta:
    """``count`` hours."""
    return timedelta(hours=count)


BIN = Path(sys.executable).parent


def run_cli(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the ``eventschema`` console script in ``cwd`` with no ``POSTHOG_*``/``EVENTSCHEMA_*``
    settings but ``variables`` (by default, the demo key as both environments' key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "EVENTSCHEMA_"))}
    env.update(variables or {"POSTHOG_PERSONAL_API_KEY_STAGING": DEMO_API_KEY})
    env.setdefault("POSTHOG_PERSONAL_API_KEY_PROD", DEMO_API_KEY)
    return subprocess.run(
        [str(BIN / "eventschema"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
