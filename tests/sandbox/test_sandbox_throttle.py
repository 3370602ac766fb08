"""Rate limiting: per-key sliding windows with PostHog's 429 body and Retry-After."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from eventschema_tools.sandbox import ApiKey, RateLimit, SandboxApp
from eventschema_tools.sandbox.http.routing import Operation, endpoint, json_response
from eventschema_tools.sandbox.http.throttle import QUERY_BUCKET, Throttle
from eventschema_tools.sandbox.state import RequestContext

pytestmark = pytest.mark.anyio

GROUPS = "/api/projects/1/schema_property_groups/"


async def test_past_the_limit_is_429_and_after_waiting_200(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(rate_limits=(RateLimit(3, 1.0),)))
    statuses = [(await client.get(GROUPS)).status_code for _ in range(3)]

    throttled = await client.get(GROUPS)

    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json() == {
        "type": "throttled_error",
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 1 second.",
        "attr": None,
    }
    await anyio.sleep(1.05)
    assert (await client.get(GROUPS)).status_code == 200


async def test_retry_after_reflects_the_slowest_full_window(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(rate_limits=(RateLimit(1, 1.0), RateLimit(3, 60.0))))
    assert (await client.get(GROUPS)).status_code == 200
    # Refused by the burst window, yet counted by the sustained one (as in DRF).
    assert (await client.get(GROUPS)).headers["Retry-After"] == "1"
    await anyio.sleep(1.05)
    assert (await client.get(GROUPS)).status_code == 200

    throttled = await client.get(GROUPS)

    assert throttled.status_code == 429
    assert 58 <= int(throttled.headers["Retry-After"]) <= 60
    assert throttled.json()["detail"].endswith("seconds.")


async def test_budgets_are_per_key(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    app = sandbox_app(
        rate_limits=(RateLimit(1, 60.0),), api_keys=(ApiKey("phx_one"), ApiKey("phx_two"))
    )
    one, two = asgi_client_for(app, "phx_one"), asgi_client_for(app, "phx_two")

    assert (await one.get(GROUPS)).status_code == 200
    assert (await one.get(GROUPS)).status_code == 429
    assert (await two.get(GROUPS)).status_code == 200


async def test_limits_can_be_switched_off(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(rate_limits=(RateLimit(1, 60.0),), rate_limiting=False))

    assert {(await client.get(GROUPS)).status_code for _ in range(5)} == {200}


async def test_refusals_are_counted_in_stats(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(rate_limits=(RateLimit(1, 60.0),)))
    for _ in range(3):
        await client.get(GROUPS)

    stats = (await client.get("/_sandbox/stats")).json()

    assert stats["rate_limited"] == 2
    assert stats["responses"] == {"200": 1, "429": 2}


async def fake_query(request: Request, context: RequestContext) -> Response:
    return json_response({"project": context.project_id})


async def test_query_bucket_has_its_own_budget(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    route = endpoint(
        "/test/{project_id}/query/",
        {"POST": Operation("query:read", fake_query)},
        bucket=QUERY_BUCKET,
    )
    app = sandbox_app(
        extra_routes=[route],
        rate_limits=(RateLimit(5, 60.0),),
        query_rate_limits=(RateLimit(1, 3600.0),),
    )
    client = asgi_client_for(app)

    assert (await client.post("/test/1/query/")).json() == {"project": 1}
    refused = await client.post("/test/1/query/")

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3500
    assert (await client.get(GROUPS)).status_code == 200


def test_refused_requests_do_not_use_up_a_window():
    now = [0.0]
    throttle = Throttle({"api": (RateLimit(2, 10.0),)}, clock=lambda: now[0])

    assert throttle.hit("k") is None
    now[0] = 4.0
    assert throttle.hit("k") is None
    now[0] = 5.0
    assert throttle.hit("k") == pytest.approx(5.0)
    now[0] = 10.0
    assert throttle.hit("k") is None
    assert throttle.hit("k") == pytest.approx(4.0)
    assert throttle.refused == 2


def test_a_passing_window_records_even_when_another_refuses():
    now = [0.0]
    throttle = Throttle({"api": (RateLimit(1, 1.0), RateLimit(3, 100.0))}, clock=lambda: now[0])

    for moment in (0.0, 0.5, 1.0, 2.0):
        now[0] = moment
        throttle.hit("k")

    # The burst window refused 0.5, yet the sustained window counted it (DRF records the request
    # in every throttle that allowed it), so the sustained window filled up at 1.0.
    now[0] = 3.0
    assert throttle.hit("k") == pytest.approx(97.0)
