"""Benchmark of the review's backtest: the queries it sends and its time against one per event.

The events are bench_infer's synthetic project (event names carrying shared groups, realistic
value mixes, a few broken values), loaded straight into the sandbox's event store. Today's
expectations bind the ``workspace`` properties with ``workspace_id`` required; the proposal
makes ``seats`` required as well and switches every other event to ``reject``.

* **Queries**: backtests of 200, 450 and 1,000 changed events against the bound
  ⌈n / 200⌉ + 1 and against the straightforward way, one query per changed event.
* **Time**: 100 changed events over 1,000,000 stored events (``EVENTSCHEMA_BENCH_REVIEW_EVENTS``
  sets the size, e.g. 20000 for a smoke run): ours against the per-event approach (the same
  query builder given one event at a time: the mean time of a sample of events, times the
  number of events), rounds interleaved, medians compared.

Run alone with ``python -m bench.bench_review``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from contextlib import ExitStack
from typing import Any

from bench.bench_infer import counted_client, event_name, load_sandbox
from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation
from eventschema_tools.review.backtest import backtest_queries, run_backtest

Row = dict[str, Any]

QUERY_SIZES = (200, 450, 1000)
EVENTS_PER_NAME = 10
TIMED_EVENT_NAMES = 100
ROUNDS = 3
ANCHOR_SAMPLE = 10
DAYS = 1
SCALE_VARIABLE = "EVENTSCHEMA_BENCH_REVIEW_EVENTS"


def _expectations(names: int) -> tuple[list[EventExpectation], list[EventExpectation]]:
    """Today's and the proposed expectations of the first ``names`` synthetic events."""

    def prop(name: str, kind: str, required: bool) -> PropertyExpectation:
        return PropertyExpectation(name, frozenset({kind}), required)

    current, proposed = [], []
    for index in range(names):
        event = event_name(index)
        base = (prop("workspace_id", "String", True), prop("workspace_plan", "String", False))
        current.append(EventExpectation(event, (*base, prop("seats", "Numeric", False))))
        mode = "reject" if index % 2 else "allow"
        proposed.append(EventExpectation(event, (*base, prop("seats", "Numeric", True)), mode))
    return current, proposed


def _query_rows(names: int, queries: int) -> list[Row]:
    bound = math.ceil(names / 200) + 1
    return [
        {
            "metric": f"HogQL queries vs the bound, backtest of {names:,} changed events",
            "bound_or_anchor": bound,
            "ours": queries,
            "ratio": round(queries / bound, 3),
            "notes": f"bound ⌈{names:,} / 200⌉ + 1; {EVENTS_PER_NAME} stored events an event; "
            "counted at the HTTP layer",
        },
        {
            "metric": f"HogQL queries vs one per event, backtest of {names:,} changed events",
            "bound_or_anchor": names,
            "ours": queries,
            "ratio": round(queries / names, 4),
            "notes": "anchor: the same query built for one event at a time",
        },
    ]


def _backtest(url: str, names: int) -> tuple[int, float]:
    current, proposed = _expectations(names)
    counter = [0]
    with counted_client(url, counter) as client:
        started = time.perf_counter()
        result = run_backtest(client, current, proposed, DAYS)
        took = time.perf_counter() - started
    assert counter[0] == result.queries <= result.query_bound, (counter, result.queries)
    assert len(result.events) == names
    return counter[0], took


def _anchor(url: str, rng: random.Random, names: int) -> float:
    """Mean seconds of the backtest query built for one event, over a sample of the events."""
    current, proposed = _expectations(names)
    times = []
    with counted_client(url, [0]) as client:
        for index in rng.sample(range(names), min(ANCHOR_SAMPLE, names)):
            [(query, _)] = backtest_queries([current[index]], [proposed[index]], DAYS)
            started = time.perf_counter()
            client.query.hogql(query.query, values=query.values)
            times.append(time.perf_counter() - started)
    return statistics.fmean(times)


def _timed_rows(stored: int) -> list[Row]:
    rng = random.Random(7)
    names = TIMED_EVENT_NAMES
    ours: list[float] = []
    anchor: list[float] = []
    with ExitStack() as stack:
        sandbox = load_sandbox(stack, stored, names, seed=3)
        for _ in range(ROUNDS):
            ours.append(_backtest(sandbox.url, names)[1])
            anchor.append(_anchor(sandbox.url, rng, names) * names)
    mine, theirs = statistics.median(ours), statistics.median(anchor)
    return [
        {
            "metric": f"seconds, backtest of {names} changed events, {stored:,} stored",
            "bound_or_anchor": round(theirs, 2),
            "ours": round(mine, 2),
            "ratio": round(mine / theirs, 3),
            "notes": f"loopback sandbox, medians of {ROUNDS} interleaved rounds; anchor = mean "
            f"time of the query for one event (a sample of {ANCHOR_SAMPLE} a round) x {names}; "
            f"ours sends {math.ceil(names / 200)} query",
        }
    ]


def run() -> list[Row]:
    """All rows of this benchmark (for ``make bench``)."""
    rows: list[Row] = []
    for names in QUERY_SIZES:
        with ExitStack() as stack:
            sandbox = load_sandbox(stack, names * EVENTS_PER_NAME, names, seed=names)
            queries, _ = _backtest(sandbox.url, names)
        rows += _query_rows(names, queries)
    rows += _timed_rows(int(os.environ.get(SCALE_VARIABLE, "1000000")))
    return rows


def main() -> None:
    from bench import print_rows

    print_rows(run())


if __name__ == "__main__":
    main()
