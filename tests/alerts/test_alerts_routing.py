"""Routing: incidents go to their owner's targets, named in the plan and a routes file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from alerts_helpers import report_of
from receivers import receiver
from sandbox_clients import demo_client

from eventschema_tools.alerts import load_routes, notify_report, notify_targets, owner_of
from eventschema_tools.audit.model import AuditKind, Finding, Severity
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan.file import PlanFileError, load_plan, parse_plan

ROOT = Path(__file__).resolve().parents[2]
SECRET = "routing-webhook-secret-0123456789"


def _owned_plan(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "tracking-plan.yaml").read_text("utf-8"))
    data["events"]["member_invited"]["owner"] = "growth"
    data["events"]["member_invited"]["tags"] = ["team-growth"]
    data["property_groups"]["billing"]["owner"] = "@alice"
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _finding(**fields: object) -> Finding:
    return Finding(
        severity=Severity.ERROR, kind=AuditKind.CONFORMANCE, code="x", message="m", **fields
    )


def test_owners_come_from_the_event_then_the_group(tmp_path: Path) -> None:
    plan = load_plan(_owned_plan(tmp_path))
    assert owner_of(_finding(event="member_invited", property="seats"), plan) == "growth"
    assert owner_of(_finding(group="billing"), plan) == "@alice"
    assert owner_of(_finding(event="subscription_started", property="currency"), plan) == "@alice"
    assert owner_of(_finding(event="subscription_started", property="seats"), plan) is None
    assert owner_of(_finding(event="member_invited"), None) is None


def test_owners_and_tags_are_checked_in_the_plan() -> None:
    with pytest.raises(PlanFileError, match="is not a team name"):
        parse_plan("version: 1\nevents:\n  e: {owner: 'two words'}\n", "p.yaml")
    with pytest.raises(PlanFileError, match="tag 'PII'"):
        parse_plan("version: 1\nevents:\n  e: {tags: [PII]}\n", "p.yaml")


def test_bad_routes_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("routes:\n  growth: [pager]\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unknown notify target 'pager'"):
        load_routes(path)
    path.write_text("routes:\n  'two words': [slack]\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="is not a team name"):
        load_routes(path)
    path.write_text("route: {}\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="route"):
        load_routes(path)


def test_each_owner_gets_only_its_incidents(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plan_path = _owned_plan(tmp_path)
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  growth: [webhook:growth]\ndefault: [webhook]\n", "utf-8")
    with receiver() as shared, receiver() as growth:
        targets = notify_targets(
            ["webhook", "webhook:growth"],
            {
                "EVENTSCHEMA_WEBHOOK_URL": shared.url,
                "EVENTSCHEMA_WEBHOOK_SECRET": SECRET,
                "EVENTSCHEMA_WEBHOOK_URL_GROWTH": growth.url,
                "EVENTSCHEMA_WEBHOOK_SECRET_GROWTH": SECRET + "-growth",
            },
        )
        with demo_client(sandbox.url) as client:
            options = audit_options(
                plan=plan_path, kinds="drift,conformance", events="member_invited"
            )
            report = run_audit(client, options)
        for _ in range(2):
            notify_report(
                report,
                incidents=tmp_path / "i.sqlite3",
                targets=targets,
                host=sandbox.url,
                events=options.events,
                plan=options.plan,
                routes=load_routes(routes),
            )
        to_growth = [item.json()["incident"] for item in growth.accepted]
        to_shared = [item.json()["incident"] for item in shared.accepted]
    assert to_growth
    assert all(item["owner"] == "growth" for item in to_growth)
    assert {item["event"] for item in to_growth} == {"member_invited"}
    assert to_shared
    assert all(item["owner"] != "growth" for item in to_shared)
    assert {item["id"] for item in to_growth}.isdisjoint({item["id"] for item in to_shared})
    assert any(item["owner"] == "@alice" for item in to_shared)  # owned, but not routed


def test_routes_must_name_configured_targets(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  growth: [slack:growth]\n", "utf-8")
    targets = notify_targets(["slack"], {"EVENTSCHEMA_SLACK_WEBHOOK_URL": "https://h.test/x"})
    with pytest.raises(InvalidInputError, match="slack:growth"):
        notify_report(
            report_of(),
            incidents=tmp_path / "i.sqlite3",
            targets=targets,
            host="h",
            routes=load_routes(routes),
        )
