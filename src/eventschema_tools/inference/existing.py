"""``infer --plan EXISTING``: additions to a plan a person wrote, never rewrites (pure).

The plan's events keep their groups; only what the traffic shows beyond them is proposed: new
events (reusing the plan's groups where they fit), and an event's new properties in a group of
its own. Where the traffic contradicts the plan (a type most values do not parse as, a required
property often missing), the plan is left as it is and the disagreement is reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from eventschema_tools._text import percent
from eventschema_tools.inference.model import PropertyEvidence
from eventschema_tools.models import EnforcementMode, EventDefinition, PropertyGroup
from eventschema_tools.tracking_plan.changes import Plan
from eventschema_tools.tracking_plan.diff import diff
from eventschema_tools.tracking_plan.file import TrackingPlan
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.ownership import with_marker

__all__ = ["disagreements", "plan_changes", "uncovered"]

# Planned type, observed type: every value of the second parses as the first.
_COMPATIBLE = frozenset({("String", kind) for kind in ("Numeric", "Boolean", "DateTime", "Object")})
_COMPATIBLE |= {("DateTime", "Numeric")}
_IDS = uuid.UUID("6f1d7d1e-8c53-4bd4-9a43-0c2f3d8e2b10")


def uncovered(
    plan: TrackingPlan, evidence: Mapping[str, Mapping[str, PropertyEvidence]]
) -> dict[str, dict[str, PropertyEvidence]]:
    """Per observed event, the properties its groups in ``plan`` do not declare."""
    result: dict[str, dict[str, PropertyEvidence]] = {}
    for event, props in evidence.items():
        spec = plan.events.get(event)
        declared: set[str] = set()
        for group in spec.groups if spec is not None else ():
            declared |= set(plan.property_groups[group].properties)
        result[event] = {name: item for name, item in props.items() if name not in declared}
    return result


def disagreements(
    plan: TrackingPlan,
    evidence: Mapping[str, Mapping[str, PropertyEvidence]],
    required_share: float,
) -> list[str]:
    """Where the traffic contradicts what ``plan`` declares, one sentence each."""
    found: list[str] = []
    for event in sorted(evidence):
        spec = plan.events.get(event)
        for group in spec.groups if spec is not None else ():
            for name, declared in sorted(plan.property_groups[group].properties.items()):
                seen = evidence[event].get(name)
                if seen is None:
                    if declared.required:
                        found.append(
                            f"{event}.{name}: the plan requires it (group {group}) but no "
                            "event in the window carries it"
                        )
                    continue
                if declared.required and seen.presence < required_share:
                    found.append(
                        f"{event}.{name}: the plan requires it (group {group}) but it is "
                        f"present on {percent(seen.presence)} of the events"
                    )
                if (declared.type.value, seen.type) not in _COMPATIBLE and (
                    declared.type.value != seen.type
                ):
                    found.append(
                        f"{event}.{name}: the plan says {declared.type.value} (group {group}) "
                        f"but the values look like {seen.type} "
                        f"({percent(seen.parse_share)} parse as {seen.type})"
                    )
    return found


def plan_changes(before: TrackingPlan, after: TrackingPlan) -> Plan:
    """The proposal as a plan diff: what ``after`` adds to or changes in ``before``."""
    events = {
        name: EventDefinition(
            id=uuid.uuid5(_IDS, f"event:{name}"),
            name=name,
            description=spec.description,
            enforcement_mode=spec.enforcement or EnforcementMode.ALLOW,
        )
        for name, spec in before.events.items()
    }
    groups = tuple(
        PropertyGroup.model_validate(
            {
                "id": uuid.uuid5(_IDS, f"group:{name}"),
                "name": name,
                "description": with_marker(spec.description, before.plan_id),
                "properties": [
                    {
                        "name": prop,
                        "property_type": item.type,
                        "is_required": item.required,
                        "is_optional_in_types": item.optional_in_types,
                        "description": item.description,
                    }
                    for prop, item in sorted(spec.properties.items())
                ],
                "events": [
                    {"id": events[event].id, "name": event}
                    for event, event_spec in before.events.items()
                    if name in event_spec.groups
                ],
            }
        )
        for name, spec in before.property_groups.items()
    )
    return diff(after, LiveState(groups, tuple(events.values())), create_events=True)
