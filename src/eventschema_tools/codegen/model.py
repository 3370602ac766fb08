"""What generated code knows of a plan: :class:`CodeSpec`, built from a tracking plan.

Each event's properties are merged over its groups by the audit's own
:func:`~eventschema_tools.audit.expectations.expectations` (a property several groups declare
accepts the union of their types, is required when any group requires it, and carries every
group's value rules), so the generated checks test exactly what ``eventschema audit`` measures.
A property is required *in the types* unless every group that requires it marks it
``optional_in_types`` (super properties the SDK adds by itself).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Final

from eventschema_tools.audit.expectations import (
    PropertyExpectation,
    declared,
    expectations,
    state_from_plan,
)
from eventschema_tools.models import PropertyType
from eventschema_tools.tracking_plan import LiveState
from eventschema_tools.tracking_plan.file import EventSpec, TrackingPlan
from eventschema_tools.tracking_plan.pull import plan_from_live

__all__ = [
    "TYPE_ORDER",
    "CodeSpec",
    "EventCode",
    "GroupCode",
    "PropertyCode",
    "code_spec",
    "literal",
    "number_text",
    "plan_for_codegen",
    "property_note",
    "quoted",
    "rules_sentence",
    "sentence",
]

TYPE_ORDER: Final = tuple(kind.value for kind in PropertyType)
"""PostHog's property types in the order generated unions list them."""

# posthog-cli's generators keep these three of PostHog's own `$` events and leave out the rest.
_SDK_EVENTS_KEPT: Final = frozenset({"$pageview", "$pageleave", "$screen"})

EnumValue = str | int | float


@dataclass(frozen=True)
class PropertyCode:
    """One property as generated code sees it.

    Attributes:
        name: The property name as events send it.
        types: The accepted types, in :data:`TYPE_ORDER`.
        required: The helper's argument is required (required and not optional in types).
        sent_by_sdk: Required at runtime but optional in types (a super property).
        description: What the property means (a doc comment).
        enum: The allowed values (numbers for a Numeric-only property), or ``None``.
        pattern: A regular expression every value must match, or ``None``.
        minimum: The smallest allowed number, or ``None``.
        maximum: The largest allowed number, or ``None``.
    """

    name: str
    types: tuple[str, ...]
    required: bool
    sent_by_sdk: bool = False
    description: str = ""
    enum: tuple[EnumValue, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def enum_type(self) -> str:
        """The type the enum's values are: Numeric for a Numeric-only property, else String."""
        return _enum_type(self.types)

    @property
    def has_rules(self) -> bool:
        """True when a runtime check beyond the type applies."""
        return (
            self.enum is not None
            or self.pattern is not None
            or self.minimum is not None
            or self.maximum is not None
        )

    def expects(self) -> dict[str, Any]:
        """What the code expects of PostHog's schema for this property (the drift check's input)."""
        return {"types": list(self.types), "required": self.required or self.sent_by_sdk}


@dataclass(frozen=True)
class EventCode:
    """One event: its properties merged over its groups, sorted by name."""

    name: str
    description: str
    groups: tuple[str, ...]
    properties: tuple[PropertyCode, ...]

    @property
    def has_required(self) -> bool:
        """True when the helper's properties argument cannot be left out."""
        return any(prop.required for prop in self.properties)


@dataclass(frozen=True)
class GroupCode:
    """One property group, for the per-group types."""

    name: str
    description: str
    properties: tuple[PropertyCode, ...]


@dataclass(frozen=True)
class CodeSpec:
    """Everything a generator writes: the events (sorted by name) and the groups they use."""

    events: tuple[EventCode, ...]
    groups: tuple[GroupCode, ...]

    @cached_property
    def expects(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per event, per property: the types and required flag the code relies on."""
        return {
            event.name: {prop.name: prop.expects() for prop in event.properties}
            for event in self.events
        }

    @cached_property
    def schema_hash(self) -> str:
        """A digest of :meth:`expects`: equal for two generations that rely on the same schemas."""
        text = json.dumps(self.expects, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def code_spec(plan: TrackingPlan) -> CodeSpec:
    """The events and groups of ``plan`` as generated code sees them (pure)."""
    state = state_from_plan(plan)
    merged = {item.event: item for item in expectations(state, plan.events)}
    # Events share groups, so the same merged property comes back many times.
    known: dict[PropertyExpectation, PropertyCode] = {}

    def of(prop: PropertyExpectation) -> PropertyCode:
        found = known.get(prop)
        if found is None:
            found = known[prop] = _from_expectation(prop)
        return found

    events = tuple(
        EventCode(
            name=name,
            description=plan.events[name].description or "",
            groups=tuple(plan.events[name].groups),
            properties=tuple(of(prop) for prop in merged[name].properties),
        )
        for name in sorted(plan.events)
    )
    used = sorted({group for event in events for group in event.groups if group in state.groups})
    groups = tuple(
        GroupCode(
            name=name,
            description=plan.property_groups[name].description,
            properties=tuple(
                _from_expectation(declared(shape.name, name, shape))
                for shape in state.groups[name].properties
            ),
        )
        for name in used
    )
    return CodeSpec(events, groups)


def plan_for_codegen(live: LiveState) -> TrackingPlan:
    """The plan generated code describes for a live project, as ``posthog-cli`` chooses events:
    every event with a schema, plus every other event definition except PostHog's own ``$``
    events (``$pageview``, ``$pageleave`` and ``$screen`` are kept), without properties."""
    pulled = plan_from_live(live)
    extra = {
        event.name: EventSpec()
        for event in live.events
        if event.name not in pulled.events
        and (not event.name.startswith("$") or event.name in _SDK_EVENTS_KEPT)
    }
    if not extra:
        return pulled
    return pulled.model_copy(update={"events": {**pulled.events, **extra}})


def _ordered(types: Iterable[str]) -> tuple[str, ...]:
    chosen = set(types)
    return tuple(kind for kind in TYPE_ORDER if kind in chosen)


def _enum_type(types: tuple[str, ...]) -> str:
    numeric = PropertyType.NUMERIC.value
    return numeric if types == (numeric,) else PropertyType.STRING.value


def _enum(values: tuple[str, ...] | None, types: tuple[str, ...]) -> tuple[EnumValue, ...] | None:
    if values is None:
        return None
    if _enum_type(types) != PropertyType.NUMERIC.value:
        return values
    numbers = (float(value) for value in values)
    return tuple(sorted(int(n) if n.is_integer() else n for n in numbers))


def _from_expectation(prop: PropertyExpectation) -> PropertyCode:
    types = _ordered(prop.types)
    return PropertyCode(
        name=prop.name,
        types=types,
        required=prop.required and not prop.optional_in_types,
        sent_by_sdk=prop.optional_in_types,
        description=prop.description,
        enum=_enum(prop.rules.enum, types),
        pattern=prop.rules.regex,
        minimum=prop.rules.minimum,
        maximum=prop.rules.maximum,
    )


def number_text(value: float) -> str:
    """A number as code writes it: ``0``, ``86400000``, ``2.5``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def sentence(text: str) -> str:
    """``text`` on one line, ending with a full stop (descriptions in doc comments)."""
    flat = " ".join(text.split())
    return flat if not flat or flat[-1] in ".!?" else f"{flat}."


def rules_sentence(prop: PropertyCode) -> str:
    """The rules types cannot say, in words (doc comments): ``Must be at least 0.``"""
    said = []
    if prop.minimum is not None:
        said.append(f"at least {number_text(prop.minimum)}")
    if prop.maximum is not None:
        said.append(f"at most {number_text(prop.maximum)}")
    bounds = f"be {' and '.join(said)}" if said else ""
    pattern = f"match {prop.pattern}" if prop.pattern is not None else ""
    return (
        f"Must {'; must '.join(part for part in (bounds, pattern) if part)}."
        if said or pattern
        else ""
    )


def property_note(prop: PropertyCode) -> str:
    """A property's doc comment: its description, whether the SDK sends it, its value rules."""
    parts = [sentence(prop.description)] if prop.description else []
    if prop.sent_by_sdk:
        parts.append("Required; usually set by the SDK as a super property.")
    rules = rules_sentence(prop)
    if rules:
        parts.append(rules)
    return " ".join(parts)


@lru_cache(maxsize=4096)
def quoted(text: str) -> str:
    """``text`` as a string literal both Python and TypeScript read back as ``text``.

    JSON's escapes are valid in both; ``ensure_ascii=False`` keeps astral characters whole
    (JSON would split them into surrogate pairs, which Python reads as two characters).
    """
    return json.dumps(text, ensure_ascii=False)


def literal(value: EnumValue) -> str:
    """An enum value as a literal in either language: quoted text or a plain number."""
    return quoted(value) if isinstance(value, str) else number_text(value)
