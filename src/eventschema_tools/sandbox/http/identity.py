"""The one user and organization behind every sandbox key, and how PostHog renders them."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any, Final

from eventschema_tools.sandbox.config import Project

_NAMESPACE: Final = uuid.UUID("5b0d6a36-3f4e-4b53-9a43-6f1c1d0a9e21")


@functools.cache
def stable_uuid(name: str) -> str:
    """A UUID that is the same on every start, so restarts keep ids stable."""
    return str(uuid.uuid5(_NAMESPACE, name))


@dataclass(frozen=True)
class SandboxUser:
    """The user every personal API key of the sandbox belongs to."""

    id: int = 1
    first_name: str = "Sandbox"
    last_name: str = "User"
    email: str = "sandbox@example.com"

    @property
    def uuid(self) -> str:
        """The user's stable UUID."""
        return stable_uuid(f"user:{self.id}")

    @property
    def distinct_id(self) -> str:
        """The user's distinct id in PostHog's own analytics."""
        return f"sandbox-user-{self.id}"


SANDBOX_USER: Final = SandboxUser()
ORGANIZATION_ID: Final = stable_uuid("organization")
ORGANIZATION_NAME: Final = "Sandbox organization"


def render_user_basic(user: SandboxUser | None) -> dict[str, Any] | None:
    """PostHog's `UserBasic` (used for `created_by`, `updated_by`, `owner`...)."""
    if user is None:
        return None
    return {
        "id": user.id,
        "uuid": user.uuid,
        "distinct_id": user.distinct_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_email_verified": True,
        "hedgehog_config": None,
        "role_at_organization": None,
    }


def user_for_id(user_id: int | None) -> SandboxUser | None:
    """The sandbox user for a stored user id (only the sandbox user exists)."""
    return SANDBOX_USER if user_id == SANDBOX_USER.id else None


def render_organization() -> dict[str, Any]:
    """The organization as nested in `/api/users/@me/`."""
    return {
        "id": ORGANIZATION_ID,
        "name": ORGANIZATION_NAME,
        "slug": "sandbox-organization",
        "membership_level": 15,
    }


def render_project(project: Project) -> dict[str, Any]:
    """The fields of `GET /api/projects/{id}/` a client needs for a connection check."""
    return {
        "id": project.id,
        "uuid": stable_uuid(f"project:{project.id}"),
        "organization": ORGANIZATION_ID,
        "project_id": project.id,
        "api_token": project.api_token,
        "name": project.name,
        "timezone": "UTC",
        "is_demo": False,
        "access_control": False,
    }


def render_me(user: SandboxUser, current: Project, projects: list[Project]) -> dict[str, Any]:
    """`GET /api/users/@me/`: the user with their organization and current project."""
    return {
        **(render_user_basic(user) or {}),
        "team": render_project(current),
        "organization": {**render_organization(), "teams": [render_project(p) for p in projects]},
        "organizations": [{"id": ORGANIZATION_ID, "name": ORGANIZATION_NAME}],
    }
