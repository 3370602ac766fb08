"""Fixtures of the infer tests: the demo day's sandbox, with and without its hand-made groups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infer_helpers import SEED
from sandbox_clients import demo_client as connect

from eventschema_tools.sandbox import RunningSandbox, run_sandbox


@pytest.fixture(scope="module")
def demo_day() -> Iterator[RunningSandbox]:
    """The demo day as seeded: the day's events and the project's hand-made groups."""
    with run_sandbox(seed=SEED, rate_limiting=False) as running:
        yield running


@pytest.fixture(scope="module")
def fresh_project() -> Iterator[RunningSandbox]:
    """The demo day's events in a project without any property group (a team starting out)."""
    with run_sandbox(seed=SEED, rate_limiting=False) as running:
        with connect(running.url) as client:
            for group in list(client.property_groups.list()):
                client.property_groups.delete(group.id)
        yield running
