"""Links into PostHog's web app for the objects this package works on, for people to click.

PostHog's app serves a project's pages under ``/project/<id>/``; an event definition's page (its
schema, properties and volume) is ``/data-management/events/<definition id>`` and the list of
property groups is ``/data-management/schema`` (PostHog ``frontend/src/urls.ts``).
"""

from __future__ import annotations

from uuid import UUID

from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import NotFoundError

__all__ = ["event_definition_url", "schema_management_url", "schema_page_url"]


def schema_management_url(host: str, project_id: str | int) -> str:
    """The project's schema management page (all property groups)."""
    return f"{host}/project/{project_id}/data-management/schema"


def event_definition_url(host: str, project_id: str | int, event_definition_id: UUID) -> str:
    """The page of one event definition, where its schema is shown and edited."""
    return f"{host}/project/{project_id}/data-management/events/{event_definition_id}"


def schema_page_url(client: EventSchemaClient, event: str | None = None) -> str:
    """The page of ``event``'s schema, or the schema management page when there is no such event.

    Costs one request to find the event's id (and one more when the client's project is
    ``@current``, which the web app's URLs cannot use).
    """
    project_id = client.project_id
    if project_id == "@current":
        project_id = str(client.project().id)
    if event is None:
        return schema_management_url(client.host, project_id)
    try:
        definition = client.event_definitions.get_by_name(event)
    except NotFoundError:
        return schema_management_url(client.host, project_id)
    return event_definition_url(client.host, project_id, definition.id)
