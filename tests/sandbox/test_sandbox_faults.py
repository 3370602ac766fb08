"""Fault injection: every kind, in-process and over loopback, seeded, and the admin routes."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    DroppedConnection,
    FaultConfig,
    FaultSpecError,
    SandboxApp,
    parse_fault_spec,
    run_sandbox,
)

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
GROUPS = "/api/projects/1/schema_property_groups/"

Clients = Callable[..., httpx.AsyncClient]
Apps = Callable[..., SandboxApp]


async def stats(client: httpx.AsyncClient) -> dict[str, int]:
    faults: dict[str, int] = (await client.get("/_sandbox/stats")).json()["faults"]
    return faults


async def test_error_500_is_posthogs_server_error(sandbox_app: Apps, asgi_client_for: Clients):
    client = asgi_client_for(sandbox_app(faults=FaultConfig(error_500=1.0)))

    response = await client.post(GROUPS, json={"name": "never stored"})

    assert response.status_code == 500
    assert response.json() == {
        "type": "server_error",
        "code": "error",
        "detail": "A server error occurred.",
        "attr": None,
    }
    await client.delete("/_sandbox/faults")
    assert (await client.get(GROUPS)).json()["count"] == 0


@pytest.mark.parametrize("status_code", [502, 503])
async def test_gateway_errors_are_html_pages(
    sandbox_app: Apps, asgi_client_for: Clients, status_code: int
):
    faults = FaultConfig.from_mapping({f"error_{status_code}": 1.0})
    client = asgi_client_for(sandbox_app(faults=faults))

    response = await client.get(GROUPS)

    assert response.status_code == status_code
    assert response.headers["content-type"].startswith("text/html")
    assert str(status_code) in response.text
    assert (await stats(client))[f"error_{status_code}"] == 1


async def test_throttle_fault_is_a_burst_of_429s(sandbox_app: Apps, asgi_client_for: Clients):
    app = sandbox_app(faults=FaultConfig(throttle=1.0, throttle_burst=3, retry_after=7))
    client = asgi_client_for(app)

    first = await client.get(GROUPS)
    app.sandbox.faults.configure(FaultConfig())  # no new bursts; the running one is dropped too
    after = await client.get(GROUPS)

    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert first.json()["detail"] == "Request was throttled. Expected available in 7 seconds."
    assert after.status_code == 200


async def test_throttle_burst_continues_past_the_drawing_request(
    sandbox_app: Apps, asgi_client_for: Clients
):
    # Seed 1 draws about 0.13, 0.85, 0.76: only the first is under 0.5, so the two 429s after
    # it come from the burst, and the burst does not consume draws (the 4th request gets 0.85).
    client = asgi_client_for(
        sandbox_app(faults=FaultConfig(seed=1, throttle=0.5, throttle_burst=3))
    )

    statuses = [(await client.get(GROUPS)).status_code for _ in range(4)]

    assert statuses == [429, 429, 429, 200]
    assert (await stats(client))["throttle"] == 3


async def test_latency_delays_every_request(sandbox_app: Apps, asgi_client_for: Clients):
    client = asgi_client_for(sandbox_app(faults=FaultConfig(latency=0.2)))

    started = time.perf_counter()
    response = await client.get(GROUPS)

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2
    assert (await stats(client))["latency"] == 1


async def test_slow_response_arrives_late_after_the_write(
    sandbox_app: Apps, asgi_client_for: Clients
):
    client = asgi_client_for(sandbox_app(faults=FaultConfig(slow=1.0, slow_delay=0.3)))

    started = time.perf_counter()
    response = await client.post(GROUPS, json={"name": "slow"})

    assert response.status_code == 201
    assert time.perf_counter() - started >= 0.3


def test_slow_response_trips_a_client_timeout_but_the_write_lands():
    with (
        run_sandbox(faults=FaultConfig(slow=1.0, slow_delay=0.6)) as sandbox,
        httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=0.2) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            client.post(GROUPS, json={"name": "timed out"})
        sandbox.sandbox.faults.configure(FaultConfig())
        time.sleep(0.5)
        names = [g["name"] for g in client.get(GROUPS).json()["results"]]

    assert names == ["timed out"]


async def test_dropped_connection_in_process_after_the_write(
    sandbox_app: Apps, asgi_client_for: Clients
):
    client = asgi_client_for(sandbox_app(faults=FaultConfig(drop=1.0)))

    with pytest.raises(httpx.RemoteProtocolError) as raised:
        await client.post(GROUPS, json={"name": "committed"})

    assert isinstance(raised.value, DroppedConnection)
    assert isinstance(raised.value, httpx.TransportError)
    listed = (await client.get(GROUPS)).json()
    assert [g["name"] for g in listed["results"]] == ["committed"]
    assert (await stats(client))["drop"] == 1


def test_dropped_connection_over_loopback_after_the_write():
    with (
        run_sandbox(faults=FaultConfig(drop=1.0)) as sandbox,
        httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=5) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(GROUPS, json={"name": "committed over tcp"})
        names = [g["name"] for g in client.get(GROUPS).json()["results"]]
        counters = client.get("/_sandbox/stats").json()

    assert names == ["committed over tcp"]
    assert counters["faults"]["drop"] == 1
    assert counters["responses"] == {"200": 1}


async def test_drop_spares_reads(sandbox_app: Apps, asgi_client_for: Clients):
    client = asgi_client_for(sandbox_app(faults=FaultConfig(drop=1.0)))

    assert (await client.get(GROUPS)).status_code == 200
    assert (await stats(client))["drop"] == 0


async def test_same_seed_gives_the_same_faults(sandbox_app: Apps, asgi_client_for: Clients):
    faults = FaultConfig(seed=42, error_500=0.2, error_503=0.2, throttle=0.1)
    runs = []
    for _ in range(2):
        client = asgi_client_for(sandbox_app(faults=faults))
        runs.append([(await client.get(GROUPS)).status_code for _ in range(40)])

    assert runs[0] == runs[1]
    assert {500, 503, 429, 200} <= set(runs[0])


async def test_faults_can_be_changed_and_cleared_at_runtime(
    sandbox_app: Apps, asgi_client_for: Clients
):
    client = asgi_client_for(sandbox_app())

    put = await client.put("/_sandbox/faults", json={"error_503": 1.0, "seed": 3})
    faulted = await client.get(GROUPS)
    shown = await client.get("/_sandbox/faults")
    cleared = await client.delete("/_sandbox/faults")
    healthy = await client.get(GROUPS)

    assert put.json()["error_503"] == 1.0
    assert faulted.status_code == 503
    assert (shown.json()["seed"], shown.json()["error_503"]) == (3, 1.0)
    assert cleared.json() == FaultConfig().as_dict()
    assert healthy.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"drop": 1.5}, "fault 'drop' must be a share between 0 and 1, got 1.5"),
        ({"explode": 0.1}, "unknown fault 'explode'"),
        ({"error_500": 0.6, "error_502": 0.6}, "may not exceed 1"),
        ({"slow_delay": "soon"}, "fault 'slow_delay' must be a duration"),
        (["drop"], "Send a JSON object of fault settings."),
    ],
)
async def test_bad_fault_settings_are_400(
    sandbox_app: Apps, asgi_client_for: Clients, body: object, message: str
):
    client = asgi_client_for(sandbox_app())

    response = await client.put("/_sandbox/faults", json=body)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert message in response.json()["detail"]


async def test_admin_routes_are_never_faulted_and_stats_reset(
    sandbox_app: Apps, asgi_client_for: Clients
):
    client = asgi_client_for(sandbox_app(faults=FaultConfig(error_500=1.0)))
    await client.get(GROUPS)

    before = (await client.get("/_sandbox/stats")).json()
    reset = await client.delete("/_sandbox/stats")
    after = (await client.get("/_sandbox/stats")).json()

    assert before["requests"] == 1
    assert before["faults"]["error_500"] == 1
    assert before["responses"] == {"500": 1}
    assert reset.status_code == 204
    assert after["requests"] == 0
    assert after["faults"]["error_500"] == 0


def test_fault_spec_parses_rates_percentages_and_durations():
    config = parse_fault_spec("seed=7, latency=20ms, error_503=5%, drop=0.1, slow_delay=1.5s")

    assert config == FaultConfig(seed=7, latency=0.02, error_503=0.05, drop=0.1, slow_delay=1.5)
    assert config.active
    assert not FaultConfig().active


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("drop", "is not KEY=VALUE"),
        ("drop=lots", "must be a share like 0.05 or 5%"),
        ("latency=fast", "must be a duration like 250ms or 1.5s"),
        ("seed=1.5", "must be a whole number"),
        ("boom=1", "unknown fault 'boom'"),
        ("throttle_burst=0", "at least 1"),
    ],
)
def test_fault_spec_errors_say_what_is_wrong(spec: str, message: str):
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_spec(spec)
