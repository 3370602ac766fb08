"""Benchmark of the conformance audit: its batched HogQL against hand-written ClickHouse.

A project with 500 bound events (8 typed properties each, from 3 shared groups, some with
value rules) holds 1,000,000 stored events (80 % on bound events, 20 % on unbound ones, about
3 % of the values broken), then 5,000,000 and 10,000,000 (the same rows copied with new UUIDs,
inside the engine). Rows:

* HogQL queries of a conformance audit of 10, 100 and 500 bound events, counted at the HTTP
  layer, against the straightforward way (one query per event and property);
* at each size, seconds of the audit's conformance query for 500 bound events (sent over HTTP
  to the sandbox as the audit sends it: parse, translation, ClickHouse, the JSON answer) against
  a hand-written ClickHouse query run on the sandbox's own chDB session that computes the same
  columns (the counts, release maps, offending values and examples) for this plan with literal
  names, reading each row's properties once; every round asserts that both give exactly the
  same counts. Rounds are interleaved and medians compared; our query's parse is cached (its
  cost is the next row);
* the HogQL parse of that query: a second parse of the same text (the sandbox's parse cache)
  against the first;
* one whole conformance audit (``run_audit``, both of its queries, parse not cached) at the
  largest size, against the hand-written query.

Events are loaded straight into the sandbox's event store; bindings go through the public API.
``EVENTSCHEMA_BENCH_AUDIT_EVENTS`` sets the sizes (default ``1000000,5000000,10000000``), e.g.
``20000,100000`` for a quick smoke run.

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
from datetime import UTC, datetime, timedelta
from typing import Any

import chdb
import httpx

from bench import print_rows
from eventschema_tools import EventSchemaClient
from eventschema_tools.audit.evidence import MAX_EXAMPLES, MAX_VALUES, RELEASE_PROPERTIES
from eventschema_tools.audit.expectations import EventExpectation, expectations, state_from_plan
from eventschema_tools.audit.queries import (
    NUMBER_LITERAL,
    HogQLQuery,
    conformance_queries,
    decode_conformance,
)
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.sandbox.events.hogql import parse_hogql
from eventschema_tools.sandbox.events.parser_worker import clear_parse_cache
from eventschema_tools.sandbox.events.query import QUERY_SETTINGS
from eventschema_tools.sandbox.events.store import EventRow
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import TrackingPlan

Row = dict[str, Any]

PROJECT = 1
BOUND_EVENTS = (10, 100, 500)
UNBOUND_EVENTS = 100
ROUNDS = 3
HOURLY_QUERY_BUDGET = 120
WINDOW_SECONDS = 86400  # the audit's default window
SEED_ROWS = 1_000_000
SCALE_VARIABLE = "EVENTSCHEMA_BENCH_AUDIT_EVENTS"
DEFAULT_SIZES = "1000000,5000000,10000000"

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
    "String": "{jt} != 'Null'",
    "Numeric": f"{{jt}} IN {NUMBERS} OR {{jt}} = 'String' AND match({{text}}, {NUMBER_LITERAL})",
    "Boolean": "{jt} = 'Bool' OR {jt} = 'String' AND {text} IN ('true', 'false')",
    "DateTime": f"{{jt}} IN {NUMBERS} OR {{jt}} = 'String'"
    " AND parseDateTime64BestEffortOrNull({text}) IS NOT NULL",
    "Object": "{jt} IN ('Object', 'Array')",
}
"""What each type accepts, as the audit reads PostHog's coercion rules."""


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


def _grow(sandbox: RunningSandbox, events: int) -> None:
    """Bring the store to ``events`` rows: the first million from Python, the rest copied
    inside the engine (new UUIDs), which is two orders of magnitude faster."""
    store = sandbox.sandbox.events
    have = store.count_events(PROJECT)
    started = time.monotonic()
    if have == 0:
        have = store.insert_many(PROJECT, _rows(min(events, SEED_ROWS), seed=1))
    connection = chdb.connect(":memory:")  # the in-memory engine every store of this process shares
    try:
        while have < events:
            copy = min(have, events - have)
            connection.query(
                f"INSERT INTO {store.events_table} SELECT generateUUIDv4(), event, distinct_id,"
                f" properties, timestamp, team_id FROM {store.events_table}"
                f" WHERE team_id = {PROJECT} LIMIT {copy}"
            )
            have += copy
    finally:
        connection.close()
    print(f"   {store.count_events(PROJECT):,} events stored ({time.monotonic() - started:.1f}s)")


def _audit_queries(url: str, bound: int) -> int:
    counter = [0]
    with _client(url, counter) as client:
        report = run_audit(client, audit_options(plan=_plan(bound), kinds="conformance"))
    assert len(report.events) == bound
    return counter[0]


def _slots() -> list[tuple[str, dict[str, Any]]]:
    return sorted((name, spec) for group in GROUPS.values() for name, spec in group.items())


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _anchor_sql(events_table: str, bound: int) -> str:
    """The hand-written ClickHouse query: the audit's columns for this plan, names as literals."""
    inner = [
        "event",
        "JSONExtractKeysAndValuesRaw(properties) AS kv",
        "kv.1 AS keys",
        "kv.2 AS vals",
        "concat("
        + ", '|', ".join(
            f"JSONExtractString(vals[indexOf(keys, '{key}')])" for key in RELEASE_PROPERTIES
        )
        + ") AS release",
        "concat(toString(uuid), '|', toString(toUnixTimestamp(timestamp)), '|', "
        "JSONExtractString(vals[indexOf(keys, '$session_id')]), '|', distinct_id) AS example",
        "timestamp",
    ]
    outer = ["event", "count() AS total"]
    reject, evidence = [], []
    for k, (name, spec) in enumerate(_slots()):
        rules = spec.get("rules", {})
        inner += [
            f"vals[indexOf(keys, {_literal(name)})] AS raw_{k}",
            f"JSONType(raw_{k}) AS jt_{k}",
            f"JSONExtractString(raw_{k}) AS text_{k}",
            f"({ACCEPTED[spec['type']].format(jt=f'jt_{k}', text=f'text_{k}')}) AS ok_{k}",
        ]
        broken = []
        if "enum" in rules:
            allowed = ", ".join(_literal(value) for value in rules["enum"])
            broken.append(
                f"jt_{k} = 'String' AND text_{k} NOT IN ({allowed})"
                f" OR jt_{k} NOT IN ('String', 'Null') AND raw_{k} NOT IN ({allowed})"
            )
        if "min" in rules:
            broken.append(
                f"jt_{k} IN {NUMBERS} AND JSONExtractFloat(raw_{k}) < {rules['min']}"
                f" OR jt_{k} = 'String' AND toFloat64OrNull(text_{k}) < {rules['min']}"
            )
        outer += [f"countIf(jt_{k} = 'Null') AS missing_{k}", f"countIf(ok_{k}) AS accepted_{k}"]
        bad = [f"jt_{k} != 'Null' AND NOT ok_{k}"]
        if spec.get("required"):
            bad.insert(0, f"jt_{k} = 'Null'")
            reject.append(f"NOT ok_{k}")
        if broken:
            inner.append(f"({' OR '.join(broken)}) AS rb_{k}")
            outer.append(f"countIf(rb_{k}) AS rule_violations_{k}")
            bad.append(f"rb_{k}")
        inner.append(f"({' OR '.join(bad)}) AS bad_{k}")
        evidence += [
            f"sumMapIf([release], [1], bad_{k}) AS release_violations_{k}",
            f"groupUniqArrayIf({MAX_VALUES})(raw_{k}, bad_{k} AND jt_{k} != 'Null') AS values_{k}",
            f"groupArrayIf({MAX_EXAMPLES})(example, bad_{k}) AS examples_{k}",
        ]
    expected = ", ".join(_literal(name) for name, _ in _slots())
    outer += [
        f"countIf({' OR '.join(reject)}) AS would_reject",
        "countIf(arrayExists(x -> x = '' OR NOT startsWith(x, '$') AND x NOT IN "
        f"({expected}), keys)) AS unexpected",
        "sumMap([release], [1]) AS release_events",
        "minMap([release], [toUnixTimestamp(timestamp)]) AS release_first_seen",
        *evidence,
    ]
    names = ", ".join(_literal(_event_name(index)) for index in range(bound))
    return (
        "SELECT " + ",\n  ".join(outer) + "\nFROM (SELECT " + ",\n    ".join(inner) + "\n"
        f"  FROM {events_table} WHERE team_id = {PROJECT} AND event IN ({names})"
        f" AND timestamp >= now() - toIntervalSecond({WINDOW_SECONDS}))\n"
        "GROUP BY event ORDER BY event"
    )


Counts = dict[str, tuple[int, ...]]


def _anchor(sandbox: RunningSandbox, bound: int) -> tuple[float, Counts]:
    store = sandbox.sandbox.events
    sql = _anchor_sql(store.events_table, bound)
    started = time.perf_counter()
    result = store.select(sql, settings=QUERY_SETTINGS)
    took = time.perf_counter() - started
    counts: Counts = {}
    for row in result.rows:
        cells = dict(zip(result.columns, row, strict=True))
        per_slot = tuple(
            int(cells.get(f"{column}_{k}", 0))
            for k in range(len(_slots()))
            for column in ("missing", "accepted", "rule_violations")
        )
        counts[cells["event"]] = (
            int(cells["total"]),
            int(cells["would_reject"]),
            int(cells["unexpected"]),
            *per_slot,
        )
    return took, counts


def _ours(url: str, query: HogQLQuery, chunk: list[EventExpectation]) -> tuple[float, Counts]:
    with _client(url, [0]) as client:
        started = time.perf_counter()
        result = client.query.hogql(query.query, values=query.values)
        took = time.perf_counter() - started
    counts: Counts = {}
    for item in decode_conformance(result, chunk):
        by_name = {prop.property: prop for prop in item.properties}
        per_slot = tuple(
            value
            for name, _ in _slots()
            for value in (
                by_name[name].missing,
                by_name[name].present - by_name[name].wrong_type,
                by_name[name].rule_violations,
            )
        )
        if item.events:
            counts[item.event] = (item.events, item.would_reject, item.with_unexpected_properties)
            counts[item.event] += per_slot
    return took, counts


def _conformance_query(bound: int) -> tuple[HogQLQuery, list[EventExpectation]]:
    expected = expectations(state_from_plan(_plan(bound)))
    batches = conformance_queries(expected, WINDOW_SECONDS)
    assert len(batches) == 1
    return batches[0]


def _parse_seconds(text: str, *, cached: bool) -> float:
    if not cached:
        clear_parse_cache()
    started = time.perf_counter()
    parse_hogql(text)
    return time.perf_counter() - started


def _sizes() -> list[int]:
    return [int(size) for size in os.environ.get(SCALE_VARIABLE, DEFAULT_SIZES).split(",")]


def run() -> list[Row]:
    """All rows of this benchmark (for ``make bench``)."""
    rows: list[Row] = []
    sizes = _sizes()
    query, chunk = _conformance_query(max(BOUND_EVENTS))
    with run_sandbox(rate_limiting=False) as sandbox:
        _grow(sandbox, sizes[0])
        with _client(sandbox.url, [0]) as client:
            apply(client, compute_plan(client, _plan(max(BOUND_EVENTS)), create_events=True))
        for bound in BOUND_EVENTS:
            sent = _audit_queries(sandbox.url, bound)
            pairs = bound * len(_slots())
            rows.append(
                {
                    "metric": f"HogQL queries, conformance audit of {bound} bound events",
                    "bound_or_anchor": pairs,
                    "ours": sent,
                    "ratio": round(sent / pairs, 4),
                    "notes": f"anchor: one query per event and property ({bound} x 8); ours "
                    "counted at the HTTP layer",
                }
            )
        rows.append(
            {
                "metric": f"hours of the {HOURLY_QUERY_BUDGET}/hour HogQL budget, "
                f"{max(BOUND_EVENTS)} bound events",
                "bound_or_anchor": round(pairs / HOURLY_QUERY_BUDGET, 2),
                "ours": round(sent / HOURLY_QUERY_BUDGET, 3),
                "ratio": round(sent / pairs, 4),
                "notes": "PostHog allows a personal API key about 120 HogQL queries an hour",
            }
        )

        cold, warm = [], []
        for _ in range(ROUNDS):
            cold.append(_parse_seconds(query.query, cached=False))
            warm.append(_parse_seconds(query.query, cached=True))
        rows.append(
            {
                "metric": f"seconds, HogQL parse of the conformance query of "
                f"{max(BOUND_EVENTS)} bound events, cached",
                "bound_or_anchor": round(statistics.median(cold), 3),
                "ours": round(statistics.median(warm), 5),
                "ratio": round(statistics.median(warm) / statistics.median(cold), 5),
                "notes": f"anchor: the same text parsed by the parser worker ({len(query.query):,}"
                f" chars); ours: the sandbox's parse cache; medians of {ROUNDS} interleaved rounds",
            }
        )

        for size in sizes:
            _grow(sandbox, size)
            ours_times, anchor_times = [], []
            for _ in range(ROUNDS):
                took, ours = _ours(sandbox.url, query, chunk)
                ours_times.append(took)
                took, anchor = _anchor(sandbox, max(BOUND_EVENTS))
                anchor_times.append(took)
                assert ours == anchor, "the conformance query and the anchor disagree"
            mine, theirs = statistics.median(ours_times), statistics.median(anchor_times)
            rows.append(
                {
                    "metric": f"seconds, conformance audit of {max(BOUND_EVENTS)} bound events, "
                    f"{size:,} stored vs hand-written ClickHouse query",
                    "bound_or_anchor": round(theirs, 2),
                    "ours": round(mine, 2),
                    "ratio": round(mine / theirs, 3),
                    "notes": "ours: the audit's conformance query over HTTP (parse cached, "
                    "translation, ClickHouse, JSON); anchor: hand-written SQL with the same "
                    "columns on the same chDB session, same counts asserted; medians of "
                    f"{ROUNDS} interleaved rounds",
                }
            )

        clear_parse_cache()
        started = time.perf_counter()
        sent = _audit_queries(sandbox.url, max(BOUND_EVENTS))
        whole = time.perf_counter() - started
        rows.append(
            {
                "metric": f"seconds, whole conformance audit of {max(BOUND_EVENTS)} bound events, "
                f"{sizes[-1]:,} stored",
                "bound_or_anchor": round(theirs, 2),
                "ours": round(whole, 2),
                "ratio": round(whole / theirs, 3),
                "notes": f"ours: run_audit, {sent} queries (conformance and key breakdown), "
                "parse not cached, within the 60 s query limit; anchor: the hand-written query",
            }
        )
    return rows


def main() -> None:
    print_rows(run())


if __name__ == "__main__":
    main()
