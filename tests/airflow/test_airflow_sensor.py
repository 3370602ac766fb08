"""``EventSchemaConformanceSensor.poke()`` against a loopback sandbox with captured events.

The project holds one schema (``checkout_started`` requires ``cart_id`` and ``revenue``) and a
few captured events; the expected rates are counted here from the events sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from airflow.sdk.exceptions import AirflowFailException
from airflow_test_helpers import RecordingTaskInstance
from receivers import receiver

from eventschema_tools import EventSchemaClient, PropertyInput
from eventschema_tools.airflow_plugin.links import SCHEMA_PAGE_XCOM_KEY
from eventschema_tools.airflow_plugin.sensors import EventSchemaConformanceSensor
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox

REQUIRED = ("cart_id", "revenue")
SENT = [
    *({"cart_id": f"c{i}", "revenue": 10 + i} for i in range(8)),
    {"cart_id": "c8"},  # revenue missing
    {"cart_id": "c9", "revenue": "ten"},  # revenue of the wrong type
]
CONFORMING = sum(
    all(name in props for name in REQUIRED) and isinstance(props["revenue"], int) for props in SENT
)


@pytest.fixture
def sandbox_seed() -> None:
    return None


@pytest.fixture
def checkout_events(sandbox: RunningSandbox) -> EventSchemaClient:
    """Capture the events, bind the checkout schema; return a client of the project."""
    batch = [
        {"event": "checkout_started", "distinct_id": f"user-{i}", "properties": props}
        for i, props in enumerate(SENT)
    ] + [{"event": "page_seen", "distinct_id": "user-0", "properties": {}}]
    response = httpx.post(
        f"{sandbox.url}/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch}
    )
    assert response.status_code == 200, response.text
    client = EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url)
    group = client.property_groups.create(
        name="Checkout",
        properties=[
            PropertyInput(name="cart_id", property_type="String", is_required=True),
            PropertyInput(name="revenue", property_type="Numeric", is_required=True),
        ],
    )
    event = client.event_definitions.get_by_name("checkout_started")
    client.event_schemas.create(event_definition=event.id, property_group_id=group.id)
    return client


@pytest.mark.usefixtures("posthog_conn")
def test_poke_is_done_when_every_event_reaches_the_threshold(
    checkout_events: EventSchemaClient, sandbox_url: str
) -> None:
    ti = RecordingTaskInstance()
    sensor = EventSchemaConformanceSensor(
        task_id="healthy", events="checkout_started", threshold=0.8
    )

    result = sensor.poke({"ti": ti})

    assert result.is_done
    assert result.xcom_value["passed"] is True
    assert result.xcom_value["events"] == [
        {
            "event": "checkout_started",
            "status": "healthy",
            "events": len(SENT),
            "conforming": CONFORMING,
            "rate": CONFORMING / len(SENT),
        }
    ]
    event_id = checkout_events.event_definitions.get_by_name("checkout_started").id
    assert ti.xcom[SCHEMA_PAGE_XCOM_KEY] == (
        f"{sandbox_url}/project/1/data-management/events/{event_id}"
    )


@pytest.mark.usefixtures("posthog_conn", "checkout_events")
def test_poke_keeps_waiting_below_the_threshold_or_with_too_few_events() -> None:
    below = EventSchemaConformanceSensor(task_id="strict", events=["checkout_started"])
    too_few = EventSchemaConformanceSensor(
        task_id="few", events=["checkout_started"], threshold=0.5, min_events=len(SENT) + 1
    )

    below_result = below.poke({"ti": RecordingTaskInstance()})
    too_few_result = too_few.poke({"ti": RecordingTaskInstance()})

    assert not below_result.is_done
    assert below_result.xcom_value["events"][0]["status"] == "below_threshold"
    assert not too_few_result.is_done
    assert too_few_result.xcom_value["events"][0]["status"] == "too_few_events"


@pytest.mark.usefixtures("posthog_conn", "checkout_events")
def test_event_without_a_schema_fails_the_task_at_once() -> None:
    sensor = EventSchemaConformanceSensor(
        task_id="gate", events="checkout_started,page_seen", threshold=0.5
    )

    with pytest.raises(AirflowFailException, match="page_seen: no schema is bound to it"):
        sensor.poke({"ti": RecordingTaskInstance()})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"events": "a", "threshold": 1.5}, "threshold: must be a fraction", id="rate"),
        pytest.param({"events": " , "}, "events: give at least one event name", id="no-events"),
        pytest.param({"events": "a", "window": "1 hour"}, "bad window '1 hour'", id="window"),
        pytest.param({"events": "a", "min_events": -1}, "min_events", id="min-events"),
    ],
)
def test_bad_sensor_parameters_fail_when_the_dag_is_parsed(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        EventSchemaConformanceSensor(task_id="gate", **arguments)


@pytest.mark.usefixtures("posthog_conn")
def test_bad_templated_window_fails_the_task_before_any_request(sandbox: RunningSandbox) -> None:
    sensor = EventSchemaConformanceSensor(
        task_id="gate", events="{{ params.events }}", window="{{ params.window }}"
    )
    sensor.render_template_fields({"params": {"events": "checkout_started", "window": "soon"}})

    with pytest.raises(AirflowFailException, match="bad window 'soon'"):
        sensor.poke({"ti": RecordingTaskInstance()})

    assert sandbox.sandbox.faults.stats()["requests"] == 0


@pytest.mark.usefixtures("posthog_conn", "checkout_events")
def test_templated_wait_settings_are_read_as_seconds_when_the_task_starts() -> None:
    sensor = EventSchemaConformanceSensor(
        task_id="gate",
        events="checkout_started",
        threshold=0.8,
        poke_interval="{{ params.poke }}",
        timeout="{{ params.wait }}",
    )
    sensor.render_template_fields({"params": {"poke": 5, "wait": "60"}})

    verdict = sensor.execute({"ti": RecordingTaskInstance()})

    assert verdict["passed"] is True
    assert (sensor.poke_interval, sensor.timeout) == (5.0, 60.0)


@pytest.mark.usefixtures("posthog_conn")
def test_bad_templated_wait_fails_the_task_before_any_request(sandbox: RunningSandbox) -> None:
    sensor = EventSchemaConformanceSensor(
        task_id="gate", events="checkout_started", timeout="{{ params.wait }}"
    )
    sensor.render_template_fields({"params": {"wait": "soon"}})

    with pytest.raises(AirflowFailException, match="timeout: give seconds as a number"):
        sensor.execute({"ti": RecordingTaskInstance()})

    assert sandbox.sandbox.faults.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"timeout": -1}, "timeout: give seconds as a number, 0 or more", id="timeout"),
        pytest.param({"poke_interval": "soon"}, "poke_interval: give seconds", id="poke"),
    ],
)
def test_bad_wait_settings_fail_when_the_dag_is_parsed(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        EventSchemaConformanceSensor(task_id="gate", events="a", **arguments)


@pytest.mark.usefixtures("posthog_conn", "checkout_events")
def test_pokes_that_notify_send_each_incident_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with receiver() as webhook:
        monkeypatch.setenv("EVENTSCHEMA_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("EVENTSCHEMA_WEBHOOK_SECRET", "sensor-webhook-secret-0123456789")
        sensor = EventSchemaConformanceSensor(
            task_id="gate",
            events="checkout_started",
            notify="webhook",
            incidents_path=str(tmp_path / "incidents.sqlite3"),
        )
        for _ in range(3):
            assert not sensor.poke({"ti": RecordingTaskInstance()}).is_done
        sent = [item.json()["incident"] for item in webhook.accepted]
    assert sent
    assert len({item["id"] for item in sent}) == len(sent)
    assert [(item["event"], item["code"]) for item in sent] == [
        ("checkout_started", "below_threshold")
    ]
