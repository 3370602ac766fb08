"""The sandbox's latency jitter: seeded, bounded, and independent of the other faults."""

from __future__ import annotations

import time

import httpx
import pytest

from eventschema_tools.sandbox import FaultConfig, create_app, parse_fault_spec
from eventschema_tools.sandbox.http.faults import FaultInjector


def delays(config: FaultConfig, count: int) -> list[float]:
    injector = FaultInjector(config)
    return [injector.decide(is_write=False).delay for _ in range(count)]


def kinds(config: FaultConfig, count: int) -> list[str | None]:
    injector = FaultInjector(config)
    return [injector.decide(is_write=index % 2 == 0).kind for index in range(count)]


def test_jitter_is_seeded_and_bounded() -> None:
    config = FaultConfig(seed=5, latency=0.01, jitter=0.02)
    first, again = delays(config, 200), delays(config, 200)
    assert first == again
    assert all(0.01 <= delay <= 0.03 for delay in first)
    assert len(set(first)) > 150, "jitter should vary from request to request"
    assert delays(FaultConfig(seed=6, latency=0.01, jitter=0.02), 200) != first


def test_jitter_does_not_move_the_other_faults() -> None:
    faults = {"seed": 9, "error_500": 0.2, "drop": 0.1, "throttle": 0.05, "throttle_burst": 3}
    plain = kinds(FaultConfig(**faults), 300)
    jittered = kinds(FaultConfig(**faults, jitter=0.5), 300)
    assert jittered == plain
    assert {"error_500", "drop", "throttle"} <= set(plain)


def test_jitter_is_a_duration_in_the_spec_and_a_negative_one_is_refused() -> None:
    assert parse_fault_spec("seed=1,jitter=4ms").jitter == pytest.approx(0.004)
    with pytest.raises(ValueError, match="jitter"):
        FaultConfig(jitter=-1)


@pytest.mark.anyio
async def test_the_admin_route_sets_jitter_and_requests_wait_for_it() -> None:
    app = create_app(rate_limiting=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        answer = await http.put("/_sandbox/faults", json={"seed": 2, "jitter": "50ms"})
        assert answer.json()["jitter"] == pytest.approx(0.05)
        started = time.monotonic()
        for _ in range(5):
            await http.get("/api/projects/1/event_schemas/")
        took = time.monotonic() - started
        stats = (await http.get("/_sandbox/stats")).json()
    app.sandbox.close()
    assert stats["faults"]["latency"] == 5
    expected = sum(delays(FaultConfig(seed=2, jitter=0.05), 5))
    assert expected - 0.005 <= took < expected + 1.0
