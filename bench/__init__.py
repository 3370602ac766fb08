"""Benchmarks of eventschema-tools; run them all with `make bench` (python -m bench).

Each ``bench_*.py`` module exposes ``run() -> list[dict]`` (rows with ``metric``,
``bound_or_anchor``, ``ours``, ``ratio`` and ``notes``) and runs alone with
``python -m bench.bench_<name>``, printing its rows with :func:`print_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def number(value: Any) -> str:
    """A measured value as printed: three significant digits for floats, as is otherwise."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def print_rows(rows: Iterable[dict[str, Any]]) -> None:
    """Print benchmark rows one a line: metric, ours against the bound, the ratio, the notes."""
    for row in rows:
        print(
            f"{row['metric']}: ours {number(row['ours'])} vs {number(row['bound_or_anchor'])} "
            f"(ratio {number(row['ratio'])}) — {row['notes']}"
        )
