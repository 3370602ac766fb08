"""Sans-I/O steps: a catalog operation written once, run by a sync or an async driver.

An operation is a generator that yields what it needs from the client and receives the answer
at the ``yield``: a :class:`Call` (one client method call) or :class:`Rows` (the first rows of
a list). When the call fails with an :class:`~eventschema_tools.errors.EventSchemaError`, the
error is raised inside the generator at that ``yield``, so the operation handles it like any
exception. Everything else in an operation (checking arguments, cutting pages, building views,
deciding what an error means) is ordinary code with no I/O.

:func:`drive` runs an operation with an :class:`EventSchemaClient`, :func:`drive_async` with an
:class:`AsyncEventSchemaClient`. Their two ``_perform`` helpers are the only code that differs
between :class:`~eventschema_tools.catalog.operations.Catalog` and its async twin.

Example::

    def bound_groups(event_id: UUID) -> Steps[list[str]]:
        schemas = yield from rows(lambda c: c.event_schemas.list(event_definition=event_id))
        return [schema.property_group.name for schema in schemas]

    names = drive(client, bound_groups(event_id))              # sync client
    names = await drive_async(async_client, bound_groups(event_id))  # async client
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from eventschema_tools.catalog.paging import take, take_async
from eventschema_tools.errors import EventSchemaError

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = ["AnyClient", "Call", "Rows", "Steps", "call", "drive", "drive_async", "rows"]

T = TypeVar("T")

AnyClient: TypeAlias = "EventSchemaClient | AsyncEventSchemaClient"
"""Either client: a step's function must be written against both (same method names)."""


@dataclass(frozen=True)
class Call:
    """One client method call, e.g. ``Call(lambda c: c.property_groups.get(group_id))``."""

    invoke: Callable[[AnyClient], Any]


@dataclass(frozen=True)
class Rows:
    """The first ``count`` rows of a list (every row when ``count`` is ``None``)."""

    open: Callable[[AnyClient], Any]
    count: int | None = None


Step: TypeAlias = Call | Rows
Steps: TypeAlias = Generator[Step, Any, T]
"""An operation: yields steps, receives their results, returns ``T``."""


def call(invoke: Callable[[AnyClient], T | Awaitable[T]]) -> Steps[T]:
    """The result of one client call (``yield from call(lambda c: c.event_schemas.find(...))``)."""
    result: T = yield Call(invoke)
    return result


def rows(
    open: Callable[[AnyClient], Iterator[T] | AsyncIterator[T]], count: int | None = None
) -> Steps[list[T]]:
    """The first ``count`` rows of a list call (all of them when ``count`` is ``None``)."""
    result: list[T] = yield Rows(open, count)
    return result


def _perform(client: EventSchemaClient, step: Step) -> Any:
    if isinstance(step, Rows):
        return take(step.open(client), step.count)
    return step.invoke(client)


async def _perform_async(client: AsyncEventSchemaClient, step: Step) -> Any:
    if isinstance(step, Rows):
        return await take_async(step.open(client), step.count)
    return await step.invoke(client)


class _Run(Generic[T]):
    """The bookkeeping both drivers share: send each reply (or throw each error) in, keep the
    result. Iterating yields the steps to perform; set ``reply`` or ``failure`` in between."""

    def __init__(self, steps: Steps[T]) -> None:
        self._steps = steps
        self.reply: Any = None
        self.failure: EventSchemaError | None = None

    def __iter__(self) -> Iterator[Step]:
        return self

    def __next__(self) -> Step:
        reply, failure = self.reply, self.failure
        self.reply, self.failure = None, None
        try:
            return self._steps.send(reply) if failure is None else self._steps.throw(failure)
        except StopIteration as finished:
            self.result: T = finished.value
            raise StopIteration from None

    def __enter__(self) -> _Run[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._steps.close()


def drive(client: EventSchemaClient, steps: Steps[T]) -> T:
    """Run an operation with a sync client and return its result (or raise its error)."""
    with _Run(steps) as run:
        for step in run:
            try:
                run.reply = _perform(client, step)
            except EventSchemaError as exc:
                run.failure = exc
    return run.result


async def drive_async(client: AsyncEventSchemaClient, steps: Steps[T]) -> T:
    """Run an operation with an async client and return its result (or raise its error)."""
    with _Run(steps) as run:
        for step in run:
            try:
                run.reply = await _perform_async(client, step)
            except EventSchemaError as exc:
                run.failure = exc
    return run.result
