"""Base of the resource namespaces: a handle on the client and the project-relative path."""

from __future__ import annotations

from typing import Generic, TypeVar

from eventschema_tools._base_client import BaseClient

C = TypeVar("C", bound=BaseClient)


class Resource(Generic[C]):
    """A namespace of calls on one API collection (``name`` is its URL segment)."""

    name: str = ""

    def __init__(self, client: C) -> None:
        self._client: C = client

    def _path(self, *parts: object) -> str:
        return self._client.project_path(self.name, *parts)
