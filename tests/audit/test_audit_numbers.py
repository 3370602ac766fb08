"""Audit numbers against generated events with known violations.

Every value sent is drawn from tables that say, by construction, which types it satisfies and
which rules it breaks; the expected counts are tallied from those labels in plain Python.
Event and property names include quotes, backslashes, braces and newlines.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from audit_helpers import apply_plan, counting_client, event, send_events

from eventschema_tools import AsyncEventSchemaClient
from eventschema_tools.audit.run import (
    AuditKind,
    AuditReport,
    Severity,
    audit_options,
    run_audit,
    run_audit_async,
)
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox
from eventschema_tools.tracking_plan.file import TrackingPlan

S, N, B, D, OBJ = "String", "Numeric", "Boolean", "DateTime", "Object"

WEIRD_EVENT = 'ord\'er "done"\n{events}\\'
WEIRD_PROPERTY = "sku'\\{n0}\"\nid"
WEIRD_EXTRA = 'utm"source\\{x}'

# (value, the types it satisfies under PostHog's coercion rules): known by construction.
ANY_VALUES: list[tuple[Any, set[str]]] = [
    ("hello", {S}),
    ("", {S}),
    ("yes", {S}),
    ("TRUE", {S}),
    ("not a date", {S}),
    ("2024-13-45", {S}),
    (42, {S, N, D}),
    (3.5, {S, N, D}),
    (-7, {S, N, D}),
    (0, {S, N, D}),
    (" 12.5 ", {S, N, D}),
    ("0x1A", {S, N}),
    ("1e3", {S, N}),
    ("-3", {S, N}),
    (True, {S, B}),
    (False, {S, B}),
    ("true", {S, B}),
    ("false", {S, B}),
    ({"a": 1}, {S, OBJ}),
    ([1, 2], {S, OBJ}),
    ("2024-05-01T10:00:00Z", {S, D}),
    ("2024-05-01 10:00:00", {S, D}),
]

# Typical values per property, also labelled.
TYPICAL: dict[str, list[tuple[Any, set[str]]]] = {
    "order_id": [("o-1", {S}), ("o-22", {S}), ("x-9", {S}), ("o-12a", {S})],
    "amount": [
        (10, {S, N, D}),
        (999.5, {S, N, D}),
        (-5, {S, N, D}),
        (5000, {S, N, D}),
        ("250", {S, N, D}),
        ("2000", {S, N, D}),
    ],
    "paid": [(True, {S, B}), (False, {S, B}), ("true", {S, B}), (1, {S, N, D})],
    "placed_at": [("2024-05-01T10:00:00Z", {S, D}), (1714557600, {S, N, D})],
    "items": [({"sku": 1}, {S, OBJ}), ([1, 2], {S, OBJ})],
    "tier": [("free", {S}), ("pro", {S}), ("gold", {S}), (5, {S, N, D})],
    "channel": [("web", {S}), ("ios", {S}), ("android", {S})],
    "count": [(1, {S, N, D}), (2, {S, N, D}), (3, {S, N, D}), ("2", {S, N, D}), (7, {S, N, D})],
    WEIRD_PROPERTY: [("x", {S}), ("y'z", {S})],
}

PLAN = TrackingPlan.model_validate(
    {
        "version": 1,
        "property_groups": {
            "order": {
                "properties": {
                    "order_id": {"type": S, "required": True, "rules": {"pattern": "^o-[0-9]+$"}},
                    "amount": {"type": N, "required": True, "rules": {"min": 0, "max": 1000}},
                    "paid": {"type": B, "required": True},
                    "placed_at": {"type": D},
                    "items": {"type": OBJ},
                    "tier": {"type": S, "rules": {"enum": ["free", "pro"]}},
                    WEIRD_PROPERTY: {"type": S, "required": True},
                }
            },
            "flags": {
                "properties": {
                    "paid": {"type": N},
                    "channel": {"type": S, "required": True, "rules": {"enum": ["web", "ios"]}},
                    "count": {"type": N, "rules": {"enum": [1, 2, 3]}},
                }
            },
            "unused": {"properties": {"x": {"type": B}}},
        },
        "events": {
            "order_completed": {"groups": ["order", "flags"]},
            WEIRD_EVENT: {"groups": ["order"]},
            "page_opened": {"groups": ["flags"]},
        },
    }
)

# What each event expects, written out by hand from the plan above.
EXPECTED_TYPES: dict[str, dict[str, tuple[set[str], bool]]] = {
    "order_completed": {
        "order_id": ({S}, True),
        "amount": ({N}, True),
        "paid": ({B, N}, True),
        "placed_at": ({D}, False),
        "items": ({OBJ}, False),
        "tier": ({S}, False),
        WEIRD_PROPERTY: ({S}, True),
        "channel": ({S}, True),
        "count": ({N}, False),
    },
    WEIRD_EVENT: {
        "order_id": ({S}, True),
        "amount": ({N}, True),
        "paid": ({B}, True),
        "placed_at": ({D}, False),
        "items": ({OBJ}, False),
        "tier": ({S}, False),
        WEIRD_PROPERTY: ({S}, True),
    },
    "page_opened": {"paid": ({N}, False), "channel": ({S}, True), "count": ({N}, False)},
}
VOLUMES = {"order_completed": 400, WEIRD_EVENT: 150, "page_opened": 200}
UNPLANNED = {"promo_shown": 37}


def _text(value: Any) -> str:
    """How an enum compares a value: strings as they are, other JSON as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def breaks_rule(prop: str, value: Any) -> bool:
    """The plan's value rules, applied by hand to one present value."""
    if prop == "order_id":
        return isinstance(value, str) and re.search(r"^o-[0-9]+$", value) is None
    if prop == "amount":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and value == value.strip():
            try:
                number = float(value)
            except ValueError:
                number = None
        return number is not None and not 0 <= number <= 1000
    if prop == "tier":
        return _text(value) not in {"free", "pro"}
    if prop == "channel":
        return _text(value) not in {"web", "ios"}
    if prop == "count":
        return _text(value) not in {"1", "2", "3"}
    return False


@dataclass
class Tally:
    """Expected numbers of one event, tallied while generating."""

    total: int = 0
    missing: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    with_unexpected: int = 0
    would_reject: int = 0
    unexpected: Counter[str] = field(default_factory=Counter)


def generate(seed: int = 7) -> tuple[list[dict[str, Any]], dict[str, Tally]]:
    """Events with known violations, and the expected numbers of those inside the window."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    tallies: dict[str, Tally] = defaultdict(Tally)
    for name, count in [*VOLUMES.items(), ("order_completed", -60)]:
        outside = count < 0
        for _ in range(abs(count)):
            properties, tally = _properties(rng, name)
            age = timedelta(hours=30) if outside else timedelta(minutes=rng.randint(1, 23 * 60))
            events.append(event(name, properties, age=age))
            if not outside:
                _merge(tallies[name], tally)
    for name, count in UNPLANNED.items():
        events.extend(event(name, {"x": 1}, age=timedelta(minutes=5)) for _ in range(count))
    events.extend(event("$pageview", {"$lib": "web"}, age=timedelta(minutes=5)) for _ in range(25))
    rng.shuffle(events)
    return events, tallies


def _properties(rng: random.Random, name: str) -> tuple[dict[str, Any], Tally]:
    tally = Tally(total=1)
    properties: dict[str, Any] = {"$lib": "posthog-python"}
    rejected = False
    for prop, (types, required) in EXPECTED_TYPES[name].items():
        roll = rng.random()
        if roll < 0.04:
            tally.missing[prop] += 1
            rejected |= required
            continue
        if roll < 0.08:
            properties[prop] = None
            tally.missing[prop] += 1
            rejected |= required
            continue
        pool = TYPICAL[prop] if roll < 0.7 else ANY_VALUES
        value, satisfies = rng.choice(pool)
        properties[prop] = value
        if not satisfies & types:
            tally.wrong[prop] += 1
            rejected |= required
        if breaks_rule(prop, value):
            tally.rules[prop] += 1
    for extra, share in (("debug", 0.1), (WEIRD_EXTRA, 0.05)):
        if rng.random() < share:
            properties[extra] = True
            tally.unexpected[extra] += 1
    tally.with_unexpected = int(bool(tally.unexpected))
    tally.would_reject = int(rejected)
    return properties, tally


def _merge(into: Tally, one: Tally) -> None:
    into.total += one.total
    into.missing.update(one.missing)
    into.wrong.update(one.wrong)
    into.rules.update(one.rules)
    into.unexpected.update(one.unexpected)
    into.with_unexpected += one.with_unexpected
    into.would_reject += one.would_reject


@dataclass
class Audited:
    tallies: dict[str, Tally]
    report: AuditReport
    queries: list[str]


@pytest.fixture(scope="module")
def audited(sandbox: RunningSandbox) -> Iterator[Audited]:
    events, tallies = generate()
    send_events(sandbox.url, events)
    with counting_client(sandbox.url) as (client, queries):
        apply_plan(client, PLAN)
        report = run_audit(client, audit_options(plan=PLAN))
    return Audited(dict(tallies), report, queries)


def _stats(report: AuditReport, name: str) -> Any:
    return next(item for item in report.events if item.event == name)


@pytest.mark.parametrize("name", list(VOLUMES))
def test_event_totals_count_only_the_window(audited: Audited, name: str) -> None:
    stats = _stats(audited.report, name)
    assert stats.events == audited.tallies[name].total
    assert stats.events == VOLUMES[name]


@pytest.mark.parametrize("name", list(VOLUMES))
def test_missing_wrong_type_and_rule_counts_per_property(audited: Audited, name: str) -> None:
    tally = audited.tallies[name]
    stats = _stats(audited.report, name)
    measured = {
        prop.property: (prop.missing, prop.wrong_type, prop.rule_violations, prop.present)
        for prop in stats.properties
    }
    expected = {
        prop: (
            tally.missing[prop],
            tally.wrong[prop],
            tally.rules[prop],
            tally.total - tally.missing[prop],
        )
        for prop in EXPECTED_TYPES[name]
    }
    assert measured == expected


@pytest.mark.parametrize("name", list(VOLUMES))
def test_unexpected_properties_and_reject_simulation(audited: Audited, name: str) -> None:
    tally = audited.tallies[name]
    stats = _stats(audited.report, name)
    assert stats.with_unexpected_properties == tally.with_unexpected
    assert stats.unexpected_properties == dict(tally.unexpected)
    assert stats.would_reject == tally.would_reject


def test_the_generated_data_has_every_kind_of_violation(audited: Audited) -> None:
    tally = audited.tallies["order_completed"]
    assert tally.missing["amount"]
    assert tally.wrong["amount"]
    assert tally.rules["amount"]
    assert tally.wrong["paid"]
    assert tally.rules["tier"]
    assert tally.rules["order_id"]
    assert tally.with_unexpected
    assert tally.would_reject < tally.total


def test_findings_carry_rates_and_default_severities(audited: Audited) -> None:
    tally = audited.tallies["order_completed"]
    findings = {
        (item.code, item.property): item
        for item in audited.report.findings
        if item.event == "order_completed"
    }
    missing = findings[("missing_required", "amount")]
    rate = tally.missing["amount"] / tally.total
    assert missing.counts == {"events": tally.total, "violations": tally.missing["amount"]}
    assert missing.rates["violations"] == pytest.approx(rate)
    assert missing.severity == (Severity.ERROR if rate > 0.05 else Severity.WARNING)
    wrong = findings[("wrong_type", "paid")]
    assert wrong.counts["violations"] == tally.wrong["paid"]
    assert wrong.severity == Severity.ERROR  # above the default 1 %
    assert ("missing_required", "placed_at") not in findings  # optional
    reject = next(
        item
        for item in audited.report.findings_of(AuditKind.ENFORCEMENT)
        if item.event == "order_completed"
    )
    assert reject.counts["violations"] == tally.would_reject
    assert reject.severity == Severity.INFO


def test_hygiene_reports_unplanned_unbound_and_conflicting(audited: Audited) -> None:
    hygiene = audited.report.findings_of(AuditKind.HYGIENE)
    unplanned = {
        item.event: item.counts["events"] for item in hygiene if item.code == "unplanned_event"
    }
    assert unplanned == UNPLANNED  # $pageview is PostHog's own event
    assert [item.group for item in hygiene if item.code == "unbound_group"] == ["unused"]
    conflicts = [
        (item.event, item.property) for item in hygiene if item.code == "conflicting_types"
    ]
    assert conflicts == [("order_completed", "paid")]


def test_a_full_audit_takes_four_queries_and_no_name_enters_their_text(audited: Audited) -> None:
    assert audited.report.queries == len(audited.queries) == 4
    assert audited.report.passed is False
    for body in audited.queries:
        query = json.loads(body)["query"]["query"]
        for name in (WEIRD_EVENT, WEIRD_PROPERTY, "order_completed", "amount", "channel"):
            assert name not in query


def test_the_live_schemas_give_the_same_numbers_without_rules(
    audited: Audited, sandbox: RunningSandbox
) -> None:
    with counting_client(sandbox.url) as (client, _):
        live = run_audit(client, audit_options(kinds="conformance,enforcement"))
    assert live.source == "live"
    for name in VOLUMES:
        planned = {p.property: p for p in _stats(audited.report, name).properties}
        for prop in _stats(live, name).properties:
            assert prop.rule_violations == 0
            assert (prop.missing, prop.wrong_type) == (
                planned[prop.property].missing,
                planned[prop.property].wrong_type,
            )
        assert _stats(live, name).would_reject == _stats(audited.report, name).would_reject


@pytest.mark.anyio
async def test_the_async_twin_measures_the_same(audited: Audited, sandbox: RunningSandbox) -> None:
    async with AsyncEventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host=sandbox.url,
        rate_limit="off",
        query_rate_limit="off",
    ) as client:
        report = await run_audit_async(
            client, audit_options(plan=PLAN, kinds=["conformance", "enforcement"])
        )
    assert report.events == audited.report.events
    assert report.queries == 2
