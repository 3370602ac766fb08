"""Routing: each incident's messages go to its owner's targets.

The tracking plan names owners (``owner:`` on events and property groups); a routes file maps
owners to targets (``slack:billing`` reads ``EVENTSCHEMA_SLACK_WEBHOOK_URL_BILLING``)::

    routes:
      billing-team: [slack:billing, github]
      "@alice": [email:alice]
    default: [slack]          # owners not listed, and findings without an owner

An incident's owner is its event's owner, else the owner of the group the finding is about,
else the owner of a group bound to the event that declares the finding's property. Without a
``default``, unrouted incidents go to the targets ``--notify`` names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools._files import read_settings_file
from eventschema_tools.alerts.targets import target_names
from eventschema_tools.audit.model import Finding
from eventschema_tools.tracking_plan.file import Owner, TrackingPlan

__all__ = ["ROUTES_VARIABLE", "Routes", "load_routes", "owner_of"]

ROUTES_VARIABLE = "EVENTSCHEMA_ROUTES"
"""The environment variable that names the routes file."""


class _RoutesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routes: dict[Owner, list[str]] = Field(default_factory=dict)
    default: list[str] | None = None


@dataclass(frozen=True)
class Routes:
    """Owners and the targets their incidents go to.

    Attributes:
        owners: Target names per owner.
        default: Targets of incidents whose owner is not listed (``None``: the ``--notify``
            targets).
    """

    owners: dict[str, tuple[str, ...]]
    default: tuple[str, ...] | None = None

    def names(self) -> list[str]:
        """Every target name the routes use, each once."""
        listed = [name for names in self.owners.values() for name in names]
        return list(dict.fromkeys([*listed, *(self.default or ())]))

    def router(
        self, plan: TrackingPlan | None, fallback: Sequence[str]
    ) -> Callable[[Finding], list[str]]:
        """The targets of each finding: its owner's, else the default, else ``fallback``."""
        default = list(self.default) if self.default is not None else list(fallback)

        def route(finding: Finding) -> list[str]:
            owner = owner_of(finding, plan)
            if owner is not None and owner in self.owners:
                return list(self.owners[owner])
            return default

        return route


def owner_of(finding: Finding, plan: TrackingPlan | None) -> str | None:
    """Who owns ``finding`` in ``plan`` (see the module's rules), or ``None``."""
    if plan is None:
        return None
    event = plan.events.get(finding.event) if finding.event else None
    if event is not None and event.owner:
        return event.owner
    group = plan.property_groups.get(finding.group) if finding.group else None
    if group is not None and group.owner:
        return group.owner
    if event is not None and finding.property:
        for name in event.groups:
            bound = plan.property_groups.get(name)
            if bound is not None and bound.owner and finding.property in bound.properties:
                return bound.owner
    return None


def load_routes(path: str | Path) -> Routes:
    """Read a routes file (YAML).

    Raises:
        InvalidInputError: unreadable, not YAML, an unknown key, a bad owner or target name.
    """
    parsed = read_settings_file(path, _RoutesFile, what="routes file", field="routes")
    owners = {owner: tuple(names) for owner, names in parsed.routes.items()}
    routes = Routes(owners, tuple(parsed.default) if parsed.default is not None else None)
    target_names(routes.names())  # every name must be a target
    return routes
