"""Benchmark of the privacy audit: what it finds on the demo day, and what it costs.

* **Precision and recall** on the demo day (``--seed demo``), against the personal data the day
  carries (``simulated_day.PLANTED_PII``: an email in free text, a phone number, a Luhn-valid
  card number; a Luhn-invalid card-like number and every other property are clean).
* **Queries** for 450 event names (bench_infer's synthetic events, with their definitions)
  against the bound ⌈450 / 200⌉.
* **Time** of that audit against one plain scan of the same events (``count()`` over the
  window), rounds interleaved, medians.

Run alone with ``python -m bench.bench_privacy``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import ExitStack
from typing import Any

from bench.bench_infer import counted_client, event_name, load_sandbox
from eventschema_tools.audit.privacy import EVENTS_PER_QUERY
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import run_sandbox
from eventschema_tools.sandbox.storage.simulated_day import PLANTED_PII

Row = dict[str, Any]

NAMES = 450
EVENTS = 50_000
ROUNDS = 3


def _quality() -> list[Row]:
    with run_sandbox(seed="demo", rate_limiting=False) as sandbox:
        counter = [0]
        with counted_client(sandbox.url, counter) as client:
            report = run_audit(client, audit_options(kinds="privacy"))
    found = {(f.event or "", f.property or "", f.code) for f in report.findings}
    right = found & PLANTED_PII
    precision = len(right) / len(found) if found else 0.0
    recall = len(right) / len(PLANTED_PII)
    missed = ", ".join(sorted(f"{e}.{p} {c}" for e, p, c in PLANTED_PII - found)) or "none"
    wrong = ", ".join(sorted(f"{e}.{p} {c}" for e, p, c in found - PLANTED_PII)) or "none"
    return [
        {
            "metric": "precision of the privacy audit on the demo day",
            "bound_or_anchor": 1.0,
            "ours": round(precision, 3),
            "ratio": round(precision, 3),
            "notes": f"higher is better; {len(right)} of {len(found)} findings planted; "
            f"false: {wrong}; values masked in every finding",
        },
        {
            "metric": "recall of the privacy audit on the demo day",
            "bound_or_anchor": 1.0,
            "ours": round(recall, 3),
            "ratio": round(recall, 3),
            "notes": f"higher is better; {len(right)} of {len(PLANTED_PII)} planted cases "
            f"(email in free text, phone, Luhn-valid card; a Luhn-invalid one is clean); "
            f"missed: {missed}",
        },
    ]


def _cost() -> list[Row]:
    with ExitStack() as stack:
        sandbox = load_sandbox(stack, EVENTS, NAMES, seed=11)
        counter = [0]
        with counted_client(sandbox.url, counter) as client:
            for index in range(NAMES):
                client.event_definitions.create(name=event_name(index))
            counter[0] = 0
            run_audit(client, audit_options(kinds="privacy"))
            queries = counter[0]
            times: dict[str, list[float]] = {"audit": [], "scan": []}
            for _ in range(ROUNDS):
                started = time.perf_counter()
                run_audit(client, audit_options(kinds="privacy"))
                times["audit"].append(time.perf_counter() - started)
                started = time.perf_counter()
                client.query.hogql(
                    "SELECT count() FROM events WHERE timestamp >= now() - INTERVAL 1 DAY"
                )
                times["scan"].append(time.perf_counter() - started)
    audit, scan = (statistics.median(times[key]) for key in ("audit", "scan"))
    bound = math.ceil(NAMES / EVENTS_PER_QUERY)
    return [
        {
            "metric": f"HogQL queries vs the bound, privacy audit of {NAMES} event names",
            "bound_or_anchor": bound,
            "ours": queries,
            "ratio": round(queries / bound, 3),
            "notes": f"bound ⌈{NAMES} / {EVENTS_PER_QUERY}⌉: one query per 200 event names; "
            "counted at the HTTP layer",
        },
        {
            "metric": f"seconds, privacy audit of {EVENTS:,} events over {NAMES} names",
            "bound_or_anchor": round(scan, 3),
            "ours": round(audit, 3),
            "ratio": round(audit / scan, 1),
            "notes": "anchor: one plain scan of the same day (count()); every property of every "
            f"event read once, 6 detectors each; loopback sandbox, medians of {ROUNDS} "
            "interleaved rounds",
        },
    ]


def run() -> list[Row]:
    """Precision and recall on the demo day, then queries and time at 450 event names."""
    return [*_quality(), *_cost()]


if __name__ == "__main__":
    from bench import print_rows

    print_rows(run())
