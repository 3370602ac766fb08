"""Incident alerts from Airflow tasks: what the audit operator and the conformance sensor share.

Targets' settings come from a connection's extras (``notify_conn_id``; masked in task logs) or
the worker's ``EVENTSCHEMA_*`` variables; the ``posthog`` target uses the task's own PostHog
connection. Everything but that connection is checked before the first request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from eventschema_tools.airflow_plugin._params import as_names
from eventschema_tools.airflow_plugin._sdk import BaseHook, mask_secret
from eventschema_tools.alerts.notify import Alerting, alerting
from eventschema_tools.alerts.targets import target_names
from eventschema_tools.audit.model import AuditReport
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.tracking_plan.file import TrackingPlan

__all__ = ["NOTIFY_TEMPLATE_FIELDS", "check_notify", "prepare_alerts", "send_alerts"]

NOTIFY_TEMPLATE_FIELDS: Final = ("notify", "incidents_path", "routes_path")

# Extras of a notify connection, and the settings they stand for.
_NOTIFY_EXTRAS: Final = {
    "slack_webhook_url": "EVENTSCHEMA_SLACK_WEBHOOK_URL",
    "webhook_url": "EVENTSCHEMA_WEBHOOK_URL",
    "webhook_secret": "EVENTSCHEMA_WEBHOOK_SECRET",
    "github_repo": "EVENTSCHEMA_GITHUB_REPO",
    "github_token": "EVENTSCHEMA_GITHUB_TOKEN",
    "github_api_url": "EVENTSCHEMA_GITHUB_API_URL",
    **{
        f"smtp_{name}": f"EVENTSCHEMA_SMTP_{name.upper()}"
        for name in ("host", "port", "security", "user", "password", "from", "to")
    },
}


def check_notify(notify: Any) -> None:
    """Refuse unknown targets when the DAG is parsed."""
    target_names(as_names(notify))


def _connection_settings(conn_id: str | None) -> Mapping[str, str] | None:
    if not conn_id:
        return None
    extras = BaseHook.get_connection(conn_id).extra_dejson
    settings = {}
    for key, variable in _NOTIFY_EXTRAS.items():
        value = str(extras.get(key) or "")
        if value:
            mask_secret(value)
            settings[variable] = value
    return settings


def prepare_alerts(
    notify: Any, notify_conn_id: str | None, incidents: str | None, routes_path: str | None
) -> Alerting | None:
    """The rendered alert settings, checked (``None`` when the task notifies no one)."""
    return alerting(
        as_names(notify or []),
        routes=routes_path or None,
        incidents=incidents or None,
        settings=_connection_settings(notify_conn_id),
    )


def send_alerts(
    alerts: Alerting,
    client: EventSchemaClient,
    report: AuditReport,
    *,
    events: Sequence[str] | None,
    plan: TrackingPlan | None,
    log: Any,
) -> None:
    """Record the report's incidents, deliver what they owe, and log how it went."""
    notified = alerts.notify(client, report, events=events, plan=plan)
    log.info(
        "incidents: %d opened, %d resolved; %d message(s) delivered, %d pending",
        notified.opened,
        notified.resolved,
        len(notified.delivery.delivered),
        len(notified.delivery.failed),
    )
