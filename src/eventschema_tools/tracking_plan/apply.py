"""``apply(client, plan) -> ApplyReport`` and its async twin.

Phases run one after the other, the items of a phase concurrently (threads for the sync
client, tasks for the async one), every request paced by the client's shared rate budget.

Other writers may change the project between the plan's read and each write (another apply of
the same plan, a person in the UI). A write refused because its object changed meanwhile is
settled against a fresh read, never assumed:

* a create refused with "already exists" reads the object: as the plan wants it, the item is
  ``already_done``; half made (a group without its properties, left by an interrupted create)
  or with other settings, it is completed with an update (``applied``); owned by another plan
  or tool, the item fails with the conflict;
* a delete is done only when PostHog answered it, or a fresh read shows the object gone; a
  404 is "gone" only once a read shows the binding is not there under another id (then that
  one is deleted), and a binding the listing of ids did not show is looked up again unless the
  listing was one page (one query, so it cannot have shifted).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

import anyio
from pydantic import Field, computed_field

from eventschema_tools.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    EventSchemaError,
    NotFoundError,
    PermissionDeniedError,
)
from eventschema_tools.models import EventDefinition, EventSchema, PropertyGroup
from eventschema_tools.tracking_plan.changes import (
    Change,
    CreateBinding,
    CreateEvent,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    Notice,
    Plan,
    UpdateEvent,
    UpdateGroup,
    _Model,
)
from eventschema_tools.tracking_plan.diff import event_change, group_change
from eventschema_tools.tracking_plan.live import one_page, read_settled, read_settled_async
from eventschema_tools.tracking_plan.ownership import visible_description

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ApplyReport",
    "ItemOutcome",
    "ItemResult",
    "ItemStatus",
    "Progress",
    "apply",
    "apply_async",
]

DEFAULT_CONCURRENCY = 8
# Deletes of one binding that PostHog answers 404 while it is bound again under a new id.
_DELETE_TRIES = 3


class ItemStatus(StrEnum):
    """Whether a change reached the wanted state: ``done``, ``failed`` or ``skipped``."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class ItemOutcome(StrEnum):
    """How one change ended.

    ``applied``: the write was made (for a create refused because the object appeared
    meanwhile: the update that completed it). ``already_done``: no write was needed, PostHog
    was already in the wanted state (the object to create was there as the plan wants it; a
    fresh read showed the object to delete gone). ``failed``: PostHog refused or kept failing,
    or an object appeared meanwhile that another plan or tool owns. ``skipped``: not
    attempted, because an object it needs is missing or the run stopped.
    """

    APPLIED = "applied"
    ALREADY_DONE = "already_done"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def status(self) -> ItemStatus:
        """``done`` for ``applied`` and ``already_done``; otherwise the outcome itself."""
        if self in (ItemOutcome.APPLIED, ItemOutcome.ALREADY_DONE):
            return ItemStatus.DONE
        return ItemStatus(self.value)


class ItemResult(_Model):
    """The outcome of one change.

    Attributes:
        action: the change's action (``create_binding``, ...).
        subject: what it was about, e.g. ``binding "checkout" → "order_paid"``.
        outcome: how it ended (:class:`ItemOutcome`); branch on this, not on ``detail``.
        detail: the reason of a failure or skip, or a note for people such as
            ``already existed``.
        status_code: PostHog's HTTP status for a failure, when there was one.
    """

    action: str
    subject: str
    outcome: ItemOutcome
    detail: str = ""
    status_code: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ItemStatus:
        """``done`` (applied or already done), ``failed`` or ``skipped``."""
        return self.outcome.status


class ApplyReport(_Model):
    """What ``apply`` did, item by item.

    Attributes:
        items: one result per change, in plan order.
        blocked: the plan's blocking notices (desired state that could not be attempted).
        aborted: why the run stopped early (authentication or permission), if it did.
    """

    items: list[ItemResult] = Field(default_factory=list)
    blocked: list[Notice] = Field(default_factory=list)
    aborted: str | None = None

    def count(self, status: ItemStatus) -> int:
        """How many items ended with ``status``."""
        return sum(1 for item in self.items if item.status == status)

    @property
    def failed(self) -> int:
        """How many changes PostHog refused or kept failing."""
        return self.count(ItemStatus.FAILED)

    @property
    def ok(self) -> bool:
        """True when every change was made and nothing was blocked."""
        return (
            self.aborted is None
            and not self.blocked
            and all(item.status is ItemStatus.DONE for item in self.items)
        )

    def summary(self) -> str:
        """One line: counts of done, failed, skipped and blocked items."""
        if not self.items and not self.blocked:
            return "No changes. PostHog matches the plan."
        done, failed, skipped = (self.count(status) for status in ItemStatus)
        parts = [f"{done} done", f"{failed} failed"]
        if skipped:
            parts.append(f"{skipped} skipped")
        if self.blocked:
            parts.append(f"{len(self.blocked)} blocked")
        return "Apply: " + ", ".join(parts) + "."


Progress = Callable[[ItemResult], None]


class _Unresolved(Exception):
    """A change depends on an object an earlier phase failed to create."""


class _Conflict(Exception):
    """What PostHog holds in place of a change's object cannot be brought to the plan."""


@dataclass
class _Done:
    """What a performer reports about a change that raised nothing."""

    outcome: ItemOutcome = ItemOutcome.APPLIED
    note: str = ""

    def already(self, note: str) -> None:
        """No write was needed; ``note`` says why, for people."""
        self.outcome, self.note = ItemOutcome.ALREADY_DONE, note

    def completed(self, note: str) -> None:
        """A write other than the planned one brought the object to the plan."""
        self.outcome, self.note = ItemOutcome.APPLIED, note


def _reason(exc: EventSchemaError) -> str:
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code}: {exc.detail or exc.code or 'no details'}"
    return str(exc)


@dataclass
class _Run:
    """Shared bookkeeping of one apply: ids learnt so far, results, progress, abort."""

    plan: Plan
    progress: Progress | None
    group_ids: dict[str, UUID] = field(default_factory=dict)
    event_ids: dict[str, UUID] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    schema_ids: dict[tuple[UUID, UUID], UUID] = field(default_factory=dict)
    schema_lookup_error: str | None = None
    # Events whose every binding the look-up saw in one query (`None`: all of them).
    complete_events: set[UUID] | None = field(default_factory=set)
    results: dict[int, ItemResult] = field(default_factory=dict)
    aborted: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def phases(self) -> Iterator[list[tuple[int, Change]]]:
        indexed = list(enumerate(self.plan.changes))
        for actions in (
            {"create_group", "update_group", "create_event"},
            {"create_binding", "update_event"},
            {"delete_binding", "delete_group"},
        ):
            phase = [(i, change) for i, change in indexed if change.action in actions]
            if phase:
                yield phase

    def group_id(self, change: CreateBinding) -> UUID:
        """The group's id: known at plan time, or learnt when phase 1 created it."""
        if change.group_id is not None:
            return change.group_id
        return self._resolved(self.group_ids, change.group, f'group "{change.group}"')

    def event_id(self, change: CreateBinding | UpdateEvent) -> UUID:
        """The event's id: known at plan time, or learnt when phase 1 created it."""
        if change.event_id is not None:
            return change.event_id
        return self._resolved(self.event_ids, change.event, f'event "{change.event}"')

    def _resolved(self, ids: dict[str, UUID], name: str, subject: str) -> UUID:
        if name in ids:
            return ids[name]
        reason = self.failed.get(subject, "it was not created")
        raise _Unresolved(f"{subject} is missing: {reason}")

    def schema_id(self, change: DeleteBinding) -> tuple[UUID | None, bool]:
        """The binding's id from the look-up, and whether "not found" there means gone."""
        if self.schema_lookup_error is not None:
            raise _Unresolved(f"could not look up the binding: {self.schema_lookup_error}")
        found = self.schema_ids.get((change.event_id, change.group_id))
        complete = self.complete_events is None or change.event_id in self.complete_events
        return found, complete

    def settle_group(
        self, change: CreateGroup, found: PropertyGroup | None, refused: BadRequestError
    ) -> UpdateGroup | None:
        """After "already exists": the update the group found still needs, or ``None``.

        Raises:
            BadRequestError: ``refused``, when no group of that name is there any more.
            _Conflict: the group found belongs to another plan or tool and differs.
        """
        if found is None:
            raise refused
        self.learn(change, found.id)
        wanted = visible_description(change.description)
        outcome = group_change(found, wanted, change.properties, self.plan.plan_id)
        if isinstance(outcome, Notice):
            if outcome.blocking:
                raise _Conflict(f"a group of this name appeared meanwhile, {outcome.reason}")
            return None
        return outcome

    def settle_event(
        self, change: CreateEvent, found: EventDefinition | None, refused: BadRequestError
    ) -> UpdateEvent | None:
        """After "already exists": the update the event found still needs, or ``None``.

        Raises:
            BadRequestError: ``refused``, when no event of that name is there any more.
            _Conflict: another tool manages the event and its description differs.
        """
        if found is None:
            raise refused
        self.learn(change, found.id)
        outcome = event_change(found, None, change.description)
        if isinstance(outcome, Notice):
            raise _Conflict(f"an event of this name appeared meanwhile, {outcome.reason}")
        return outcome

    @staticmethod
    def confirm_group_gone(change: DeleteGroup, found: PropertyGroup | None) -> None:
        """After a 404 on delete: the group is gone only if no group of its name is listed.

        Raises:
            _Conflict: a group of that name is there (made again meanwhile).
        """
        if found is not None:
            raise _Conflict(
                "deleted meanwhile, and a group of this name was made again: plan again"
            )

    def learn(self, change: Change, found_id: UUID) -> None:
        if isinstance(change, CreateGroup):
            self.group_ids[change.group] = found_id
        elif isinstance(change, CreateEvent):
            self.event_ids[change.event] = found_id

    def skipped_after_abort(self, index: int, change: Change) -> bool:
        """Record the change as skipped when the run has stopped; True if so."""
        if self.aborted is None:
            return False
        self._record(index, change, ItemOutcome.SKIPPED, f"not attempted: {self.aborted}")
        return True

    @contextmanager
    def item(self, index: int, change: Change) -> Iterator[_Done]:
        """Run one change: record it applied (or already done, if the performer says so),
        failed or skipped."""
        done = _Done()
        try:
            yield done
        except _Unresolved as exc:
            self._record(index, change, ItemOutcome.SKIPPED, str(exc))
        except _Conflict as exc:
            self._record(index, change, ItemOutcome.FAILED, str(exc))
        except (AuthenticationError, PermissionDeniedError) as exc:
            self.aborted = str(exc)
            self._record(index, change, ItemOutcome.FAILED, _reason(exc), exc.status_code)
        except EventSchemaError as exc:
            code = exc.status_code if isinstance(exc, APIStatusError) else None
            self._record(index, change, ItemOutcome.FAILED, _reason(exc), code)
        else:
            self._record(index, change, done.outcome, done.note)

    def _record(
        self,
        index: int,
        change: Change,
        outcome: ItemOutcome,
        detail: str = "",
        status_code: int | None = None,
    ) -> None:
        result = ItemResult(
            action=change.action,
            subject=change.subject,
            outcome=outcome,
            detail=detail,
            status_code=status_code,
        )
        with self.lock:
            self.results[index] = result
            if result.status is not ItemStatus.DONE:
                self.failed[change.subject] = detail
        if self.progress is not None:
            self.progress(result)

    def report(self) -> ApplyReport:
        return ApplyReport(
            items=[self.results[i] for i in sorted(self.results)],
            blocked=self.plan.blocked,
            aborted=self.aborted,
        )

    def lookup_strategy(
        self, deletes: Sequence[DeleteBinding], page_size: int
    ) -> list[UUID] | None:
        """Events to list one by one, or ``None`` to list every binding (fewer requests)."""
        events = sorted({change.event_id for change in deletes})
        whole_list_pages = math.ceil(self.plan.live_bindings / page_size)
        return events if len(events) < whole_list_pages else None

    def remember_schemas(
        self, schemas: Sequence[EventSchema], *, event_id: UUID | None = None, whole: bool
    ) -> None:
        """Keep the ids a look-up found; ``whole``: it saw every binding (of ``event_id``)."""
        for schema in schemas:
            self.schema_ids[(schema.event_definition, schema.property_group.id)] = schema.id
        if whole and event_id is None:
            self.complete_events = None
        elif whole and self.complete_events is not None and event_id is not None:
            self.complete_events.add(event_id)


def _bound_id(schemas: Sequence[EventSchema], change: DeleteBinding) -> UUID | None:
    return next((s.id for s in schemas if s.property_group.id == change.group_id), None)


def _deletes(phase: Sequence[tuple[int, Change]]) -> list[DeleteBinding]:
    return [change for _, change in phase if isinstance(change, DeleteBinding)]


def _perform(client: EventSchemaClient, run: _Run, change: Change, done: _Done) -> None:
    match change:
        case CreateGroup():
            try:
                group = client.property_groups.create(
                    name=change.group, description=change.description, properties=change.properties
                )
            except BadRequestError as exc:
                if not exc.is_duplicate:
                    raise
                found = client.property_groups.find_by_name(change.group)
                update = run.settle_group(change, found, exc)
                if update is not None:
                    _perform(client, run, update, done)
                _note_settled(update, "group", done)
            else:
                run.learn(change, group.id)
        case UpdateGroup():
            client.property_groups.update(
                change.group_id, description=change.description, properties=change.properties
            )
        case DeleteGroup():
            try:
                client.property_groups.delete(change.group_id)
            except NotFoundError:
                run.confirm_group_gone(change, client.property_groups.find_by_name(change.group))
                done.already("already gone")
        case CreateEvent():
            try:
                event = client.event_definitions.create(
                    name=change.event, description=change.description
                )
            except BadRequestError as exc:
                if not exc.is_duplicate:
                    raise
                settings = run.settle_event(change, _event_named(client, change.event), exc)
                if settings is not None:
                    _perform(client, run, settings, done)
                _note_settled(settings, "event", done)
            else:
                run.learn(change, event.id)
        case UpdateEvent():
            client.event_definitions.update(
                run.event_id(change),
                enforcement_mode=change.enforcement_mode,
                description=change.description,
            )
        case CreateBinding():
            event_id, group_id = run.event_id(change), run.group_id(change)
            try:
                client.event_schemas.create(event_definition=event_id, property_group_id=group_id)
            except BadRequestError as exc:
                if not exc.is_duplicate:
                    raise
                done.already("already existed")
        case DeleteBinding():
            _delete_binding(client, run, change, done)


def _note_settled(update: Change | None, kind: str, done: _Done) -> None:
    if update is None:
        done.already("already in place")
    else:
        done.completed(f"completed the {kind} found in its place")


def _event_named(client: EventSchemaClient, name: str) -> EventDefinition | None:
    try:
        return client.event_definitions.get_by_name(name)
    except NotFoundError:
        return None


def _delete_binding(
    client: EventSchemaClient, run: _Run, change: DeleteBinding, done: _Done
) -> None:
    schema_id, complete = run.schema_id(change)
    for _ in range(_DELETE_TRIES):
        if schema_id is None and not complete:
            rows = read_settled(
                lambda: client.event_schemas.list(event_definition=change.event_id),
                client.page_size,
                "event schema",
            )
            schema_id, complete = _bound_id(rows, change), True
        if schema_id is None:
            done.already("already gone")
            return
        try:
            client.event_schemas.delete(schema_id)
            return
        except NotFoundError:
            schema_id, complete = None, False
    raise _Conflict("bound again under a new id each time it was deleted: plan again")


async def _perform_async(
    client: AsyncEventSchemaClient, run: _Run, change: Change, done: _Done
) -> None:
    match change:
        case CreateGroup():
            try:
                group = await client.property_groups.create(
                    name=change.group, description=change.description, properties=change.properties
                )
            except BadRequestError as exc:
                if not exc.is_duplicate:
                    raise
                found = await client.property_groups.find_by_name(change.group)
                update = run.settle_group(change, found, exc)
                if update is not None:
                    await _perform_async(client, run, update, done)
                _note_settled(update, "group", done)
            else:
                run.learn(change, group.id)
        case UpdateGroup():
            await client.property_groups.update(
                change.group_id, description=change.description, properties=change.properties
            )
        case DeleteGroup():
            try:
                await client.property_groups.delete(change.group_id)
            except NotFoundError:
                found = await client.property_groups.find_by_name(change.group)
                run.confirm_group_gone(change, found)
                done.already("already gone")
        case CreateEvent():
            try:
                event = await client.event_definitions.create(
                    name=change.event, description=change.description
                )
            except BadRequestError as exc:
                if not exc.is_duplicate:
                    raise
                found_event = await _event_named_async(client, change.event)
                settings = run.settle_event(change, found_event, exc)
                if settings is not None:
                    await _perform_async(client, run, settings, done)
                _note_settled(settings, "event", done)
            else:
                run.learn(change, event.id)
        case UpdateEvent():
            await client.event_definitions.update(
                run.event_id(change),
                enforcement_mode=change.enforcement_mode,
                description=change.description,
            )
        case CreateBinding():
            event_id, group_id = run.event_id(change), run.group_id(change)
            try:
                await client.event_schemas.create(
                    event_definition=event_id, property_group_id=group_id
                )
            except BadRequestError as exc:
                if not exc.is_duplicate:
                    raise
                done.already("already existed")
        case DeleteBinding():
            await _delete_binding_async(client, run, change, done)


async def _event_named_async(client: AsyncEventSchemaClient, name: str) -> EventDefinition | None:
    try:
        return await client.event_definitions.get_by_name(name)
    except NotFoundError:
        return None


async def _delete_binding_async(
    client: AsyncEventSchemaClient, run: _Run, change: DeleteBinding, done: _Done
) -> None:
    schema_id, complete = run.schema_id(change)
    for _ in range(_DELETE_TRIES):
        if schema_id is None and not complete:
            rows = await read_settled_async(
                lambda: client.event_schemas.list(event_definition=change.event_id),
                client.page_size,
                "event schema",
            )
            schema_id, complete = _bound_id(rows, change), True
        if schema_id is None:
            done.already("already gone")
            return
        try:
            await client.event_schemas.delete(schema_id)
            return
        except NotFoundError:
            schema_id, complete = None, False
    raise _Conflict("bound again under a new id each time it was deleted: plan again")


def _look_up_schemas(
    client: EventSchemaClient, run: _Run, deletes: Sequence[DeleteBinding]
) -> None:
    if not deletes or run.aborted is not None:
        return
    try:
        events = run.lookup_strategy(deletes, client.page_size)
        if events is None:
            schemas = list(client.event_schemas.list())
            run.remember_schemas(schemas, whole=one_page(schemas, client.page_size))
        for event_id in events or ():
            rows = read_settled(
                lambda: client.event_schemas.list(event_definition=event_id),  # noqa: B023
                client.page_size,
                "event schema",
            )
            run.remember_schemas(rows, event_id=event_id, whole=True)
    except EventSchemaError as exc:
        run.schema_lookup_error = _reason(exc)


async def _look_up_schemas_async(
    client: AsyncEventSchemaClient, run: _Run, deletes: Sequence[DeleteBinding]
) -> None:
    if not deletes or run.aborted is not None:
        return
    try:
        events = run.lookup_strategy(deletes, client.page_size)
        if events is None:
            schemas = [schema async for schema in client.event_schemas.list()]
            run.remember_schemas(schemas, whole=one_page(schemas, client.page_size))
        for event_id in events or ():
            rows = await read_settled_async(
                lambda: client.event_schemas.list(event_definition=event_id),  # noqa: B023
                client.page_size,
                "event schema",
            )
            run.remember_schemas(rows, event_id=event_id, whole=True)
    except EventSchemaError as exc:
        run.schema_lookup_error = _reason(exc)


def apply(
    client: EventSchemaClient,
    plan: Plan,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> ApplyReport:
    """Make the plan's changes: phase by phase, concurrently within the client's rate budget.

    Args:
        client: the client (its rate budget paces every request of every worker).
        plan: the plan from :func:`diff` or :func:`compute_plan`.
        concurrency: requests in flight at once.
        progress: called with each item's result as it finishes (from worker threads).

    Returns:
        One result per change; failures carry PostHog's reason. Nothing is raised for item
        failures; an authentication or permission error stops the run (``aborted``).
    """
    run = _Run(plan, progress)

    def one(indexed: tuple[int, Change]) -> None:
        index, change = indexed
        if run.skipped_after_abort(index, change):
            return
        with run.item(index, change) as done:
            _perform(client, run, change, done)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for phase in run.phases():
            _look_up_schemas(client, run, _deletes(phase))
            list(pool.map(one, phase))
    return run.report()


async def apply_async(
    client: AsyncEventSchemaClient,
    plan: Plan,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> ApplyReport:
    """Async twin of :func:`apply` (tasks instead of threads, same phases and report)."""
    run = _Run(plan, progress)
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    async def one(index: int, change: Change) -> None:
        async with limiter:
            if run.skipped_after_abort(index, change):
                return
            with run.item(index, change) as done:
                await _perform_async(client, run, change, done)

    for phase in run.phases():
        await _look_up_schemas_async(client, run, _deletes(phase))
        async with anyio.create_task_group() as tasks:
            for index, change in phase:
                tasks.start_soon(one, index, change)
    return run.report()
