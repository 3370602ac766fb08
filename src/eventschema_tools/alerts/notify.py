"""From an audit report to delivered messages: record incidents, queue, deliver.

Example::

    from eventschema_tools.alerts import notify_report, notify_targets

    targets = notify_targets(["slack"])          # checked before any audit or request
    result = notify_report(report, incidents="incidents.sqlite3", targets=targets,
                           host=client.host)
    print(result.opened, result.resolved, result.delivery.failed)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx

from eventschema_tools.alerts.delivery import DeliveryReport, deliver_pending
from eventschema_tools.alerts.incidents import IncidentStore, Transition
from eventschema_tools.alerts.routing import Routes, load_routes, owner_of
from eventschema_tools.alerts.targets import (
    NotifyTarget,
    notify_targets,
    posthog_target,
    target_names,
)
from eventschema_tools.audit.model import AuditReport
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.file import TrackingPlan

__all__ = [
    "DEFAULT_INCIDENTS",
    "INCIDENTS_VARIABLE",
    "Alerting",
    "NotifyResult",
    "alerting",
    "incidents_path",
    "notify_report",
    "posthog_target_for",
]

DEFAULT_INCIDENTS: Final = Path(".eventschema") / "incidents.sqlite3"
"""Where incidents are kept unless told otherwise."""
INCIDENTS_VARIABLE: Final = "EVENTSCHEMA_INCIDENTS"
"""The environment variable that names the incidents file (CLI, MCP server, Airflow)."""


def incidents_path(environ: Mapping[str, str] | None = None) -> Path:
    """The incidents file: ``EVENTSCHEMA_INCIDENTS``, else :data:`DEFAULT_INCIDENTS`."""
    value = (os.environ if environ is None else environ).get(INCIDENTS_VARIABLE, "").strip()
    return Path(value) if value else DEFAULT_INCIDENTS


@dataclass(frozen=True)
class NotifyResult:
    """What one audit did to the incidents, and what was delivered.

    Attributes:
        path: The incidents file.
        transitions: Each incident that opened, escalated or resolved, as ``(id, transition)``.
        delivery: The messages delivered and those still pending.
    """

    path: Path
    transitions: list[tuple[int, Transition]]
    delivery: DeliveryReport

    @property
    def opened(self) -> int:
        """Incidents opened by this audit."""
        return sum(item == Transition.OPENED for _, item in self.transitions)

    @property
    def resolved(self) -> int:
        """Incidents resolved by this audit."""
        return sum(item == Transition.RESOLVED for _, item in self.transitions)


def posthog_target_for(client: EventSchemaClient) -> NotifyTarget:
    """The ``posthog`` target of the client's project (one request when the project is
    ``@current``)."""
    project = client.project_id
    if project == "@current":
        project = str(client.project().id)
    key = client.settings.api_key.get_secret_value() if client.settings.api_key else ""
    return posthog_target(client.host, key, project)


def notify_report(
    report: AuditReport,
    *,
    incidents: str | Path = DEFAULT_INCIDENTS,
    targets: Sequence[NotifyTarget],
    host: str,
    events: Sequence[str] | None = None,
    plan: TrackingPlan | None = None,
    routes: Routes | None = None,
    now: datetime | None = None,
    http: httpx.Client | None = None,
) -> NotifyResult:
    """Record ``report`` in the incidents file and deliver what it owes (and earlier failures).

    Args:
        report: The audit report.
        incidents: The incidents file (created when missing).
        targets: Where messages go (from :func:`~eventschema_tools.alerts.notify_targets`).
        host: PostHog's address, for links.
        events: The events the audit was limited to (only their incidents can resolve).
        plan: The tracking plan, whose ``owner:`` entries own the incidents.
        routes: Which targets each owner's incidents go to (default: every target); the
            targets they name must be among ``targets``.
        now: The time of the audit (default: now).
        http: The HTTP client to deliver with (default: a new one).
    """
    moment = now or datetime.now(UTC)
    names = [target.name for target in targets]
    if routes is not None:
        missing = [name for name in routes.names() if name not in names]
        if missing:
            raise InvalidInputError(
                f"the routes name targets that are not configured: {', '.join(missing)}; "
                "add them to --notify",
                [("routes", f"unknown target: {name}") for name in missing],
            )
    route = routes.router(plan, names) if routes is not None else names
    with IncidentStore.open(incidents) as store:
        changes = store.record(
            report,
            host=host,
            targets=route,
            now=moment,
            events=events,
            owner=lambda finding: owner_of(finding, plan),
        )
        delivery = deliver_pending(store, targets, http=http)
    return NotifyResult(
        path=Path(incidents),
        transitions=[(incident.id, transition) for incident, transition in changes],
        delivery=delivery,
    )


@dataclass(frozen=True)
class Alerting:
    """One run's alert settings, checked before the audit: targets, routes, incidents file.

    Attributes:
        names: Every target named, by ``--notify`` and by the routes.
        settings: Where the targets' settings come from (``None``: the environment).
        routes: Which targets each owner's incidents go to.
        incidents: The incidents file.
        targets: The targets other than ``posthog``, whose settings are checked already.
    """

    names: list[str]
    settings: Mapping[str, str] | None
    routes: Routes | None
    incidents: Path
    targets: list[NotifyTarget]

    @property
    def writes_back(self) -> bool:
        """Whether the ``posthog`` target is named (it needs the audited connection)."""
        return any(kind == "posthog" for kind, _ in target_names(self.names))

    def targets_for(self, client: EventSchemaClient) -> list[NotifyTarget]:
        """Every target, the ``posthog`` one built from ``client``."""
        if not self.writes_back:
            return self.targets
        return notify_targets(self.names, self.settings, posthog=posthog_target_for(client))

    def notify(
        self,
        client: EventSchemaClient,
        report: AuditReport,
        *,
        events: Sequence[str] | None = None,
        plan: TrackingPlan | None = None,
    ) -> NotifyResult:
        """:func:`notify_report` with these settings, after an audit made with ``client``."""
        return notify_report(
            report,
            incidents=self.incidents,
            targets=self.targets_for(client),
            host=client.host,
            events=events,
            plan=plan,
            routes=self.routes,
        )


def alerting(
    notify: Sequence[str],
    *,
    routes: str | Path | None = None,
    incidents: str | Path | None = None,
    settings: Mapping[str, str] | None = None,
) -> Alerting | None:
    """Check alert settings before anything is sent (``None`` when no target is named).

    Args:
        notify: The targets named (``slack``, ``webhook:growth``, ``posthog``...).
        routes: A routes file; the targets it names are added.
        incidents: The incidents file (default: :func:`incidents_path`).
        settings: The targets' settings (default: the environment).

    Raises:
        InvalidInputError: an unknown target, a missing or malformed setting, a bad routes file.
    """
    routing = load_routes(routes) if routes is not None else None
    names = [*notify, *(routing.names() if routing else [])]
    if not names:
        return None
    others = [name for name in names if not name.startswith("posthog")]
    return Alerting(
        names=names,
        settings=settings,
        routes=routing,
        incidents=Path(incidents) if incidents is not None else incidents_path(),
        targets=notify_targets(others, settings),
    )
