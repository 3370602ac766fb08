"""What every tool call shares: one catalog over one client, opened by the first call."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated, Any, Final

import anyio
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Resolve,
)

from eventschema_tools.catalog.operations import AsyncCatalog
from eventschema_tools.mcp_server.tokens import ConfirmTokens

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient


__all__ = ["AppState", "ClientFactory", "Ctx", "InjectedCatalog"]

ClientFactory = Callable[[], "AsyncEventSchemaClient"]


class AppState:
    """What every tool call shares: one catalog over one client, opened by the first call,
    the confirmation tokens this server issued (:mod:`.tokens`), and the projects besides its
    own that tools may reach (``allowed_projects``; the environment tools check them).

    Opening the client costs more than the rest of the start-up together (TLS certificates,
    connection pool, rate limiter); deferring it lets a host start the server and list its
    tools without waiting for that. The lifespan closes the client.
    """

    def __init__(
        self,
        factory: ClientFactory,
        stack: AsyncExitStack,
        allowed_projects: tuple[str, ...] = (),
    ) -> None:
        self._factory = factory
        self._stack = stack
        self.allowed_projects = allowed_projects
        self._lock = anyio.Lock()
        self._catalog: AsyncCatalog | None = None
        self.tokens = ConfirmTokens()

    async def catalog(self) -> AsyncCatalog:
        """The catalog, opening the client on first use (once, even under concurrent calls)."""
        async with self._lock:
            if self._catalog is None:
                client = await self._stack.enter_async_context(self._factory())
                self._catalog = AsyncCatalog(client)
            return self._catalog


Ctx = Context[AppState]


async def _open_catalog(ctx: Ctx) -> AsyncCatalog:
    return await ctx.request_context.lifespan_context.catalog()


InjectedCatalog = Annotated[AsyncCatalog, Resolve(_open_catalog)]
"""The catalog, injected into each tool (and hidden from its input schema)."""

# The SDK wraps every resolved value in `AcceptedElicitation[Any]`. Pydantic keeps its generic
# classes in a weak cache, so with no one holding that class it was built anew on every tool
# call (0.8 ms, a seventh of a page of 50 schemas served); holding it keeps the cache's entry.
_RESOLVED_VALUE: Final = AcceptedElicitation[Any]
