"""Helpers for the tracking-plan tests (imported by basename; unique across the repo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from eventschema_tools import AsyncEventSchemaClient
from eventschema_tools._retry import RetryPolicy
from eventschema_tools.sandbox import DEMO_API_KEY, SandboxApp
from eventschema_tools.tracking_plan import ApplyReport, Plan, apply_async, compute_plan_async
from eventschema_tools.tracking_plan.file import TrackingPlan, parse_plan

BASE_URL = "http://sandbox.test"
# Retries without real waiting: the faults are simulated, so backoff would only slow the tests.
FAST_RETRIES = RetryPolicy(max_retries=8, initial_delay=0.001, max_delay=0.005, jitter=0.0)


@dataclass
class Recorded:
    """An async client on a sandbox app, with every request it sent (including retries)."""

    app: SandboxApp
    http: httpx.AsyncClient
    client: AsyncEventSchemaClient
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def writes(self) -> list[tuple[str, str, str]]:
        """Requests that may change state (everything but GET): (method, path, query)."""
        return [request for request in self.requests if request[0] != "GET"]

    @property
    def reads(self) -> list[tuple[str, str, str]]:
        """GET requests: (method, path, query)."""
        return [request for request in self.requests if request[0] == "GET"]

    def reset(self) -> None:
        """Forget the requests recorded so far."""
        self.requests.clear()

    async def set_faults(self, **faults: Any) -> None:
        """Replace the sandbox's injected faults (empty: none)."""
        response = await self.http.put("/_sandbox/faults", json=faults)
        response.raise_for_status()

    async def plan(self, text: str | TrackingPlan, **options: Any) -> Plan:
        """Read the live state and diff it against a plan (text or model)."""
        desired = parse_plan(text) if isinstance(text, str) else text
        return await compute_plan_async(self.client, desired, **options)

    async def apply(self, text: str | TrackingPlan, **options: Any) -> tuple[Plan, ApplyReport]:
        """Plan and apply; return both."""
        plan = await self.plan(text, **options)
        report = await apply_async(self.client, plan)
        return plan, report


def make_recorded(
    app: SandboxApp, api_key: str = DEMO_API_KEY, *, page_size: int | None = None
) -> Recorded:
    """A recorded client on ``app`` with fast retries and no client-side pacing."""
    requests: list[tuple[str, str, str]] = []

    async def record(request: httpx.Request) -> None:
        if not request.url.path.startswith("/_sandbox/"):
            query = request.url.query.decode()
            requests.append((request.method, request.url.path, query))

    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        event_hooks={"request": [record]},
    )
    client = AsyncEventSchemaClient(
        api_key=api_key,
        project_id=1,
        host=BASE_URL,
        rate_limit="off",
        page_size=page_size,
        http_client=http,
    )
    client.retry_policy = FAST_RETRIES
    return Recorded(app=app, http=http, client=client, requests=requests)


def actions(plan: Plan) -> set[tuple[str, str]]:
    """The plan's changes as (action, subject) pairs."""
    return {(change.action, change.subject) for change in plan.changes}


def notices(plan: Plan) -> set[tuple[str, str]]:
    """The plan's notices as (kind, subject) pairs."""
    return {(notice.kind, notice.subject) for notice in plan.notices}


def edited(text: str, *replacements: tuple[str, str]) -> str:
    """``text`` with each (old, new) replacement applied (each must match)."""
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text
