"""The proposed plan as a YAML file whose comments carry the evidence (pure).

Every group says why it exists (which events, how often its properties occur together), every
property how often it is present, how many of its values parse as its type, and its shape or
range; every event its volume. The text is read back and must give the proposed plan.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from eventschema_tools._text import percent, printable
from eventschema_tools.errors import EventSchemaError
from eventschema_tools.inference.model import GroupEvidence, PropertyEvidence
from eventschema_tools.tracking_plan.file import (
    DEFAULT_PLAN_ID,
    TrackingPlan,
    parse_plan,
    property_data,
)

__all__ = ["property_comment", "render_plan"]


def _range(low: float, high: float) -> str:
    return f"{low:g}" if low == high else f"{low:g} to {high:g}"


def property_comment(seen: Sequence[PropertyEvidence]) -> str:
    """The evidence of one property of a group, over the events it was seen on."""
    if not seen:
        return "not seen in the window"
    presences = [item.presence for item in seen]
    low, high = min(presences), max(presences)
    parts = [
        f"present {percent(low)}" if low == high else f"present {percent(low)} to {percent(high)}"
    ]
    kind = seen[0].type
    parsed = min(item.parse_share for item in seen)
    if kind != "String":
        parts.append(f"{percent(parsed)} parse as {kind}")
    shapes = {item.shape for item in seen}
    if len(shapes) == 1 and seen[0].shape is not None:
        parts.append(f"shape {seen[0].shape}")
    minima = [item.minimum for item in seen if item.minimum is not None]
    maxima = [item.maximum for item in seen if item.maximum is not None]
    if minima and maxima:
        parts.append(f"seen {_range(min(minima), max(maxima))}")
    if any(item.possible_pii for item in seen):
        parts.append("possible PII, none copied here: pii: drop proposed (or hash, or allow)")
    return "; ".join(parts)


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(
        value, default_flow_style=True, allow_unicode=True, width=1 << 16, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _comment(text: str) -> str:
    return printable(text).replace("\n", " ")


def render_plan(
    plan: TrackingPlan,
    groups: Sequence[GroupEvidence],
    evidence: Mapping[str, Mapping[str, PropertyEvidence]],
    volumes: Mapping[str, int],
    header: Sequence[str],
) -> str:
    """The plan as YAML with the evidence as comments.

    Args:
        plan: The proposed plan.
        groups: Why each group is proposed (by name).
        evidence: Per event, the evidence of each of its properties.
        volumes: Per event, its volume in the window.
        header: Comment lines for the top of the file.

    Raises:
        EventSchemaError: the text would not read back as ``plan`` (a bug, never a file).
    """
    why = {group.name: group for group in groups}
    lines = [f"# {_comment(line)}".rstrip() for line in header]
    lines.append("version: 1")
    if plan.plan_id != DEFAULT_PLAN_ID:
        lines.append(f"plan_id: {_scalar(plan.plan_id)}")
    lines += ["", "property_groups:" + ("" if plan.property_groups else " {}")]
    for name in sorted(plan.property_groups, key=lambda item: (_order(why.get(item)), item)):
        group = plan.property_groups[name]
        reason = why.get(name)
        if reason is not None:
            wrapped = textwrap.wrap(_comment(_group_comment(reason)), width=96)
            lines += [f"  # {line}" for line in wrapped]
        lines.append(f"  {_scalar(name)}:")
        if group.description:
            lines.append(f"    description: {_scalar(group.description)}")
        lines.append("    properties:" + ("" if group.properties else " {}"))
        covered = reason.events if reason is not None else []
        for prop in sorted(group.properties):
            seen = [evidence[event][prop] for event in covered if prop in evidence.get(event, {})]
            data = _scalar(property_data(group.properties[prop]))
            lines.append(f"      {_scalar(prop)}: {data}  # {_comment(property_comment(seen))}")
    lines += ["", "events:" + ("" if plan.events else " {}")]
    for name in sorted(plan.events):
        spec = plan.events[name]
        volume = volumes.get(name)
        note = f"  # {volume:,} events" if volume is not None else ""
        lines.append(f"  {_scalar(name)}:")
        lines.append(f"    groups: {_scalar(list(spec.groups))}{note}")
        if spec.description is not None:
            lines.append(f"    description: {_scalar(spec.description)}")
        if spec.enforcement is not None:
            lines.append(f"    enforcement: {spec.enforcement.value}")
    text = "\n".join(lines) + "\n"
    if parse_plan(text, "<inferred plan>") != plan:
        raise EventSchemaError("the inferred plan could not be written as YAML faithfully")
    return text


def _order(group: GroupEvidence | None) -> int:
    return {"existing": 0, "shared": 1, "event": 2}.get(group.source if group else "", 3)


def _group_comment(group: GroupEvidence) -> str:
    events = ", ".join(group.events)
    if group.source == "event":
        return f"{group.reason}"
    together = (
        "every property optional"
        if group.co_occurrence is None
        else "its required properties present together on at least "
        f"{percent(group.co_occurrence)} of them"
    )
    where = f"{len(group.events)} events ({events})"
    return f"{group.source} group on {where}: {group.reason}; {together}"
