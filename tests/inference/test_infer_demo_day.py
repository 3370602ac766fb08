"""``infer`` on the demo day, a project with traffic and no schemas: what it recovers of the
example plan, the groups it mines, the queries it sends, and whether its plan describes the
traffic (lint-clean; applied, an audit of the same window finds it conforming)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from query_counting import counting_client
from sandbox_clients import demo_client as connect

from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.inference import Inference, infer_options, infer_plan
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import PropertySpec, TrackingPlan, load_plan
from eventschema_tools.tracking_plan.lint import has_errors, lint_file, parse_convention

EXAMPLE = Path(__file__).parents[2] / "examples" / "tracking-plan.yaml"


def memberships(plan: TrackingPlan) -> dict[tuple[str, str], PropertySpec]:
    """Every (event, property) the plan declares, through any of the event's groups."""
    return {
        (event, prop): spec
        for event, event_spec in plan.events.items()
        for group in event_spec.groups
        for prop, spec in plan.property_groups[group].properties.items()
    }


@pytest.fixture(scope="module")
def inferred(fresh_project: RunningSandbox) -> tuple[Inference, list[str]]:
    with counting_client(fresh_project.url) as (client, queries):
        inference = infer_plan(client, infer_options(days=1))
    return inference, queries


def test_recovers_the_example_plans_memberships_and_required_flags(
    inferred: tuple[Inference, list[str]],
) -> None:
    expected = memberships(load_plan(EXAMPLE))
    found = memberships(inferred[0].plan)
    same_type = [
        key for key, spec in expected.items() if key in found and found[key].type == spec.type
    ]
    required = [key for key, spec in expected.items() if spec.required]
    still_required = [key for key in required if key in found and found[key].required]
    assert len(same_type) / len(expected) >= 0.9, sorted(set(expected) - set(same_type))
    assert len(still_required) / len(required) >= 0.9, sorted(set(required) - set(still_required))


def test_mines_shared_groups_bound_to_several_events(
    inferred: tuple[Inference, list[str]],
) -> None:
    inference = inferred[0]
    shared = [group for group in inference.groups if group.source == "shared"]
    assert len([group for group in shared if len(group.events) >= 2]) >= 3
    for group in shared:
        spec = inference.plan.property_groups[group.name]
        assert sorted(spec.properties) == group.properties
        assert all(group.name in inference.plan.events[event].groups for event in group.events)
        if any(prop.required for prop in spec.properties.values()):
            assert group.co_occurrence is not None
            assert 0 < group.co_occurrence <= 1
        else:
            assert group.co_occurrence is None
    # The properties every workspace event carries travel together in one group.
    context = next(group for group in shared if "workspace_id" in group.properties)
    assert {"workspace_plan", "user_role"} <= set(context.properties)
    assert len(context.events) >= 10


def test_sends_no_more_queries_than_the_bound(inferred: tuple[Inference, list[str]]) -> None:
    inference, queries = inferred
    assert len(queries) == inference.queries
    assert inference.query_bound == math.ceil(len(inference.events) / 200) + 1
    assert len(queries) <= inference.query_bound
    assert inference.sample_rate is None


def test_evidence_explains_each_property(inferred: tuple[Inference, list[str]]) -> None:
    inference = inferred[0]
    events = {item.event: item for item in inference.events}
    seats = {prop.name: prop for prop in events["member_invited"].properties}["seats"]
    # "twelve" is sent on a few percent of member_invited: Numeric no longer describes it.
    assert seats.type == "String"
    assert seats.json_types["string"] > 0
    logged_in = {prop.name: prop for prop in events["user_logged_in"].properties}
    assert not logged_in["workspace_plan"].required
    assert 0.9 < logged_in["workspace_plan"].presence < 0.995
    assert "format" in {prop.name for prop in events["report_exported"].properties}
    assert all(
        not prop.name.startswith("$") for item in inference.events for prop in item.properties
    )
    assert "$pageview" not in events


def test_the_plan_file_is_lint_clean_and_carries_its_evidence(
    inferred: tuple[Inference, list[str]], tmp_path: Path
) -> None:
    inference = inferred[0]
    path = tmp_path / "inferred.yaml"
    path.write_text(inference.text, encoding="utf-8")
    problems = lint_file(path, naming=parse_convention("snake_case"))
    assert not has_errors(problems), problems
    assert load_plan(path) == inference.plan
    assert "# present 96" in inference.text or "present 9" in inference.text
    assert "parse as Numeric" in inference.text


def test_applied_it_describes_the_traffic_it_came_from(
    fresh_project: RunningSandbox, inferred: tuple[Inference, list[str]]
) -> None:
    inference = inferred[0]
    with connect(fresh_project.url) as client:
        report = apply(client, compute_plan(client, inference.plan, create_events=True))
        assert all(item.status == "done" for item in report.items)
        audit = run_audit(
            client, audit_options(plan=inference.plan, kinds="conformance", window="24h")
        )
    covered = {item.event for item in inference.events}
    measured = [item for item in audit.events if item.event in covered]
    assert {item.event for item in measured} == covered
    for item in measured:
        for prop in item.properties:
            if prop.required:
                assert prop.missing / item.events <= 0.005, (item.event, prop)
            if prop.present:
                assert prop.wrong_type / prop.present <= 0.005, (item.event, prop)
    bad = [
        finding
        for finding in audit.findings
        if finding.code in ("missing_required", "wrong_type") and finding.severity == "error"
    ]
    assert bad == []
