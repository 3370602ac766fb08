"""The soak workload: seeded random operations through one side of the client, each checked.

Every operation states what it expects *before* it runs, from the model alone (`soak_model`),
then compares what the client reported with that expectation and updates the model. Writes
cover groups, event definitions and bindings one by one, bulk `bind`/`unbind`, and tracking-plan
`apply` with prune; reads list each kind and compare the listing with the model.

Names carry the partition's prefix (so two workloads can share one project) and, now and then,
characters that have broken clients before: commas (which PostHog's `names=` filter splits on),
quotes, backslashes, braces and non-ASCII text.
"""

from __future__ import annotations

import dataclasses
import random
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak_model import Event, Group, Model, Prop, Snapshot, compare
from soak_sides import Side

from eventschema_tools.errors import BadRequestError
from eventschema_tools.tracking_plan import apply, apply_async, compute_plan, compute_plan_async
from eventschema_tools.tracking_plan.bulk import Pair, bind, bind_async, unbind, unbind_async
from eventschema_tools.tracking_plan.file import TrackingPlan

PROPERTY_NAMES = ("order_id", "amount", "paid", "at", "meta", "$current_url", "naïve ünï", "a b")
PROPERTY_TYPES = ("String", "Numeric", "Boolean", "DateTime", "Object")
NAME_TAILS = ("",) * 6 + (" ünïcode", " 名前", ",comma", " 'q'", ' "dq"', " back\\slash", " {b}")
DESCRIPTIONS = ("", "checkout", "Ünïcode — description", "line one\nline two")
MAX_GROUPS = 8
MAX_EVENTS = 14
PLAN_GROUPS = 4

# Relative frequency of each operation.
WEIGHTS: dict[str, int] = {
    "create_group": 8,
    "update_group": 8,
    "delete_group": 3,
    "list_groups": 5,
    "create_event": 8,
    "update_event": 6,
    "delete_event": 2,
    "list_events": 5,
    "create_binding": 12,
    "update_binding": 5,
    "delete_binding": 6,
    "list_bindings": 6,
    "bind": 5,
    "unbind": 2,
    "apply": 3,
    "create_existing": 3,
}


def plan_marker(plan_id: str) -> str:
    """The ownership marker a plan writes into the groups it owns (documented format)."""
    return f"<!-- eventschema:plan={plan_id} -->"


def _props_of(group: Any) -> frozenset[Prop]:
    return frozenset((p.name, str(p.property_type), p.is_required) for p in group.properties)


@dataclass
class Tally:
    """Operations performed per kind and every mismatch found."""

    ops: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)


class Workload:
    """Random operations on one partition through one side.

    Args:
        side: the client face to drive.
        model: the partition's expected state (updated as operations succeed).
        seed: seeds the choice of operations and their arguments.
        snapshot: reads the sandbox's state (not through the client under test).
    """

    def __init__(
        self, side: Side, model: Model, seed: int, snapshot: Callable[[], Snapshot]
    ) -> None:
        self.side = side
        self.model = model
        self.rng = random.Random(f"{seed}:{side.label}")
        self.snapshot = snapshot
        self.tally = Tally()
        self.plan_id = f"soak-{side.label}"
        self._counter = 0
        self._op = ""

    async def run(self, count: int, checkpoint_every: int = 100) -> Tally:
        """Perform `count` operations, comparing the model with the sandbox every so often."""
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        for index in range(count):
            kind = self.rng.choices(kinds, weights)[0]
            self._op = f"{self.side.label} op {index} ({kind})"
            try:
                done = await getattr(self, kind)()
            except Exception as exc:  # every failure is a finding; the run goes on
                where = traceback.extract_tb(exc.__traceback__)[-1]
                self.mismatch(
                    f"raised {type(exc).__name__}: {exc} "
                    f"(at {Path(where.filename).name}:{where.lineno})"
                )
                done = kind
            self.tally.ops[done] += 1
            if (index + 1) % checkpoint_every == 0:
                self.check_state()
        self._op = f"{self.side.label} end of run"
        self.check_state()
        return self.tally

    def check_state(self) -> None:
        """Compare the model with the sandbox's state of this partition."""
        for problem in compare(self.model, self.snapshot()):
            self.mismatch(problem)

    def mismatch(self, message: str) -> None:
        """Record a finding, with the operation it came from."""
        self.tally.mismatches.append(f"{self._op}: {message}")

    def expect(self, condition: bool, message: str) -> None:
        """Record `message` as a mismatch unless `condition` holds."""
        if not condition:
            self.mismatch(message)

    # --- choosing names and targets ---------------------------------------------------------

    def fresh_name(self, kind: str) -> str:
        self._counter += 1
        return f"{self.model.prefix}{kind}{self._counter}{self.rng.choice(NAME_TAILS)}"

    def random_properties(self) -> frozenset[Prop]:
        names = self.rng.sample(PROPERTY_NAMES, self.rng.randint(0, 3))
        return frozenset(
            (name, self.rng.choice(PROPERTY_TYPES), self.rng.random() < 0.5) for name in names
        )

    def manual_groups(self) -> list[Group]:
        return sorted(
            (g for g in self.model.groups.values() if not g.plan_owned), key=lambda g: g.id
        )

    def events(self) -> list[Event]:
        return sorted(self.model.events.values(), key=lambda e: e.id)

    def known_bindings(self, *, manual_only: bool) -> list[tuple[str, str, str]]:
        manual = {g.id for g in self.manual_groups()}
        return sorted(
            (schema, event, group)
            for (event, group), schema in self.model.bindings.items()
            if schema is not None and (group in manual or not manual_only)
        )

    def expect_group(self, got: Any, name: str, description: str, props: frozenset[Prop]) -> None:
        wanted = (name, description, props)
        seen = (got.name, got.description, _props_of(got))
        self.expect(seen == wanted, f"group reported as {seen}, expected {wanted}")

    # --- property groups ----------------------------------------------------------------------

    async def create_group(self) -> str:
        if len(self.manual_groups()) >= MAX_GROUPS:
            return await self.delete_group()
        name, description = self.fresh_name("g"), self.rng.choice(DESCRIPTIONS)
        props = self.random_properties()
        properties = [{"name": n, "property_type": t, "is_required": r} for n, t, r in props]
        created = await self.side.call(
            "property_groups", "create", name=name, description=description, properties=properties
        )
        self.expect_group(created, name, description, props)
        self.model.groups[str(created.id)] = Group(str(created.id), name, description, props)
        return "create_group"

    async def update_group(self) -> str:
        groups = self.manual_groups()
        if not groups:
            return await self.create_group()
        group = self.rng.choice(groups)
        variant = self.rng.choice(("description", "properties", "name", "all"))
        changes: dict[str, Any] = {}
        new = dataclasses.replace(group)
        if variant in ("description", "all"):
            new.description = changes["description"] = self.rng.choice(DESCRIPTIONS)
        if variant in ("properties", "all"):
            new.properties = self.random_properties()
            changes["properties"] = [
                {"name": n, "property_type": t, "is_required": r} for n, t, r in new.properties
            ]
        if variant in ("name", "all"):
            new.name = changes["name"] = self.fresh_name("g")
        updated = await self.side.call("property_groups", "update", group.id, **changes)
        self.expect_group(updated, new.name, new.description, new.properties)
        self.model.groups[group.id] = new
        return "update_group"

    async def delete_group(self) -> str:
        groups = sorted(self.model.groups.values(), key=lambda g: g.id)
        if not groups:
            return await self.create_group()
        group = self.rng.choice(groups)
        result = await self.side.call("property_groups", "delete", group.id)
        self.expect(result is None, f"delete returned {result!r}")
        self.model.delete_group(group.id)
        return "delete_group"

    async def list_groups(self) -> str:
        rows = await self.side.collect("property_groups")
        mine = {str(g.id): g for g in rows if g.name.startswith(self.model.prefix)}
        self.expect(
            mine.keys() == self.model.groups.keys(),
            f"listed groups {sorted(g.name for g in mine.values())}, "
            f"expected {sorted(g.name for g in self.model.groups.values())}",
        )
        for group_id, row in mine.items():
            expected = self.model.groups.get(group_id)
            if expected is None:
                continue
            self.expect_group(row, expected.name, expected.description, expected.properties)
            bound = {str(event.id) for event in row.events}
            self.expect(
                bound == self.model.bindings_of_group(group_id),
                f"group {expected.name!r} lists events {bound}",
            )
        return "list_groups"

    # --- event definitions --------------------------------------------------------------------

    async def create_event(self) -> str:
        if len(self.model.events) >= MAX_EVENTS:
            return await self.delete_event()
        name = self.fresh_name("e")
        description = self.rng.choice((None, *DESCRIPTIONS))
        created = await self.side.call(
            "event_definitions", "create", name=name, description=description
        )
        seen = (created.name, created.description or "")
        self.expect(seen == (name, description or ""), f"event reported as {seen}")
        self.model.events[str(created.id)] = Event(str(created.id), name, description or "")
        return "create_event"

    async def update_event(self) -> str:
        events = self.events()
        if not events:
            return await self.create_event()
        event = self.rng.choice(events)
        description = f"described {self.rng.randrange(10**6)}"
        updated = await self.side.call(
            "event_definitions", "update", event.id, description=description
        )
        seen = (str(updated.id), updated.name, updated.description)
        self.expect(seen == (event.id, event.name, description), f"event reported as {seen}")
        event.description = description
        return "update_event"

    async def delete_event(self) -> str:
        events = self.events()
        if not events:
            return await self.create_event()
        event = self.rng.choice(events)
        await self.side.call("event_definitions", "delete", event.id)
        self.model.delete_event(event.id)
        return "delete_event"

    async def list_events(self) -> str:
        rows = await self.side.collect("event_definitions", search=self.model.prefix)
        seen = {str(e.id): (e.name, e.description or "") for e in rows}
        expected = {e.id: (e.name, e.description) for e in self.model.events.values()}
        self.expect(len(rows) == len(seen), "an event was listed twice")
        self.expect(seen == expected, f"listed events {seen}, expected {expected}")
        return "list_events"

    # --- bindings -----------------------------------------------------------------------------

    async def create_binding(self) -> str:
        free = [
            (event, group)
            for event in self.events()
            for group in self.manual_groups()
            if (event.id, group.id) not in self.model.bindings
        ]
        if not free:
            return await (self.create_group() if self.model.events else self.create_event())
        event, group = self.rng.choice(free)
        schema = await self.side.call(
            "event_schemas", "create", event_definition=event.id, property_group_id=group.id
        )
        pair = (str(schema.event_definition), str(schema.property_group.id))
        self.expect(pair == (event.id, group.id), f"binding reported for {pair}")
        self.expect_group(schema.property_group, group.name, group.description, group.properties)
        self.model.bindings[(event.id, group.id)] = str(schema.id)
        return "create_binding"

    async def update_binding(self) -> str:
        known = self.known_bindings(manual_only=True)
        if not known:
            return await self.create_binding()
        schema_id, event_id, group_id = self.rng.choice(known)
        if self.rng.random() < 0.5:
            targets = [(event_id, g.id) for g in self.manual_groups()]
            change = "property_group_id"
        else:
            targets = [(e.id, group_id) for e in self.events()]
            change = "event_definition"
        targets = [pair for pair in targets if pair not in self.model.bindings]
        if not targets:
            return await self.delete_binding()
        new_pair = self.rng.choice(targets)
        value = new_pair[1] if change == "property_group_id" else new_pair[0]
        updated = await self.side.call("event_schemas", "update", schema_id, **{change: value})
        seen = (str(updated.id), str(updated.event_definition), str(updated.property_group.id))
        self.expect(seen == (schema_id, *new_pair), f"moved binding reported as {seen}")
        del self.model.bindings[(event_id, group_id)]
        self.model.bindings[new_pair] = schema_id
        return "update_binding"

    async def delete_binding(self) -> str:
        known = self.known_bindings(manual_only=False)
        if not known:
            return await (self.list_bindings() if self.model.bindings else self.create_binding())
        schema_id, event_id, group_id = self.rng.choice(known)
        await self.side.call("event_schemas", "delete", schema_id)
        del self.model.bindings[(event_id, group_id)]
        return "delete_binding"

    async def list_bindings(self) -> str:
        events = self.events()
        event = self.rng.choice(events) if events and self.rng.random() < 0.5 else None
        rows = await self.side.collect(
            "event_schemas", event_definition=event.id if event else None
        )
        if event is not None:
            stray = [str(r.id) for r in rows if str(r.event_definition) != event.id]
            self.expect(not stray, f"filtered listing returned other events' bindings {stray}")
        mine = {
            (str(r.event_definition), str(r.property_group.id)): r
            for r in rows
            if str(r.event_definition) in self.model.events
        }
        ids = [str(r.id) for r in rows]
        self.expect(len(ids) == len(set(ids)), "a binding was listed twice")
        expected = {
            pair: schema
            for pair, schema in self.model.bindings.items()
            if event is None or pair[0] == event.id
        }
        self.expect(
            mine.keys() == expected.keys(), f"listed bindings {sorted(mine)}, expected {expected}"
        )
        for pair, row in mine.items():
            if pair not in expected:
                continue
            known = expected[pair]
            self.expect(known in (None, str(row.id)), f"binding {pair} listed with id {row.id}")
            self.model.bindings[pair] = str(row.id)
            group = self.model.groups[pair[1]]
            self.expect_group(row.property_group, group.name, group.description, group.properties)
        return "list_bindings"

    async def create_existing(self) -> str:
        """Create what already exists: refused, whatever faults came first.

        A group or event sent with other content than the existing one must fail with
        "already exists" (never return the other object as created). A binding has no content
        but its pair, so returning the existing binding is as true as the refusal.
        """
        choices = [name for name in ("group", "event", "binding") if self._existing(name)]
        if not choices:
            return await self.create_group()
        kind = self.rng.choice(choices)
        existing = self.rng.choice(self._existing(kind))
        try:
            if kind == "group":
                got = await self.side.call(
                    "property_groups", "create", name=existing.name, description="other"
                )
            elif kind == "event":
                got = await self.side.call(
                    "event_definitions", "create", name=existing.name, description="other"
                )
            else:
                got = await self.side.call(
                    "event_schemas",
                    "create",
                    event_definition=existing[0],
                    property_group_id=existing[1],
                )
        except BadRequestError as exc:
            self.expect(exc.is_duplicate, f"create of an existing {kind}: {exc}")
            return "create_existing"
        if kind == "binding":
            pair = (str(got.event_definition), str(got.property_group.id))
            known = self.model.bindings[existing]
            self.expect(
                pair == existing and known in (None, str(got.id)),
                f"create of an existing binding {existing} returned {got.id} for {pair}",
            )
            self.model.bindings[existing] = str(got.id)
        else:
            self.mismatch(f"create of an existing {kind} returned another object: {got!r}")
        return "create_existing"

    def _existing(self, kind: str) -> list[Any]:
        if kind == "group":
            return self.manual_groups()
        if kind == "event":
            return self.events()
        return sorted(self.model.bindings)

    # --- bulk bind / unbind -----------------------------------------------------------------

    def bulk_pairs(self, action: str) -> tuple[list[Pair], list[str], list[tuple[str, str]]]:
        """Random pairs (by name or id, some repeated, some unknown) and the expected outcome.

        Returns the pairs, each pair's expected status, and the (event id, group id) pairs the
        run should change.
        """
        events, groups = self.events(), self.manual_groups()
        pairs: list[Pair] = []
        statuses: list[str] = []
        changed: list[tuple[str, str]] = []
        for _ in range(self.rng.randint(2, 6)):
            if self.rng.random() < 0.1:
                missing = f"{self.model.prefix}missing{self.rng.randrange(100)}"
                group = self.rng.choice(groups)
                pairs.append(
                    Pair(missing, group.name)
                    if self.rng.random() < 0.5
                    else Pair(self.rng.choice(events).name, missing)
                )
                statuses.append("unresolved")
                continue
            event, group = self.rng.choice(events), self.rng.choice(groups)
            by_id = self.rng.random() < 0.3
            pairs.append(Pair(event.id if by_id else event.name, group.id if by_id else group.name))
            ids = (event.id, group.id)
            bound = ids in self.model.bindings
            if ids in changed:
                statuses.append("exists" if action == "bind" else "absent")
            elif action == "bind":
                statuses.append("exists" if bound else "created")
            else:
                statuses.append("deleted" if bound else "absent")
            if statuses[-1] in ("created", "deleted"):
                changed.append(ids)
        return pairs, statuses, changed

    async def bind(self) -> str:
        if not self.model.events or not self.manual_groups():
            return await self.create_binding()
        pairs, statuses, changed = self.bulk_pairs("bind")
        report = await self.side.run(bind, bind_async, pairs)
        seen = [result.status for result in report.results]
        self.expect(seen == statuses, f"bind of {pairs} reported {seen}, expected {statuses}")
        for pair in changed:
            self.model.bindings[pair] = None
        return "bind"

    async def unbind(self) -> str:
        if not self.model.events or not self.manual_groups():
            return await self.create_binding()
        pairs, statuses, changed = self.bulk_pairs("unbind")
        report = await self.side.run(unbind, unbind_async, pairs)
        seen = [result.status for result in report.results]
        self.expect(seen == statuses, f"unbind of {pairs} reported {seen}, expected {statuses}")
        for pair in changed:
            del self.model.bindings[pair]
        return "unbind"

    # --- tracking plan apply (with prune) -------------------------------------------------------

    def desired_plan(self) -> tuple[dict[str, tuple[str, frozenset[Prop]]], dict[str, list[str]]]:
        """A random plan: some of the plan's groups, and events (some new) bound to them."""
        names = [f"{self.model.prefix}plan{k}" for k in range(PLAN_GROUPS)]
        chosen = sorted(self.rng.sample(names, self.rng.randint(1, PLAN_GROUPS)))
        groups = {
            name: (self.rng.choice(DESCRIPTIONS[:3]), self.random_properties()) for name in chosen
        }
        events = [e.name for e in self.events()]
        picked = self.rng.sample(events, min(len(events), self.rng.randint(0, 4)))
        if self.rng.random() < 0.3 or not picked:
            picked.append(self.fresh_name("e"))
        bindings = {
            event: sorted(self.rng.sample(chosen, self.rng.randint(1, len(chosen))))
            for event in picked
        }
        return groups, bindings

    def expected_counts(
        self, groups: dict[str, tuple[str, frozenset[Prop]]], bindings: dict[str, list[str]]
    ) -> dict[str, int]:
        """Terraform-style counts of the changes the plan must make, from the model alone."""
        add = change = destroy = 0
        marker = plan_marker(self.plan_id)
        for name, (description, props) in groups.items():
            live = self.model.group_named(name)
            if live is None:
                add += 1
            elif (live.description.replace(marker, "").strip(), live.properties) != (
                description,
                props,
            ):
                change += 1
        add += sum(1 for event in bindings if self.model.event_named(event) is None)
        wanted = {(event, group) for event, names in bindings.items() for group in names}
        for event_name, group_name in wanted:
            event, group = self.model.event_named(event_name), self.model.group_named(group_name)
            if event is None or group is None or (event.id, group.id) not in self.model.bindings:
                add += 1
        for group in self.model.groups.values():
            if not group.plan_owned:
                continue
            if group.name not in groups:
                destroy += 1
                continue
            for event_id in self.model.bindings_of_group(group.id):
                if (self.model.events[event_id].name, group.name) not in wanted:
                    destroy += 1
        return {"add": add, "change": change, "destroy": destroy}

    async def apply(self) -> str:
        groups, bindings = self.desired_plan()
        desired = TrackingPlan.model_validate(
            {
                "version": 1,
                "plan_id": self.plan_id,
                "property_groups": {
                    name: {
                        "description": description,
                        "properties": {n: {"type": t, "required": r} for n, t, r in props},
                    }
                    for name, (description, props) in groups.items()
                },
                "events": {event: {"groups": names} for event, names in bindings.items()},
            }
        )
        expected = self.expected_counts(groups, bindings)
        options = {"prune": True, "create_events": True}
        plan = await self.side.run(compute_plan, compute_plan_async, desired, **options)
        self.expect(plan.counts() == expected, f"plan counts {plan.counts()}, expected {expected}")
        self.expect(not plan.blocked, f"plan blocked: {plan.blocked}")
        report = await self.side.run(apply, apply_async, plan)
        failed = [item for item in report.items if item.status != "done"]
        self.expect(report.ok, f"apply reported {report.summary()} {failed}")
        again = await self.side.run(compute_plan, compute_plan_async, desired, **options)
        self.expect(again.is_empty, f"re-planning after apply: {again.summary()} {again.changes}")
        self.record_applied(groups, bindings)
        return "apply"

    def record_applied(
        self, groups: dict[str, tuple[str, frozenset[Prop]]], bindings: dict[str, list[str]]
    ) -> None:
        """Bring the model to the plan; new objects' ids are read from the sandbox by name."""
        marker = plan_marker(self.plan_id)
        snapshot = self.snapshot()
        ids = {g.name: g.id for g in snapshot.groups.values()}
        ids.update({e.name: e.id for e in snapshot.events.values()})
        for group in [g for g in self.model.groups.values() if g.plan_owned]:
            if group.name not in groups:
                self.model.delete_group(group.id)
        for name, (description, props) in groups.items():
            stored = f"{description}\n\n{marker}" if description else marker
            current = self.model.group_named(name)
            group_id = current.id if current else ids.get(name, f"missing {name}")
            self.model.groups[group_id] = Group(group_id, name, stored, props, plan_owned=True)
        for event in bindings:
            if self.model.event_named(event) is None:
                event_id = ids.get(event, f"missing {event}")
                self.model.events[event_id] = Event(event_id, event)
        wanted = {
            (self.model.event_named(event).id, self.model.group_named(group).id)  # type: ignore[union-attr]
            for event, names in bindings.items()
            for group in names
        }
        owned = {g.id for g in self.model.groups.values() if g.plan_owned}
        for pair in list(self.model.bindings):
            if pair[1] in owned and pair not in wanted:
                del self.model.bindings[pair]
        for pair in wanted:
            self.model.bindings.setdefault(pair, None)
