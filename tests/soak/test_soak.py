"""Fault soak: a mixed workload through both clients while the sandbox misbehaves.

Two workloads run at once against one loopback sandbox: one through `EventSchemaClient`, one
through `AsyncEventSchemaClient`, each on its own name prefix. The sandbox answers 10% of the
requests with a 500/502/503, drops the connection after committing 2% of the writes, starts 429
bursts and adds seeded latency jitter. Each workload keeps an independent model of what it
expects (`soak_model`); every operation's reported outcome is compared with it, and at
checkpoints and at the end the sandbox's own store must equal the model: nothing lost, nothing
doubled, nothing unexpected.

Size: ``EVENTSCHEMA_SOAK_OPS`` operations in all (default 600 here, for CI);
``make soak`` runs the full variant, at least 5,000. ``EVENTSCHEMA_SOAK_SEED`` picks the seed.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import anyio
import httpx
import pytest
from soak_figures import FIGURES, RequestLog, counting_requests
from soak_model import Model, read_store, strays
from soak_sides import AsyncSide, SyncSide
from soak_workload import Tally, Workload

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools._retry import RetryPolicy
from eventschema_tools.sandbox import DEMO_API_KEY, FaultConfig, RunningSandbox, run_sandbox

CI_OPERATIONS = 600
FULL_OPERATIONS = 5000
PREFIXES = {"sync": "sy-", "async": "as-"}

# Small delays so the soak converges quickly, many retries so it always does (a 429 burst and
# a few 5xx in a row are normal here); Retry-After is honoured but capped at 50 ms.
SOAK_RETRIES = RetryPolicy(
    max_retries=15, initial_delay=0.002, max_delay=0.02, max_retry_after=0.05
)


def soak_faults(seed: int) -> FaultConfig:
    """10% 5xx, 2% of writes dropped after commit, 429 bursts of 3, 0–4 ms jitter."""
    return FaultConfig(
        seed=seed,
        error_500=0.04,
        error_502=0.03,
        error_503=0.03,
        drop=0.02,
        throttle=0.01,
        throttle_burst=3,
        retry_after=1,
        jitter=0.004,
    )


def operations_from_env(default: int) -> int:
    raw = os.environ.get("EVENTSCHEMA_SOAK_OPS", "").strip()
    return int(raw) if raw else default


def seed_from_env() -> int:
    return int(os.environ.get("EVENTSCHEMA_SOAK_SEED", "8"))


def client_settings(url: str) -> dict[str, Any]:
    return {
        "api_key": DEMO_API_KEY,
        "project_id": 1,
        "host": url,
        "rate_limit": "off",
        "query_rate_limit": "off",
        "timeout": 30.0,
    }


def figures(
    operations: int, seed: int, tallies: dict[str, Tally], log: RequestLog, stats: dict[str, Any]
) -> list[str]:
    total: Counter[str] = Counter()
    for tally in tallies.values():
        total.update(tally.ops)
    mismatches = sum(len(t.mismatches) for t in tallies.values())
    sides = ", ".join(f"{label} {sum(t.ops.values())}" for label, t in tallies.items())
    faults = ", ".join(f"{kind} {count}" for kind, count in stats["faults"].items() if count)
    return [
        f"operations: {operations} ({sides}), seed {seed}",
        "by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(total.items())),
        f"requests seen by the sandbox: {stats['requests']}; responses: {stats['responses']}",
        f"faults injected: {faults}",
        f"client attempts {log.attempts}, retries {log.retries}, reconciliations "
        f"{log.reconciliations}, attempts without a response {log.dropped}",
        f"mismatches: {mismatches}",
    ]


async def soak(running: RunningSandbox, operations: int, seed: int) -> list[str]:
    """Run both workloads at once; return every mismatch found."""
    models = {label: Model(prefix) for label, prefix in PREFIXES.items()}
    store = running.sandbox.store

    def snapshot() -> Any:
        return read_store(store)

    sync_client = EventSchemaClient(**client_settings(running.url))
    async_client = AsyncEventSchemaClient(**client_settings(running.url))
    for client in (sync_client, async_client):
        client.retry_policy = SOAK_RETRIES
    workloads = {
        "sync": Workload(SyncSide(sync_client), models["sync"], seed, snapshot),
        "async": Workload(AsyncSide(async_client), models["async"], seed, snapshot),
    }
    share = {"sync": operations // 2, "async": operations - operations // 2}
    tallies: dict[str, Tally] = {}

    async def drive(label: str) -> None:
        tallies[label] = await workloads[label].run(share[label])

    started = time.monotonic()
    try:
        with counting_requests() as log:
            async with anyio.create_task_group() as tasks:
                for label in workloads:
                    tasks.start_soon(drive, label)
    finally:
        sync_client.close()
        await async_client.close()
    elapsed = time.monotonic() - started
    stats = httpx.get(f"{running.url}/_sandbox/stats").json()
    mismatches = [m for tally in tallies.values() for m in tally.mismatches]
    mismatches += strays(snapshot(), PREFIXES.values())
    lines = figures(operations, seed, tallies, log, stats)
    lines.insert(0, f"soak of {operations} operations finished in {elapsed:.1f}s")
    FIGURES.extend(lines)
    print("\n".join(lines))
    assert stats["faults"]["drop"] > 0 or operations < 200, "the soak injected no drops"
    return mismatches


async def run_soak(operations: int) -> None:
    seed = seed_from_env()
    with run_sandbox(rate_limiting=False, faults=soak_faults(seed)) as running:
        mismatches = await soak(running, operations, seed)
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])


@pytest.mark.anyio
@pytest.mark.timeout(600)
async def test_soak_under_faults_loses_and_doubles_nothing() -> None:
    await run_soak(operations_from_env(CI_OPERATIONS))


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.timeout(3600)
async def test_full_soak_under_faults_loses_and_doubles_nothing() -> None:
    await run_soak(max(FULL_OPERATIONS, operations_from_env(FULL_OPERATIONS)))
