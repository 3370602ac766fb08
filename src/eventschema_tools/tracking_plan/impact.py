"""What each change of a plan does to the events that arrive: breaking, risky or safe (pure).

A *breaking* change makes events that conform today fail from then on, or takes a contract away
from the people and code that read the events: a property made required, a property removed from
a bound group, a type changed, a group unbound, an event switched to ``reject``. A *risky* change
narrows what is accepted in ways PostHog does not enforce but audits and generated code do: a
value rule tightened, ``optional_in_types`` dropped, or a new binding that requires properties
of an event in ``allow`` mode (flagged, not dropped; in ``reject`` mode it is breaking).
Everything else is *safe*: an optional property added, a description, a new group, a binding
that requires nothing new, loosening.

A change that reaches no existing event (a group no event is bound to, an event the plan
creates, which has sent nothing yet) is safe, whatever its kind.

A plan file acknowledges a breaking or risky change with an ``allow_breaking`` entry on the group
or the event it is about (``change``: the kind, ``property``: optional, ``reason``). The review
shows the reason; the gate (:meth:`Plan.unacknowledged`) lets acknowledged changes through. An
entry that matches no pending change is *stale* (after apply, remove it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode, PropertyInput

if TYPE_CHECKING:
    from eventschema_tools.tracking_plan.changes import (
        Change,
        CreateBinding,
        CreateEvent,
        CreateGroup,
        DeleteBinding,
        DeleteGroup,
        UpdateEvent,
        UpdateGroup,
    )
    from eventschema_tools.tracking_plan.file import (
        Acknowledgement,
        TrackingPlan,
        ValueRules,
    )
    from eventschema_tools.tracking_plan.live import LiveState

__all__ = [
    "FAIL_ON_CHOICES",
    "IMPACT_LEVELS",
    "FailOn",
    "Impact",
    "ImpactKind",
    "ImpactLevel",
    "StaleAcknowledgement",
    "classify",
    "parse_fail_on",
    "rule_impacts",
    "stale_acknowledgements",
]

ImpactLevel = Literal["breaking", "risky", "safe"]
IMPACT_LEVELS: Final[tuple[ImpactLevel, ...]] = ("breaking", "risky", "safe")
"""The levels, worst first."""
FailOn = Literal["breaking", "risky", "never"]
FAIL_ON_CHOICES: Final = ("breaking", "risky", "never")


class ImpactKind(StrEnum):
    """What a change does; each kind has one level (see :data:`LEVEL_OF`)."""

    PROPERTY_REQUIRED = "property_required"
    PROPERTY_REMOVED = "property_removed"
    TYPE_CHANGED = "type_changed"
    GROUP_UNBOUND = "group_unbound"
    ENFORCEMENT_REJECT = "enforcement_reject"
    RULE_TIGHTENED = "rule_tightened"
    OPTIONAL_IN_TYPES_DROPPED = "optional_in_types_dropped"
    PROPERTY_ADDED = "property_added"
    PROPERTY_OPTIONAL = "property_optional"
    OPTIONAL_IN_TYPES_ADDED = "optional_in_types_added"
    DESCRIPTION_CHANGED = "description_changed"
    GROUP_CREATED = "group_created"
    GROUP_DELETED = "group_deleted"
    GROUP_ADOPTED = "group_adopted"
    EVENT_CREATED = "event_created"
    BINDING_CREATED = "binding_created"
    ENFORCEMENT_ALLOW = "enforcement_allow"
    RULE_LOOSENED = "rule_loosened"


LEVEL_OF: Final[Mapping[ImpactKind, ImpactLevel]] = {
    ImpactKind.PROPERTY_REQUIRED: "breaking",
    ImpactKind.PROPERTY_REMOVED: "breaking",
    ImpactKind.TYPE_CHANGED: "breaking",
    ImpactKind.GROUP_UNBOUND: "breaking",
    ImpactKind.ENFORCEMENT_REJECT: "breaking",
    ImpactKind.RULE_TIGHTENED: "risky",
    ImpactKind.OPTIONAL_IN_TYPES_DROPPED: "risky",
    ImpactKind.PROPERTY_ADDED: "safe",
    ImpactKind.PROPERTY_OPTIONAL: "safe",
    ImpactKind.OPTIONAL_IN_TYPES_ADDED: "safe",
    ImpactKind.DESCRIPTION_CHANGED: "safe",
    ImpactKind.GROUP_CREATED: "safe",
    ImpactKind.GROUP_DELETED: "safe",
    ImpactKind.GROUP_ADOPTED: "safe",
    ImpactKind.EVENT_CREATED: "safe",
    ImpactKind.BINDING_CREATED: "safe",
    ImpactKind.ENFORCEMENT_ALLOW: "safe",
    ImpactKind.RULE_LOOSENED: "safe",
}
"""The level of each kind of change when it reaches at least one event."""

ACKNOWLEDGEABLE: Final = frozenset(kind for kind, level in LEVEL_OF.items() if level != "safe")
"""The kinds an ``allow_breaking`` entry can name."""

_RANK: Final[Mapping[str, int]] = {"safe": 0, "risky": 1, "breaking": 2, "never": 3}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Impact(_Model):
    """One thing a plan change does, with its level.

    Attributes:
        level: ``breaking``, ``risky`` or ``safe``.
        kind: What it does (an :class:`ImpactKind` value).
        action: The change it belongs to (``update_group``, ``update_event``...).
        group: The group it is about, if any.
        event: The event it is about, if any.
        property: The property it is about, if any.
        detail: The change in words, e.g. ``seats: required no → yes``.
        events: The events whose schema it changes (sorted).
        acknowledged: The reason of the plan's ``allow_breaking`` entry that accepts it.
    """

    # The methods come first: the field named ``property`` hides the builtin below it.
    @property
    def subject(self) -> str:
        """What it is about, for people: ``group "x" property "y"`` or ``event "z"``."""
        parts = []
        if self.group is not None:
            parts.append(f'group "{self.group}"')
        if self.event is not None:
            parts.append(f'event "{self.event}"')
        if self.property is not None:
            parts.append(f'property "{self.property}"')
        return " ".join(parts)

    def fails(self, fail_on: FailOn) -> bool:
        """Whether this impact stops a review that fails on ``fail_on`` (unacknowledged only)."""
        return self.acknowledged is None and _RANK[self.level] >= _RANK[fail_on]

    level: ImpactLevel
    kind: ImpactKind
    action: str
    group: str | None = None
    event: str | None = None
    property: str | None = None
    detail: str
    events: list[str] = Field(default_factory=list)
    acknowledged: str | None = None


class StaleAcknowledgement(_Model):
    """An ``allow_breaking`` entry that matches no pending change (remove it after apply).

    Attributes:
        subject: Where it is: ``group "x"`` or ``event "y"``.
        group: The group it sits on, if on a group.
        event: The event it sits on, if on an event.
        change: The kind it names.
        property: The property it names, if any.
        reason: Its reason.
    """

    subject: str
    group: str | None = None
    event: str | None = None
    change: str
    property: str | None = None
    reason: str


def parse_fail_on(value: str) -> FailOn:
    """Read ``breaking``, ``risky`` or ``never`` (any case).

    Raises:
        InvalidInputError: anything else, naming what is allowed.
    """
    cleaned = value.strip().lower()
    for choice in FAIL_ON_CHOICES:
        if cleaned == choice:
            return choice
    raise InvalidInputError(
        f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}; got {value!r}",
        [("fail_on", "unknown class")],
    )


# --- classification ----------------------------------------------------------------------------


def classify(changes: Iterable[Change], desired: TrackingPlan, live: LiveState) -> list[Impact]:
    """Every impact of ``changes`` (a diff of ``desired`` against ``live``), acknowledged
    where ``desired`` says so."""
    context = _Context(desired, live)
    found = [impact for change in changes for impact in context.impacts(change)]
    return [_acknowledged(impact, desired) for impact in found]


def rule_impacts(base: TrackingPlan, desired: TrackingPlan) -> list[Impact]:
    """Value rules tightened or loosened between two versions of a plan file.

    PostHog stores no value rules, so a diff against the live project cannot see them; a review
    compares the plan file with its earlier version (the base branch's) instead.
    """
    bound = _bound_events(desired)
    impacts: list[Impact] = []
    for group_name, group in desired.property_groups.items():
        before_group = base.property_groups.get(group_name)
        if before_group is None:
            continue
        for prop_name, prop in group.properties.items():
            before = before_group.properties.get(prop_name)
            if before is None or before.type != prop.type:
                continue
            tightened, loosened = _rule_delta(before.rules, prop.rules)
            events = bound.get(group_name, [])
            for kind, words in (
                (ImpactKind.RULE_TIGHTENED, tightened),
                (ImpactKind.RULE_LOOSENED, loosened),
            ):
                if words:
                    impacts.append(
                        _impact(
                            kind,
                            "update_group",
                            events,
                            group=group_name,
                            property=prop_name,
                            detail=f"{prop_name}: " + "; ".join(words),
                        )
                    )
    return [_acknowledged(impact, desired) for impact in impacts]


def stale_acknowledgements(
    desired: TrackingPlan, impacts: Iterable[Impact], *, rules_compared: bool = False
) -> list[StaleAcknowledgement]:
    """The ``allow_breaking`` entries of ``desired`` that no impact matches.

    Entries for ``rule_tightened`` count only when ``rules_compared`` (value rules are compared
    with the plan file's earlier version, when there is one: without it nothing can tell).
    """
    pending = list(impacts)
    stale: list[StaleAcknowledgement] = []
    owners: list[tuple[str, str | None, str | None, list[Acknowledgement]]] = [
        (f'group "{name}"', name, None, spec.allow_breaking)
        for name, spec in desired.property_groups.items()
    ]
    owners += [
        (f'event "{name}"', None, name, spec.allow_breaking)
        for name, spec in desired.events.items()
    ]
    for subject, group, event, entries in owners:
        for entry in entries:
            if entry.change == ImpactKind.RULE_TIGHTENED and not rules_compared:
                continue
            if not any(_matches(entry, impact, group, event) for impact in pending):
                stale.append(
                    StaleAcknowledgement(
                        subject=subject,
                        group=group,
                        event=event,
                        change=entry.change.value,
                        property=entry.property,
                        reason=entry.reason,
                    )
                )
    return stale


def _acknowledged(impact: Impact, desired: TrackingPlan) -> Impact:
    if impact.level == "safe":
        return impact
    candidates: list[tuple[str | None, str | None, list[Acknowledgement]]] = []
    if impact.group is not None and impact.group in desired.property_groups:
        spec = desired.property_groups[impact.group]
        candidates.append((impact.group, None, spec.allow_breaking))
    if impact.event is not None and impact.event in desired.events:
        candidates.append((None, impact.event, desired.events[impact.event].allow_breaking))
    for group, event, entries in candidates:
        for entry in entries:
            if _matches(entry, impact, group, event):
                return impact.model_copy(update={"acknowledged": entry.reason})
    return impact


def _matches(entry: Acknowledgement, impact: Impact, group: str | None, event: str | None) -> bool:
    if entry.change.value != impact.kind.value or impact.level == "safe":
        return False
    if group is not None and impact.group != group:
        return False
    if event is not None and impact.event != event:
        return False
    return entry.property is None or entry.property == impact.property


def _impact(
    kind: ImpactKind,
    action: str,
    events: Iterable[str],
    *,
    detail: str,
    level: ImpactLevel | None = None,
    **about: str | None,
) -> Impact:
    affected = sorted(set(events))
    # A change that reaches no event that exists (a group bound to nothing, an event the plan
    # creates) breaks nothing yet.
    return Impact(
        level=(level or LEVEL_OF[kind]) if affected else "safe",
        kind=kind,
        action=action,
        detail=detail,
        events=affected,
        **about,
    )


def _bound_events(plan: TrackingPlan) -> dict[str, list[str]]:
    bound: dict[str, list[str]] = {}
    for event, spec in plan.events.items():
        for group in spec.groups:
            bound.setdefault(group, []).append(event)
    return bound


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


class _Context:
    """What classifying needs besides the change: who is bound to what, before and after."""

    def __init__(self, desired: TrackingPlan, live: LiveState) -> None:
        self.desired = desired
        self.live = live
        self.after = _bound_events(desired)
        self.before: dict[str, list[str]] = {
            group.name: [event.name for event in group.events] for group in live.groups
        }
        # The live state may hold only the plan's event definitions; bound events exist too.
        self.known = set(live.events_by_name) | {e for names in self.before.values() for e in names}
        self.required_now: dict[str, set[str]] = {}
        for group in live.groups:
            names = {prop.name for prop in group.properties if prop.is_required}
            for event in group.events:
                self.required_now.setdefault(event.name, set()).update(names)

    def events_of(self, group: str) -> list[str]:
        return self.existing(set(self.after.get(group, [])) | set(self.before.get(group, [])))

    def existing(self, events: Iterable[str]) -> list[str]:
        """The events that exist in the project (an event the plan creates has sent nothing)."""
        return sorted(event for event in set(events) if event in self.known)

    def mode_after(self, event: str) -> EnforcementMode:
        spec = self.desired.events.get(event)
        if spec is not None and spec.enforcement is not None:
            return spec.enforcement
        live = self.live.events_by_name.get(event)
        return live.enforcement_mode if live is not None else EnforcementMode.ALLOW

    def impacts(self, change: Change) -> Iterator[Impact]:
        # Imported here: the change models' module imports this one for the Plan's impacts.
        from eventschema_tools.tracking_plan import changes as c

        if isinstance(change, c.CreateGroup):
            yield self._create_group(change)
        elif isinstance(change, c.UpdateGroup):
            yield from self._update_group(change)
        elif isinstance(change, c.DeleteGroup):
            yield from self._delete_group(change)
        elif isinstance(change, c.CreateEvent):
            yield self._create_event(change)
        elif isinstance(change, c.UpdateEvent):
            yield from self._update_event(change)
        elif isinstance(change, c.CreateBinding):
            yield self._create_binding(change)
        else:
            yield self._delete_binding(change)

    def _create_group(self, change: CreateGroup) -> Impact:
        return _impact(
            ImpactKind.GROUP_CREATED,
            change.action,
            [],
            group=change.group,
            detail=f"new group with {len(change.properties)} properties",
        )

    def _update_group(self, change: UpdateGroup) -> Iterator[Impact]:
        events = self.events_of(change.group)
        if change.adopt:
            yield _impact(
                ImpactKind.GROUP_ADOPTED,
                change.action,
                [],
                group=change.group,
                detail="takes ownership (ownership marker written)",
            )
        if change.description_before != change.description_after:
            yield _impact(
                ImpactKind.DESCRIPTION_CHANGED,
                change.action,
                [],
                group=change.group,
                detail="description changed",
            )
        for item in change.property_changes:
            yield from self._property(change.group, events, item.name, item.before, item.after)

    def _property(
        self,
        group: str,
        events: list[str],
        name: str,
        before: PropertyInput | None,
        after: PropertyInput | None,
    ) -> Iterator[Impact]:
        def impact(kind: ImpactKind, detail: str) -> Impact:
            return _impact(kind, "update_group", events, group=group, property=name, detail=detail)

        if before is None and after is not None:
            if after.is_required:
                yield impact(ImpactKind.PROPERTY_REQUIRED, f"{name}: added as required")
            else:
                yield impact(ImpactKind.PROPERTY_ADDED, f"{name}: added as optional")
            return
        if after is None and before is not None:
            yield impact(ImpactKind.PROPERTY_REMOVED, f"{name}: removed from the group")
            return
        assert before is not None
        assert after is not None
        if before.property_type != after.property_type:
            yield impact(
                ImpactKind.TYPE_CHANGED,
                f"{name}: type {before.property_type.value} → {after.property_type.value}",
            )
        if before.is_required != after.is_required:
            kind = (
                ImpactKind.PROPERTY_REQUIRED if after.is_required else ImpactKind.PROPERTY_OPTIONAL
            )
            yield impact(
                kind, f"{name}: required {_yes(before.is_required)} → {_yes(after.is_required)}"
            )
        if before.is_optional_in_types != after.is_optional_in_types:
            kind = (
                ImpactKind.OPTIONAL_IN_TYPES_ADDED
                if after.is_optional_in_types
                else ImpactKind.OPTIONAL_IN_TYPES_DROPPED
            )
            yield impact(
                kind,
                f"{name}: optional in types {_yes(before.is_optional_in_types)} → "
                f"{_yes(after.is_optional_in_types)}",
            )
        if before.description != after.description:
            yield _impact(
                ImpactKind.DESCRIPTION_CHANGED,
                "update_group",
                [],
                group=group,
                property=name,
                detail=f"{name}: description changed",
            )

    def _delete_group(self, change: DeleteGroup) -> Iterator[Impact]:
        group = change.group
        events = self.before.get(group, [])
        if events:
            for event in sorted(events):
                yield _impact(
                    ImpactKind.GROUP_UNBOUND,
                    change.action,
                    [event],
                    group=group,
                    event=event,
                    detail="group deleted: its binding goes with it",
                )
        else:
            yield _impact(
                ImpactKind.GROUP_DELETED, change.action, [], group=group, detail="group deleted"
            )

    def _create_event(self, change: CreateEvent) -> Impact:
        return _impact(
            ImpactKind.EVENT_CREATED,
            change.action,
            [],
            event=change.event,
            detail="new event definition",
        )

    def _update_event(self, change: UpdateEvent) -> Iterator[Impact]:
        mode = change.enforcement_mode
        if mode is not None and mode != (change.enforcement_before or EnforcementMode.ALLOW):
            before = (change.enforcement_before or EnforcementMode.ALLOW).value
            kind = (
                ImpactKind.ENFORCEMENT_REJECT
                if mode == EnforcementMode.REJECT
                else ImpactKind.ENFORCEMENT_ALLOW
            )
            yield _impact(
                kind,
                change.action,
                self.existing([change.event]),
                event=change.event,
                detail=f"enforcement {before} → {mode.value}",
            )
        if change.description is not None:
            yield _impact(
                ImpactKind.DESCRIPTION_CHANGED,
                change.action,
                [],
                event=change.event,
                detail="description changed",
            )

    def _create_binding(self, change: CreateBinding) -> Impact:
        event, group = change.event, change.group
        spec = self.desired.property_groups.get(group)
        required = {n for n, p in spec.properties.items() if p.required} if spec else set()
        new = sorted(required - self.required_now.get(event, set()))
        if new:
            # Only reject mode drops what lacks them; in allow mode they are flagged.
            rejects = self.mode_after(event) == EnforcementMode.REJECT
            return _impact(
                ImpactKind.PROPERTY_REQUIRED,
                change.action,
                self.existing([event]),
                level="breaking" if rejects else "risky",
                group=group,
                event=event,
                detail=f"binding requires {', '.join(new)} of {event}",
            )
        return _impact(
            ImpactKind.BINDING_CREATED,
            change.action,
            self.existing([event]),
            group=group,
            event=event,
            detail="binding requires nothing new",
        )

    def _delete_binding(self, change: DeleteBinding) -> Impact:
        return _impact(
            ImpactKind.GROUP_UNBOUND,
            change.action,
            self.existing([change.event]),
            group=change.group,
            event=change.event,
            detail="binding removed",
        )


def _rule_delta(before: ValueRules | None, after: ValueRules | None) -> tuple[list[str], list[str]]:
    """What got stricter and what got looser between two sets of value rules, in words."""
    tightened: list[str] = []
    loosened: list[str] = []
    old_enum = None if before is None or before.enum is None else set(map(str, before.enum))
    new_enum = None if after is None or after.enum is None else set(map(str, after.enum))
    if new_enum is not None and (old_enum is None or not new_enum >= old_enum):
        dropped = sorted(old_enum - new_enum) if old_enum is not None else []
        tightened.append(f"enum no longer allows {', '.join(dropped)}" if dropped else "enum added")
    if old_enum is not None and (new_enum is None or new_enum > old_enum):
        loosened.append("enum removed" if new_enum is None else "enum allows more values")
    old_pattern = None if before is None else before.pattern
    new_pattern = None if after is None else after.pattern
    if new_pattern != old_pattern:
        (tightened if new_pattern is not None else loosened).append(
            f"pattern {old_pattern or 'none'} → {new_pattern or 'none'}"
        )
    for label, sign in (("min", 1), ("max", -1)):
        old: float | None = None if before is None else getattr(before, label)
        new: float | None = None if after is None else getattr(after, label)
        if old == new:
            continue
        # A higher minimum or a lower maximum accepts fewer values.
        if new is not None and (old is None or sign * (new - old) > 0):
            tightened.append(f"{label} {_bound(old)} → {_bound(new)}")
        else:
            loosened.append(f"{label} {_bound(old)} → {_bound(new)}")
    return tightened, loosened


def _bound(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"
