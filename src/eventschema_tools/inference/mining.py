"""Group mining: which properties travel together across events (pure and deterministic).

Each event's properties are *items*: (name, type, required). The mining, in order:

1. **Reuse.** An existing group (PostHog's, or the plan's with ``--plan``) is bound to every
   event that carries it: each of its required properties present on the event with the same
   type and required there too, each of its optional properties absent or of the same type, and
   at least half of its properties present. The event's items the group covers are taken.
2. **Clusters.** The remaining items seen on at least two events are clustered by the exact set
   of events that carry them (same name, same type, same required flag).
3. **Merging.** Two clusters whose events mostly agree (:data:`MIN_MERGE_OVERLAP`) merge
   (their items, bound to the events both have) while that shrinks the plan: a plan's size is
   the properties it declares plus the bindings it makes, and an item a merge drops from an
   event is declared again in that event's own group.
   The merge that saves most goes first; ties go by name, so the result never varies.
4. **Shared groups.** A cluster with at least :data:`MIN_SHARED_PROPERTIES` properties on at
   least :data:`MIN_SHARED_EVENTS` events becomes a shared group; everything else an event
   carries goes to the event's own group.

Names: the first word most property names share (``workspace_id``, ``workspace_plan`` →
``workspace_context``); else the word most of the events' names share (``project``); else the
first word of the group's most telling property. Clashes get a number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from eventschema_tools.inference.model import PropertyEvidence
from eventschema_tools.inference.profile import PROPOSED_PII, enum_values
from eventschema_tools.models import MAX_GROUP_NAME_LENGTH, PropertyType
from eventschema_tools.tracking_plan.file import PropertySpec, ValueRules

__all__ = [
    "MIN_MERGE_OVERLAP",
    "MIN_SHARED_EVENTS",
    "MIN_SHARED_PROPERTIES",
    "ExistingGroup",
    "MinedGroup",
    "event_group_name",
    "mine_groups",
]

MIN_SHARED_EVENTS: Final = 2
MIN_SHARED_PROPERTIES: Final = 2
MIN_MERGE_OVERLAP: Final = 0.8
"""Two clusters merge only when most of their events are the same (Jaccard index of the two
sets of events): otherwise a smaller plan would glue unrelated concepts together."""
_STOP_WORDS: Final = frozenset(
    {"is", "has", "was", "did", "can", "the", "a", "an", "of", "id", "num", "n", "type", "name"}
)
_NOT_NAME: Final = re.compile(r"[^a-z0-9]+")
_MAX_NAME: Final = MAX_GROUP_NAME_LENGTH - 10

Item = tuple[str, str, bool]  # (property name, type, required)


@dataclass(frozen=True)
class ExistingGroup:
    """A group that already exists (in PostHog or in the plan), offered for reuse."""

    name: str
    properties: Mapping[str, PropertySpec]
    source: str  # "PostHog" or "the plan"


@dataclass
class MinedGroup:
    """A group the proposal binds, with the evidence for it."""

    name: str
    source: str  # shared, existing or event
    events: list[str]
    properties: dict[str, PropertySpec]
    reason: str
    co_occurrence: float | None = None
    covers: dict[str, set[str]] = field(default_factory=dict)  # event → property names


@dataclass
class _Cluster:
    items: frozenset[Item]
    events: frozenset[str]

    @property
    def shared(self) -> bool:
        return len(self.items) >= MIN_SHARED_PROPERTIES and len(self.events) >= MIN_SHARED_EVENTS

    @property
    def cost(self) -> int:
        # Declared once and bound per event, or declared again on every event.
        leftover = len(self.items) * len(self.events)
        return min(len(self.items) + len(self.events), leftover) if self.shared else leftover

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(sorted(f"{name}\0{kind}\0{required}" for name, kind, required in self.items))


def mine_groups(
    events: Mapping[str, Mapping[str, PropertyEvidence]],
    volumes: Mapping[str, int],
    existing: Iterable[ExistingGroup] = (),
    taken_names: Iterable[str] = (),
) -> tuple[list[MinedGroup], dict[str, list[str]]]:
    """Propose the groups for ``events`` and each event's list of groups.

    Args:
        events: Per event, the evidence of each of its properties.
        volumes: Per event, its volume (weights the co-occurrence share).
        existing: Groups to reuse where events carry them, tried in the order given.
        taken_names: Names new groups must not take (every existing group's, in any case).

    Returns:
        The groups (existing ones reused, shared ones, then each event's own), and per event
        the names of the groups bound to it, in that order.
    """
    remaining: dict[str, dict[str, PropertyEvidence]] = {
        event: dict(props) for event, props in sorted(events.items())
    }
    names = _Names(taken_names)
    groups: list[MinedGroup] = []
    bound: dict[str, list[str]] = {event: [] for event in remaining}
    for group in existing:
        carriers = [event for event in remaining if _carries(remaining[event], group.properties)]
        if not carriers:
            continue
        covers = {event: set(group.properties) & set(remaining[event]) for event in carriers}
        mined = MinedGroup(
            name=group.name,
            source="existing",
            events=carriers,
            properties=dict(group.properties),
            reason=f"already in {group.source}; these events carry all it requires",
            covers=covers,
        )
        mined.co_occurrence = _co_occurrence(mined, events, volumes)
        groups.append(mined)
        for event in carriers:
            bound[event].append(group.name)
            for prop in covers[event]:
                del remaining[event][prop]
    # The groups most events share come first, in every event's list too.
    mined_clusters = sorted(_merged(_clusters(remaining)), key=lambda c: (-len(c.events), c.key))
    for cluster in mined_clusters:
        if not cluster.shared:
            continue
        members = sorted(cluster.events)
        props = sorted(name for name, _, _ in cluster.items)
        name = names.take(_group_name(props, members))
        mined = MinedGroup(
            name=name,
            source="shared",
            events=members,
            properties={
                prop: _combined([remaining[event][prop] for event in members]) for prop in props
            },
            reason="the same properties, types and required flags on each of them",
            covers={event: set(props) for event in members},
        )
        mined.co_occurrence = _co_occurrence(mined, events, volumes)
        groups.append(mined)
        for event in members:
            bound[event].append(name)
            for prop in props:
                del remaining[event][prop]
    for event, leftovers in remaining.items():
        if not leftovers:
            continue
        name = names.take(event_group_name(event))
        mined = MinedGroup(
            name=name,
            source="event",
            events=[event],
            properties={prop: _combined([leftovers[prop]]) for prop in sorted(leftovers)},
            reason=f"what {event} carries beyond the shared groups",
            covers={event: set(leftovers)},
        )
        mined.co_occurrence = _co_occurrence(mined, events, volumes)
        groups.append(mined)
        bound[event].append(name)
    return groups, bound


def event_group_name(event: str) -> str:
    """The name of an event's own group: the event's name in snake_case."""
    # Room is left for a clash number within PostHog's name length.
    return _NOT_NAME.sub("_", event.lower()).strip("_")[:_MAX_NAME] or "event"


def _item(evidence: PropertyEvidence) -> Item:
    return (evidence.name, evidence.type, evidence.required)


def _carries(props: Mapping[str, PropertyEvidence], group: Mapping[str, PropertySpec]) -> bool:
    present = 0
    for name, spec in group.items():
        seen = props.get(name)
        if seen is None:
            if spec.required:
                return False
            continue
        if seen.type != spec.type.value or (spec.required and not seen.required):
            return False
        present += 1
    # Reused only where the event carries most of it, not one optional property of many.
    return present > 0 and present * 2 >= len(group)


def _clusters(remaining: Mapping[str, Mapping[str, PropertyEvidence]]) -> list[_Cluster]:
    carriers: dict[Item, set[str]] = {}
    for event, props in remaining.items():
        for evidence in props.values():
            carriers.setdefault(_item(evidence), set()).add(event)
    by_events: dict[frozenset[str], set[Item]] = {}
    for item, where in carriers.items():
        if len(where) >= MIN_SHARED_EVENTS:
            by_events.setdefault(frozenset(where), set()).add(item)
    return sorted(
        (_Cluster(frozenset(items), where) for where, items in by_events.items()),
        key=lambda cluster: cluster.key,
    )


def _merged(clusters: list[_Cluster]) -> list[_Cluster]:
    """Merge clusters greedily while a merge shrinks the plan (see the module doc)."""
    clusters = list(clusters)
    while True:
        candidates: list[tuple[int, tuple[str, ...], int, int, _Cluster]] = []
        for i, first in enumerate(clusters):
            for j in range(i + 1, len(clusters)):
                second = clusters[j]
                both = first.events & second.events
                overlap = len(both) / len(first.events | second.events)
                if len(both) < MIN_SHARED_EVENTS or overlap < MIN_MERGE_OVERLAP:
                    continue
                merged = _Cluster(first.items | second.items, both)
                dropped = len(first.items) * len(first.events - both) + len(second.items) * len(
                    second.events - both
                )
                saving = first.cost + second.cost - merged.cost - dropped
                if saving > 0:
                    candidates.append((-saving, merged.key, i, j, merged))
        if not candidates:
            return clusters
        _, _, i, j, merged = min(candidates, key=lambda candidate: candidate[:2])
        rest = [cluster for k, cluster in enumerate(clusters) if k not in (i, j)]
        # What the merge takes off other events stays a cluster of its own: the events outside
        # the intersection may still share it.
        for part in (clusters[i], clusters[j]):
            outside = part.events - merged.events
            if len(outside) >= MIN_SHARED_EVENTS:
                rest.append(_Cluster(part.items, outside))
        clusters = sorted([*rest, merged], key=lambda cluster: cluster.key)


def _combined(evidences: list[PropertyEvidence]) -> PropertySpec:
    """One property spec for the same item on several events (rules joined)."""
    first = evidences[0]
    kind = PropertyType(first.type)
    rules: dict[str, object] = {}
    enum = enum_values(evidences)
    if enum is not None:
        rules["enum"] = enum
    patterns = {item.pattern for item in evidences}
    if len(patterns) == 1 and first.pattern is not None:
        rules["pattern"] = first.pattern
    minima = [item.minimum for item in evidences]
    if kind == PropertyType.NUMERIC and all(low is not None and low >= 0 for low in minima):
        rules["min"] = 0
    return PropertySpec(
        type=kind,
        required=first.required,
        rules=ValueRules.model_validate(rules) if rules else None,
        pii=PROPOSED_PII if any(item.possible_pii for item in evidences) else None,
    )


def _co_occurrence(
    group: MinedGroup,
    events: Mapping[str, Mapping[str, PropertyEvidence]],
    volumes: Mapping[str, int],
) -> float | None:
    """A lower bound on the share of the bound events' volume that carries every required
    property of the group at once; ``None`` when the group requires nothing."""
    wanted = {name for name, spec in group.properties.items() if spec.required}
    if not wanted:
        return None
    weighted = total = 0.0
    for event, props in group.covers.items():
        volume = volumes.get(event, 0)
        seen = events[event]
        missing = sum(1 - seen[prop].presence for prop in props & wanted if prop in seen)
        weighted += volume * max(0.0, 1 - missing)
        total += volume
    return round(weighted / total, 4) if total else 0.0


def _words(name: str) -> list[str]:
    return [word for word in _NOT_NAME.split(name.lower()) if word]


def _group_name(props: list[str], events: list[str]) -> str:
    firsts = Counter(words[0] for words in map(_words, props) if words)
    common = [
        word for word, count in firsts.most_common() if count >= 2 and word not in _STOP_WORDS
    ]
    if common:
        best = max(firsts[word] for word in common)
        return f"{min(word for word in common if firsts[word] == best)}_context"
    event_words = Counter(word for event in events for word in set(_words(event)))
    shared = [
        word
        for word, count in event_words.items()
        if count * 2 > len(events) and word not in _STOP_WORDS
    ]
    if shared:
        best = max(event_words[word] for word in shared)
        return min(word for word in shared if event_words[word] == best)
    telling = sorted(
        (word for words in map(_words, props) for word in words[:1] if word not in _STOP_WORDS),
        key=lambda word: (-len(word), word),
    )
    return f"{telling[0]}_shared" if telling else "shared"


class _Names:
    """Group names in use; a clash, in any letter case, gets the next free number
    (``billing_2``): names that differ only in case confuse people and the linter."""

    def __init__(self, taken: Iterable[str]) -> None:
        self._taken = {name.casefold() for name in taken}

    def take(self, name: str) -> str:
        chosen, number = name, 2
        while chosen.casefold() in self._taken:
            chosen, number = f"{name}_{number}", number + 1
        self._taken.add(chosen.casefold())
        return chosen
