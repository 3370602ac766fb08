"""From what a property's values looked like to what the plan says about it (pure).

The thresholds, all documented in ``docs/infer.md``:

* **type**: the first of Boolean, Numeric, DateTime and Object that at least
  :data:`TYPE_SHARE` of the present values parse as under PostHog's coercion rules, else String
  (which accepts anything). At 99.5 %, an audit of the same traffic finds at most 0.5 % of the
  values of the wrong type. DateTime needs strings with a digit that ClickHouse reads as a date.
* **required**: present on at least the required share of the event's volume (``--required-share``).
* **enum**: a String with at most :data:`~.queries.ENUM_MAX_VALUES` distinct values, each seen
  :data:`ENUM_MIN_EVENTS_PER_VALUE` times on average, no known shape and no email-like value.
* **pattern**: a known shape (:data:`~.queries.SHAPES`) of at least :data:`TYPE_SHARE` of the
  string values; ISO currency and UUID become a pattern rule, ISO dates make the type DateTime.
* **min**: ``0`` for a Numeric property that was never negative (observed maxima only grow, so
  the range is evidence, not a rule).
* **possible PII**: any email-like value, a name that looks personal (``personal_data``) or a
  value the privacy audit's detectors match; such values are never copied into the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from eventschema_tools.audit.privacy import personal_kind
from eventschema_tools.inference.model import PropertyEvidence
from eventschema_tools.inference.queries import ENUM_MAX_VALUES, SHAPES, KeyProfile
from eventschema_tools.models import PropertyType
from eventschema_tools.tracking_plan.file import PropertySpec, ValueRules
from eventschema_tools.tracking_plan.personal_data import pii_name_term

__all__ = [
    "ENUM_MIN_EVENTS_PER_VALUE",
    "TYPE_SHARE",
    "property_evidence",
    "property_spec",
]

TYPE_SHARE: Final = 0.995
"""Share of present values that must parse as a type (or have a shape) for it to be chosen."""

ENUM_MIN_EVENTS_PER_VALUE: Final = 10
"""An enum candidate needs at least this many string values per distinct value."""

_PATTERN_SHAPES: Final = ("ISO currency", "UUID")

PROPOSED_PII: Final = "drop"
"""The ``pii`` decision proposed for possible personal data: the safe one (never send it);
the plan's owner changes it to ``hash``, or ``allow`` with a ``pii_reason``."""


def property_evidence(profile: KeyProfile, volume: int, required_share: float) -> PropertyEvidence:
    """What the plan should say about ``profile``'s property on an event of ``volume`` events."""
    present = profile.present
    kind, parsed = _type(profile)
    shape = _shape(profile)
    possible_pii = (
        profile.shapes.get("email", 0) > 0
        or pii_name_term(profile.key) is not None
        or any(personal_kind(value) is not None for value in profile.values)
    )
    few = 0 < profile.distinct_strings <= ENUM_MAX_VALUES
    values = list(profile.values) if few and not possible_pii else None
    json_types = {
        name: count
        for name, count in (
            ("number", profile.numbers),
            ("boolean", profile.booleans),
            ("object", profile.objects),
            ("string", profile.strings),
            ("null", profile.nulls),
        )
        if count
    }
    evidence = PropertyEvidence(
        name=profile.key,
        type=kind.value,
        parse_share=round(parsed / present, 4) if present else 0.0,
        presence=round(present / volume, 4) if volume else 0.0,
        required=volume > 0 and present / volume >= required_share,
        json_types=json_types,
        strings=profile.strings,
        distinct_values=None if possible_pii else profile.distinct_strings,
        values=values,
        enum=None,
        minimum=profile.low if kind == PropertyType.NUMERIC else None,
        maximum=profile.high if kind == PropertyType.NUMERIC else None,
        pattern=SHAPES[shape] if shape in _PATTERN_SHAPES and kind == PropertyType.STRING else None,
        shape=shape,
        possible_pii=possible_pii,
    )
    return evidence.model_copy(update={"enum": enum_values([evidence])})


def enum_values(seen: Sequence[PropertyEvidence]) -> list[str] | None:
    """The enum proposed for a String property seen on these events, if it is one.

    All its values are strings, no known shape, no email-like value, at most
    :data:`~.queries.ENUM_MAX_VALUES` distinct ones in all, each seen
    :data:`ENUM_MIN_EVENTS_PER_VALUE` times on average.
    """
    union: set[str] = set()
    strings = 0
    for item in seen:
        if (
            item.type != PropertyType.STRING.value
            or item.values is None
            or item.shape is not None
            or item.possible_pii
            or set(item.json_types) - {"string", "null"}
        ):
            return None
        union |= set(item.values)
        strings += item.strings
    if not union or len(union) > ENUM_MAX_VALUES:
        return None
    if strings < ENUM_MIN_EVENTS_PER_VALUE * len(union):
        return None
    return sorted(union)


def property_spec(evidence: PropertyEvidence, *, required: bool | None = None) -> PropertySpec:
    """The plan's entry for a property (``required`` overrides the evidence's flag)."""
    kind = PropertyType(evidence.type)
    rules: dict[str, object] = {}
    if evidence.enum:
        rules["enum"] = evidence.enum
    if evidence.pattern:
        rules["pattern"] = evidence.pattern
    if kind == PropertyType.NUMERIC and evidence.minimum is not None and evidence.minimum >= 0:
        rules["min"] = 0
    return PropertySpec(
        type=kind,
        required=evidence.required if required is None else required,
        rules=ValueRules.model_validate(rules) if rules else None,
        pii=PROPOSED_PII if evidence.possible_pii else None,
    )


def _type(profile: KeyProfile) -> tuple[PropertyType, int]:
    """The most specific type nearly every present value parses as, and how many do."""
    present = profile.present
    if present <= 0:
        return PropertyType.STRING, 0
    candidates = (
        (PropertyType.BOOLEAN, profile.booleans + profile.boolean_strings),
        (PropertyType.NUMERIC, profile.numbers + profile.numeric_strings),
        (PropertyType.DATETIME, profile.date_strings if profile.numbers == 0 else 0),
        (PropertyType.OBJECT, profile.objects),
    )
    for kind, parsed in candidates:
        if parsed >= TYPE_SHARE * present:
            return kind, parsed
    return PropertyType.STRING, present


def _shape(profile: KeyProfile) -> str | None:
    if profile.strings <= 0 or profile.strings < TYPE_SHARE * profile.present:
        return None
    for name, count in profile.shapes.items():
        if name != "email" and count >= TYPE_SHARE * profile.strings:
            return name
    return None
