"""Benchmark of the conformance audit: batched HogQL against one query per event and property.

A project with 500 bound events (8 typed properties each, from 3 shared groups, some with
value rules) holds 1,000,000 stored events (80 % on bound events, 20 % on unbound ones, about
3 % of the values broken). For 10, 100 and 500 bound events it compares, side by side:

* ours: ``run_audit`` of the ``conformance`` kind, which sends 2 HogQL queries (the batched
  conformance query and the property-key breakdown), counted at the HTTP layer;
* the anchor: the straightforward way, one HogQL query per (event, property) pair with the
  same checks (count, missing, accepted type), as PostHog's own coverage chart and the HogQL
  recipes do it. Its query count is the number of pairs; its time is the median time of one
  such query (measured on a sample of pairs spread over the events) times the number of pairs.

Rounds are interleaved (ours, anchor sample, ours on the small store) and medians compared.
It also measures how the time of our audit grows from 100,000 to 1,000,000 stored events, with
two sandboxes side by side in one process.

Events are loaded straight into each sandbox's event store (as fast as ClickHouse takes them);
bindings go through the public API. ``EVENTSCHEMA_BENCH_AUDIT_EVENTS`` sets the larger store's
size (default 1,000,000; the smaller one holds a tenth), e.g. 20000 for a quick smoke run.

Run alone with ``python -m bench.bench_audit``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import print_rows
from eventschema_tools import EventSchemaClient
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.sandbox.events.store import EventRow
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import TrackingPlan

Row = dict[str, Any]

PROJECT = 1
BOUND_EVENTS = (10, 100, 500)
UNBOUND_EVENTS = 100
ROUNDS = 3
ANCHOR_SAMPLE = 40  # pairs timed per round for the one-query-per-pair anchor
HOURLY_QUERY_BUDGET = 120
SCALE_VARIABLE = "EVENTSCHEMA_BENCH_AUDIT_EVENTS"

GROUPS: dict[str, dict[str, Any]] = {
    "context": {
        "workspace_id": {"type": "String", "required": True},
        "seats": {"type": "Numeric", "rules": {"min": 0}},
        "plan": {"type": "String", "required": True, "rules": {"enum": ["free", "team", "pro"]}},
    },
    "timing": {
        "started_at": {"type": "DateTime"},
        "duration_ms": {"type": "Numeric", "required": True, "rules": {"min": 0}},
    },
    "payload": {
        "details": {"type": "Object"},
        "source": {"type": "String", "required": True},
        "beta": {"type": "Boolean"},
    },
}
GOOD: dict[str, list[Any]] = {
    "workspace_id": ["ws_1", "ws_2", "ws_3"],
    "seats": [1, 5, "12", 40],
    "plan": ["free", "team", "pro"],
    "started_at": ["2026-05-01T10:00:00Z", 1777000000],
    "duration_ms": [120, 3400, "88"],
    "details": [{"k": 1}, [1, 2]],
    "source": ["web", "api"],
    "beta": [True, False, "true"],
}
BAD: dict[str, list[Any]] = {
    "workspace_id": [None],
    "seats": ["many", -1],
    "plan": ["gold", None],
    "started_at": ["soon"],
    "duration_ms": ["1.2s", -5],
    "details": ["{}"],
    "source": [None],
    "beta": ["yes"],
}
NUMBERS = "('Int64', 'UInt64', 'Double')"
ACCEPTED = {
    "String": "jt != 'Null'",
    "Numeric": f"jt IN {NUMBERS} OR jt = 'String' AND toFloat64OrNull(JSONExtractString("
    "properties, {property})) IS NOT NULL",
    "Boolean": "jt = 'Bool' OR jt = 'String' AND JSONExtractString(properties, {property}) "
    "IN ('true', 'false')",
    "DateTime": f"jt IN {NUMBERS} OR jt = 'String' AND parseDateTime64BestEffortOrNull("
    "JSONExtractString(properties, {property})) IS NOT NULL",
    "Object": "jt IN ('Object', 'Array')",
}


def _event_name(index: int) -> str:
    return f"bench_event_{index:03d}"


def _plan(bound: int) -> TrackingPlan:
    return TrackingPlan.model_validate(
        {
            "version": 1,
            "plan_id": "bench",
            "property_groups": {name: {"properties": props} for name, props in GROUPS.items()},
            "events": {_event_name(index): {"groups": list(GROUPS)} for index in range(bound)},
        }
    )


def _property_pool(rng: random.Random, size: int = 400) -> list[str]:
    """Prebuilt property objects (JSON text), about 3 % of the values broken."""
    pool = []
    for _ in range(size):
        props: dict[str, Any] = {"$lib": "posthog-python"}
        for name, values in GOOD.items():
            value = rng.choice(BAD[name]) if rng.random() < 0.03 else rng.choice(values)
            if value is not None:
                props[name] = value
        if rng.random() < 0.05:
            props["debug"] = True
        pool.append(json.dumps(props))
    return pool


def _rows(count: int, seed: int) -> Iterator[EventRow]:
    rng = random.Random(seed)
    pool = _property_pool(rng)
    bound = max(BOUND_EVENTS)
    now = datetime.now(UTC)
    for _ in range(count):
        if rng.random() < 0.8:
            name = _event_name(rng.randrange(bound))
        else:
            name = f"unplanned_{rng.randrange(UNBOUND_EVENTS):03d}"
        yield EventRow(
            uuid=str(uuid.uuid4()),
            event=name,
            distinct_id=f"user_{rng.randrange(5000)}",
            properties=rng.choice(pool),
            timestamp=now - timedelta(seconds=rng.randrange(23 * 3600)),
        )


def _client(url: str, counter: list[int]) -> EventSchemaClient:
    def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/query/"):
            counter[0] += 1

    http = httpx.Client(timeout=600, event_hooks={"request": [count]})
    return EventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=PROJECT,
        host=url,
        http_client=http,
        rate_limit="off",
        query_rate_limit="off",
    )


def _load(stack: ExitStack, events: int, seed: int) -> RunningSandbox:
    sandbox = stack.enter_context(run_sandbox(rate_limiting=False))
    started = time.monotonic()
    sandbox.sandbox.events.insert_many(PROJECT, _rows(events, seed))
    with _client(sandbox.url, [0]) as client:
        apply(client, compute_plan(client, _plan(max(BOUND_EVENTS)), create_events=True))
    print(f"   loaded {events:,} events in {time.monotonic() - started:.1f}s", flush=True)
    return sandbox


def _ours(url: str, bound: int) -> tuple[float, int]:
    counter = [0]
    with _client(url, counter) as client:
        started = time.perf_counter()
        report = run_audit(client, audit_options(plan=_plan(bound), kinds="conformance"))
        took = time.perf_counter() - started
    assert len(report.events) == bound
    return took, counter[0]


def _pairs(bound: int) -> list[tuple[str, str, str]]:
    props = [(name, spec["type"]) for group in GROUPS.values() for name, spec in group.items()]
    return [(_event_name(index), name, kind) for index in range(bound) for name, kind in props]


def _anchor_query(kind: str) -> str:
    accepted = ACCEPTED[kind]
    return (
        "SELECT count() AS total, countIf((JSONType(properties, {property}) AS jt) = 'Null')"
        f" AS missing, countIf({accepted}) AS accepted FROM events WHERE event = {{event}}"
        " AND timestamp >= now() - toIntervalSecond({window_seconds})"
    )


def _anchor_sample(url: str, pairs: list[tuple[str, str, str]], rng: random.Random) -> float:
    """Median seconds of one per-pair query, over a sample spread across the pairs."""
    sample = pairs if len(pairs) <= ANCHOR_SAMPLE else rng.sample(pairs, ANCHOR_SAMPLE)
    times = []
    with _client(url, [0]) as client:
        for event, prop, kind in sample:
            started = time.perf_counter()
            client.query.hogql(
                _anchor_query(kind),
                values={"event": event, "property": prop, "window_seconds": 86400},
            )
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> list[Row]:
    """All rows of this benchmark (for ``make bench``)."""
    large = int(os.environ.get(SCALE_VARIABLE, "1000000"))
    small = max(large // 10, 1)
    rng = random.Random(11)
    rows: list[Row] = []
    with ExitStack() as stack:
        big = _load(stack, large, seed=1)
        little = _load(stack, small, seed=2)
        ours: dict[tuple[str, int], list[float]] = {}
        queries: dict[int, int] = {}
        per_pair: dict[int, list[float]] = {}
        for _ in range(ROUNDS):
            for bound in BOUND_EVENTS:
                took, sent = _ours(big.url, bound)
                ours.setdefault(("large", bound), []).append(took)
                queries[bound] = sent
                per_pair.setdefault(bound, []).append(_anchor_sample(big.url, _pairs(bound), rng))
                took_small, _ = _ours(little.url, bound)
                ours.setdefault(("small", bound), []).append(took_small)
    for bound in BOUND_EVENTS:
        pairs = len(_pairs(bound))
        ours_time = statistics.median(ours[("large", bound)])
        anchor_time = statistics.median(per_pair[bound]) * pairs
        rows.append(
            {
                "metric": f"HogQL queries, conformance audit of {bound} bound events",
                "bound_or_anchor": pairs,
                "ours": queries[bound],
                "ratio": round(queries[bound] / pairs, 4),
                "notes": f"anchor: one query per event and property ({bound} x 8); ours counted "
                "at the HTTP layer",
            }
        )
        rows.append(
            {
                "metric": f"seconds, conformance audit of {bound} bound events, {large:,} stored",
                "bound_or_anchor": round(anchor_time, 2),
                "ours": round(ours_time, 2),
                "ratio": round(ours_time / anchor_time, 3),
                "notes": f"loopback sandbox, medians of {ROUNDS} interleaved rounds; anchor = "
                f"median of one per-pair query (sample of {min(pairs, ANCHOR_SAMPLE)}) x {pairs}",
            }
        )
    worst = max(BOUND_EVENTS)
    pairs = len(_pairs(worst))
    rows.append(
        {
            "metric": f"hours of the {HOURLY_QUERY_BUDGET}/hour HogQL budget, {worst} bound events",
            "bound_or_anchor": round(pairs / HOURLY_QUERY_BUDGET, 2),
            "ours": round(queries[worst] / HOURLY_QUERY_BUDGET, 3),
            "ratio": round(queries[worst] / pairs, 4),
            "notes": "PostHog allows a personal API key about 120 HogQL queries an hour",
        }
    )
    for bound in BOUND_EVENTS:
        grown = statistics.median(ours[("large", bound)])
        base = statistics.median(ours[("small", bound)])
        rows.append(
            {
                "metric": f"time growth of our audit, {small:,} → {large:,} stored, {bound} bound",
                "bound_or_anchor": round(base, 2),
                "ours": round(grown, 2),
                "ratio": round(grown / base, 2),
                "notes": f"seconds at {small:,} (anchor) and {large:,} (ours) stored events; "
                f"{large // small}x the events",
            }
        )
    return rows


def main() -> None:
    print_rows(run())


if __name__ == "__main__":
    main()
