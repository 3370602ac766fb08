"""What an audit expects of live events: :class:`SchemaState` and :class:`EventExpectation`.

A :class:`SchemaState` is one picture of a project's schemas, from either side: the tracking plan
(with its value rules) or the live project. It is plain data, so the audit rules that read it
stay pure.

An :class:`EventExpectation` is what one bound event must look like, merged over every group
bound to it the way PostHog's ingestion merges them: a property declared by several groups
accepts the union of their types, and it is required when any of them requires it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from eventschema_tools.models import PropertyType
from eventschema_tools.tracking_plan import LiveState
from eventschema_tools.tracking_plan.file import TrackingPlan
from eventschema_tools.tracking_plan.file import ValueRules as SpecRules

__all__ = [
    "TYPE_BITS",
    "EventExpectation",
    "GroupShape",
    "PropertyExpectation",
    "PropertyShape",
    "SchemaState",
    "ValueRules",
    "declared",
    "expectations",
    "state_from_live",
    "state_from_plan",
    "type_mask",
]

TYPE_BITS: Final = {
    PropertyType.STRING.value: 1,
    PropertyType.NUMERIC.value: 2,
    PropertyType.BOOLEAN.value: 4,
    PropertyType.DATETIME.value: 8,
    PropertyType.OBJECT.value: 16,
}
"""One bit per property type; a property accepting several types sets several bits."""


@dataclass(frozen=True)
class ValueRules:
    """The plan's value rules for one property (PostHog itself has none).

    Attributes:
        enum: The allowed values, as text (strings as they are, numbers and booleans as JSON
            writes them), or ``None``.
        regex: A regular expression the value must match somewhere (RE2 syntax, as
            ClickHouse's ``match``), or ``None``.
        minimum: The smallest allowed number, or ``None``.
        maximum: The largest allowed number, or ``None``.
    """

    enum: tuple[str, ...] | None = None
    regex: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def any(self) -> bool:
        """True when at least one rule is set."""
        return (
            self.enum is not None
            or self.regex is not None
            or self.minimum is not None
            or self.maximum is not None
        )

    def describe(self) -> str:
        """The rules in words, e.g. ``one of free, pro; min 0``."""
        parts = []
        if self.enum is not None:
            parts.append("one of " + ", ".join(self.enum))
        if self.regex is not None:
            parts.append(f"matching {self.regex}")
        if self.minimum is not None:
            parts.append(f"min {_number(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"max {_number(self.maximum)}")
        return "; ".join(parts)

    @staticmethod
    def enum_text(value: object) -> str:
        """The text an enum value is compared as (the form ClickHouse extracts from JSON)."""
        if isinstance(value, str):
            return value
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            return str(int(value))
        return json.dumps(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class PropertyShape:
    """One property of a property group.

    Attributes:
        name: The property name.
        type: One of PostHog's five types.
        required: Whether events must carry it.
        rules: The plan's value rules (empty for live groups).
        optional_in_types: Required at runtime but optional in generated types.
        description: What the property means.
    """

    name: str
    type: str
    required: bool = False
    rules: ValueRules = field(default_factory=ValueRules)
    optional_in_types: bool = False
    description: str = ""


@dataclass(frozen=True)
class GroupShape:
    """A property group: a name and its properties."""

    name: str
    properties: tuple[PropertyShape, ...] = ()

    @property
    def signature(self) -> frozenset[tuple[str, str, bool]]:
        """The group's properties as a set of (name, type, required), to spot duplicates."""
        return frozenset((prop.name, prop.type, prop.required) for prop in self.properties)


@dataclass(frozen=True)
class SchemaState:
    """The schemas of one project, from the plan or from the live project.

    Attributes:
        groups: Property groups by name.
        bindings: For each event, the names of the groups bound to it.
        enforcement: Each event's enforcement mode (``allow`` or ``reject``); events not
            listed are ``allow``.
        last_seen: When each known event was last ingested (live state only; ``None`` = never).
    """

    groups: Mapping[str, GroupShape] = field(default_factory=dict)
    bindings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    enforcement: Mapping[str, str] = field(default_factory=dict)
    last_seen: Mapping[str, datetime | None] = field(default_factory=dict)

    @property
    def bound_events(self) -> list[str]:
        """Events with at least one group bound, sorted."""
        return sorted(event for event, groups in self.bindings.items() if groups)


@dataclass(frozen=True)
class PropertyExpectation:
    """What one property of one event must look like.

    Attributes:
        name: The property name.
        types: The accepted types.
        required: Whether the event must carry it (non-null).
        rules: Value rules (merged: every rule of every group applies).
        groups: The groups that declare it, sorted.
        optional_in_types: Required, but only where every requiring group marks it optional in
            generated types (super properties the SDK sets).
        description: The first non-blank description of the declaring groups, in group order.
    """

    name: str
    types: frozenset[str]
    required: bool
    rules: ValueRules = field(default_factory=ValueRules)
    groups: tuple[str, ...] = ()
    optional_in_types: bool = False
    description: str = ""

    @property
    def mask(self) -> int:
        """The accepted types as bits (see :data:`TYPE_BITS`)."""
        return type_mask(self.types)


@dataclass(frozen=True)
class EventExpectation:
    """What one bound event must look like.

    Attributes:
        event: The event name.
        properties: The expected properties, sorted by name.
        enforcement_mode: ``allow`` or ``reject``.
    """

    event: str
    properties: tuple[PropertyExpectation, ...]
    enforcement_mode: str = "allow"

    @property
    def names(self) -> frozenset[str]:
        """The names of the expected properties."""
        return frozenset(prop.name for prop in self.properties)


def type_mask(types: Iterable[str]) -> int:
    """The bits of ``types``; a type PostHog does not define sets no bit (accepts anything)."""
    mask = 0
    for name in types:
        mask |= TYPE_BITS.get(name, 0)
    return mask


def expectations(state: SchemaState, events: Iterable[str] | None = None) -> list[EventExpectation]:
    """Merge the groups bound to each event into one expectation per event.

    Args:
        state: The schemas.
        events: Only these events (default: every bound event).

    Returns:
        One :class:`EventExpectation` per bound event, sorted by event name. A binding to a
        group the state does not have contributes nothing.
    """
    chosen = state.bound_events if events is None else sorted(set(events))
    result: list[EventExpectation] = []
    for event in chosen:
        merged: dict[str, list[tuple[str, PropertyShape]]] = {}
        for group_name in state.bindings.get(event, ()):
            group = state.groups.get(group_name)
            for prop in group.properties if group else ():
                merged.setdefault(prop.name, []).append((group_name, prop))
        properties = tuple(_merge(name, found) for name, found in sorted(merged.items()))
        result.append(
            EventExpectation(event, properties, state.enforcement.get(event, "allow") or "allow")
        )
    return result


def declared(name: str, group: str, shape: PropertyShape) -> PropertyExpectation:
    """What one group's declaration of property ``name`` expects (the merge of one group)."""
    rules = shape.rules
    if rules.enum is not None:
        rules = replace(rules, enum=tuple(sorted(set(rules.enum))))
    return PropertyExpectation(
        name=name,
        types=frozenset((shape.type,)),
        required=shape.required,
        rules=rules,
        groups=(group,),
        optional_in_types=shape.required and shape.optional_in_types,
        description=shape.description,
    )


def _merge(name: str, found: list[tuple[str, PropertyShape]]) -> PropertyExpectation:
    if len(found) == 1:
        # Most properties come from one group: the general merge below gives the same result.
        return declared(name, *found[0])
    shapes = [shape for _, shape in found]
    enums = [set(shape.rules.enum) for shape in shapes if shape.rules.enum is not None]
    regexes = sorted({shape.rules.regex for shape in shapes if shape.rules.regex is not None})
    minimums = [shape.rules.minimum for shape in shapes if shape.rules.minimum is not None]
    maximums = [shape.rules.maximum for shape in shapes if shape.rules.maximum is not None]
    rules = ValueRules(
        enum=tuple(sorted(set.intersection(*enums))) if enums else None,
        # Several patterns must all match; a lookahead conjunction would need PCRE, which
        # ClickHouse's RE2 lacks, so only the first (sorted) pattern is checked.
        regex=regexes[0] if regexes else None,
        minimum=max(minimums) if minimums else None,
        maximum=min(maximums) if maximums else None,
    )
    required = any(shape.required for shape in shapes)
    required_in_types = any(shape.required and not shape.optional_in_types for shape in shapes)
    ordered = sorted(found, key=lambda item: item[0])
    return PropertyExpectation(
        name=name,
        types=frozenset(shape.type for shape in shapes),
        required=required,
        rules=rules,
        groups=tuple(sorted({group for group, _ in found})),
        optional_in_types=required and not required_in_types,
        description=next((shape.description for _, shape in ordered if shape.description), ""),
    )


def state_from_plan(plan: TrackingPlan, live: LiveState | None = None) -> SchemaState:
    """The schemas a tracking plan describes, with its value rules.

    Args:
        plan: The plan.
        live: The live project, for what the plan leaves unmanaged: the enforcement mode of
            events without ``enforcement`` and when each event was last seen.
    """
    live_events = live.events_by_name if live is not None else {}
    groups = {
        name: GroupShape(
            name,
            tuple(
                PropertyShape(
                    prop_name,
                    prop.type.value,
                    prop.required,
                    _rules(prop.rules),
                    optional_in_types=prop.optional_in_types,
                    description=prop.description,
                )
                for prop_name, prop in sorted(spec.properties.items())
            ),
        )
        for name, spec in plan.property_groups.items()
    }
    enforcement: dict[str, str] = {}
    for event, spec in plan.events.items():
        live_event = live_events.get(event)
        if spec.enforcement is not None:
            enforcement[event] = spec.enforcement.value
        elif live_event is not None:
            enforcement[event] = live_event.enforcement_mode.value
    return SchemaState(
        groups=groups,
        bindings={event: tuple(spec.groups) for event, spec in plan.events.items()},
        enforcement=enforcement,
        last_seen={name: event.last_seen_at for name, event in live_events.items()},
    )


def state_from_live(live: LiveState) -> SchemaState:
    """The schemas of the live project (types and required flags; PostHog has no value rules)."""
    bindings: dict[str, list[str]] = {}
    for group in live.groups:
        for bound in group.events:
            bindings.setdefault(bound.name, []).append(group.name)
    return SchemaState(
        groups={
            group.name: GroupShape(
                group.name,
                tuple(
                    PropertyShape(
                        prop.name,
                        prop.property_type.value,
                        prop.is_required,
                        optional_in_types=prop.is_optional_in_types,
                        description=prop.description,
                    )
                    for prop in sorted(group.properties, key=lambda item: item.name)
                ),
            )
            for group in live.groups
        },
        bindings={event: tuple(sorted(names)) for event, names in bindings.items()},
        enforcement={event.name: event.enforcement_mode.value for event in live.events},
        last_seen={event.name: event.last_seen_at for event in live.events},
    )


def _rules(rules: SpecRules | None) -> ValueRules:
    if rules is None:
        return ValueRules()
    return ValueRules(
        enum=tuple(ValueRules.enum_text(value) for value in rules.enum)
        if rules.enum is not None
        else None,
        regex=rules.pattern,
        minimum=rules.min,
        maximum=rules.max,
    )
