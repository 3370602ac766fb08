"""``EventSchemaHook``: an Airflow connection of type ``posthog`` turned into the core client.

The connection holds everything the client needs (one connection per PostHog project):

=============  ===============================================================================
field          meaning
=============  ===============================================================================
host           ``us``, ``eu`` or the URL of the instance (``https://us.posthog.com`` if empty)
password       the personal API key (``phx_...``)
extra          ``project_id`` (required), ``timeout``, ``max_retries``, ``rate_limit``,
               ``query_rate_limit`` (see :class:`eventschema_tools.config.ClientSettings`)
=============  ===============================================================================

Example::

    from eventschema_tools.airflow_plugin.hooks import EventSchemaHook

    with EventSchemaHook("posthog_default").get_conn() as client:
        names = [d.name for d in client.event_definitions.list()]
"""

from __future__ import annotations

from typing import Any

from eventschema_tools.airflow_plugin._sdk import BaseHook, Connection
from eventschema_tools.airflow_plugin.provider_info import CONNECTION_TYPE
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import ConfigurationError

__all__ = ["EventSchemaHook"]

_EXTRA_FIELDS = ("project_id", "timeout", "max_retries", "rate_limit", "query_rate_limit")


class EventSchemaHook(BaseHook):
    """Build an :class:`~eventschema_tools.EventSchemaClient` from a ``posthog`` connection.

    Args:
        posthog_conn_id: the Airflow connection id (default ``posthog_default``).
        project_id: a project to use instead of the connection's ``project_id`` (one personal
            API key can reach every project of its organization).
    """

    conn_name_attr = "posthog_conn_id"
    default_conn_name = "posthog_default"
    conn_type = CONNECTION_TYPE
    hook_name = "PostHog"

    def __init__(
        self, posthog_conn_id: str = default_conn_name, *, project_id: str | int | None = None
    ) -> None:
        super().__init__()
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id

    def get_conn(self) -> EventSchemaClient:
        """Return a new client for the connection's project; close it (or use ``with``) after.

        Raises:
            ConfigurationError: the connection lacks the key or the project id, has unknown
                extras, or holds a malformed value.
        """
        conn = self.get_connection(self.posthog_conn_id)
        # Outside the try: these errors already name the connection.
        arguments = self.client_arguments(conn, project_id=self.project_id)
        try:
            return EventSchemaClient(**arguments)
        except ConfigurationError as exc:
            raise ConfigurationError(f"connection {conn.conn_id!r}: {exc}") from None

    @staticmethod
    def client_arguments(
        conn: Connection, *, project_id: str | int | None = None
    ) -> dict[str, Any]:
        """Map a connection's fields to :class:`EventSchemaClient` keyword arguments.

        Only the connection (and ``project_id``, when given) is read for the key, project and
        host, never ``POSTHOG_*`` variables, so a task acts on the project its DAG names.

        Raises:
            ConfigurationError: a required field is empty, or a field is set that is not used.
        """
        where = f"connection {conn.conn_id!r}"
        extra = {key: value for key, value in conn.extra_dejson.items() if value not in (None, "")}
        if project_id not in (None, ""):
            extra["project_id"] = project_id
        unknown = sorted(set(extra) - set(_EXTRA_FIELDS))
        problems = []
        if not (conn.password or "").strip():
            problems.append("the password must hold the personal API key (phx_...)")
        if "project_id" not in extra:
            problems.append('extra must hold the project id, e.g. {"project_id": "12345"}')
        if unknown:
            problems.append(
                f"extra has unknown fields {', '.join(unknown)} (known: {', '.join(_EXTRA_FIELDS)})"
            )
        if conn.port:
            problems.append("port is not used: put it in the host URL, e.g. http://localhost:8010")
        if problems:
            raise ConfigurationError(f"{where}: " + "; ".join(problems))
        return {"api_key": conn.password, "host": conn.host or "us", **extra}

    def test_connection(self) -> tuple[bool, str]:
        """Check the key and project with one request; Airflow shows the message as is."""
        try:
            with self.get_conn() as client:
                project = client.project()
        except Exception as exc:  # Airflow's connection test expects (False, reason), not a raise
            return False, _reason(exc, self.posthog_conn_id)
        name = f" ({project.name})" if project.name else ""
        return True, f"Connected to PostHog project {project.id}{name}"


def _reason(exc: Exception, conn_id: str) -> str:
    """Why the connection test failed, with the core's hint put in the connection's terms.

    The core's hints name ``POSTHOG_*`` variables and CLI options, which Airflow never reads;
    in Airflow the fix is a field of the connection (or of its ``AIRFLOW_CONN_*`` variable).
    """
    message = str(exc)
    named = [(setting, field) for setting, field in _SETTING_FIELDS if setting in message]
    if not named:
        return message
    for setting, field in named:
        message = message.replace(setting, field)
    return f"{message} [connection {conn_id!r}, or AIRFLOW_CONN_{conn_id.upper()}]"


# How the core's messages name a setting, and the connection field that holds it.
_SETTING_FIELDS = (
    ("POSTHOG_PERSONAL_API_KEY", "the connection's password"),
    ("POSTHOG_PROJECT_ID or --project", "the connection's project_id extra"),
    ("POSTHOG_HOST or --host", "the connection's host"),
    ("EVENTSCHEMA_TIMEOUT", "the connection's timeout extra"),
)
