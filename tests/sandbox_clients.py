"""A client of a sandbox's demo project, as the tests of every part use it."""

from __future__ import annotations

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY


def demo_client(url: str) -> EventSchemaClient:
    """A client of the sandbox's demo project at ``url``, without pacing or retries."""
    return EventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host=url,
        rate_limit="off",
        query_rate_limit="off",
        max_retries=0,
    )
