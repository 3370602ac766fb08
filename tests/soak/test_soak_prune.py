"""Concurrent prune soak (see `soak_prune`): no delete reported that PostHog did not make.

A small form runs with every `pytest`; ``make soak`` runs the full one (``-m slow``). Both add
their figures to the soak summary.
"""

from __future__ import annotations

import pytest
from soak_figures import FIGURES
from soak_prune import PruneSoakSize, PruneTally, prune_round

from eventschema_tools.sandbox import run_sandbox

SMALL = PruneSoakSize(rounds=2, applies=2, targets=60, noise=30, page_size=10)
FULL = PruneSoakSize(rounds=6, applies=2, targets=300, noise=120, page_size=20)


def run_prune_soak(size: PruneSoakSize, seed: int = 8) -> None:
    tally = PruneTally()
    with run_sandbox(rate_limiting=False) as running:
        for round_number in range(size.rounds):
            prune_round(running, size, seed + round_number, tally)
    FIGURES.extend(tally.figures(size))
    assert tally.writer_changes > 0, "the writers made no change"
    assert not tally.phantoms, "\n".join(tally.phantoms[:40])
    assert tally.left == 0
    assert tally.outcomes["failed"] == tally.outcomes["skipped"] == 0, tally.outcomes


@pytest.mark.timeout(600)
def test_prune_under_concurrent_writers_reports_only_real_deletes() -> None:
    run_prune_soak(SMALL)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_full_prune_soak_under_concurrent_writers_reports_only_real_deletes() -> None:
    run_prune_soak(FULL)
