"""A client whose HogQL queries are counted at the HTTP layer (shared by the test packages)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY

__all__ = ["counting_client"]


@contextmanager
def counting_client(url: str, **settings: Any) -> Iterator[tuple[EventSchemaClient, list[str]]]:
    """A client whose HogQL queries are counted at the HTTP layer (the list of their texts)."""
    queries: list[str] = []

    def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/query/"):
            queries.append(request.content.decode())

    http = httpx.Client(timeout=120, event_hooks={"request": [count]})
    options: dict[str, Any] = {"rate_limit": "off", "query_rate_limit": "off", "max_retries": 0}
    options.update(settings)
    with (
        http,
        EventSchemaClient(
            api_key=DEMO_API_KEY, project_id=1, host=url, http_client=http, **options
        ) as client,
    ):
        yield client, queries
