"""Benchmark of the soak gate behind promotion and the enforcement ratchet.

A sandbox project binds one group (``id`` String, ``n`` Numeric, both required) to 20 events,
applied 30 hours before the measurement (the store's clock, shifted), and holds a day of events:
100 an hour per event, with a seeded 0.1 % of non-conforming events as background noise. Four
events carry a one-hour regression (30 %, 10 %, 5 % and 3 % of that hour's events lack ``n``);
one carries a 1 % blip, which an SLO of 99 % tolerates.

* **Quality**: the events the gate refuses at ``slo=0.99, soak=24h`` (recall over the four
  regressions, false refusals among the 16 others), against the naive rule "every hour at or
  above the SLO" applied to the same events (what a gate without the interval would refuse).
* **Queries**: HogQL queries of one soak check of the 20 events, against the bound
  ⌈20 / 200⌉ + 1 (conformance buckets, and what ``reject`` dropped).
* **Time**: the soak check (24 hourly buckets) against the conformance gate over the same day
  (one window), rounds interleaved, medians.

Run alone with ``python -m bench.bench_rollout``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.bench_infer import PROJECT, counted_client
from eventschema_tools.audit.gate import check_conformance, gate_options
from eventschema_tools.audit.soak import EVENTS_PER_QUERY, SoakStatus, check_soak, soak_options
from eventschema_tools.sandbox import run_sandbox
from eventschema_tools.sandbox.events.store import EventRow
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import parse_plan

Row = dict[str, Any]

EVENT_COUNT = 20
PER_HOUR = 100
HOURS = 24
NOISE = 0.001
# One bad hour per regressed event: its share of events without `n`.
REGRESSIONS = {"e00": 0.30, "e01": 0.10, "e02": 0.05, "e03": 0.03}
BLIP = ("e04", 0.01)
SLO = 0.99
ROUNDS = 3


class _EarlierClock:
    def __init__(self, shift: timedelta) -> None:
        self.shift = shift

    def now(self) -> datetime:
        return datetime.now(UTC) - self.shift


def _names() -> list[str]:
    return [f"e{index:02d}" for index in range(EVENT_COUNT)]


def _plan_text() -> str:
    events = "\n".join(f"  {name}: {{groups: [order]}}" for name in _names())
    return (
        "version: 1\nproperty_groups:\n  order:\n    properties:\n"
        "      id: {type: String, required: true}\n      n: {type: Numeric, required: true}\n"
        f"events:\n{events}\n"
    )


def _day(now: datetime, rng: random.Random) -> tuple[list[EventRow], set[str]]:
    """A day of events, and the events with an hour the naive rule refuses (under the SLO)."""
    rows: list[EventRow] = []
    naive: set[str] = set()
    special = {**REGRESSIONS, BLIP[0]: BLIP[1]}
    start = now - timedelta(hours=HOURS) + timedelta(minutes=5)
    for name in _names():
        bad_hour = rng.randrange(2, HOURS - 2)
        for hour in range(HOURS):
            share = special.get(name, 0.0) if hour == bad_hour else 0.0
            bad_rows = round(share * PER_HOUR) or sum(rng.random() < NOISE for _ in range(PER_HOUR))
            if (PER_HOUR - bad_rows) / PER_HOUR < SLO:
                naive.add(name)
            for index in range(PER_HOUR):
                moment = start + timedelta(hours=hour, seconds=index * 3600 / PER_HOUR * 0.9)
                properties: dict[str, Any] = {"id": f"{name}-{hour}-{index}"}
                if index >= bad_rows:
                    properties["n"] = index
                rows.append(
                    EventRow(
                        str(uuid.uuid4()),
                        name,
                        f"user-{index % 37}",
                        json.dumps(properties),
                        moment,
                    )
                )
    return rows, naive


def _loaded(stack: ExitStack) -> tuple[Any, set[str]]:
    sandbox = stack.enter_context(run_sandbox(rate_limiting=False))
    store = sandbox.sandbox.store
    clock = store.clock
    store.clock = _EarlierClock(timedelta(hours=HOURS + 6))
    try:
        with counted_client(sandbox.url, [0]) as client:
            plan = parse_plan(_plan_text())
            assert apply(client, compute_plan(client, plan, create_events=True)).ok
    finally:
        store.clock = clock
    rows, naive = _day(datetime.now(UTC), random.Random(19))
    sandbox.sandbox.events.insert_many(PROJECT, rows)
    return sandbox, naive


def run() -> list[Row]:
    """Recall and false refusals of the soak gate, its queries, and its time."""
    with ExitStack() as stack:
        sandbox, naive = _loaded(stack)
        counter = [0]
        options = soak_options(slo=SLO, soak=f"{HOURS}h", min_events=50)
        with counted_client(sandbox.url, counter) as client:
            verdict = check_soak(client, _names(), options)
            queries = counter[0]
            gate = gate_options(events=_names(), threshold=SLO, window=f"{HOURS}h")
            times: dict[str, list[float]] = {"soak": [], "gate": []}
            for _ in range(ROUNDS):
                started = time.perf_counter()
                check_soak(client, _names(), options)
                times["soak"].append(time.perf_counter() - started)
                started = time.perf_counter()
                check_conformance(client, gate)
                times["gate"].append(time.perf_counter() - started)
    refused = {item.event for item in verdict.events if item.status is SoakStatus.BELOW_SLO}
    found = refused & set(REGRESSIONS)
    clean = set(_names()) - set(REGRESSIONS)
    false = refused & clean
    naive_false = naive & clean
    soak, gate_time = (statistics.median(times[key]) for key in ("soak", "gate"))
    bound = math.ceil(EVENT_COUNT / EVENTS_PER_QUERY) + 1
    shares = ", ".join(f"{share:.0%}" for share in REGRESSIONS.values())
    return [
        {
            "metric": "soak gate recall: events with a one-hour regression refused",
            "bound_or_anchor": 1.0,
            "ours": round(len(found) / len(REGRESSIONS), 3),
            "ratio": round(len(found) / len(REGRESSIONS), 3),
            "notes": f"higher is better; {len(found)} of {len(REGRESSIONS)} (one bad hour of "
            f"{shares}); SLO 99 %, 24h, {PER_HOUR} events an hour per event",
        },
        {
            "metric": f"soak gate false refusals among {len(clean)} events without a regression",
            "bound_or_anchor": len(naive_false),
            "ours": len(false),
            "ratio": round(len(false) / len(naive_false), 3) if naive_false else 0.0,
            "notes": "anchor: the naive rule (every hour >= the SLO) on the same events, "
            f"{NOISE:.1%} noise and a 1 % one-hour blip; refused by it: "
            f"{', '.join(sorted(naive_false)) or 'none'}; by ours: "
            f"{', '.join(sorted(false)) or 'none'}",
        },
        {
            "metric": f"HogQL queries vs the bound, soak check of {EVENT_COUNT} events",
            "bound_or_anchor": bound,
            "ours": queries,
            "ratio": round(queries / bound, 3),
            "notes": f"bound ⌈{EVENT_COUNT} / {EVENTS_PER_QUERY}⌉ + 1: conformance by bucket, and "
            "reject's drops from system.ingestion_warnings; counted at the HTTP layer",
        },
        {
            "metric": f"seconds, soak check of {EVENT_COUNT} events over "
            f"{EVENT_COUNT * PER_HOUR * HOURS:,} events ({HOURS} buckets)",
            "bound_or_anchor": round(gate_time, 3),
            "ours": round(soak, 3),
            "ratio": round(soak / gate_time, 2),
            "notes": "anchor: the conformance gate over the same day (one window); loopback "
            f"sandbox, medians of {ROUNDS} interleaved rounds",
        },
    ]


if __name__ == "__main__":
    from bench import print_rows

    print_rows(run())
