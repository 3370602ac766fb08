"""Fixtures of the catalog tests.

- `client_settings(url)`: keyword arguments for a sync or async client of the loopback sandbox
  at `url` (demo key, no retries, no pacing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventschema_tools.sandbox import DEMO_API_KEY


@pytest.fixture
def client_settings() -> Callable[[str], dict[str, Any]]:
    def settings(url: str) -> dict[str, Any]:
        return {
            "api_key": DEMO_API_KEY,
            "project_id": 1,
            "host": url,
            "max_retries": 0,
            "rate_limit": "off",
        }

    return settings
