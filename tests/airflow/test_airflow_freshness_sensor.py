"""``EventFreshnessSensor.poke()`` against a loopback sandbox with captured events."""

from __future__ import annotations

import httpx
import pytest
from airflow.sdk.exceptions import AirflowFailException
from airflow_test_helpers import RecordingTaskInstance

from eventschema_tools.airflow_plugin.sensors import EventFreshnessSensor
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, RunningSandbox


@pytest.fixture
def sandbox_seed() -> None:
    return None


@pytest.fixture
def arrivals(sandbox: RunningSandbox) -> None:
    """Three checkout_started events now; nothing else."""
    batch = [
        {"event": "checkout_started", "distinct_id": f"user-{i}", "properties": {}}
        for i in range(3)
    ]
    response = httpx.post(
        f"{sandbox.url}/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch}
    )
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("posthog_conn", "arrivals")
def test_poke_is_done_when_every_event_arrived_recently() -> None:
    sensor = EventFreshnessSensor(task_id="fresh", events="checkout_started", within="30m")

    result = sensor.poke({"ti": RecordingTaskInstance()})

    assert result.is_done
    [event] = result.xcom_value["events"]
    assert (event["event"], event["events"], event["fresh"]) == ("checkout_started", 3, True)
    assert event["last_seen"] is not None


@pytest.mark.usefixtures("posthog_conn", "arrivals")
def test_poke_keeps_waiting_for_a_silent_event_or_too_few_arrivals() -> None:
    silent = EventFreshnessSensor(
        task_id="fresh", events=["checkout_started", "checkout_completed"], within="30m"
    )
    few = EventFreshnessSensor(
        task_id="fresh", events="checkout_started", within="30m", min_events=4
    )

    waiting = silent.poke({"ti": RecordingTaskInstance()})
    short = few.poke({"ti": RecordingTaskInstance()})

    assert not waiting.is_done
    assert [e["fresh"] for e in waiting.xcom_value["events"]] == [True, False]
    assert waiting.xcom_value["events"][1]["last_seen"] is None
    assert not short.is_done


def test_bad_parameters_fail_when_the_dag_is_parsed() -> None:
    with pytest.raises(InvalidInputError, match="min_events"):
        EventFreshnessSensor(task_id="fresh", events="a", min_events=0)
    with pytest.raises(InvalidInputError, match="window"):
        EventFreshnessSensor(task_id="fresh", events="a", within="soon")


@pytest.mark.usefixtures("posthog_conn")
def test_a_bad_templated_window_fails_the_task_before_any_request(
    sandbox: RunningSandbox,
) -> None:
    sensor = EventFreshnessSensor(task_id="fresh", events="a", within="{{ params.within }}")
    sensor.within = "soon"
    before = int(sandbox.sandbox.faults.stats()["requests"])

    with pytest.raises(AirflowFailException, match="window"):
        sensor.poke({"ti": RecordingTaskInstance()})

    assert int(sandbox.sandbox.faults.stats()["requests"]) == before
