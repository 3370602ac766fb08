"""Fixtures of the alert tests: a loopback sandbox holding the demo project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventschema_tools.sandbox import RunningSandbox, run_sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", rate_limiting=False) as running:
        yield running
