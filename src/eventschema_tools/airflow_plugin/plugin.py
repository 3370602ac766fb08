"""``EventSchemaPlugin``: what Airflow loads through the ``airflow.plugins`` entry point.

It registers the :class:`~eventschema_tools.airflow_plugin.links.EventSchemaPageLink` so the
API server lists it with the plugins (``airflow plugins``) and can show it on task pages.
"""

from __future__ import annotations

from eventschema_tools.airflow_plugin._sdk import AirflowPlugin
from eventschema_tools.airflow_plugin.links import EventSchemaPageLink

__all__ = ["EventSchemaPlugin"]


class EventSchemaPlugin(AirflowPlugin):
    """The eventschema-tools Airflow plugin."""

    name = "eventschema"
    # AirflowPlugin declares these as plain class-level lists; Airflow reads them off the class.
    operator_extra_links = [EventSchemaPageLink()]  # noqa: RUF012
