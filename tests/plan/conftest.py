"""Fixtures for the tracking-plan tests: clients on in-process sandboxes that count requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from plan_test_helpers import Recorded, make_recorded

from eventschema_tools.sandbox import DEMO_API_KEY, SandboxApp


@pytest.fixture
async def recorded(
    sandbox_app: Callable[..., SandboxApp],
) -> AsyncIterator[Callable[..., Recorded]]:
    """Build an async client on a fresh sandbox (rate limits off), recording every request.

    Call it with `SandboxConfig` overrides, e.g. `recorded(reject_mode_allowed=False)`, and
    optionally the API key and the client's page size.
    """
    made: list[httpx.AsyncClient] = []

    def make(
        api_key: str = DEMO_API_KEY, *, page_size: int | None = None, **overrides: Any
    ) -> Recorded:
        app = sandbox_app(**{"rate_limiting": False, **overrides})
        result = make_recorded(app, api_key, page_size=page_size)
        made.append(result.http)
        return result

    yield make
    for http in made:
        await http.aclose()


@pytest.fixture
def live(recorded: Callable[..., Recorded]) -> Recorded:
    """A recorded client on a fresh default sandbox."""
    return recorded()
