"""Helpers of the infer tests."""

from __future__ import annotations

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY

SEED = "demo-day"


def connect(url: str) -> EventSchemaClient:
    """A client on the sandbox at ``url`` without pacing or retries."""
    return EventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host=url,
        rate_limit="off",
        query_rate_limit="off",
        max_retries=0,
    )
