"""Faults PostHog really shows, injected by the sandbox: 5xx, 429 bursts, drops, slow answers.

The sandbox draws one seeded number per request (none while a 429 burst runs), so a seed fixes
which requests fail; `seed_where` picks one for the pattern a test needs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from eventschema_tools import (
    APIConnectionError,
    APITimeoutError,
    AsyncEventSchemaClient,
    EventSchemaClient,
    InternalServerError,
    RateLimitError,
)
from eventschema_tools.models import EventSchema
from eventschema_tools.sandbox import FaultConfig, RunningSandbox, SandboxApp, run_sandbox


def seed_where(draws: Sequence[bool], share: float) -> int:
    """A seed whose successive draws fall below ``share`` exactly where ``draws`` is True."""
    for seed in range(100_000):
        rng = random.Random(seed)
        if all((rng.random() < share) == hit for hit in draws):
            return seed
    raise AssertionError("no seed found")


def stats(sandbox: SandboxApp | RunningSandbox) -> dict[str, Any]:
    return sandbox.sandbox.faults.stats()


def inject(sandbox: SandboxApp | RunningSandbox, **faults: Any) -> None:
    sandbox.sandbox.faults.configure(FaultConfig(**faults))
    sandbox.sandbox.faults.reset_stats()


@pytest.fixture(scope="module")
def fault_server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False) as running:
        yield running


@pytest.fixture
def served(fault_server: RunningSandbox) -> Iterator[RunningSandbox]:
    inject(fault_server)
    yield fault_server
    inject(fault_server)


@pytest.fixture
def sclient(
    served: RunningSandbox, make_sync_client: Callable[..., EventSchemaClient]
) -> EventSchemaClient:
    return make_sync_client(served.url)


class TestServerErrors:
    @pytest.mark.parametrize("status", [500, 502, 503])
    @pytest.mark.anyio
    async def test_a_burst_of_5xx_is_retried(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient, status: int
    ) -> None:
        share = 0.5
        inject(app, **{f"error_{status}": share, "seed": seed_where([True, True, False], share)})

        user = await aclient.current_user()

        assert user.email
        assert stats(app)["responses"] == {str(status): 2, "200": 1}

    @pytest.mark.anyio
    async def test_retries_stop_after_max_retries_with_the_last_error(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient, fast_retries: Callable[..., None]
    ) -> None:
        fast_retries(aclient, 2)
        inject(app, error_503=1.0)

        with pytest.raises(InternalServerError) as caught:
            await aclient.property_groups.get("0190a8e4-7c1b-7d2e-9f00-0123456789ab")

        assert caught.value.status_code == 503
        assert stats(app)["requests"] == 3

    @pytest.mark.anyio
    async def test_per_call_max_retries_overrides_the_client(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient
    ) -> None:
        inject(app, error_500=1.0)

        with pytest.raises(InternalServerError):
            await aclient.event_definitions.create(name="once", max_retries=0)

        assert stats(app)["requests"] == 1

    def test_sync_client_retries_5xx_over_loopback(
        self, served: RunningSandbox, sclient: EventSchemaClient
    ) -> None:
        inject(served, error_502=0.5, seed=seed_where([True, False], 0.5))

        assert sclient.project().id == 1
        assert stats(served)["responses"] == {"502": 1, "200": 1}


class TestRateLimitBursts:
    def test_a_429_burst_waits_as_long_as_retry_after_says(
        self, served: RunningSandbox, sclient: EventSchemaClient
    ) -> None:
        inject(
            served,
            throttle=0.5,
            throttle_burst=2,
            retry_after=1,
            seed=seed_where([True, False], 0.5),
        )

        started = time.monotonic()
        user = sclient.current_user()
        waited = time.monotonic() - started

        assert user.email
        assert stats(served)["responses"] == {"429": 2, "200": 1}
        # Two Retry-After: 1 waits; the policy's own backoff here is a few milliseconds.
        assert 2.0 <= waited < 3.5

    @pytest.mark.anyio
    async def test_rate_limit_error_carries_retry_after_when_retries_run_out(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient
    ) -> None:
        inject(app, throttle=1.0, throttle_burst=5, retry_after=7)

        with pytest.raises(RateLimitError) as caught:
            await aclient.event_schemas.delete(
                "0190a8e4-7c1b-7d2e-9f00-0123456789ab", max_retries=0
            )

        assert caught.value.retry_after == 7.0
        assert caught.value.code == "throttled"


class TestAmbiguousWrites:
    @pytest.mark.anyio
    async def test_dropped_creates_leave_exactly_one_of_each_object_in_process(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient
    ) -> None:
        inject(app, drop=1.0)

        # Padded names: the server trims them, and the lookup after the drop must too.
        group = await aclient.property_groups.create(name=" checkout ")
        event = await aclient.event_definitions.create(name="  checkout_completed ")
        schema = await aclient.event_schemas.create(
            event_definition=event.id, property_group_id=group.id
        )

        assert stats(app)["faults"]["drop"] == 3
        assert (group.name, event.name) == ("checkout", "checkout_completed")
        inject(app)
        assert [g.id async for g in aclient.property_groups.list()] == [group.id]
        assert [e.id async for e in aclient.event_definitions.list()] == [event.id]
        assert [s.id async for s in aclient.event_schemas.list()] == [schema.id]

    def test_dropped_create_leaves_exactly_one_binding_over_loopback(
        self, served: RunningSandbox, sclient: EventSchemaClient
    ) -> None:
        group = sclient.property_groups.create(name="loopback group")
        event = sclient.event_definitions.create(name="loopback event")
        inject(served, drop=1.0)

        schema = sclient.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        assert stats(served)["faults"]["drop"] == 1
        inject(served)
        bindings = list(sclient.event_schemas.list(event_definition=event.id))
        assert [b.id for b in bindings] == [schema.id]
        assert bindings[0].property_group.id == group.id

    def test_a_create_answered_too_late_is_reconciled_not_repeated(
        self, served: RunningSandbox, make_sync_client: Callable[..., EventSchemaClient]
    ) -> None:
        client = make_sync_client(served.url, timeout=0.2)
        group = client.property_groups.create(name="slow group")
        event = client.event_definitions.create(name="slow event")
        # The POST is slow (committed, answered after the timeout); the lookup after it is not.
        inject(served, slow=0.5, slow_delay=0.6, seed=seed_where([True, False], 0.5))

        schema = client.event_schemas.create(event_definition=event.id, property_group_id=group.id)

        inject(served)
        assert [s.id for s in client.event_schemas.list(event_definition=event.id)] == [schema.id]

    @pytest.mark.anyio
    async def test_many_creates_under_mixed_faults_neither_lose_nor_double(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient, fast_retries: Callable[..., None]
    ) -> None:
        fast_retries(aclient, 8)
        group = await aclient.property_groups.create(name="bulk")
        events = [await aclient.event_definitions.create(name=f"event {i:02d}") for i in range(20)]
        inject(app, seed=11, drop=0.3, error_503=0.15, error_500=0.05)

        created = [
            await aclient.event_schemas.create(event_definition=e.id, property_group_id=group.id)
            for e in events
        ]

        faults = stats(app)["faults"]
        assert faults["drop"] > 0
        assert faults["error_503"] > 0
        inject(app)
        listed = [s async for s in aclient.event_schemas.list()]
        assert sorted(str(s.id) for s in listed) == sorted(str(s.id) for s in created)
        assert sorted(str(s.event_definition) for s in listed) == sorted(str(e.id) for e in events)

    @pytest.mark.anyio
    async def test_a_duplicate_pair_400_after_a_dropped_create_is_resolved_to_the_binding(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient
    ) -> None:
        group = await aclient.property_groups.create(name="lagging")
        event = await aclient.event_definitions.create(name="lagging_event")
        lookups = 0

        async def reconcile_behind_a_lagging_replica() -> EventSchema | None:
            # The first lookup misses the committed row, as a read replica that lags would.
            nonlocal lookups
            lookups += 1
            if lookups == 1:
                return None
            return await aclient.event_schemas.find(
                event_definition=event.id, property_group_id=group.id
            )

        inject(app, drop=0.5, seed=seed_where([True, False, False], 0.5))
        found = await aclient.request(
            "POST",
            aclient.project_path("event_schemas"),
            json={"event_definition": str(event.id), "property_group_id": str(group.id)},
            reconcile=reconcile_behind_a_lagging_replica,
        )

        assert isinstance(found, EventSchema)
        assert lookups == 2
        assert stats(app)["responses"]["400"] == 1  # the repeated POST: "must make a unique set"
        assert [s.id async for s in aclient.event_schemas.list()] == [found.id]

    @pytest.mark.anyio
    async def test_a_delete_dropped_after_commit_counts_as_done(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient
    ) -> None:
        group = await aclient.property_groups.create(name="g")
        event = await aclient.event_definitions.create(name="e")
        schema = await aclient.event_schemas.create(
            event_definition=event.id, property_group_id=group.id
        )
        inject(app, drop=0.5, seed=seed_where([True, False], 0.5))

        await aclient.event_schemas.delete(schema.id)

        assert stats(app)["responses"] == {"404": 1}  # the retry found it already gone
        assert [s async for s in aclient.event_schemas.list()] == []

    @pytest.mark.anyio
    async def test_an_update_dropped_after_commit_is_repeated_safely(
        self, app: SandboxApp, aclient: AsyncEventSchemaClient
    ) -> None:
        group = await aclient.property_groups.create(name="before")
        inject(app, drop=0.5, seed=seed_where([True, False], 0.5))

        updated = await aclient.property_groups.update(group.id, name="after")

        assert updated.name == "after"
        assert stats(app)["faults"]["drop"] == 1


class TestTimeouts:
    def test_a_slow_response_raises_api_timeout_error_after_retries(
        self,
        served: RunningSandbox,
        make_sync_client: Callable[..., EventSchemaClient],
        fast_retries: Callable[..., None],
    ) -> None:
        client = make_sync_client(served.url, timeout=0.15)
        fast_retries(client, 2)
        inject(served, slow=1.0, slow_delay=0.5)

        with pytest.raises(APITimeoutError) as caught:
            client.current_user()

        assert isinstance(caught.value, APIConnectionError)
        assert (caught.value.method, caught.value.path) == ("GET", "/api/users/@me/")
        assert stats(served)["requests"] == 3

    @pytest.mark.anyio
    async def test_async_client_times_out_over_loopback_too(
        self,
        served: RunningSandbox,
        fast_retries: Callable[..., None],
    ) -> None:
        inject(served, slow=1.0, slow_delay=0.5)
        async with AsyncEventSchemaClient(
            api_key="phx_sandbox_demo_key",
            project_id=1,
            host=served.url,
            timeout=0.15,
            rate_limit="off",
        ) as client:
            fast_retries(client, 1)
            with pytest.raises(APITimeoutError):
                await client.project()

        assert stats(served)["requests"] == 2
