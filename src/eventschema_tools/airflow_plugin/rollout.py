"""Environments in Airflow: wait for the source's soak, promote, ratchet enforcement.

Each environment of the plan is one ``posthog`` connection, ``posthog_<name>`` unless named
otherwise (``posthog_staging``, ``posthog_prod``). Before any write, every connection is checked
against the plan's ``environments:`` block (host and project): a connection that reaches another
project fails the task without retries.

Example::

    from eventschema_tools.airflow_plugin.rollout import (
        PromoteEnvironmentOperator,
        PromotionSoakSensor,
    )

    soaked = PromotionSoakSensor(
        task_id="staging_soaked", plan_path="/repo/tracking-plan.yaml",
        source="staging", target="prod", soak="24h", mode="reschedule", poke_interval=3600,
    )
    promote = PromoteEnvironmentOperator(
        task_id="promote", plan_path="/repo/tracking-plan.yaml", source="staging", target="prod"
    )
    soaked >> promote
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from eventschema_tools.airflow_plugin._alerts import (
    NOTIFY_TEMPLATE_FIELDS,
    check_notify,
    prepare_alerts,
)
from eventschema_tools.airflow_plugin._params import bad_parameters_fail_the_task, check_if_final
from eventschema_tools.airflow_plugin._sdk import (
    AirflowException,
    AirflowFailException,
    BaseOperator,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
)
from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
from eventschema_tools.audit.model import parse_window
from eventschema_tools.audit.soak import DEFAULT_MIN_EVENTS, DEFAULT_SLO, DEFAULT_SOAK
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import ConfigurationError
from eventschema_tools.rollout import (
    Promotion,
    PromotionOptions,
    check_promotion,
    notify_ratchet,
    promotion_options,
    ratchet,
    ratchet_options,
    store_ratchet,
)
from eventschema_tools.tracking_plan import DEFAULT_CONCURRENCY, apply
from eventschema_tools.tracking_plan.file import load_plan

__all__ = [
    "PromoteEnvironmentOperator",
    "PromotionSoakSensor",
    "RatchetEnforcementOperator",
    "environment_conn_id",
]


def environment_conn_id(environment: str) -> str:
    """The connection of an environment unless told otherwise: ``posthog_<name>``."""
    return f"posthog_{environment.replace('-', '_')}"


@contextmanager
def _connections_checked() -> Iterator[None]:
    """A connection that reaches another project than the plan says: no retry can fix it."""
    try:
        yield
    except ConfigurationError as exc:
        raise AirflowFailException(str(exc)) from exc


class _Promotion:
    """What the sensor and the operator share: the plan, the two environments, the soak."""

    template_fields: Collection[str] = (
        "plan_path",
        "source",
        "target",
        "source_conn_id",
        "target_conn_id",
        "soak",
    )

    plan_path: str
    source: str
    target: str
    source_conn_id: str | None
    target_conn_id: str | None
    slo: float
    soak: str
    min_events: int
    prune: bool

    def _settings(
        self,
        *,
        plan_path: str,
        source: str,
        target: str,
        source_conn_id: str | None,
        target_conn_id: str | None,
        slo: float,
        soak: str,
        min_events: int,
        prune: bool,
    ) -> None:
        self.plan_path = plan_path
        self.source = source
        self.target = target
        self.source_conn_id = source_conn_id
        self.target_conn_id = target_conn_id
        self.slo = slo
        self.soak = soak
        self.min_events = min_events
        self.prune = prune
        check_if_final(soak, parse_window)

    def options(self) -> PromotionOptions:
        """The rendered settings, checked (a bad one fails the task)."""
        with bad_parameters_fail_the_task():
            return promotion_options(
                load_plan(self.plan_path),
                source=self.source,
                target=self.target,
                slo=self.slo,
                soak=self.soak,
                min_events=self.min_events,
                prune=self.prune,
            )

    def clients(self) -> tuple[EventSchemaClient, EventSchemaClient]:
        """The two environments' clients, from their connections."""
        source = self.source_conn_id or environment_conn_id(self.source)
        target = self.target_conn_id or environment_conn_id(self.target)
        return EventSchemaHook(source).get_conn(), EventSchemaHook(target).get_conn()

    def check(self) -> Promotion:
        """The change set and the soak verdict."""
        options = self.options()
        source, target = self.clients()
        with source, target, _connections_checked():
            return check_promotion(source, target, options)


class PromotionSoakSensor(_Promotion, BaseSensorOperator):
    """Wait until promoting ``source`` to ``target`` may go ahead: every event the change set
    touches held ``slo`` in the source over ``soak`` (see ``docs/environments.md``).

    Each poke reads both projects and sends two HogQL queries; keep ``poke_interval`` long
    (default an hour) and ``mode="reschedule"``. Done with the promotion (change set and
    verdict, as JSON) as its return value; with nothing to promote it is done at once.

    Args:
        plan_path: The tracking-plan file with the ``environments:`` block.
        source: The environment promoted from (``staging``).
        target: The environment promoted to (``prod``).
        slo: The share of conforming events the soak needs.
        soak: How long they must have conformed: ``6h``, ``24h``, ``7d``.
        min_events: The fewest events a changed event needs in the soak period.
        prune: Count deletions of what the plan owns and the source dropped.
        source_conn_id: The source's connection (default ``posthog_<source>``).
        target_conn_id: The target's connection (default ``posthog_<target>``).
        **kwargs: ``BaseSensorOperator`` arguments (``mode``, ``timeout``...).
    """

    ui_color = "#f9bd2b"

    def __init__(
        self,
        *,
        plan_path: str,
        source: str,
        target: str,
        slo: float = DEFAULT_SLO,
        soak: str = DEFAULT_SOAK,
        min_events: int = DEFAULT_MIN_EVENTS,
        prune: bool = False,
        source_conn_id: str | None = None,
        target_conn_id: str | None = None,
        poke_interval: float | timedelta = 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self._settings(
            plan_path=plan_path,
            source=source,
            target=target,
            source_conn_id=source_conn_id,
            target_conn_id=target_conn_id,
            slo=slo,
            soak=soak,
            min_events=min_events,
            prune=prune,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """Check the soak once; done when the promotion may go ahead."""
        promotion = self.check()
        if promotion.soak is not None:
            self.log.info("Soak in %s: %s", self.source, promotion.soak.summary())
        return PokeReturnValue(
            is_done=promotion.passed, xcom_value=promotion.model_dump(mode="json")
        )


class PromoteEnvironmentOperator(_Promotion, BaseOperator):
    """Apply to ``target`` the change set live in ``source``, only once the source's changed
    events held ``slo`` over ``soak`` (checked again here, right before the writes).

    Returns (and pushes under ``promotion``) the promotion as JSON: the change set, the changed
    events, the soak verdict and the apply report. A refusal fails the task without retries,
    naming each event and its rate; nothing is written. Failed writes raise
    ``AirflowException``, so a retry makes only what is missing.

    Args:
        plan_path: The tracking-plan file with the ``environments:`` block.
        source: The environment promoted from (``staging``).
        target: The environment promoted to (``prod``).
        slo: The share of conforming events the soak needs.
        soak: How long they must have conformed: ``6h``, ``24h``, ``7d``.
        min_events: The fewest events a changed event needs in the soak period.
        prune: Also delete what the plan owns in the target and the source dropped.
        dry_run: Check and publish, write nothing.
        concurrency: Writes in flight at once.
        source_conn_id: The source's connection (default ``posthog_<source>``).
        target_conn_id: The target's connection (default ``posthog_<target>``).
        **kwargs: ``BaseOperator`` arguments.
    """

    ui_color = "#f9bd2b"
    result_key = "promotion"

    def __init__(
        self,
        *,
        plan_path: str,
        source: str,
        target: str,
        slo: float = DEFAULT_SLO,
        soak: str = DEFAULT_SOAK,
        min_events: int = DEFAULT_MIN_EVENTS,
        prune: bool = False,
        dry_run: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        source_conn_id: str | None = None,
        target_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._settings(
            plan_path=plan_path,
            source=source,
            target=target,
            source_conn_id=source_conn_id,
            target_conn_id=target_conn_id,
            slo=slo,
            soak=soak,
            min_events=min_events,
            prune=prune,
        )
        # Stored under another name: BaseOperator.dry_run() is a method Airflow calls.
        self.check_only = dry_run
        self.concurrency = concurrency

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the soak, then apply the change set to the target unless refused."""
        options = self.options()
        source, target = self.clients()
        with source, target, _connections_checked():
            promotion = check_promotion(source, target, options)
            if promotion.passed and not self.check_only and not promotion.plan.is_empty:
                applied = apply(target, promotion.plan, concurrency=self.concurrency)
                promotion = promotion.model_copy(update={"report": applied})
        result = promotion.model_dump(mode="json")
        context["ti"].xcom_push(key=self.result_key, value=result)
        self.log.info("%s → %s: %s", self.source, self.target, promotion.plan.summary())
        if not promotion.passed:
            raise AirflowFailException(promotion.refusal())
        report = promotion.report
        if report is not None and not report.ok:
            message = f"{report.summary()} Each outcome is in XCom {self.result_key!r}."
            if report.aborted is None:
                raise AirflowException(message + " A retry makes only the writes still missing.")
            raise AirflowFailException(f"{message} Stopped: {report.aborted}")
        return result


class RatchetEnforcementOperator(BaseOperator):
    """Run the enforcement ratchet: ``reject`` for ratcheted events whose conformance held
    their SLO for their soak period, ``allow`` again on a regression (``ratchet:`` entries of
    the plan; ``docs/environments.md#the-enforcement-ratchet``).

    Returns (and pushes under ``ratchet``) the run as JSON: each event's move, reason and
    evidence. With ``history_dir`` a run that switched something is kept there; with
    ``notify`` each switch is sent to the alert targets once.

    Args:
        plan_path: The tracking-plan file.
        environment: The plan's environment to run in (its connection: ``posthog_<name>``);
            ``None`` runs on ``posthog_conn_id``'s project.
        posthog_conn_id: The connection (default ``posthog_<environment>``, else
            ``posthog_default``).
        dry_run: Decide and publish, switch nothing.
        history_dir: The audit history folder to keep the switches in.
        notify: Alert targets (``slack``, ``webhook``, ``github``, ``email``, ``posthog``).
        notify_conn_id: A connection whose extras hold the targets' settings.
        incidents_path: The incidents file; keep it on storage every run sees.
        routes_path: A routes file: which targets each owner's incidents go to.
        **kwargs: ``BaseOperator`` arguments.
    """

    template_fields: Collection[str] = (
        "plan_path",
        "environment",
        "posthog_conn_id",
        "history_dir",
        *NOTIFY_TEMPLATE_FIELDS,
    )
    ui_color = "#f9bd2b"
    result_key = "ratchet"

    def __init__(
        self,
        *,
        plan_path: str,
        environment: str | None = None,
        posthog_conn_id: str | None = None,
        dry_run: bool = False,
        history_dir: str | None = None,
        notify: str | list[str] | None = None,
        notify_conn_id: str | None = None,
        incidents_path: str | None = None,
        routes_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan_path = plan_path
        self.environment = environment
        self.posthog_conn_id = posthog_conn_id
        self.check_only = dry_run
        self.history_dir = history_dir
        self.notify = notify
        self.notify_conn_id = notify_conn_id
        self.incidents_path = incidents_path
        self.routes_path = routes_path
        check_if_final(notify, check_notify)

    def execute(self, context: Context) -> dict[str, Any]:
        """Decide each ratcheted event's move and make the switches."""
        with bad_parameters_fail_the_task():
            plan = load_plan(self.plan_path)
            options = ratchet_options(
                plan, environment=self.environment or None, dry_run=self.check_only
            )
            alerts = prepare_alerts(
                self.notify, self.notify_conn_id, self.incidents_path, self.routes_path
            )
        conn_id = self.posthog_conn_id or (
            environment_conn_id(self.environment)
            if self.environment
            else EventSchemaHook.default_conn_name
        )
        with EventSchemaHook(conn_id).get_conn() as client, _connections_checked():
            report = ratchet(client, options)
            if report.switches() and not self.check_only:
                if self.history_dir:
                    self.log.info("Kept in %s", store_ratchet(report, self.history_dir))
                if alerts is not None:
                    notified = notify_ratchet(alerts, client, report, plan=plan)
                    self.log.info(
                        "incidents: %d opened, %d resolved", notified.opened, notified.resolved
                    )
        result = report.model_dump(mode="json")
        context["ti"].xcom_push(key=self.result_key, value=result)
        for step in report.steps:
            self.log.info("%s: %s (%s)", step.event, step.move, step.reason)
        self.log.info(report.summary())
        applied = report.report
        if applied is not None and not applied.ok:
            raise AirflowException(
                f"{applied.summary()} Each outcome is in XCom {self.result_key!r}; a retry "
                "decides again and makes the switches still missing."
            )
        return result
