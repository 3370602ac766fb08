"""Soak tests: the full-size run only when asked for (``make soak`` selects ``-m slow``).

A plain ``pytest`` run collects every test, markers or not; the full soak takes minutes, so it
is skipped unless the marker expression names ``slow``. Its CI-sized twin always runs.
"""

from __future__ import annotations

import pytest
from soak_figures import FIGURES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="full-size soak: run it with `make soak` (-m slow)")
    for item in items:
        if item.get_closest_marker("slow") and "tests/soak/" in item.nodeid:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("soak figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
