"""The rule table both generators write for their development-mode checks.

Every property of every event gets a rule (its types, whether the helper requires it, and the
plan's enum, pattern and bounds). Events share groups, so rules repeat: each distinct rule is
written once (``R0``, ``R1``...) and the per-event table refers to it, which keeps a
2,000-event module small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventschema_tools.codegen.model import CodeSpec, EnumValue, PropertyCode

__all__ = ["Rule", "RuleTable"]


@dataclass(frozen=True)
class Rule:
    """What a runtime check tests of one property value."""

    types: tuple[str, ...]
    required: bool
    enum: tuple[EnumValue, ...] | None
    pattern: str | None
    minimum: float | None
    maximum: float | None

    def parts(self) -> list[tuple[str, object]]:
        """The set fields after the types, in order: ``required``, ``enum``, ``pattern``,
        ``min``, ``max`` (each generator spells them in its own syntax)."""
        found: list[tuple[str, object]] = [("required", True)] if self.required else []
        for key, value in (
            ("enum", self.enum),
            ("pattern", self.pattern),
            ("min", self.minimum),
            ("max", self.maximum),
        ):
            if value is not None:
                found.append((key, value))
        return found

    @classmethod
    def of(cls, prop: PropertyCode) -> Rule:
        """The rule of ``prop``."""
        return cls(prop.types, prop.required, prop.enum, prop.pattern, prop.minimum, prop.maximum)


class RuleTable:
    """The distinct rules of ``spec`` and, per event, which rule each property follows."""

    def __init__(self, spec: CodeSpec) -> None:
        self._names: dict[Rule, str] = {}
        by_property: dict[PropertyCode, str] = {}
        self.events: list[tuple[str, list[tuple[str, str]]]] = []
        for event in spec.events:
            refs = []
            for prop in event.properties:
                name = by_property.get(prop)
                if name is None:
                    rule = Rule.of(prop)
                    name = by_property[prop] = self._names.setdefault(rule, f"R{len(self._names)}")
                refs.append((prop.name, name))
            self.events.append((event.name, refs))

    @property
    def rules(self) -> Sequence[tuple[str, Rule]]:
        """Each distinct rule with its name, in order of first use."""
        return [(name, rule) for rule, name in self._names.items()]
