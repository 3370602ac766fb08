"""The concurrent-prune soak: applies that prune while two writers change bindings around them.

Each round binds group ``g`` (plan ``web``) to the target events and group ``noise`` (plan
``noise``) to the noise events. Then, at once: applies of the prune plan (plan ``web``, listing
no bindings, so every binding of ``g`` goes) with a small page size, and two writer threads that
unbind and bind noise events again until the applies end. Every bound noise row they remove
above a listing's cursor shifts the rows below it by one.

The oracle is the sandbox's store, read directly: every delete an apply reported done must be
absent there, and the deletes reported as made (``applied``) must add up to exactly the
bindings of ``g`` that went, since nothing else deletes them.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from soak_model import read_store

from eventschema_tools import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox
from eventschema_tools.tracking_plan import (
    DeleteBinding,
    ItemOutcome,
    apply,
    compute_plan,
)
from eventschema_tools.tracking_plan.file import parse_plan

PRUNE = "version: 1\nplan_id: web\nproperty_groups:\n  g: {properties: {id: {type: String}}}\n"


def bound_plan(plan_id: str, group: str, events: list[str]) -> str:
    """A plan owning ``group``, bound to each of ``events`` (applied with ``create_events``)."""
    lines = [
        "version: 1",
        f"plan_id: {plan_id}",
        "property_groups:",
        f"  {group}: {{properties: {{id: {{type: String}}}}}}",
        "events:",
    ]
    lines += [f"  {event}: {{groups: [{group}]}}" for event in events]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PruneSoakSize:
    """How big a run is: rounds, applies at once, bindings to prune, noise, page size."""

    rounds: int
    applies: int
    targets: int
    noise: int
    page_size: int


@dataclass
class PruneTally:
    """What the rounds reported, and what the store says about it."""

    rounds: int = 0
    pruned: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    writer_changes: int = 0
    phantoms: list[str] = field(default_factory=list)
    left: int = 0

    def figures(self, size: PruneSoakSize) -> list[str]:
        """Lines for the soak's summary."""
        return [
            f"concurrent prune: {self.rounds} rounds, {size.applies} applies at once, "
            f"{self.pruned} bindings pruned in pages of {size.page_size}; two writers made "
            f"{self.writer_changes} binding changes meanwhile",
            "deletes reported: "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(self.outcomes.items()))
            + f"; reported done but still bound: {len(self.phantoms)}; left bound: {self.left}",
        ]


def _client(running: RunningSandbox, page_size: int | None = None) -> EventSchemaClient:
    return EventSchemaClient(
        api_key=DEMO_API_KEY,
        project_id=1,
        host=running.url,
        rate_limit="off",
        page_size=page_size,
    )


class _Writer:
    """Unbinds and binds again its share of the noise events until told to stop."""

    def __init__(self, client: EventSchemaClient, pairs: dict[tuple[UUID, UUID], UUID | None]):
        self.client = client
        self.pairs = pairs
        self.changes = 0

    def run(self, stop: threading.Event, seed: int) -> None:
        rng = random.Random(seed)
        keys = sorted(self.pairs)
        while not stop.is_set():
            pair = rng.choice(keys)
            schema_id = self.pairs[pair]
            if schema_id is None:
                made = self.client.event_schemas.create(
                    event_definition=pair[0], property_group_id=pair[1]
                )
                self.pairs[pair] = made.id
            else:
                self.client.event_schemas.delete(schema_id)
                self.pairs[pair] = None
            self.changes += 1


def _seed(client: EventSchemaClient, size: PruneSoakSize) -> None:
    targets = [f"t{i:04d}" for i in range(size.targets)]
    noise = [f"n{i:04d}" for i in range(size.noise)]
    for text in (bound_plan("web", "g", targets), bound_plan("noise", "noise", noise)):
        report = apply(client, compute_plan(client, parse_plan(text), create_events=True))
        assert report.ok, report.summary()


def _noise_pairs(client: EventSchemaClient) -> dict[tuple[UUID, UUID], UUID | None]:
    return {
        (schema.event_definition, schema.property_group.id): schema.id
        for schema in client.event_schemas.list()
        if schema.property_group.name == "noise"
    }


def prune_round(running: RunningSandbox, size: PruneSoakSize, seed: int, tally: PruneTally) -> None:
    """One round: seed, then prune with ``size.applies`` applies while two writers churn."""
    store = running.sandbox.store
    with _client(running) as setup:
        _seed(setup, size)
        noise = sorted(_noise_pairs(setup).items())
    before = read_store(store)
    g_ids = {group.id for group in before.groups.values() if group.name == "g"}
    g_bindings = {pair for pair in before.bindings if pair[1] in g_ids}
    shares = [dict(noise[0::2]), dict(noise[1::2])]
    clients = [_client(running) for _ in shares]
    writers = [_Writer(client, share) for client, share in zip(clients, shares, strict=True)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer.run, args=(stop, seed * 10 + i), name=f"writer-{i}")
        for i, writer in enumerate(writers)
    ]
    reported: list[tuple[DeleteBinding, ItemOutcome]] = []
    lock = threading.Lock()

    def prune() -> None:
        with _client(running, size.page_size) as client:
            plan = compute_plan(client, parse_plan(PRUNE), prune=True)
            report = apply(client, plan)
        with lock:
            for change, item in zip(plan.changes, report.items, strict=True):
                if isinstance(change, DeleteBinding) and item.status == "done":
                    reported.append((change, item.outcome))
                tally.outcomes[item.outcome.value] += 1

    pruners = [threading.Thread(target=prune, name=f"prune-{i}") for i in range(size.applies)]
    for thread in threads + pruners:
        thread.start()
    for thread in pruners:
        thread.join()
    stop.set()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()

    after = read_store(store).bindings
    for change, outcome in reported:
        pair = (str(change.event_id), str(change.group_id))
        if pair in after:
            tally.phantoms.append(f"round {tally.rounds}: {change.subject} reported {outcome}")
    applied = sum(1 for _, outcome in reported if outcome is ItemOutcome.APPLIED)
    gone = {pair for pair in g_bindings if pair not in after}
    if applied != len(gone):
        tally.phantoms.append(
            f"round {tally.rounds}: {applied} deletes reported made, {len(gone)} bindings went"
        )
    tally.left += len(g_bindings - gone)
    tally.pruned += len(g_bindings)
    tally.writer_changes += sum(writer.changes for writer in writers)
    tally.rounds += 1
