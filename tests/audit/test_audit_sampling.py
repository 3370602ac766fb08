"""Sampled audits: HogQL SAMPLE, 95 % intervals, and intervals that hold the full-scan rate."""

from __future__ import annotations

import json
import random
import uuid

import pytest
from audit_helpers import apply_plan, counting_client

from eventschema_tools.audit.confidence import wilson_interval
from eventschema_tools.audit.model import AuditReport, Finding
from eventschema_tools.audit.report import render
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import RunningSandbox, run_sandbox
from eventschema_tools.sandbox.events.store import EventRow
from eventschema_tools.sandbox.storage.simulated_day import demo_events
from eventschema_tools.tracking_plan.file import load_plan

PLAN = "examples/tracking-plan.yaml"
DAYS = (1, 2, 3, 4, 5, 6)
SAMPLE = 0.1


def test_wilson_intervals() -> None:
    low, high = wilson_interval(10, 100)
    assert low == pytest.approx(0.0552, abs=1e-3)
    assert high == pytest.approx(0.1744, abs=1e-3)
    assert wilson_interval(0, 50)[0] == 0.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_bad_samples_are_refused_before_any_request() -> None:
    for bad in (0, 1.5, -0.1, "tenth", float("nan")):
        with pytest.raises(InvalidInputError, match="bad sample"):
            audit_options(sample=bad)  # type: ignore[arg-type]
    assert audit_options(sample="10%").sample == pytest.approx(0.1)
    assert audit_options(sample=1).sample is None


def _load_day(sandbox: RunningSandbox, seed: int) -> None:
    ids = random.Random(seed)
    sandbox.sandbox.events.insert_many(
        1,
        (
            EventRow(
                str(uuid.UUID(int=ids.getrandbits(128), version=4)),
                item.event,
                item.distinct_id,
                json.dumps(item.properties),
                item.timestamp,
            )
            for item in demo_events(seed=seed)
        ),
    )


@pytest.fixture(scope="module")
def days() -> list[tuple[AuditReport, AuditReport, list[str]]]:
    """Per simulated day: the full audit, the sampled audit and the sampled audit's queries."""
    plan = load_plan(PLAN)
    audits = []
    for seed in DAYS:
        with (
            run_sandbox(rate_limiting=False) as sandbox,
            counting_client(sandbox.url) as (client, queries),
        ):
            apply_plan(client, plan)
            _load_day(sandbox, seed)
            full = run_audit(client, audit_options(plan=plan))
            queries.clear()
            sampled = run_audit(client, audit_options(plan=plan, sample=SAMPLE))
            audits.append((full, sampled, list(queries)))
    return audits


def _interval(sampled: AuditReport, finding: Finding) -> tuple[float, float]:
    """The sampled audit's interval for the rate of ``finding`` (0 of n when it found none)."""
    for item in sampled.findings:
        if item.key == finding.key and "violations" in item.intervals:
            return item.intervals["violations"]
    events = next((item.events for item in sampled.events if item.event == finding.event), 0)
    return wilson_interval(0, events)


def test_sampled_intervals_hold_the_full_scan_rates(
    days: list[tuple[AuditReport, AuditReport, list[str]]],
) -> None:
    inside = total = 0
    for full, sampled, _ in days:
        for finding in full.findings:
            rate = finding.rates.get("violations")
            if rate is None:
                continue
            low, high = _interval(sampled, finding)
            total += 1
            inside += low <= rate <= high
    assert total >= 50
    assert inside / total >= 0.95, f"{inside} of {total} full-scan rates inside"


def test_sampled_audits_say_so_and_use_the_same_queries(
    days: list[tuple[AuditReport, AuditReport, list[str]]],
) -> None:
    full, sampled, queries = days[0]
    assert sampled.sample == SAMPLE
    assert full.sample is None
    assert sampled.queries == full.queries == len(queries)
    assert all(" SAMPLE 1/10" in query for query in queries)
    assert sum(item.events for item in sampled.events) < sum(item.events for item in full.events)
    graded = [item for item in sampled.findings if item.intervals]
    assert graded
    for item in graded:
        low, high = item.intervals["violations"]
        assert low <= item.rates["violations"] <= high
    assert "sampled 10% of people" in render(sampled, "table")
    assert "95% CI" in render(sampled, "markdown")
