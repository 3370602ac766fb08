"""The operators' ``execute()`` against a loopback sandbox, with the connection from the env.

Airflow's task instance is stood in for by a recorder of the XComs an operator pushes; the
operators, hook, client and sandbox are all real.
"""

from __future__ import annotations

import json
import random
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow_test_helpers import RecordingTaskInstance
from receivers import receiver

from eventschema_tools import EventSchemaClient
from eventschema_tools.airflow_plugin.links import SCHEMA_PAGE_XCOM_KEY
from eventschema_tools.airflow_plugin.operators import (
    ApplyTrackingPlanOperator,
    BulkBindEventSchemasOperator,
    EventSchemaAuditOperator,
)
from eventschema_tools.codegen import generate_code_from_live
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, FaultConfig, RunningSandbox
from eventschema_tools.sandbox.storage.simulated_day import PLANTED_PII
from eventschema_tools.tracking_plan import pull
from eventschema_tools.tracking_plan.file import dump_plan


@pytest.fixture
def ti() -> RecordingTaskInstance:
    return RecordingTaskInstance()


@pytest.fixture
def client(sandbox_url: str) -> EventSchemaClient:
    return EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox_url)


def requests_seen(sandbox: RunningSandbox) -> int:
    return int(sandbox.sandbox.faults.stats()["requests"])


def groups_of(client: EventSchemaClient, event: str) -> list[str]:
    definition = client.event_definitions.get_by_name(event)
    schemas = client.event_schemas.list(event_definition=definition.id)
    return sorted(schema.property_group.name for schema in schemas)


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


# --- BulkBindEventSchemasOperator ------------------------------------------------------------


@pytest.mark.usefixtures("posthog_conn")
def test_bind_group_to_events_reports_each_pair_and_links_the_schema_list(
    ti: RecordingTaskInstance, client: EventSchemaClient, sandbox_url: str
) -> None:
    op = BulkBindEventSchemasOperator(
        task_id="bind", group="Product", events="cart_viewed, search_performed,product_viewed"
    )

    result = op.execute({"ti": ti})

    assert [(r["event"], r["status"]) for r in result["results"]] == [
        ("cart_viewed", "created"),
        ("search_performed", "created"),
        ("product_viewed", "exists"),
    ]
    assert ti.xcom["bulk_report"] == result
    assert ti.xcom[SCHEMA_PAGE_XCOM_KEY] == f"{sandbox_url}/project/1/data-management/schema"
    assert groups_of(client, "cart_viewed") == ["Product"]
    assert groups_of(client, "search_performed") == ["Product"]


@pytest.mark.usefixtures("posthog_conn")
@pytest.mark.parametrize(
    "pairs",
    [
        pytest.param([{"event": "cart_viewed", "group": "Checkout"}], id="dicts"),
        pytest.param([["cart_viewed", "Checkout"]], id="lists"),
        pytest.param('[{"event": "cart_viewed", "group": "Checkout"}]', id="json-text"),
        pytest.param("[('cart_viewed', 'Checkout')]", id="rendered-template"),
    ],
)
def test_bind_pairs_from_a_parameter(
    ti: RecordingTaskInstance, client: EventSchemaClient, pairs: object
) -> None:
    result = BulkBindEventSchemasOperator(task_id="bind", pairs=pairs).execute({"ti": ti})

    assert [r["status"] for r in result["results"]] == ["created"]
    assert groups_of(client, "cart_viewed") == ["Checkout"]


@pytest.mark.usefixtures("posthog_conn")
def test_unbind_pairs_from_a_csv_file(
    ti: RecordingTaskInstance, client: EventSchemaClient, tmp_path: Path
) -> None:
    pairs_file = write(
        tmp_path / "pairs.csv",
        """\
        event,group
        checkout_completed,User identity
        cart_viewed,User identity
        """,
    )

    result = BulkBindEventSchemasOperator(
        task_id="unbind", pairs_file=pairs_file, action="unbind"
    ).execute({"ti": ti})

    assert [r["status"] for r in result["results"]] == ["deleted", "absent"]
    assert groups_of(client, "checkout_completed") == ["Checkout"]


def _seed_for_mixed_writes(rate: float, reads: int = 3, writes: int = 6) -> int:
    """A fault seed whose first draws (the reads) pass and whose next ones mix fail and pass.

    The sandbox draws one ``random.Random(seed).random()`` per request and answers with the
    fault when the draw is below the rate; this finds a seed that leaves the job's reads alone
    (up to ``reads`` of them) and fails some of its writes but not all.
    """
    for seed in range(10_000):
        rolls = random.Random(seed).random
        draws = [rolls() for _ in range(reads + writes)]
        head, tail = draws[:reads], draws[reads:]
        if (
            all(d >= rate for d in head)
            and any(d < rate for d in tail[:3])
            and any(d >= rate for d in tail[:3])
        ):
            return seed
    raise AssertionError("no seed found")


@pytest.mark.usefixtures("posthog_conn")
def test_a_retry_finishes_what_the_first_try_left(
    ti: RecordingTaskInstance, client: EventSchemaClient, sandbox: RunningSandbox
) -> None:
    events = ["cart_viewed", "search_performed", "invite_sent", "trial_started"]
    op = BulkBindEventSchemasOperator(task_id="bind", group="Product", events=events, concurrency=1)
    sandbox.sandbox.faults.configure(FaultConfig(seed=_seed_for_mixed_writes(0.5), error_503=0.5))

    with pytest.raises(AirflowException, match="A retry makes only the writes still missing"):
        op.execute({"ti": ti})
    first = {r["event"]: r["status"] for r in ti.xcom["bulk_report"]["results"]}
    sandbox.sandbox.faults.configure(FaultConfig())
    second = {r["event"]: r["status"] for r in op.execute({"ti": ti})["results"]}

    assert set(first.values()) == {"created", "failed"}
    assert {e for e, s in first.items() if s == "created"} == {
        e for e, s in second.items() if s == "exists"
    }
    assert {e for e, s in first.items() if s == "failed"} == {
        e for e, s in second.items() if s == "created"
    }
    assert all(groups_of(client, event) == ["Product"] for event in events)


@pytest.mark.usefixtures("posthog_conn")
def test_unknown_event_fails_without_retry_and_reports_it(ti: RecordingTaskInstance) -> None:
    op = BulkBindEventSchemasOperator(task_id="bind", pairs=[["no_such_event", "Product"]])

    with pytest.raises(AirflowFailException, match=r"1 unresolved"):
        op.execute({"ti": ti})

    [result] = ti.xcom["bulk_report"]["results"]
    assert result["status"] == "unresolved"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({}, "give the pairs in exactly one way", id="no-source"),
        pytest.param(
            {"pairs": [["a", "b"]], "pairs_file": "p.csv"},
            "(got pairs, pairs_file)",
            id="two-sources",
        ),
        pytest.param({"group": "Product"}, "group= and events= go together", id="no-events"),
        pytest.param(
            {"group": "G", "events": "a", "action": "link"}, "'bind' or 'unbind'", id="action"
        ),
        pytest.param(
            {"group": "G", "events": "a", "concurrency": 0}, "concurrency", id="concurrency"
        ),
        pytest.param({"pairs": [["only-event"]]}, "pairs[0] must be", id="short-pair"),
        pytest.param({"pairs": "not json"}, "pairs is text but not a list", id="not-json"),
        pytest.param(
            {"group": " ", "events": "a"}, "give the group's name or id", id="blank-group"
        ),
    ],
)
def test_bad_bulk_parameters_fail_when_the_dag_is_parsed(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        BulkBindEventSchemasOperator(task_id="bind", **arguments)


@pytest.mark.usefixtures("posthog_conn")
def test_bad_templated_pairs_fail_the_task_before_any_request(
    ti: RecordingTaskInstance, sandbox: RunningSandbox
) -> None:
    op = BulkBindEventSchemasOperator(task_id="bind", pairs="{{ params.pairs }}")
    op.render_template_fields({"params": {"pairs": [["cart_viewed"]]}})

    with pytest.raises(AirflowFailException, match=r"pairs\[0\] must be"):
        op.execute({"ti": ti})

    assert requests_seen(sandbox) == 0
    assert ti.xcom == {}


# --- ApplyTrackingPlanOperator ---------------------------------------------------------------

SEARCH_PLAN = """\
    version: 1
    plan_id: airflow-test
    property_groups:
      Search:
        description: What a search asked for
        properties:
          query: {type: String, required: true}
          results: {type: Numeric}
    events:
      search_performed:
        groups: [Search]
    """


@pytest.mark.usefixtures("posthog_conn")
def test_dry_run_returns_the_plan_and_changes_nothing(
    ti: RecordingTaskInstance, client: EventSchemaClient, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    plan_path = write(tmp_path / "plan.yaml", SEARCH_PLAN)

    result = ApplyTrackingPlanOperator(task_id="plan", plan_path=plan_path, dry_run=True).execute(
        {"ti": ti}
    )

    assert result["report"] is None
    assert [c["action"] for c in result["plan"]["changes"]] == ["create_group", "create_binding"]
    assert ti.xcom["tracking_plan"] == result
    assert groups_of(client, "search_performed") == []
    assert sandbox.sandbox.faults.stats()["responses"].keys() == {"200"}


@pytest.mark.usefixtures("posthog_conn")
def test_apply_makes_the_changes_and_a_second_run_makes_none(
    ti: RecordingTaskInstance, client: EventSchemaClient, tmp_path: Path
) -> None:
    plan_path = write(tmp_path / "plan.yaml", SEARCH_PLAN)
    op = ApplyTrackingPlanOperator(task_id="apply", plan_path=plan_path)

    first = op.execute({"ti": ti})
    second = op.execute({"ti": ti})

    assert [item["status"] for item in first["report"]["items"]] == ["done", "done"]
    assert groups_of(client, "search_performed") == ["Search"]
    assert second["plan"]["changes"] == []
    assert second["report"]["items"] == []


@pytest.mark.usefixtures("posthog_conn")
def test_plan_that_cannot_be_reached_fails_without_retry(
    ti: RecordingTaskInstance, tmp_path: Path
) -> None:
    plan_path = write(
        tmp_path / "plan.yaml",
        SEARCH_PLAN.replace("search_performed:", "search_that_never_happened:"),
    )

    with pytest.raises(AirflowFailException, match="1 blocked"):
        ApplyTrackingPlanOperator(task_id="apply", plan_path=plan_path).execute({"ti": ti})

    assert ti.xcom["tracking_plan"]["report"]["blocked"][0]["kind"] == "blocked"


def _group_properties(client: EventSchemaClient, name: str) -> dict[str, bool]:
    group = client.property_groups.find_by_name(name)
    assert group is not None
    return {prop.name: prop.is_required for prop in group.properties}


@pytest.mark.usefixtures("posthog_conn")
def test_an_unacknowledged_breaking_change_is_refused_and_nothing_is_written(
    ti: RecordingTaskInstance, client: EventSchemaClient, tmp_path: Path
) -> None:
    ApplyTrackingPlanOperator(
        task_id="apply", plan_path=write(tmp_path / "plan.yaml", SEARCH_PLAN)
    ).execute({"ti": ti})
    stricter = SEARCH_PLAN.replace(
        "results: {type: Numeric}", "results: {type: Numeric, required: true}"
    )
    breaking = write(tmp_path / "breaking.yaml", stricter)

    with pytest.raises(AirflowFailException, match="refused: 1 unacknowledged change"):
        ApplyTrackingPlanOperator(task_id="apply", plan_path=breaking).execute({"ti": ti})

    published = ti.xcom["tracking_plan"]
    assert [(i["kind"], i["property"]) for i in published["refused"]] == [
        ("property_required", "results")
    ]
    assert published["report"] is None
    assert _group_properties(client, "Search") == {"query": True, "results": False}

    acknowledged = stricter.replace(
        "        description: What a search asked for\n",
        "        description: What a search asked for\n"
        "        allow_breaking:\n"
        "          - {change: property_required, property: results, reason: all clients send it}\n",
    )
    result = ApplyTrackingPlanOperator(
        task_id="apply", plan_path=write(tmp_path / "acknowledged.yaml", acknowledged)
    ).execute({"ti": ti})

    assert result["refused"] == []
    assert [item["status"] for item in result["report"]["items"]] == ["done"]
    assert _group_properties(client, "Search") == {"query": True, "results": True}


@pytest.mark.usefixtures("posthog_conn")
def test_fail_on_never_applies_a_breaking_change(
    ti: RecordingTaskInstance, client: EventSchemaClient, tmp_path: Path
) -> None:
    ApplyTrackingPlanOperator(
        task_id="apply", plan_path=write(tmp_path / "plan.yaml", SEARCH_PLAN)
    ).execute({"ti": ti})
    removed = write(
        tmp_path / "removed.yaml", SEARCH_PLAN.replace("          results: {type: Numeric}\n", "")
    )

    result = ApplyTrackingPlanOperator(task_id="apply", plan_path=removed, fail_on="never").execute(
        {"ti": ti}
    )

    assert [i["kind"] for i in result["plan"]["impacts"]] == ["property_removed"]
    assert _group_properties(client, "Search") == {"query": True}


def test_a_bad_fail_on_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(InvalidInputError, match="fail_on must be one of breaking, risky, never"):
        ApplyTrackingPlanOperator(task_id="apply", plan_path="plan.yaml", fail_on="sometimes")


@pytest.mark.usefixtures("posthog_conn")
def test_bad_plan_file_fails_the_task_before_any_request(
    ti: RecordingTaskInstance, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    plan_path = write(
        tmp_path / "plan.yaml", SEARCH_PLAN.replace("groups: [Search]", "groups: [Serch]")
    )

    with pytest.raises(AirflowFailException, match="Serch"):
        ApplyTrackingPlanOperator(task_id="apply", plan_path=plan_path).execute({"ti": ti})

    assert requests_seen(sandbox) == 0


# --- EventSchemaAuditOperator ----------------------------------------------------------------


@pytest.fixture
def pulled_plan(client: EventSchemaClient, tmp_path: Path) -> Path:
    """The live project written as a tracking plan: a drift audit against it finds nothing."""
    path = tmp_path / "live-plan.yaml"
    path.write_text(dump_plan(pull(client, plan_id="airflow-test")), encoding="utf-8")
    return path


@pytest.mark.usefixtures("posthog_conn")
def test_drift_audit_that_passes_returns_the_report(
    ti: RecordingTaskInstance, pulled_plan: Path, tmp_path: Path
) -> None:
    report_path = tmp_path / "reports" / "audit.md"
    op = EventSchemaAuditOperator(
        task_id="audit", plan_path=str(pulled_plan), kinds="drift", report_path=str(report_path)
    )

    result = op.execute({"ti": ti})

    assert result["passed"] is True
    assert result["kinds"] == ["drift"]
    assert result["findings"] == []
    assert ti.xcom["audit_report"] == result
    assert "drift" in report_path.read_text(encoding="utf-8")


@pytest.mark.usefixtures("posthog_conn")
def test_drift_audit_that_fails_pushes_the_report_links_the_event_and_fails(
    ti: RecordingTaskInstance,
    client: EventSchemaClient,
    pulled_plan: Path,
    tmp_path: Path,
    sandbox_url: str,
) -> None:
    checkout = client.event_definitions.get_by_name("checkout_completed")
    client.event_schemas.delete(
        next(s.id for s in client.event_schemas.list(event_definition=checkout.id))
    )
    report_path = tmp_path / "audit.md"
    op = EventSchemaAuditOperator(
        task_id="audit", plan_path=str(pulled_plan), kinds=["drift"], report_path=str(report_path)
    )

    with pytest.raises(AirflowFailException, match="schema audit failed: findings reach error"):
        op.execute({"ti": ti})

    report = ti.xcom["audit_report"]
    assert report["passed"] is False
    assert {f["event"] for f in report["findings"]} == {"checkout_completed"}
    assert ti.xcom[SCHEMA_PAGE_XCOM_KEY] == (
        f"{sandbox_url}/project/1/data-management/events/{checkout.id}"
    )
    assert "checkout\\_completed" in report_path.read_text(encoding="utf-8")


@pytest.mark.usefixtures("posthog_conn")
def test_drift_against_generated_code_fails_when_a_schema_it_was_typed_for_goes(
    ti: RecordingTaskInstance, client: EventSchemaClient, tmp_path: Path
) -> None:
    generate_code_from_live(client, language="python").write(tmp_path / "analytics")
    op = EventSchemaAuditOperator(
        task_id="audit",
        generated_path="{{ params.generated }}",
        kinds="drift",
        fail_on="warning",
    )
    op.render_template_fields({"params": {"generated": str(tmp_path / "analytics")}})
    assert op.execute({"ti": ti})["findings"] == []

    checkout = client.event_definitions.get_by_name("checkout_completed")
    for schema in client.event_schemas.list(event_definition=checkout.id):
        client.event_schemas.delete(schema.id)
    with pytest.raises(AirflowFailException, match="schema audit failed"):
        op.execute({"ti": ti})
    (finding,) = ti.xcom["audit_report"]["findings"]
    assert (finding["code"], finding["event"]) == ("generated_schema_missing", "checkout_completed")
    assert "posthog_typed.py types" in finding["message"]


@pytest.mark.usefixtures("posthog_conn")
def test_a_privacy_audit_fails_on_personal_data_and_pushes_masked_values_only(
    ti: RecordingTaskInstance,
) -> None:
    op = EventSchemaAuditOperator(task_id="privacy", kinds="privacy")

    with pytest.raises(AirflowFailException, match="schema audit failed"):
        op.execute({"ti": ti})

    report = ti.xcom["audit_report"]
    assert {(f["event"], f["property"], f["code"]) for f in report["findings"]} == PLANTED_PII
    pushed = json.dumps(report)
    assert "**** **** **** 4242" in pushed
    assert "4242 4242 4242 4242" not in pushed
    assert "jane.doe" not in pushed


@pytest.mark.usefixtures("posthog_conn")
def test_audit_with_fail_task_off_returns_a_failed_report(
    ti: RecordingTaskInstance, client: EventSchemaClient, pulled_plan: Path
) -> None:
    client.property_groups.create(name="Unplanned group")
    op = EventSchemaAuditOperator(
        task_id="audit", plan_path=str(pulled_plan), kinds="drift", fail_on="info", fail_task=False
    )

    result = op.execute({"ti": ti})

    assert result["passed"] is False
    assert result["fail_on"] == "info"


@pytest.mark.usefixtures("posthog_conn")
def test_a_sampled_audit_pushes_intervals_and_fingerprinted_evidence(
    ti: RecordingTaskInstance,
) -> None:
    op = EventSchemaAuditOperator(
        task_id="audit",
        plan_path="examples/tracking-plan.yaml",
        kinds="conformance",
        sample="{{ params.sample }}",
        fail_task=False,
    )
    op.render_template_fields({"params": {"sample": "0.5"}})

    result = op.execute({"ti": ti})

    assert result["sample"] == 0.5
    graded = [item for item in result["findings"] if item["intervals"]]
    assert graded
    seats = next(item for item in result["findings"] if item["property"] == "seats")
    assert seats["evidence"]["values_shown"] is False
    assert "twelve" not in json.dumps(result)


@pytest.mark.usefixtures("posthog_conn")
def test_an_audit_that_notifies_sends_each_message_once(
    ti: RecordingTaskInstance,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "airflow-webhook-secret-0123456789"
    with receiver() as webhook:
        conn = json.dumps(
            {
                "conn_type": "generic",
                "extra": {"webhook_url": webhook.url, "webhook_secret": secret},
            }
        )
        monkeypatch.setenv("AIRFLOW_CONN_EVENTSCHEMA_ALERTS", conn)
        op = EventSchemaAuditOperator(
            task_id="audit",
            plan_path="examples/tracking-plan.yaml",
            kinds="drift",
            notify="webhook",
            notify_conn_id="eventschema_alerts",
            incidents_path=str(tmp_path / "incidents.sqlite3"),
            fail_task=False,
        )
        for _ in range(2):
            result = op.execute({"ti": ti})
        opened = [item.json()["incident"]["id"] for item in webhook.accepted]
    assert opened
    assert len(opened) == len(set(opened))
    assert len(opened) == sum(item["severity"] != "info" for item in result["findings"])
    assert secret not in caplog.text + json.dumps(result)
    assert "secret-path" not in caplog.text


def test_unknown_notify_targets_fail_when_the_dag_is_parsed() -> None:
    with pytest.raises(InvalidInputError, match="unknown notify target 'pager'"):
        EventSchemaAuditOperator(task_id="audit", notify=["webhook", "pager"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"window": "24 hours"}, "bad window '24 hours'", id="window"),
        pytest.param({"sample": 2}, "bad sample 2", id="sample"),
        pytest.param({"kinds": "drift,typo"}, "unknown audit kind 'typo'", id="kinds"),
        pytest.param({"fail_on": "fatal"}, "unknown severity 'fatal'", id="fail-on"),
        pytest.param(
            {"thresholds": {"default": {"wrong_type": {"error": 2}}}},
            "default.wrong_type.error",
            id="thresholds",
        ),
    ],
)
def test_bad_audit_parameters_fail_when_the_dag_is_parsed(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        EventSchemaAuditOperator(task_id="audit", **arguments)


@pytest.mark.usefixtures("posthog_conn")
@pytest.mark.parametrize(
    ("arguments", "params", "message"),
    [
        pytest.param(
            {"window": "{{ params.window }}"}, {"window": "yesterday"}, "bad window", id="window"
        ),
        pytest.param(
            {"kinds": "drift"}, {}, "the drift audit compares a tracking plan", id="drift-no-plan"
        ),
        pytest.param(
            {"plan_path": "{{ params.plan }}"},
            {"plan": "/nonexistent/plan.yaml"},
            "/nonexistent/plan.yaml",
            id="missing-plan-file",
        ),
    ],
)
def test_bad_templated_audit_parameters_fail_the_task_before_any_request(
    ti: RecordingTaskInstance,
    sandbox: RunningSandbox,
    arguments: dict[str, Any],
    params: dict[str, Any],
    message: str,
) -> None:
    op = EventSchemaAuditOperator(task_id="audit", **arguments)
    op.render_template_fields({"params": params})

    with pytest.raises(AirflowFailException, match=message):
        op.execute({"ti": ti})

    assert requests_seen(sandbox) == 0


def test_operators_use_the_connection_and_project_they_are_given(
    ti: RecordingTaskInstance,
    set_connection: Callable[..., str],
    client: EventSchemaClient,
) -> None:
    set_connection(conn_env="AIRFLOW_CONN_POSTHOG_STAGING", project_id="@current")
    op = BulkBindEventSchemasOperator(
        task_id="bind",
        posthog_conn_id="posthog_staging",
        project_id="1",
        pairs=[{"event": "cart_viewed", "group": "Checkout"}],
    )

    op.execute({"ti": ti})

    assert groups_of(client, "cart_viewed") == ["Checkout"]
