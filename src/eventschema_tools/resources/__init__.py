"""Resource namespaces of the clients: ``client.event_schemas``, ``.property_groups``,
``.event_definitions`` and ``.query``. Each module holds a sync class and its async twin."""

from eventschema_tools.resources.event_definitions import AsyncEventDefinitions, EventDefinitions
from eventschema_tools.resources.event_schemas import AsyncEventSchemas, EventSchemas
from eventschema_tools.resources.property_groups import AsyncPropertyGroups, PropertyGroups
from eventschema_tools.resources.query import AsyncQuery, QueryResource

__all__ = [
    "AsyncEventDefinitions",
    "AsyncEventSchemas",
    "AsyncPropertyGroups",
    "AsyncQuery",
    "EventDefinitions",
    "EventSchemas",
    "PropertyGroups",
    "QueryResource",
]
