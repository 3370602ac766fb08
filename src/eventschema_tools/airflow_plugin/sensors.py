"""Sensors: wait until events conform well enough to use them, or until they arrive at all.

``EventSchemaConformanceSensor`` waits on the conformance gate, ``EventFreshnessSensor`` on the
freshness gate (each named event seen recently). Put them upstream of jobs that read the events,
so they only run on healthy data::

    from eventschema_tools.airflow_plugin.sensors import EventSchemaConformanceSensor

    healthy = EventSchemaConformanceSensor(
        task_id="checkout_events_healthy",
        events=["checkout_completed", "checkout_started"],
        threshold=0.99,
        window="1h",
        mode="reschedule",
    )

    fresh = EventFreshnessSensor(
        task_id="checkout_events_arriving", events="checkout_completed", within="30m"
    )

``poke_interval`` and ``timeout`` may be templates (``"{{ params.gate_timeout }}"``), so a run
can wait less than the DAG's production values, e.g. a short demo run with
``airflow dags test ... -c '{"gate_timeout": 60}'``. They are read when the task starts, as
seconds (a number or a numeric string).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from eventschema_tools.airflow_plugin._alerts import (
    NOTIFY_TEMPLATE_FIELDS,
    check_notify,
    prepare_alerts,
    send_alerts,
)
from eventschema_tools.airflow_plugin._params import (
    bad_parameters_fail_the_task,
    check_if_final,
    is_final,
)
from eventschema_tools.airflow_plugin._sdk import (
    AirflowFailException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    XComArg,
)
from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
from eventschema_tools.airflow_plugin.links import EventSchemaPageLink, publish_schema_page
from eventschema_tools.audit.freshness import FreshnessOptions, check_freshness, freshness_options
from eventschema_tools.audit.gate import (
    ConformanceGate,
    EventStatus,
    GateOptions,
    gate_options,
    judge,
)
from eventschema_tools.audit.model import parse_window
from eventschema_tools.audit.run import run_audit
from eventschema_tools.errors import InvalidInputError

__all__ = ["EventFreshnessSensor", "EventSchemaConformanceSensor"]


class _EventSensor(BaseSensorOperator):
    """What both sensors share: the connection, and wait settings that may be templates."""

    operator_extra_links = (EventSchemaPageLink(),)
    ui_color = "#f9bd2b"

    def __init__(
        self,
        *,
        posthog_conn_id: str = EventSchemaHook.default_conn_name,
        project_id: str | int | None = None,
        poke_interval: float | timedelta | str = 300,
        timeout: float | timedelta | str | None = None,
        **kwargs: Any,
    ) -> None:
        # A templated wait is known only when the task runs: Airflow checks the placeholders
        # given here, and execute() checks the rendered values.
        templated = {
            name: value
            for name, value in (("poke_interval", poke_interval), ("timeout", timeout))
            if isinstance(value, str) and not is_final(value)
        }
        super().__init__(
            poke_interval=_seconds(
                "poke_interval", 300 if "poke_interval" in templated else poke_interval
            ),
            timeout=None if "timeout" in templated else _seconds("timeout", timeout),
            **kwargs,
        )
        for name, value in templated.items():
            setattr(self, name, value)
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id

    def execute(self, context: Context) -> Any:
        """Check the rendered wait settings, then poke until done (or reschedule)."""
        with bad_parameters_fail_the_task():
            self.poke_interval = _seconds("poke_interval", self.poke_interval)
            self.timeout = _seconds("timeout", self.timeout)
        return super().execute(context)

    def hook(self) -> EventSchemaHook:
        """The hook of the connection and project this sensor reads."""
        return EventSchemaHook(self.posthog_conn_id, project_id=self.project_id)


class EventSchemaConformanceSensor(_EventSensor):
    """Wait until every named event's share of conforming events reaches ``threshold``.

    An event conforms when each required property of its schema is present with an accepted
    type (what ``reject`` enforcement would keep). Each poke measures the last ``window`` of
    events with one HogQL query; PostHog allows a key about 120 queries an hour, so keep
    ``poke_interval`` in minutes (default 5) and prefer ``mode="reschedule"`` for long waits.
    When done, the verdict (:class:`~eventschema_tools.audit.gate.ConformanceGate` as
    JSON) is the return value. An event with no schema bound fails the task at once, since it
    can never become healthy.

    Args:
        events: The events to watch, a list or ``"a,b"``.
        threshold: The lowest share of conforming events that passes, from 0 to 1.
        window: How far back each poke looks: ``30m``, ``1h``, ``1d``...
        min_events: The fewest events in the window needed to judge an event.
        plan_path: Judge against this tracking plan's schemas instead of the live project's.
        notify: Keep each poke's findings as incidents and message new, escalated and resolved
            ones once (``slack``, ``webhook``, ``github``, ``email``, ``posthog``; as on
            :class:`~eventschema_tools.airflow_plugin.operators.EventSchemaAuditOperator`).
        notify_conn_id: A connection whose extras hold the targets' settings.
        incidents_path: The incidents file; keep it on storage every run sees.
        routes_path: A routes file: which targets each owner's incidents go to.
        posthog_conn_id: The ``posthog`` connection.
        project_id: A project to use instead of the connection's.
        poke_interval: Seconds between pokes (default 300): a number, a ``timedelta``, or a
            template that renders to a number of seconds.
        timeout: Seconds before the sensor gives up (Airflow's ``[sensors] default_timeout``
            when not given), in the same forms as ``poke_interval``.
        **kwargs: ``BaseSensorOperator`` arguments (``mode``, ``soft_fail``...).
    """

    template_fields: Collection[str] = (
        "posthog_conn_id",
        "project_id",
        "events",
        "window",
        "plan_path",
        "poke_interval",
        "timeout",
        *NOTIFY_TEMPLATE_FIELDS,
    )

    def __init__(
        self,
        *,
        events: Sequence[str] | str | XComArg,
        threshold: float = 0.99,
        window: str = "1h",
        min_events: int = 1,
        plan_path: str | None = None,
        notify: str | Sequence[str] | None = None,
        notify_conn_id: str | None = None,
        incidents_path: str | None = None,
        routes_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.notify = notify
        self.notify_conn_id = notify_conn_id
        self.incidents_path = incidents_path
        self.routes_path = routes_path
        check_if_final(notify, check_notify)
        self.events = events
        self.threshold = threshold
        self.window = window
        self.min_events = min_events
        self.plan_path = plan_path
        check_if_final(window, parse_window)
        if is_final(events):
            self._options()

    def poke(self, context: Context) -> PokeReturnValue:
        """Measure the events once; done when all of them are healthy."""
        with bad_parameters_fail_the_task():
            options = self._options(plan=self.plan_path)
            alerts = prepare_alerts(
                self.notify, self.notify_conn_id, self.incidents_path, self.routes_path
            )
        with self.hook().get_conn() as client, bad_parameters_fail_the_task():
            report = run_audit(client, options.audit)
            gate = judge(report, options)
            publish_schema_page(context, client, _first_unhealthy(gate))
            if alerts is not None:
                # Incidents for the events under the threshold, on top of the audit's findings.
                findings = [*report.findings, *gate.findings()]
                send_alerts(
                    alerts,
                    client,
                    report.model_copy(update={"findings": findings}),
                    events=options.audit.events,
                    plan=options.audit.plan,
                    log=self.log,
                )
        self.log.info("Conformance: %s", gate.summary())
        if any(item.status is EventStatus.NO_SCHEMA for item in gate.events):
            raise AirflowFailException(f"cannot judge conformance: {gate.summary()}")
        return PokeReturnValue(is_done=gate.passed, xcom_value=gate.model_dump(mode="json"))

    def _options(self, *, plan: str | None = None) -> GateOptions:
        # The plan is read only at poke time: its path may be templated.
        return gate_options(
            events=self.events,  # type: ignore[arg-type]  # Airflow resolves XComArgs before poke
            threshold=self.threshold,
            window=self.window,
            min_events=self.min_events,
            plan=plan,
        )


class EventFreshnessSensor(_EventSensor):
    """Wait until every named event has arrived at least ``min_events`` times within the last
    ``within``: the event is being sent again (after a release, a backfill, an outage).

    Each poke is one HogQL query for all the events (PostHog allows a key about 120 an hour:
    keep ``poke_interval`` in minutes and prefer ``mode="reschedule"`` for long waits). Any event
    name can be watched, with or without a schema. When done, the verdict
    (:class:`~eventschema_tools.audit.freshness.FreshnessCheck` as JSON) is the return value.

    Args:
        events: The events to watch, a list or ``"a,b"``.
        within: How recent an arrival counts: ``30m``, ``6h``, ``1d``...
        min_events: The fewest arrivals within the window that count as fresh.
        posthog_conn_id: The ``posthog`` connection.
        project_id: A project to use instead of the connection's.
        poke_interval: Seconds between pokes (default 300), as for the conformance sensor.
        timeout: Seconds before the sensor gives up, as for the conformance sensor.
        **kwargs: ``BaseSensorOperator`` arguments (``mode``, ``soft_fail``...).
    """

    template_fields: Collection[str] = (
        "posthog_conn_id",
        "project_id",
        "events",
        "within",
        "poke_interval",
        "timeout",
    )

    def __init__(
        self,
        *,
        events: Sequence[str] | str | XComArg,
        within: str = "1h",
        min_events: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.events = events
        self.within = within
        self.min_events = min_events
        if is_final(events) and is_final(within):
            self._options()

    def poke(self, context: Context) -> PokeReturnValue:
        """Look for the events once; done when all of them arrived recently."""
        with bad_parameters_fail_the_task():
            options = self._options()
        with self.hook().get_conn() as client, bad_parameters_fail_the_task():
            check = check_freshness(client, options)
            publish_schema_page(context, client, (check.stale or [check.events[0].event])[0])
        self.log.info("Freshness: %s", check.summary())
        return PokeReturnValue(is_done=check.passed, xcom_value=check.model_dump(mode="json"))

    def _options(self) -> FreshnessOptions:
        return freshness_options(
            events=self.events,  # type: ignore[arg-type]  # Airflow resolves XComArgs before poke
            within=self.within,
            min_events=self.min_events,
        )


def _seconds(name: str, value: Any) -> Any:
    """A wait setting as seconds: a number, a numeric string (a rendered template) or a
    ``timedelta``; ``None`` stays ``None`` (Airflow's default)."""
    if value is None or isinstance(value, timedelta):
        return value
    number = _number(value)
    if number is None or not 0 <= number < math.inf:
        raise InvalidInputError(
            f"{name}: give seconds as a number, 0 or more, got {value!r}",
            [(name, "not a number of seconds")],
        )
    return number


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _first_unhealthy(gate: ConformanceGate) -> str:
    unhealthy = [item.event for item in gate.events if item.status is not EventStatus.HEALTHY]
    return (unhealthy or [gate.events[0].event])[0]
