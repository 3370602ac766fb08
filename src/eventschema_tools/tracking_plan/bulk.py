"""Bind or unbind many (event, group) pairs at once, each given by name or by id.

Costs, in requests: the property-group list (it also lists every binding), the event
definitions named in the pairs (one ``names=`` request when they fit in one URL, else the whole
list with large pages; nothing when every event is given by id), then one write per pair that
needs one. Pairs already in the wanted state are skipped without a request, the writes run
concurrently within the client's rate budget (through :func:`.apply`),
and every pair gets its own outcome. Running the same job again finishes what failed.

Example::

    pairs = pairs_for_group("checkout", ["order_paid", "order_refunded"])
    report = bind(client, pairs)
    print(report.summary())
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.catalog.resolve import close_names, is_uuid
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan import (
    DEFAULT_CONCURRENCY,
    ApplyReport,
    CreateBinding,
    DeleteBinding,
    ItemOutcome,
    ItemResult,
    LiveState,
    Plan,
    Progress,
    apply,
    apply_async,
)

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "BulkReport",
    "Pair",
    "PairResult",
    "PairStatus",
    "bind",
    "bind_async",
    "pairs_for_group",
    "parse_pairs_csv",
    "planned",
    "unbind",
    "unbind_async",
]

BulkAction = Literal["bind", "unbind"]


class PairStatus(StrEnum):
    """How one pair ended (PairResult says what each value means)."""

    CREATED = "created"
    DELETED = "deleted"
    EXISTS = "exists"
    ABSENT = "absent"
    FAILED = "failed"
    UNRESOLVED = "unresolved"
    SKIPPED = "skipped"


# The statuses of a pair that ended in the wanted state: written now, or already so.
_WRITTEN = {"bind": PairStatus.CREATED, "unbind": PairStatus.DELETED}
_ALREADY = {"bind": PairStatus.EXISTS, "unbind": PairStatus.ABSENT}


@dataclass(frozen=True)
class Pair:
    """An (event, group) pair, each side a name or an id."""

    event: str
    group: str


class PairResult(BaseModel):
    """The outcome of one pair.

    ``created``/``deleted``: the write was made. ``exists`` (bind) / ``absent`` (unbind): it
    was already in the wanted state, no write needed. ``unresolved``: the event or group does
    not exist. ``failed``: PostHog refused or kept failing (``detail`` says why). ``skipped``:
    not attempted because the run stopped (authentication or permission error).
    """

    model_config = ConfigDict(frozen=True)

    event: str
    group: str
    status: PairStatus
    detail: str = ""


class BulkReport(BaseModel):
    """Every pair's outcome, in input order."""

    model_config = ConfigDict(frozen=True)

    action: BulkAction
    results: list[PairResult] = Field(default_factory=list)
    aborted: str | None = None

    def count(self, status: PairStatus) -> int:
        """How many pairs ended with ``status``."""
        return sum(1 for result in self.results if result.status == status)

    @property
    def failed(self) -> int:
        """How many pairs PostHog refused or kept failing."""
        return self.count(PairStatus.FAILED)

    @property
    def ok(self) -> bool:
        """True when every pair ended in the wanted state."""
        wanted = {*_WRITTEN.values(), *_ALREADY.values()}
        return all(result.status in wanted for result in self.results)

    @property
    def writes(self) -> int:
        """How many pairs needed a write that was made."""
        return self.count(PairStatus.CREATED) + self.count(PairStatus.DELETED)

    def summary(self) -> str:
        """One line with the counts, e.g. ``bind: 480 created, 20 exists, 0 failed.``"""
        shown = (_WRITTEN[self.action], _ALREADY[self.action], PairStatus.FAILED)
        parts = [f"{self.count(s)} {s}" for s in shown]
        parts += [
            f"{self.count(s)} {s}"
            for s in (PairStatus.UNRESOLVED, PairStatus.SKIPPED)
            if self.count(s)
        ]
        return f"{self.action}: " + ", ".join(parts) + "."


def pairs_for_group(group: str, events: Sequence[str]) -> list[Pair]:
    """One pair per event, all with the same group (``--group NAME --events a,b,c``).

    Raises:
        InvalidInputError: no group or no event given.
    """
    names = [event.strip() for event in events if event.strip()]
    if not group.strip():
        raise InvalidInputError("give the group's name or id", [("group", "blank")])
    if not names:
        raise InvalidInputError("give at least one event name or id", [("events", "empty")])
    return [Pair(event, group.strip()) for event in names]


def parse_pairs_csv(text: str, source: str = "<pairs>") -> list[Pair]:
    """Read pairs from CSV: columns ``event,group`` (a header row with those names is optional).

    Raises:
        InvalidInputError: a row without exactly two non-blank cells, or no rows at all;
            the message names the file and line.
    """
    rows = list(csv.reader(io.StringIO(text)))
    pairs: list[Pair] = []
    problems: list[tuple[str, str]] = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [cell.lower() for cell in cells] == ["event", "group"]:
            continue
        if len(cells) != 2 or not all(cells):
            problems.append(
                (f"{source}:{number}", "expected two cells, event and group (name or id)")
            )
            continue
        pairs.append(Pair(cells[0], cells[1]))
    if problems:
        detail = "; ".join(f"{where}: {message}" for where, message in problems[:10])
        raise InvalidInputError(f"bad pairs file: {detail}", problems)
    if not pairs:
        raise InvalidInputError(f"{source} has no pairs: write one 'event,group' line per pair")
    return pairs


def _event_names(pairs: Sequence[Pair]) -> set[str]:
    return {pair.event for pair in pairs if not is_uuid(pair.event)}


@dataclass
class _Job:
    """Pairs resolved against a live state: decided outcomes and the writes still to make."""

    action: BulkAction
    pairs: Sequence[Pair]
    live: LiveState
    decided: dict[int, PairResult] = field(default_factory=dict)
    writes: list[tuple[int, CreateBinding | DeleteBinding]] = field(default_factory=list)

    def __post_init__(self) -> None:
        seen: dict[tuple[UUID, UUID], int] = {}
        for index, pair in enumerate(self.pairs):
            ids = self._resolve(index, pair)
            if ids is None:
                continue
            if ids in seen:
                self._decide(index, _ALREADY[self.action])
                continue
            seen[ids] = index
            self._plan(index, pair, ids)

    def _decide(self, index: int, status: PairStatus, detail: str = "") -> None:
        pair = self.pairs[index]
        self.decided[index] = PairResult(
            event=pair.event, group=pair.group, status=status, detail=detail
        )

    def _resolve(self, index: int, pair: Pair) -> tuple[UUID, UUID] | None:
        group = self._group_id(pair.group)
        event = UUID(pair.event.strip()) if is_uuid(pair.event) else None
        if event is None and pair.event in self.live.events_by_name:
            event = self.live.events_by_name[pair.event].id
        if group is None:
            names = (g.name for g in self.live.groups)
            self._decide(
                index, PairStatus.UNRESOLVED, _missing("property group", pair.group, names)
            )
        elif event is None:
            names = (e.name for e in self.live.events)
            self._decide(index, PairStatus.UNRESOLVED, _missing("event", pair.event, names))
        else:
            return event, group
        return None

    def _group_id(self, ref: str) -> UUID | None:
        if is_uuid(ref):
            group = self.live.groups_by_id.get(UUID(ref.strip()))
        else:
            group = self.live.groups_by_name.get(ref.strip())
        return group.id if group else None

    def _plan(self, index: int, pair: Pair, ids: tuple[UUID, UUID]) -> None:
        event_id, group_id = ids
        bound = ids in self.live.bindings
        if bound == (self.action == "bind"):
            self._decide(index, _ALREADY[self.action])
        else:
            group = self.live.groups_by_id[group_id].name
            known = self.live.events_by_id.get(event_id)
            event = known.name if known else pair.event
            change: CreateBinding | DeleteBinding
            if self.action == "bind":
                change = CreateBinding(
                    event=event, group=group, event_id=event_id, group_id=group_id
                )
            else:
                change = DeleteBinding(
                    event=event, group=group, event_id=event_id, group_id=group_id
                )
            self.writes.append((index, change))

    @property
    def plan(self) -> Plan:
        return Plan(
            changes=[change for _, change in self.writes], live_bindings=len(self.live.bindings)
        )

    def report(self, applied: ApplyReport) -> BulkReport:
        results = dict(self.decided)
        for (index, _), item in zip(self.writes, applied.items, strict=True):
            pair = self.pairs[index]
            results[index] = PairResult(
                event=pair.event,
                group=pair.group,
                status=_status(self.action, item),
                detail=item.detail,
            )
        return BulkReport(
            action=self.action,
            results=[results[i] for i in sorted(results)],
            aborted=applied.aborted,
        )


def planned(action: BulkAction, pairs: Sequence[Pair], live: LiveState) -> Plan:
    """The writes a bulk ``action`` on ``pairs`` would make against ``live`` (no I/O).

    Pairs already in the wanted state, unknown names and repeated pairs make no write.
    """
    return _Job(action, pairs, live).plan


def _missing(kind: str, ref: str, names: Iterable[str]) -> str:
    if is_uuid(ref):
        return f"no {kind} with id {ref}"
    close = close_names(ref, names)
    hint = f"; did you mean {', '.join(repr(n) for n in close)}?" if close else ""
    return f"no {kind} named {ref!r}{hint}"


def _status(action: BulkAction, item: ItemResult) -> PairStatus:
    match item.outcome:
        case ItemOutcome.APPLIED:
            return _WRITTEN[action]
        case ItemOutcome.ALREADY_DONE:
            return _ALREADY[action]
        case ItemOutcome.FAILED:
            return PairStatus.FAILED
        case ItemOutcome.SKIPPED:
            return PairStatus.SKIPPED


def _run(
    action: BulkAction,
    client: EventSchemaClient,
    pairs: Sequence[Pair],
    concurrency: int,
    progress: Progress | None,
) -> BulkReport:
    live = LiveState.read(client, event_names=_event_names(pairs))
    job = _Job(action, pairs, live)
    applied = apply(client, job.plan, concurrency=concurrency, progress=progress)
    return job.report(applied)


async def _run_async(
    action: BulkAction,
    client: AsyncEventSchemaClient,
    pairs: Sequence[Pair],
    concurrency: int,
    progress: Progress | None,
) -> BulkReport:
    live = await LiveState.read_async(client, event_names=_event_names(pairs))
    job = _Job(action, pairs, live)
    applied = await apply_async(client, job.plan, concurrency=concurrency, progress=progress)
    return job.report(applied)


def bind(
    client: EventSchemaClient,
    pairs: Sequence[Pair],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> BulkReport:
    """Bind each pair's group to its event; pairs already bound are skipped without a write.

    Args:
        client: the client.
        pairs: (event, group) pairs by name or id.
        concurrency: writes in flight at once (all paced by the client's rate budget).
        progress: called with each write's result as it finishes.
    """
    return _run("bind", client, pairs, concurrency, progress)


async def bind_async(
    client: AsyncEventSchemaClient,
    pairs: Sequence[Pair],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> BulkReport:
    """Async twin of :func:`bind`."""
    return await _run_async("bind", client, pairs, concurrency, progress)


def unbind(
    client: EventSchemaClient,
    pairs: Sequence[Pair],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> BulkReport:
    """Remove each pair's binding; pairs not bound are skipped without a write.

    The ids of the bindings to delete are looked up with the cheaper of one filtered list
    per event and one read of the whole binding list.
    """
    return _run("unbind", client, pairs, concurrency, progress)


async def unbind_async(
    client: AsyncEventSchemaClient,
    pairs: Sequence[Pair],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> BulkReport:
    """Async twin of :func:`unbind`."""
    return await _run_async("unbind", client, pairs, concurrency, progress)
