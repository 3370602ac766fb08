"""The two faces of the client under test, behind one awaitable interface.

The workload is written once, against `Side`. `SyncSide` runs the sync client's calls in worker
threads (so it really is the sync client doing the I/O, concurrently with the async side);
`AsyncSide` awaits the async client. Both reach the same method names, which is also a parity
check: a name missing on one face fails the soak.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

import anyio

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient


class Side(Protocol):
    """One face of the client: `call` a resource method, `collect` a listing, `run` a helper."""

    label: str

    async def call(self, resource: str, method: str, *args: Any, **kwargs: Any) -> Any: ...

    async def collect(self, resource: str, **kwargs: Any) -> list[Any]: ...

    async def run(
        self,
        sync_fn: Callable[..., Any],
        async_fn: Callable[..., Awaitable[Any]],
        *args: Any,
        **kwargs: Any,
    ) -> Any: ...


class SyncSide:
    """The sync client, each call in a worker thread."""

    label = "sync"

    def __init__(self, client: EventSchemaClient) -> None:
        self.client = client

    async def call(self, resource: str, method: str, *args: Any, **kwargs: Any) -> Any:
        bound = getattr(getattr(self.client, resource), method)
        return await anyio.to_thread.run_sync(partial(bound, *args, **kwargs))

    async def collect(self, resource: str, **kwargs: Any) -> list[Any]:
        listing = getattr(self.client, resource).list
        return await anyio.to_thread.run_sync(lambda: list(listing(**kwargs)))

    async def run(
        self,
        sync_fn: Callable[..., Any],
        async_fn: Callable[..., Awaitable[Any]],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        return await anyio.to_thread.run_sync(partial(sync_fn, self.client, *args, **kwargs))


class AsyncSide:
    """The async client, awaited on the event loop."""

    label = "async"

    def __init__(self, client: AsyncEventSchemaClient) -> None:
        self.client = client

    async def call(self, resource: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return await getattr(getattr(self.client, resource), method)(*args, **kwargs)

    async def collect(self, resource: str, **kwargs: Any) -> list[Any]:
        return [row async for row in getattr(self.client, resource).list(**kwargs)]

    async def run(
        self,
        sync_fn: Callable[..., Any],
        async_fn: Callable[..., Awaitable[Any]],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        return await async_fn(self.client, *args, **kwargs)
