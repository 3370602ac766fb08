"""Alerts: audit findings as incidents with a lifecycle, delivered to Slack and signed webhooks.

See ``docs/alerts.md``. :func:`notify_report` records an audit report in the incidents file
(:class:`IncidentStore`) and delivers the messages it owes; :func:`notify_targets` reads the
targets' settings from the environment.
"""

from __future__ import annotations

from eventschema_tools.alerts.incidents import (
    Incident,
    IncidentState,
    IncidentStore,
    IncidentSummary,
    Transition,
)
from eventschema_tools.alerts.notify import (
    DEFAULT_INCIDENTS,
    INCIDENTS_VARIABLE,
    Alerting,
    NotifyResult,
    alerting,
    incidents_path,
    notify_report,
    posthog_target_for,
)
from eventschema_tools.alerts.routing import ROUTES_VARIABLE, Routes, load_routes, owner_of
from eventschema_tools.alerts.targets import NotifyTarget, notify_targets

__all__ = [
    "DEFAULT_INCIDENTS",
    "INCIDENTS_VARIABLE",
    "ROUTES_VARIABLE",
    "Alerting",
    "Incident",
    "IncidentState",
    "IncidentStore",
    "IncidentSummary",
    "NotifyResult",
    "NotifyTarget",
    "Routes",
    "Transition",
    "alerting",
    "incidents_path",
    "load_routes",
    "notify_report",
    "notify_targets",
    "owner_of",
    "posthog_target_for",
]
