"""Fixtures of the audit tests: a loopback sandbox per module and clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False) as running:
        yield running


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[EventSchemaClient]:
    with EventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host=sandbox.url,
        rate_limit="off",
        query_rate_limit="off",
        max_retries=0,
    ) as http:
        yield http
