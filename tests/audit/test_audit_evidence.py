"""Evidence on conformance findings: values, example events and releases, from the same queries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from audit_helpers import counting_client

from eventschema_tools.audit.evidence import fingerprint, regression, version_order
from eventschema_tools.audit.model import AuditReport, Finding, VersionRate
from eventschema_tools.audit.report import render
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

PLAN = "examples/tracking-plan.yaml"


def _release(version: str, events: int, violations: int, lib: str = "posthog-ios") -> VersionRate:
    return VersionRate(
        lib=lib,
        field="$lib_version",
        version=version,
        events=events,
        violations=violations,
        rate=violations / events,
    )


def test_fingerprints_keep_type_and_size_but_not_the_value() -> None:
    text = fingerprint('"twelve"')
    assert text.startswith("<string, 6 chars, sha256:")
    assert "twelve" not in text
    assert fingerprint('"twelve"') == text
    assert fingerprint('"eleven"') != text
    assert fingerprint("12").startswith("<number, ")
    assert fingerprint("[1, 2]").startswith("<array, 2 items, ")


def test_versions_sort_by_their_numbers() -> None:
    versions = ["4.12.0", "4.9.1", "4.10.0", "10.0.0", "4.9.0"]
    assert sorted(versions, key=version_order) == ["4.9.0", "4.9.1", "4.10.0", "4.12.0", "10.0.0"]


def test_the_first_release_that_breaks_a_property_is_named() -> None:
    found = regression(
        [_release("4.10.0", 500, 5), _release("4.11.0", 400, 4), _release("4.12.0", 300, 240)]
    )
    assert found is not None
    assert (found.lib, found.version) == ("posthog-ios", "4.12.0")
    assert found.earlier_rate == pytest.approx(9 / 900)


def test_noise_and_releases_without_history_are_not_regressions() -> None:
    # Three violations in 40 events against none in 25: a z of about 1.7, not a regression.
    assert regression([_release("4.11.0", 25, 0), _release("4.12.0", 40, 3)]) is None
    # Broken from the only release seen: nothing shows it worked before.
    assert regression([_release("4.12.0", 300, 240)]) is None
    # Every release equally broken.
    assert regression([_release("4.11.0", 300, 30), _release("4.12.0", 300, 33)]) is None


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", rate_limiting=False) as running:
        yield running


def _audit(url: str, **settings: object) -> tuple[AuditReport, list[str]]:
    with counting_client(url) as (client, queries):
        options = audit_options(plan=PLAN, kinds="conformance", **settings)  # type: ignore[arg-type]
        return run_audit(client, options), queries


def _finding(report: AuditReport, code: str, event: str, prop: str) -> Finding:
    return next(
        item
        for item in report.findings
        if (item.code, item.event, item.property) == (code, event, prop)
    )


def test_findings_carry_fingerprinted_values_and_linked_examples(demo: RunningSandbox) -> None:
    report, queries = _audit(demo.url)
    # Evidence comes with the two conformance queries the audit always sent.
    assert len(queries) == 2
    seats = _finding(report, "wrong_type", "member_invited", "seats")
    evidence = seats.evidence
    assert evidence is not None
    assert not evidence.values_shown
    assert evidence.values == [fingerprint('"twelve"')]
    assert 1 <= len(evidence.examples) <= 3
    stored = demo.sandbox.events.select(
        "SELECT uuid, event, JSONExtractRaw(properties, 'seats') FROM "
        f"{demo.sandbox.events.events_table}"
    )
    by_uuid = {str(row[0]): (row[1], row[2]) for row in stored.rows}
    for example in evidence.examples:
        assert by_uuid[example.uuid] == ("member_invited", '"twelve"')
        assert example.url.startswith(f"{demo.url}/project/1/events/{example.uuid}/")
        assert example.person_url == f"{demo.url}/project/1/person/{example.distinct_id}"
    everything = report.model_dump_json() + render(report, "markdown") + render(report, "table")
    assert "twelve" not in everything
    digest = evidence.values[0].split("sha256:")[1].rstrip(">")
    assert f"sha256:{digest}" in render(report, "markdown")


def test_show_values_puts_the_raw_values_in_the_report(demo: RunningSandbox) -> None:
    report, _ = _audit(demo.url, show_values=True)
    evidence = _finding(report, "wrong_type", "member_invited", "seats").evidence
    assert evidence is not None
    assert evidence.values_shown
    assert evidence.values == ['"twelve"']
    assert '"twelve"' in render(report, "table")


def test_the_json_report_keeps_evidence_on_properties_and_findings(demo: RunningSandbox) -> None:
    report, _ = _audit(demo.url)
    data = json.loads(render(report, "json"))
    plan = next(item for item in data["events"] if item["event"] == "user_logged_in")
    workspace_plan = next(p for p in plan["properties"] if p["property"] == "workspace_plan")
    assert workspace_plan["evidence"]["values"] == [fingerprint('"pro"')]
    clean = next(p for p in plan["properties"] if p["property"] == "user_role")
    assert clean["evidence"] is None
    finding = next(
        item
        for item in data["findings"]
        if item["code"] == "value_rule" and item["property"] == "workspace_plan"
    )
    assert finding["evidence"]["examples"]
    # The example links open: the sandbox answers for the event's UUID.
    example = finding["evidence"]["examples"][0]
    answer = httpx.post(
        f"{demo.url}/api/projects/1/query/",
        headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        json={
            "query": {
                "kind": "HogQLQuery",
                "query": "SELECT event FROM events WHERE toString(uuid) = {id}",
                "values": {"id": example["uuid"]},
            }
        },
    )
    assert answer.json()["results"] == [["user_logged_in"]]
