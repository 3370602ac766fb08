"""Reconciling a create that may have landed, pinned down with one seeded fault each.

A create whose first attempt got a 5xx is reconciled: the client looks for the object before it
tries again. Finding an object of the same name is not enough: if its content is not what was
sent, it was there before (or someone else made it), so the create must fail with PostHog's
"already exists" instead of returning that other object as created.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools._retry import RetryPolicy
from eventschema_tools.errors import BadRequestError
from eventschema_tools.sandbox import DEMO_API_KEY, FaultConfig, SandboxApp, create_app

FAST = RetryPolicy(max_retries=5, initial_delay=0.001, max_delay=0.005)
SHARE = 0.5


def seed_failing_only_the_first_request() -> int:
    """A seed whose first draw is a 503 and the next five are not."""
    pattern = [True] + [False] * 5
    for seed in range(100_000):
        rng = random.Random(seed)
        if all((rng.random() < SHARE) == hit for hit in pattern):
            return seed
    raise AssertionError("no seed found")


@pytest.fixture
def app() -> Iterator[SandboxApp]:
    application = create_app(rate_limiting=False)
    yield application
    application.sandbox.close()


def first_request_fails(app: SandboxApp) -> None:
    app.sandbox.faults.configure(
        FaultConfig(seed=seed_failing_only_the_first_request(), error_503=SHARE)
    )
    app.sandbox.faults.reset_stats()


def async_client(app: SandboxApp) -> AsyncEventSchemaClient:
    client = AsyncEventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host="http://sandbox.test",
        rate_limit="off",
        transport=httpx.ASGITransport(app=app),
    )
    client.retry_policy = FAST
    return client


GROUP: dict[str, Any] = {
    "name": "checkout",
    "description": "Checkout",
    "properties": [{"name": "order_id", "property_type": "String", "is_required": True}],
}


@pytest.mark.anyio
async def test_a_group_with_other_content_is_not_taken_for_our_create(app: SandboxApp) -> None:
    async with async_client(app) as client:
        existing = await client.property_groups.create(**GROUP)
        first_request_fails(app)
        with pytest.raises(BadRequestError) as refused:
            await client.property_groups.create(name="checkout", description="something else")
        assert refused.value.is_duplicate
        assert app.sandbox.faults.stats()["responses"]["503"] == 1

        first_request_fails(app)
        again = await client.property_groups.create(**GROUP)
    assert again.id == existing.id


@pytest.mark.anyio
async def test_an_event_with_another_description_is_not_taken_for_our_create(
    app: SandboxApp,
) -> None:
    async with async_client(app) as client:
        existing = await client.event_definitions.create(name="signed_up", description="A")
        first_request_fails(app)
        with pytest.raises(BadRequestError) as refused:
            await client.event_definitions.create(name="signed_up", description="B")
        assert refused.value.is_duplicate

        first_request_fails(app)
        again = await client.event_definitions.create(name="signed_up", description="A")
    assert again.id == existing.id


def test_the_sync_client_reconciles_the_same_way(sandbox_server: Any) -> None:
    suffix = random.Random().randrange(10**9)
    with EventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host=sandbox_server.url, rate_limit="off"
    ) as client:
        client.retry_policy = FAST
        name = f"reconcile {suffix}"
        client.property_groups.create(name=name, description="mine")
        first_request_fails(sandbox_server.app)
        try:
            with pytest.raises(BadRequestError):
                client.property_groups.create(name=name, description="theirs")
        finally:
            sandbox_server.sandbox.faults.configure(FaultConfig())
