"""History: reports kept as JSON, and the change since the previous run."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from audit_helpers import apply_plan, counting_client, event, send_events

from eventschema_tools.audit.history import latest_report
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import RunningSandbox
from eventschema_tools.tracking_plan.file import TrackingPlan

PLAN = TrackingPlan.model_validate(
    {
        "version": 1,
        "property_groups": {
            "page": {"properties": {"path": {"type": "String", "required": True}}},
            "spare": {"properties": {"x": {"type": "Boolean"}}},
        },
        "events": {"page_opened": {"groups": ["page"]}},
    }
)


def _send(sandbox: RunningSandbox, name: str, count: int, properties: dict[str, object]) -> None:
    send_events(sandbox.url, [event(name, properties, age=timedelta(minutes=2))] * count)


def test_second_run_shows_new_changed_and_resolved_findings(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    history = tmp_path / "audits"
    _send(sandbox, "page_opened", 8, {"path": "/"})
    _send(sandbox, "page_opened", 2, {})
    _send(sandbox, "promo_shown", 5, {})
    with counting_client(sandbox.url) as (client, _):
        apply_plan(client, PLAN)
        first = run_audit(
            client, audit_options(plan=PLAN, kinds="hygiene,conformance", history_dir=history)
        )
        assert first.history is None
        _send(sandbox, "page_opened", 10, {})  # missing rate 2/10 -> 12/20
        _send(sandbox, "promo_shown", 3, {})  # unplanned volume 5 -> 8
        _send(sandbox, "banner_closed", 4, {})  # a new unplanned event
        spare = client.property_groups.find_by_name("spare")
        assert spare is not None
        client.property_groups.delete(spare.id)  # the unbound group is gone
        second = run_audit(
            client, audit_options(plan=PLAN, kinds="hygiene,conformance", history_dir=history)
        )

    stored = sorted(history.glob("audit-1-*.json"))
    assert len(stored) == 2
    assert json.loads(stored[-1].read_text())["history"]["new"] == 1
    assert latest_report(history, "1") == second

    assert second.history is not None
    assert second.history.previous_generated_at == first.generated_at
    by_key = {(item.code, item.event, item.group): item for item in second.findings}
    missing = by_key[("missing_required", "page_opened", None)]
    assert missing.change is not None
    assert missing.change.status == "changed"
    assert missing.change.count_deltas == {"events": 10, "violations": 10}
    assert missing.change.rate_deltas["violations"] == 12 / 20 - 2 / 10
    promo = by_key[("unplanned_event", "promo_shown", None)]
    assert promo.change is not None
    assert promo.change.count_deltas["events"] == 3
    banner = by_key[("unplanned_event", "banner_closed", None)]
    assert banner.change is not None
    assert banner.change.status == "new"
    assert second.history.new == 1
    assert [(item.code, item.group) for item in second.history.resolved] == [
        ("unbound_group", "spare")
    ]


def test_unreadable_files_in_the_history_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "audit-1-20990101T000000000000Z.json").write_text("{not json")
    (tmp_path / "audit-1-20990102T000000000000Z.json").write_text(
        json.dumps({"schema_version": 99})
    )
    assert latest_report(tmp_path, "1") is None
