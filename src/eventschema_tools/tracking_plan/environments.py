"""Environments: the PostHog projects one plan is applied to (staging, prod, eu, us...).

A plan names its environments in an ``environments:`` block; each is a host and a project id,
with optional enforcement overrides::

    environments:
      staging:
        host: us
        project_id: 12345
        enforcement: allow            # every event of the plan observes only, here
      prod:
        host: us
        project_id: 67890
        events:
          checkout_completed: {enforcement: reject}

The enforcement of an event in an environment is the first of: the environment's entry for the
event, the environment's ``enforcement``, the event's own ``enforcement`` (none of them: the
mode is left alone). Where an event's ``ratchet`` runs, the ratchet decides instead.

Credentials never sit in the file: the personal API key of environment
``prod`` is read from ``POSTHOG_PERSONAL_API_KEY_PROD``, else from ``POSTHOG_PERSONAL_API_KEY``
(one key often reaches every project of an organization); in Airflow, each environment is a
connection (``posthog_prod``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from eventschema_tools.config import normalise_host
from eventschema_tools.errors import ConfigurationError, InvalidInputError, closest_choice
from eventschema_tools.models import MAX_EVENT_NAME_LENGTH, EnforcementMode

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient
    from eventschema_tools.tracking_plan.file import TrackingPlan

__all__ = [
    "ENVIRONMENT_NAME_PATTERN",
    "SHARED_KEY_VARIABLE",
    "EnvironmentEvent",
    "EnvironmentSpec",
    "api_key_variable",
    "check_client",
    "environment_async_client",
    "environment_client",
    "environment_plan",
    "planned_enforcement",
    "select_environment",
]

ENVIRONMENT_NAME_PATTERN: Final = r"^[a-z][a-z0-9_-]{0,31}$"
"""Environment names: lower case, as they also name environment variables and connections."""

SHARED_KEY_VARIABLE: Final = "POSTHOG_PERSONAL_API_KEY"

EnvironmentName = Annotated[str, StringConstraints(pattern=ENVIRONMENT_NAME_PATTERN)]
_EventName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EVENT_NAME_LENGTH)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvironmentEvent(_Entry):
    """What one event does differently in one environment."""

    enforcement: EnforcementMode | None = Field(
        default=None, description="The event's enforcement mode in this environment."
    )


class EnvironmentSpec(_Entry):
    """One environment: where its project is, and what it does differently."""

    host: str = Field(description="us, eu or the URL of a self-hosted PostHog.")
    project_id: int = Field(ge=1, description="The project's id (a number).")
    description: str = Field(default="", description="What the environment is for.")
    enforcement: EnforcementMode | None = Field(
        default=None,
        description="Enforcement of every event of the plan in this environment (an event's "
        "own entry under events wins).",
    )
    events: dict[_EventName, EnvironmentEvent] = Field(
        default_factory=dict, description="Per-event overrides in this environment."
    )

    @field_validator("host", mode="before")
    @classmethod
    def _known_host(cls, value: Any) -> str:
        return normalise_host(value)

    def enforcement_of(self, event: str, planned: EnforcementMode | None) -> EnforcementMode | None:
        """The enforcement ``event`` gets here, given the plan's own (``None``: unmanaged)."""
        override = self.events.get(event)
        if override is not None and override.enforcement is not None:
            return override.enforcement
        return self.enforcement if self.enforcement is not None else planned


def api_key_variable(environment: str) -> str:
    """The environment variable of an environment's key: ``POSTHOG_PERSONAL_API_KEY_PROD``."""
    return f"{SHARED_KEY_VARIABLE}_{re.sub(r'[^A-Z0-9]', '_', environment.upper())}"


def select_environment(plan: TrackingPlan, name: str) -> EnvironmentSpec:
    """The environment ``name`` of ``plan``.

    Raises:
        InvalidInputError: the plan has no such environment (close names are suggested).
    """
    found = plan.environments.get(name)
    if found is not None:
        return found
    if not plan.environments:
        raise InvalidInputError(
            f"environment {name!r}: the plan defines no environments; add an environments: "
            "block with each one's host and project_id (docs/environments.md)",
            [("environment", "unknown")],
        )
    names = sorted(plan.environments)
    close = closest_choice(name, names)
    hint = f"did you mean {close!r}? " if close else ""
    raise InvalidInputError(
        f"environment {name!r} is not in the plan; {hint}the plan defines {', '.join(names)}",
        [("environment", "unknown")],
    )


def planned_enforcement(plan: TrackingPlan, event: str, name: str) -> EnforcementMode | None:
    """The enforcement the plan gives ``event`` in environment ``name`` (``None``: unmanaged,
    which is also the answer where the event's ratchet decides it).

    Raises:
        InvalidInputError: the plan has no such environment.
    """
    environment = select_environment(plan, name)
    spec = plan.events[event]
    if spec.ratchet is not None and spec.ratchet.runs_in(name):
        return None
    return environment.enforcement_of(event, spec.enforcement)


def environment_plan(plan: TrackingPlan, name: str) -> TrackingPlan:
    """``plan`` as it applies to environment ``name``: each event with its enforcement there.

    Raises:
        InvalidInputError: the plan has no such environment.
    """
    select_environment(plan, name)
    events = {
        event: spec.model_copy(update={"enforcement": planned_enforcement(plan, event, name)})
        for event, spec in plan.events.items()
    }
    return plan.model_copy(update={"events": events})


def _client_arguments(
    plan: TrackingPlan, name: str, environ: Mapping[str, str] | None
) -> dict[str, Any]:
    environment = select_environment(plan, name)
    variables = os.environ if environ is None else environ
    variable = api_key_variable(name)
    key = (variables.get(variable) or "").strip() or (
        variables.get(SHARED_KEY_VARIABLE) or ""
    ).strip()
    if not key:
        raise ConfigurationError(
            f"missing the personal API key of environment {name!r}: set {variable} "
            f"(or {SHARED_KEY_VARIABLE} when one key reaches every environment)"
        )
    return {"api_key": key, "project_id": environment.project_id, "host": environment.host}


def check_client(
    plan: TrackingPlan, name: str, client: EventSchemaClient | AsyncEventSchemaClient
) -> None:
    """Refuse a client that does not reach the project environment ``name`` names.

    Writes meant for one environment must never land in another: a connection or variable that
    points elsewhere is an error before any request.

    Raises:
        ConfigurationError: the client's host or project differs from the plan's.
    """
    environment = select_environment(plan, name)
    if (
        str(client.project_id) != str(environment.project_id)
        or normalise_host(client.host) != environment.host
    ):
        raise ConfigurationError(
            f"environment {name!r} is project {environment.project_id} on {environment.host}, "
            f"but its client reaches project {client.project_id} on {client.host}; fix the "
            "connection (or the plan's environments block)"
        )


def environment_client(
    plan: TrackingPlan,
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    **settings: Any,
) -> EventSchemaClient:
    """A client of environment ``name``: its host and project from the plan, its key from
    ``POSTHOG_PERSONAL_API_KEY_<NAME>`` (else ``POSTHOG_PERSONAL_API_KEY``).

    Args:
        plan: The plan that defines the environment.
        name: The environment.
        environ: Where to read the keys (default: the process environment).
        **settings: Other client settings (``timeout``, ``transport``...).

    Raises:
        InvalidInputError: the plan has no such environment.
        ConfigurationError: no key is set for it.
    """
    from eventschema_tools.client import EventSchemaClient

    return EventSchemaClient(**_client_arguments(plan, name, environ), **settings)


def environment_async_client(
    plan: TrackingPlan,
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    **settings: Any,
) -> AsyncEventSchemaClient:
    """Async twin of :func:`environment_client`."""
    from eventschema_tools.client import AsyncEventSchemaClient

    return AsyncEventSchemaClient(**_client_arguments(plan, name, environ), **settings)
