"""``EventSchemaPageLink``: a button on the task page that opens the event's schema in PostHog.

Operators push the page's URL to XCom under :data:`SCHEMA_PAGE_XCOM_KEY` while they run
(:func:`publish_schema_page`); the worker resolves the link when the task finishes, even when it
failed, so a failed audit still links to the event it failed on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from eventschema_tools.airflow_plugin._sdk import (
    BaseOperatorLink,
    Context,
    TaskInstanceKey,
    XCom,
)
from eventschema_tools.catalog.links import schema_page_url
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import EventSchemaError

if TYPE_CHECKING:
    from eventschema_tools.airflow_plugin._sdk import BaseOperator

__all__ = ["SCHEMA_PAGE_XCOM_KEY", "EventSchemaPageLink", "publish_schema_page"]

SCHEMA_PAGE_XCOM_KEY = "posthog_schema_url"

log = logging.getLogger(__name__)


class EventSchemaPageLink(BaseOperatorLink):
    """Link to the PostHog page of the event schema a task acted on."""

    name = "PostHog schema"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the URL the task pushed, or ``""`` (no button) if it pushed none."""
        url = XCom.get_value(ti_key=ti_key, key=SCHEMA_PAGE_XCOM_KEY)
        return url if isinstance(url, str) else ""


def publish_schema_page(context: Context, client: EventSchemaClient, event: str | None) -> None:
    """Push the URL of ``event``'s schema page (the schema list when ``None``) for the link.

    A link is a convenience: when PostHog cannot be asked for the event's id, the task goes on
    without one and says why in its log.
    """
    try:
        url = schema_page_url(client, event)
    except EventSchemaError as exc:
        log.warning("No link to the schema page in PostHog: %s", exc)
        return
    context["ti"].xcom_push(key=SCHEMA_PAGE_XCOM_KEY, value=url)
