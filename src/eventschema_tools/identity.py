"""Who the API key is: its user, its scopes and projects, and the configured project.

:meth:`EventSchemaClient.whoami` (and its async twin) reads, with three or four GETs:

* ``/api/personal_api_keys/@current/``: the key itself (its scopes and the projects it is
  limited to). PostHog lets a personal API key read itself without any scope;
* ``/api/users/@me/``: the user (needs ``user:read``);
* ``/api/projects/{id}/``: the configured project (needs ``project:read``); without that scope
  the project is still checked, through one row of its event definitions.

A part the key may not read is left out and explained in ``unavailable``; a wrong key
(:class:`~eventschema_tools.errors.AuthenticationError`), a project that is not there
(:class:`~eventschema_tools.errors.ProjectNotFoundError`) or one the key may not use
(:class:`~eventschema_tools.errors.PermissionDeniedError`) are raised. The key's value is never
read back nor kept: only its masked form, ``phx_...abcd``, as PostHog shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.catalog.steps import Steps, call, drive, drive_async, rows
from eventschema_tools.errors import PermissionDeniedError
from eventschema_tools.models import Project, UserBasic, parse_response

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "TOOL_SCOPES",
    "PersonalApiKey",
    "WhoAmI",
    "grants",
    "mask_key",
    "whoami",
    "whoami_async",
]

CURRENT_KEY_PATH = "/api/personal_api_keys/@current/"
ME_PATH = "/api/users/@me/"
_NO_KEY_ACCESS = "does not support personal api key access"

M = TypeVar("M", bound=BaseModel)

TOOL_SCOPES: dict[str, str] = {
    "event_definition:read": "reading schemas, groups and events",
    "event_definition:write": "changing them (apply, bind, create, delete)",
    "query:read": "audits",
}
"""The scopes this toolkit uses, and what each is for."""


class PersonalApiKey(BaseModel):
    """``GET /api/personal_api_keys/@current/``: the key that made the request.

    Unknown fields are dropped rather than kept, so nothing secret PostHog might add to the
    answer is ever held, printed or returned.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    label: str | None = None
    mask_value: str | None = None
    scopes: list[str] = Field(default_factory=list, description="`*` means every scope.")
    scoped_teams: list[int] | None = Field(
        default=None, description="Project ids the key is limited to; empty or None: all."
    )
    scoped_organizations: list[str] | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None


class WhoAmI(BaseModel):
    """Who the key is and what it may reach, as far as the key may read it.

    Attributes:
        host: the PostHog base URL the client talks to.
        project_id: the configured project id (``@current`` stays as given).
        key_mask: the key as it may be shown, ``phx_...abcd``; never the key.
        key: the key's own record (scopes, projects), or None when this PostHog does not show
            it.
        user: the user the key belongs to, or None without ``user:read``.
        project: the configured project, or None without ``project:read`` (it was still
            found: a missing project raises).
        unavailable: what could not be read (``key``, ``user``, ``project``) and why.
    """

    host: str
    project_id: str
    key_mask: str
    key: PersonalApiKey | None = None
    user: UserBasic | None = None
    project: Project | None = None
    unavailable: dict[str, str] = Field(default_factory=dict)

    @property
    def scopes(self) -> list[str] | None:
        """The key's scopes (``["*"]`` for every scope), or None when unknown."""
        return list(self.key.scopes) if self.key is not None else None

    @property
    def missing_scopes(self) -> dict[str, str] | None:
        """The scopes of :data:`TOOL_SCOPES` the key lacks, with what they are for (None when
        the key's scopes are unknown)."""
        scopes = self.scopes
        if scopes is None:
            return None
        return {scope: why for scope, why in TOOL_SCOPES.items() if not grants(scopes, scope)}


def grants(scopes: list[str], required: str) -> bool:
    """Whether a key with ``scopes`` may do what needs ``required`` (PostHog's rules: no scopes
    or ``*`` allow everything, and ``OBJECT:write`` also grants ``OBJECT:read``)."""
    if not scopes or "*" in scopes or required in scopes:
        return True
    return required.endswith(":read") and required.removesuffix(":read") + ":write" in scopes


def mask_key(key: str) -> str:
    """The form of a key that may be shown: ``phx_...abcd`` (PostHog's), stars when short."""
    return "********" if len(key) < 16 else f"{key[:4]}...{key[-4:]}"


def whoami(client: EventSchemaClient) -> WhoAmI:
    """Who the client's key is (see the module docstring); three or four GET requests.

    Raises:
        AuthenticationError: the key is not valid on this host.
        ProjectNotFoundError: the configured project is not there for this key's user.
        PermissionDeniedError: the key may not use the configured project.
    """
    return drive(client, _whoami_steps(client.host, client.project_id, _mask_of(client)))


async def whoami_async(client: AsyncEventSchemaClient) -> WhoAmI:
    """Async twin of :func:`whoami`."""
    steps = _whoami_steps(client.host, client.project_id, _mask_of(client))
    return await drive_async(client, steps)


def _mask_of(client: EventSchemaClient | AsyncEventSchemaClient) -> str:
    key = client.settings.api_key
    return mask_key(key.get_secret_value() if key is not None else "")


def _whoami_steps(host: str, project_id: str, key_mask: str) -> Steps[WhoAmI]:
    unavailable: dict[str, str] = {}
    key_data = yield from _optional(_get(CURRENT_KEY_PATH), "key", unavailable)
    user_data = yield from _optional(_get(ME_PATH), "user", unavailable)
    project_path = f"/api/projects/{project_id}/"
    project_data = yield from _optional(_get(project_path), "project", unavailable)
    if project_data is None:
        # Without project:read, one row of its event definitions still shows that the project
        # exists and that the key may use it (a missing one raises ProjectNotFoundError).
        found = yield from _optional(
            rows(lambda c: c.event_definitions.list(max_rows=1), 1), "project", {}
        )
        if found is not None:
            unavailable["project"] += " (the project exists and the key can read its events)"
    return WhoAmI(
        host=host,
        project_id=project_id,
        key_mask=key_mask,
        key=_read(PersonalApiKey, key_data),
        user=_read(UserBasic, user_data),
        project=_read(Project, project_data),
        unavailable=unavailable,
    )


def _read(model: type[M], data: Any) -> M | None:
    """``data`` as ``model``, keeping only the model's own fields (the user record is long)."""
    if data is None:
        return None
    if isinstance(data, dict):
        data = {name: value for name, value in data.items() if name in model.model_fields}
    return parse_response(model, data)


def _get(path: str) -> Steps[Any]:
    return call(lambda c: c.request("GET", path))


def _optional(steps: Steps[Any], part: str, unavailable: dict[str, str]) -> Steps[Any | None]:
    """The result of ``steps``, or None (noted in ``unavailable``) when the key may not read it.

    Only a missing scope and PostHog's "not for personal API keys" are tolerated; any other
    refusal (a project the key may not use, say) is the answer and propagates.
    """
    try:
        return (yield from steps)
    except PermissionDeniedError as exc:
        if exc.missing_scope:
            unavailable[part] = f"needs the scope '{exc.missing_scope}'"
        elif _NO_KEY_ACCESS in exc.detail.lower():
            unavailable[part] = "this PostHog does not show it to a personal API key"
        else:
            raise
        return None
