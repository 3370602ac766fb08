"""Run ``infer`` against a project: the sans-I/O steps and their sync and async drivers.

The steps read the window's event volumes (one HogQL query), profile the chosen events in
batches of :data:`~.queries.EVENTS_PER_QUERY` (one query each), then infer each property
(:mod:`.profile`), mine the groups (:mod:`.mining`) and write the proposal (:mod:`.render`, or
:mod:`.existing` edits for ``--plan``). The drivers only read the project's groups and send
the queries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from eventschema_tools._text import percent, printable
from eventschema_tools.audit.queries import (
    MAX_ROWS,
    QuerySteps,
    drive_queries,
    drive_queries_async,
)
from eventschema_tools.errors import NoEventsError
from eventschema_tools.inference.existing import disagreements, plan_changes, uncovered
from eventschema_tools.inference.mining import ExistingGroup, MinedGroup, mine_groups
from eventschema_tools.inference.model import (
    EventEvidence,
    GroupEvidence,
    Inference,
    InferenceWindow,
    PropertyEvidence,
    SkippedEvent,
)
from eventschema_tools.inference.options import InferOptions
from eventschema_tools.inference.profile import property_evidence
from eventschema_tools.inference.queries import (
    AUTO_SAMPLE_EVENTS,
    EVENTS_PER_QUERY,
    SAMPLE_TARGET_EVENTS,
    KeyProfile,
    decode_profiles,
    decode_volumes,
    profile_query,
    query_bound,
    sample_ratio,
    volume_query,
)
from eventschema_tools.inference.render import render_plan
from eventschema_tools.models import (
    MAX_EVENT_NAME_LENGTH,
    MAX_PROPERTY_NAME_LENGTH,
)
from eventschema_tools.tracking_plan.file import (
    DEFAULT_PLAN_ID,
    EventSpec,
    PropertyGroupSpec,
    TrackingPlan,
    plan_format,
)
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.pull import plan_from_live

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = ["infer_plan", "infer_plan_async"]

InferSteps = QuerySteps[Inference]


def infer_plan(client: EventSchemaClient, options: InferOptions) -> Inference:
    """Infer a tracking plan from the project's events in ``options``' window.

    Reads the project's property groups (to reuse them) and sends at most
    ⌈events / 200⌉ + 1 HogQL queries. Writes nothing.

    Raises:
        NoEventsError: no events (or none matching ``options.events``) in the window.
        EventSchemaError: an API error, e.g. a HogQL error from the server.
    """
    _check_options(options)
    live = LiveState.read(client, event_names=())
    steps = _infer_steps(options, live)
    return drive_queries(client, steps)


async def infer_plan_async(client: AsyncEventSchemaClient, options: InferOptions) -> Inference:
    """Async twin of :func:`infer_plan` (same parameters, same result)."""
    _check_options(options)
    live = await LiveState.read_async(client, event_names=())
    steps = _infer_steps(options, live)
    return await drive_queries_async(client, steps)


def _check_options(options: object) -> None:
    if not isinstance(options, InferOptions):
        raise TypeError(
            f"options must be InferOptions from infer_options(), not {type(options).__name__}"
        )


def _infer_steps(options: InferOptions, live: LiveState) -> InferSteps:
    volumes = decode_volumes((yield volume_query(options.since, options.until)))
    stored = sum(volumes.values())
    chosen, skipped = _choose(options, volumes)
    if not chosen:
        raise NoEventsError(_nothing_to_infer(options, volumes, skipped))
    notes: list[str] = []
    automatic = options.sample is None and stored > AUTO_SAMPLE_EVENTS
    # An automatic sample is one person in k: a ratio people read at a glance.
    rate = 1 / math.ceil(stored / SAMPLE_TARGET_EVENTS) if automatic else options.sample
    ratio = sample_ratio(rate) if rate is not None and rate < 1 else None
    if ratio is not None:
        why = f"chosen automatically: more than {AUTO_SAMPLE_EVENTS:,}" if automatic else "as asked"
        notes.append(
            f"read a {percent(ratio[0] / ratio[1])} sample (SAMPLE {ratio[0]}/{ratio[1]}: all the "
            f"events of one person in or out) of the window's {stored:,} events, {why}; every "
            "count in the evidence is of the sample"
        )
    totals: dict[str, int] = {}
    profiles: list[KeyProfile] = []
    queries = 1
    for start in range(0, len(chosen), EVENTS_PER_QUERY):
        batch = chosen[start : start + EVENTS_PER_QUERY]
        result = yield profile_query(
            batch, options.since, options.until, sample=ratio, include_sdk=options.include_sdk
        )
        queries += 1
        batch_totals, batch_profiles = decode_profiles(result)
        totals |= batch_totals
        profiles += batch_profiles
        if len(result.results) >= MAX_ROWS:
            notes.append(
                f"a profile answer reached PostHog's {MAX_ROWS:,}-row limit: some properties "
                "of these events may be missing; narrow --events"
            )
    for event in chosen:
        if event not in totals:
            skipped.append(
                SkippedEvent(event=event, volume=volumes[event], reason="not in the sample")
            )
    profiles = _plannable(profiles, notes)
    evidence: dict[str, dict[str, PropertyEvidence]] = {event: {} for event in totals}
    for profile in profiles:
        if profile.event in totals and profile.present > 0:
            evidence[profile.event][profile.key] = property_evidence(
                profile, totals[profile.event], options.required_share
            )
    inference = _propose(options, live, evidence, totals)
    return inference.model_copy(
        update={
            "skipped": sorted(skipped, key=lambda item: (-item.volume, item.event)),
            "queries": queries,
            "query_bound": query_bound(len(chosen)),
            "sample_rate": None if ratio is None else ratio[0] / ratio[1],
            "sampled_automatically": automatic and ratio is not None,
            "stored_events": stored,
            "notes": [*notes, *inference.notes],
        }
    )


def _plannable(profiles: list[KeyProfile], notes: list[str]) -> list[KeyProfile]:
    """The profiles whose keys a plan can hold: a key PostHog's schema cannot name (blank, or
    longer than it allows) or one that differs from a busier key of its event only by case or
    surrounding spaces (a plan would hold two names PostHog treats as different) is left out,
    with a note."""
    kept: dict[tuple[str, str], KeyProfile] = {}
    for profile in sorted(profiles, key=lambda item: (-item.present, item.key)):
        name = profile.key.strip()
        if not name or len(name) > MAX_PROPERTY_NAME_LENGTH:
            notes.append(
                f"{printable(profile.event)}: left out a property whose name a schema cannot "
                f"hold ({len(name)} characters once trimmed)"
            )
            continue
        folded = (profile.event, name.casefold())
        if folded in kept:
            notes.append(
                f"{printable(profile.event)}: left out {printable(profile.key)!r}, which differs "
                f"from {printable(kept[folded].key)!r} only by case or spaces; send one spelling"
            )
            continue
        kept[folded] = profile
    return sorted(kept.values(), key=lambda item: (item.event, item.key))


def _choose(
    options: InferOptions, volumes: Mapping[str, int]
) -> tuple[list[str], list[SkippedEvent]]:
    chosen: list[str] = []
    skipped: list[SkippedEvent] = []
    spellings: dict[str, str] = {}
    for event, volume in sorted(volumes.items(), key=lambda item: (-item[1], item[0])):
        if not options.wants(event):
            continue
        busier = spellings.setdefault(event.strip().casefold(), event)
        if busier != event or len(event) > MAX_EVENT_NAME_LENGTH:
            reason = (
                f"differs from the busier {busier!r} only by case or spaces"
                if busier != event
                else "its name is longer than a schema can hold"
            )
            skipped.append(SkippedEvent(event=event, volume=volume, reason=reason))
            continue
        if volume < options.min_volume:
            skipped.append(
                SkippedEvent(
                    event=event,
                    volume=volume,
                    reason=f"seen {volume:,} times, below --min-volume {options.min_volume:,}",
                )
            )
            continue
        chosen.append(event)
    return sorted(chosen), skipped


def _nothing_to_infer(
    options: InferOptions, volumes: Mapping[str, int], skipped: list[SkippedEvent]
) -> str:
    window = f"{_iso(options.since)}..{_iso(options.until)}"
    if not volumes:
        return f"no events in the window {window}: widen it (--days, --since) or check the project"
    if skipped:
        return (
            f"every matching event in the window {window} is below --min-volume "
            f"{options.min_volume:,} (the busiest has {max(item.volume for item in skipped):,}): "
            "lower --min-volume or widen the window"
        )
    if options.events is not None:
        return (
            f"no event in the window {window} matches {', '.join(options.events)} "
            f"({len(volumes):,} event names seen): check the patterns"
        )
    return f"the window {window} holds only $-prefixed SDK events: add --include-sdk to infer them"


def _propose(
    options: InferOptions,
    live: LiveState,
    evidence: dict[str, dict[str, PropertyEvidence]],
    totals: dict[str, int],
) -> Inference:
    existing_plan = options.plan
    live_plan = plan_from_live(live)
    offered: list[ExistingGroup] = []
    if existing_plan is not None:
        offered += [
            ExistingGroup(name, spec.properties, "the plan")
            for name, spec in existing_plan.property_groups.items()
        ]
    offered += [
        ExistingGroup(name, spec.properties, "PostHog")
        for name, spec in sorted(live_plan.property_groups.items())
        if existing_plan is None or name not in existing_plan.property_groups
    ]
    taken = set(live_plan.property_groups)
    to_mine = evidence if existing_plan is None else uncovered(existing_plan, evidence)
    if existing_plan is not None:
        taken |= set(existing_plan.property_groups)
    groups, bound = mine_groups(to_mine, totals, offered, taken)
    base = existing_plan or TrackingPlan(version=1, plan_id=options.plan_id or DEFAULT_PLAN_ID)
    plan = _with_groups(base, groups, bound, live_plan)
    group_evidence = [_group_evidence(group) for group in groups]
    in_group = {
        (event, prop): group.name
        for group in groups
        for event, props in group.covers.items()
        for prop in props
    }
    events = [
        EventEvidence(
            event=event,
            volume=totals[event],
            properties=[
                item.model_copy(update={"group": in_group.get((event, name))})
                for name, item in sorted(evidence[event].items())
            ],
            groups=list(plan.events[event].groups) if event in plan.events else [],
        )
        for event in sorted(evidence)
    ]
    notes: list[str] = []
    changes = None
    if existing_plan is not None:
        notes += disagreements(existing_plan, evidence, options.required_share)
        changes = plan_changes(existing_plan, plan)
    text = _text(options, plan, group_evidence, evidence, totals)
    return Inference(
        plan=plan,
        text=text,
        changes=changes,
        window=InferenceWindow(
            label=options.window_label, since=options.since, until=options.until
        ),
        events=events,
        groups=group_evidence,
        queries=0,
        query_bound=0,
        stored_events=0,
        notes=notes,
    )


def _with_groups(
    base: TrackingPlan,
    groups: list[MinedGroup],
    bound: dict[str, list[str]],
    live_plan: TrackingPlan,
) -> TrackingPlan:
    property_groups = dict(base.property_groups)
    for group in groups:
        if group.name in property_groups:
            continue
        description = (
            live_plan.property_groups[group.name].description
            if group.source == "existing" and group.name in live_plan.property_groups
            else _description(group)
        )
        property_groups[group.name] = PropertyGroupSpec(
            description=description, properties=group.properties
        )
    events = dict(base.events)
    for event, names in bound.items():
        if not names:
            continue
        old = events.get(event)
        if old is None:
            events[event] = EventSpec(groups=names)
        else:
            extra = [name for name in names if name not in old.groups]
            if extra:
                events[event] = old.model_copy(update={"groups": [*old.groups, *extra]})
    return base.model_copy(update={"property_groups": property_groups, "events": events})


def _description(group: MinedGroup) -> str:
    if group.source == "event":
        return f"Properties of {group.events[0]}"
    return f"Properties {len(group.events)} events share"


def _group_evidence(group: MinedGroup) -> GroupEvidence:
    return GroupEvidence(
        name=group.name,
        source=group.source,
        events=group.events,
        properties=sorted(group.properties),
        co_occurrence=group.co_occurrence,
        reason=group.reason,
    )


def _text(
    options: InferOptions,
    plan: TrackingPlan,
    groups: list[GroupEvidence],
    evidence: dict[str, dict[str, PropertyEvidence]],
    totals: dict[str, int],
) -> str:
    if options.plan is not None and options.plan_text is not None:
        # The layout editor (and ruamel.yaml) loads only when a file is edited.
        from eventschema_tools.tracking_plan.merge import rewrite_plan_text

        if plan == options.plan:
            return options.plan_text
        fmt = plan_format(options.plan_text, options.plan_path or "<plan>")
        return rewrite_plan_text(options.plan_text, options.plan, plan, fmt=fmt)
    header = [
        f"Inferred by `eventschema infer` from {sum(totals.values()):,} events of "
        f"{len(totals):,} kinds, {_iso(options.since)}..{_iso(options.until)}.",
        "Review it, then: eventschema lint / plan / apply. Comments give the evidence: how often",
        "a property is present (required from "
        f"{percent(options.required_share)}) and how many values parse as its type.",
        "",
    ]
    return render_plan(plan, groups, evidence, totals, header)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
