"""Benchmarks of the tracking plan: requests per plan + apply, and write throughput.

(a) Requests: plan + apply of 500 new bindings on a project with 2,000 event definitions,
    50 property groups and 3,000 existing bindings (the desired plan is the whole project plus
    the 500 bindings). Ours is counted at the HTTP layer and set against

    * the lower bound: the 500 writes plus ⌈N / page size⌉ for each list a reader needs
      (groups, event definitions, event schemas), and
    * a per-item approach on an identical project: per pair, one exact-name search for the
      event, one filtered list to check for an existing binding, one create.

    Measured for page size 1000 (the client's default) and 100 (PostHog's default).
(b) Throughput (slow: about two minutes): the sandbox over loopback with 50 ms latency and
    PostHog's default limits (480/minute and 4,800/hour per key) enforced; ``eventschema bind``'s
    code path (``bulk.bind`` with the sync client's pacing) binds enough events to span two
    minute windows. Reported: requests per second achieved as a share of the permitted 8/s, and
    the 429 answers the sandbox sent. Parameterised (writes, latency, limits); switch it off
    with ``EVENTSCHEMA_BENCH_THROUGHPUT=0``.

(c) Loading a large plan: a legitimate ~9.6 MB plan (2,000 groups of 12 properties, 37,000
    events with four groups each, no YAML aliases), read by ``load_plan`` with every check
    (bounded read, refused tags, repeated and over-long keys, alias expansion, validation),
    against the bare minimum on the same text: libyaml's parser and the plan model's validation,
    without the checks. The same plan as JSON, trimmed to fit the 10 MiB cap, against
    ``json.loads`` and the model.

Run alone with ``python -m bench.bench_plan [--no-throughput] [--writes N] [--latency S]``;
``make bench`` collects ``run()``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml

from bench import print_rows
from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.sandbox import (
    DEMO_API_KEY,
    FaultConfig,
    SandboxApp,
    create_app,
    parse_rate_limits,
    run_sandbox,
)
from eventschema_tools.sandbox.storage.store import NewProperty
from eventschema_tools.tracking_plan import apply_async, compute_plan_async
from eventschema_tools.tracking_plan.bulk import bind, pairs_for_group
from eventschema_tools.tracking_plan.file import TrackingPlan, load_plan

Row = dict[str, Any]

PROJECT = 1
EVENTS = 2000
GROUPS = 50
EXISTING_BINDINGS = 3000
NEW_BINDINGS = 500
BASE_URL = "http://bench.sandbox"
GROUP_DESCRIPTION = "Properties shared by a family of events"

DEFAULT_LIMITS = "480/minute,4800/hour"
THROUGHPUT_LATENCY = 0.05


# --- the project --------------------------------------------------------------------------


def _event(index: int) -> str:
    return f"event_{index:04d}"


def _group(index: int) -> str:
    return f"group_{index:02d}"


def _existing_pairs() -> list[tuple[str, str]]:
    """3,000 bindings: the first 1,500 events, each bound to two groups."""
    half = GROUPS // 2
    return [
        (_event(e), _group(g))
        for e in range(EXISTING_BINDINGS // 2)
        for g in (e % GROUPS, (e + half) % GROUPS)
    ]


def _new_pairs() -> list[tuple[str, str]]:
    """500 bindings the project lacks: the last 500 events, each to one group."""
    return [(_event(e), _group(e % GROUPS)) for e in range(EVENTS - NEW_BINDINGS, EVENTS)]


def _plan(pairs: list[tuple[str, str]]) -> TrackingPlan:
    groups: dict[str, list[str]] = {}
    for event, group in pairs:
        groups.setdefault(event, []).append(group)
    return TrackingPlan.model_validate(
        {
            "version": 1,
            "property_groups": {
                _group(g): {
                    "description": GROUP_DESCRIPTION,
                    "properties": {
                        f"property_{p}": {"type": "String", "required": p % 2 == 0}
                        for p in range(5)
                    },
                }
                for g in range(GROUPS)
            },
            "events": {_event(e): {"groups": groups.get(_event(e), [])} for e in range(EVENTS)},
        }
    )


def _seed(app: SandboxApp, pairs: list[tuple[str, str]]) -> None:
    """Load the project straight into the sandbox's store (setup, not measured)."""
    store = app.sandbox.store
    events = {
        _event(e): store.create_event_definition(PROJECT, _event(e), {}).id for e in range(EVENTS)
    }
    properties = [
        NewProperty(name=f"property_{p}", property_type="String", is_required=p % 2 == 0)
        for p in range(5)
    ]
    groups = {
        _group(g): store.create_property_group(
            PROJECT, _group(g), GROUP_DESCRIPTION, properties, None
        ).id
        for g in range(GROUPS)
    }
    for event, group in pairs:
        store.create_event_schema(PROJECT, events[event], groups[group])


@asynccontextmanager
async def _counted(
    app: SandboxApp, page_size: int | None = None
) -> AsyncIterator[tuple[AsyncEventSchemaClient, list[str]]]:
    """A client on ``app`` (reading ``page_size`` rows per list request) that records the method
    of every request it sends."""
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(request.method)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, event_hooks={"request": [count]}
    ) as http:
        yield (
            AsyncEventSchemaClient(
                api_key=DEMO_API_KEY,
                project_id=PROJECT,
                host=BASE_URL,
                rate_limit="off",
                page_size=page_size,
                http_client=http,
            ),
            sent,
        )


# --- (a) requests -------------------------------------------------------------------------


async def _ours(app: SandboxApp, page_size: int) -> tuple[int, int]:
    """Requests (total, writes) of plan + apply of the whole project plus 500 bindings."""
    desired = _plan(_existing_pairs() + _new_pairs())
    async with _counted(app, page_size) as (client, sent):
        plan = await compute_plan_async(client, desired)
        report = await apply_async(client, plan, concurrency=16)
    assert report.ok, report.summary()
    assert len(plan.changes) == NEW_BINDINGS, plan.summary()
    return len(sent), sum(1 for method in sent if method != "GET")


async def _per_item(app: SandboxApp) -> int:
    """Requests of the per-item approach: search, check, create for every pair."""
    async with _counted(app) as (client, sent):
        groups = {group.name: group.id async for group in client.property_groups.list()}
        for event_name, group_name in _new_pairs():
            rows = client.event_definitions.list(search=event_name, max_rows=100)
            event = next(e for e in [e async for e in rows] if e.name == event_name)
            existing = await client.event_schemas.find(
                event_definition=event.id, property_group_id=groups[group_name]
            )
            if existing is None:
                await client.event_schemas.create(
                    event_definition=event.id, property_group_id=groups[group_name]
                )
    return len(sent)


def _fresh_project() -> SandboxApp:
    app = create_app(rate_limiting=False)
    _seed(app, _existing_pairs())
    return app


def bench_requests() -> list[Row]:
    """Request count of plan + apply against the lower bound and a per-item approach."""
    rows: list[Row] = []
    for page_size in (1000, 100):
        app = _fresh_project()
        total, writes = anyio.run(_ours, app, page_size)
        app.sandbox.close()
        lists = sum(math.ceil(n / page_size) for n in (GROUPS, EVENTS, EXISTING_BINDINGS))
        bound = NEW_BINDINGS + lists
        rows.append(
            {
                "metric": f"requests, plan + apply of 500 new bindings (page size {page_size})",
                "bound_or_anchor": bound,
                "ours": total,
                "ratio": round(total / bound, 3),
                "notes": f"{writes} writes + {total - writes} reads; bound = 500 writes + "
                f"{lists} list pages (groups, events, schemas); the group list carries the "
                "bindings, so the schema list is never read",
            }
        )
    app = _fresh_project()
    per_item = anyio.run(_per_item, app)
    app.sandbox.close()
    ours = rows[0]["ours"]
    rows.append(
        {
            "metric": "requests, same job, per-item approach (search, check, create)",
            "bound_or_anchor": per_item,
            "ours": ours,
            "ratio": round(ours / per_item, 3),
            "notes": "anchor = per-item approach on an identical project; ours at page size 1000",
        }
    )
    return rows


# --- (b) throughput -----------------------------------------------------------------------


def bench_throughput(
    writes: int | None = None,
    latency: float = THROUGHPUT_LATENCY,
    limits: str = DEFAULT_LIMITS,
) -> list[Row]:
    """Write rate reached under the sandbox's enforced limits, as a share of the permitted rate.

    Args:
        writes: bindings to create; default: two full windows of the first limit, less the
            two reads, plus one (so a client at the edge of the limit needs exactly two windows).
        latency: seconds the sandbox adds to every request.
        limits: the per-key limits, enforced by the sandbox and given to the client's pacing.
    """
    windows = parse_rate_limits(limits)
    first = windows[0]
    count = writes if writes is not None else 2 * first.requests - 1
    faults = FaultConfig(latency=latency)
    with run_sandbox(faults=faults, rate_limits=windows) as server:
        store = server.app.sandbox.store
        store.create_property_group(PROJECT, "checkout", "", [], None)
        names = [f"event_{i:05d}" for i in range(count)]
        for name in names:
            store.create_event_definition(PROJECT, name, {})
        stamps: list[float] = []
        hooks = {"request": [lambda _request: stamps.append(time.monotonic())]}
        with (
            httpx.Client(event_hooks=hooks, timeout=30) as http,
            EventSchemaClient(
                api_key=DEMO_API_KEY,
                project_id=PROJECT,
                host=server.url,
                rate_limit=limits,
                http_client=http,
            ) as client,
        ):
            report = bind(client, pairs_for_group("checkout", names), concurrency=16)
        stats = httpx.get(f"{server.url}/_sandbox/stats").json()
    requests = len(stamps)
    elapsed = stamps[-1] - stamps[0]
    permitted = first.requests / first.period_seconds
    # From the first request to the last: a client at the server's edge sends a full window at
    # once, the next one when the first has passed, ... so (requests - 1) / elapsed is the
    # permitted rate for k windows + 1 requests.
    achieved = (requests - 1) / elapsed
    throttled = int(stats["responses"].get("429", 0))
    return [
        {
            "metric": f"write rate at {latency * 1000:.0f} ms latency, limits {limits}",
            "bound_or_anchor": round(permitted, 3),
            "ours": round(achieved, 3),
            "ratio": round(achieved / permitted, 3),
            "notes": f"{requests} requests ({report.count('created')} writes, "
            f"{report.count('failed')} failed) in {elapsed:.1f}s over loopback; "
            f"{throttled} responses were 429; requests/s vs permitted",
        }
    ]


# --- (c) loading a large plan -------------------------------------------------------------

LARGE_GROUPS = 2000
LARGE_PROPERTIES = 12
LARGE_EVENTS = 37_000
LARGE_JSON_EVENTS = 24_000
LOAD_ROUNDS = 3
_TYPES = ("String", "Numeric", "Boolean", "DateTime")


def large_plan_text(
    groups: int = LARGE_GROUPS, properties: int = LARGE_PROPERTIES, events: int = LARGE_EVENTS
) -> str:
    """A legitimate plan as its team would write it (about 9.6 MB with the defaults): described
    groups of typed properties with value rules, and described events bound to four groups
    each, some in ``reject`` mode. No YAML aliases."""
    lines = ["version: 1", "plan_id: large", "property_groups:"]
    for g in range(groups):
        lines += [
            f"  group_{g:05d}:",
            f"    description: Properties shared by the events of feature area number {g}",
            "    properties:",
        ]
        for p in range(properties):
            kind = _TYPES[p % 4]
            rules = ""
            if kind == "String" and p % 8 == 0:
                rules = ", rules: {enum: [free, pro, enterprise, team]}"
            elif kind == "Numeric":
                rules = ", rules: {min: 0, max: 100000}"
            required = "true" if p % 3 == 0 else "false"
            lines.append(
                f"      property_{p:02d}: {{type: {kind}, required: {required}, "
                f"description: What property {p} of group {g} means{rules}}}"
            )
    lines.append("events:")
    for e in range(events):
        bound = ", ".join(f"group_{(e * 7 + k * 13) % groups:05d}" for k in range(4))
        lines += [
            f"  event_{e:06d}:",
            f"    groups: [{bound}]",
            f"    description: Sent when a user does thing number {e} in the product",
            f"    enforcement: {'allow' if e % 5 else 'reject'}",
        ]
    return "\n".join(lines) + "\n"


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _load_row(
    label: str, path: Path, bare: Callable[[str], object], bare_name: str, notes: str
) -> Row:
    """Median seconds of ``load_plan(path)`` against ``bare`` on the same text, interleaved."""
    text = path.read_text(encoding="utf-8")
    ours, anchor = [], []
    for _ in range(LOAD_ROUNDS):
        anchor.append(_timed(lambda: TrackingPlan.model_validate(bare(text))))
        ours.append(_timed(lambda: load_plan(path)))
    ours_s, anchor_s = statistics.median(ours), statistics.median(anchor)
    return {
        "metric": f"seconds to load a {path.stat().st_size / 1e6:.1f} MB {label} plan",
        "bound_or_anchor": round(anchor_s, 2),
        "ours": round(ours_s, 2),
        "ratio": round(ours_s / anchor_s, 3),
        "notes": f"{notes}; anchor = {bare_name} + the plan model's validation, no checks; "
        f"median of {LOAD_ROUNDS} interleaved rounds",
    }


def _bare_yaml(text: str) -> object:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def bench_large_plan() -> list[Row]:
    """Time to load a large legitimate plan, as YAML and as JSON, against the bare minimum."""
    with tempfile.TemporaryDirectory() as folder:
        yaml_path = Path(folder) / "large.yaml"
        yaml_path.write_text(large_plan_text(), encoding="utf-8")
        json_path = Path(folder) / "large.json"
        plan = TrackingPlan.model_validate(_bare_yaml(large_plan_text(events=LARGE_JSON_EVENTS)))
        json_path.write_text(json.dumps(plan.model_dump(mode="json", by_alias=True)))
        sizes = f"{LARGE_GROUPS} groups of {LARGE_PROPERTIES} properties"
        return [
            _load_row("YAML", yaml_path, _bare_yaml, "libyaml", f"{sizes}, {LARGE_EVENTS} events"),
            _load_row(
                "JSON", json_path, json.loads, "json.loads", f"{sizes}, {LARGE_JSON_EVENTS} events"
            ),
        ]


def run(throughput: bool | None = None) -> list[Row]:
    """All rows of this benchmark (for ``make bench``)."""
    if throughput is None:
        throughput = os.environ.get("EVENTSCHEMA_BENCH_THROUGHPUT", "1") not in ("0", "off", "")
    rows = bench_requests() + bench_large_plan()
    if throughput:
        rows += bench_throughput()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-throughput", action="store_true", help="skip the slow benchmark")
    parser.add_argument("--writes", type=int, default=None, help="bindings to create")
    parser.add_argument("--latency", type=float, default=THROUGHPUT_LATENCY, help="seconds")
    parser.add_argument("--limits", default=DEFAULT_LIMITS, help="e.g. 480/minute,4800/hour")
    args = parser.parse_args()
    rows = bench_requests() + bench_large_plan()
    if not args.no_throughput:
        rows += bench_throughput(args.writes, args.latency, args.limits)
    print_rows(rows)


if __name__ == "__main__":
    main()
