"""Promotion between environments: bring the target to what is live in the source, once the
source's events have soaked.

The *change set* is what the target lacks of the source, within what the plan manages: for every
event the plan lists, the groups bound to it in the source (each as it is live there), and for
every group the plan lists, its live version in the source. Descriptions are copied where the plan
manages them; enforcement is the target environment's own (the plan's overrides), never the
source's, so ``allow`` in staging and ``reject`` in prod stay as the plan says. Plan entries the
source does not have yet are not promoted (they are listed as ``not_in_source``): promotion copies
what was tried in the source, not the plan file.

:func:`compare_environments` is that change set (``eventschema diff --env a --env b``);
:func:`check_promotion` adds the soak verdict on the events it changes
(:mod:`eventschema_tools.audit.soak`, measured in the source); :func:`promote` applies it to the
target only when the verdict passed. Each has an async twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.audit.soak import (
    DEFAULT_MIN_EVENTS,
    DEFAULT_SLO,
    DEFAULT_SOAK,
    SoakOptions,
    SoakVerdict,
    check_soak,
    check_soak_async,
    soak_options,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import EnforcementMode
from eventschema_tools.tracking_plan.apply import (
    DEFAULT_CONCURRENCY,
    ApplyReport,
    apply,
    apply_async,
)
from eventschema_tools.tracking_plan.changes import (
    CreateBinding,
    CreateGroup,
    DeleteBinding,
    Plan,
    UpdateEvent,
    UpdateGroup,
)
from eventschema_tools.tracking_plan.diff import diff
from eventschema_tools.tracking_plan.environments import (
    check_client,
    planned_enforcement,
    select_environment,
)
from eventschema_tools.tracking_plan.file import EventSpec, TrackingPlan
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.pull import plan_from_live

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "Promotion",
    "PromotionOptions",
    "changed_events",
    "check_promotion",
    "check_promotion_async",
    "compare_environments",
    "compare_environments_async",
    "promote",
    "promote_async",
    "promotion_options",
    "staged_plan",
]


@dataclass(frozen=True)
class PromotionOptions:
    """Validated promotion settings (see :func:`promotion_options`).

    Attributes:
        plan: The plan that defines both environments and what is managed.
        source: The environment whose live state is promoted (``staging``).
        target: The environment promoted to (``prod``).
        soak: How long, and how well, the source's events must have conformed.
        prune: Also delete groups and bindings the plan owns in the target that the source no
            longer has.
    """

    plan: TrackingPlan
    source: str
    target: str
    soak: SoakOptions
    prune: bool = False


def promotion_options(
    plan: TrackingPlan,
    *,
    source: str,
    target: str,
    slo: float = DEFAULT_SLO,
    soak: str = DEFAULT_SOAK,
    min_events: int = DEFAULT_MIN_EVENTS,
    prune: bool = False,
) -> PromotionOptions:
    """Validate a promotion before anything is sent.

    Raises:
        InvalidInputError: an environment the plan does not define, the same one twice, or a
            bad soak setting.
    """
    select_environment(plan, source)
    select_environment(plan, target)
    if source == target:
        raise InvalidInputError(
            f"promote from {source!r} to itself: name two different environments",
            [("target", "same as source")],
        )
    return PromotionOptions(
        plan, source, target, soak_options(slo=slo, soak=soak, min_events=min_events), prune
    )


class Promotion(BaseModel):
    """A promotion from one environment to another: what it changes, and whether it may.

    Attributes:
        source: The source environment.
        target: The target environment.
        plan: The writes that bring the target to the source (rendered like ``eventschema
            plan``).
        events: The events whose schemas or enforcement the writes change: what the soak
            judges.
        not_in_source: Plan entries the source does not have yet (not promoted).
        soak: The soak verdict over ``events`` in the source (``None`` when not asked, or when
            nothing needs it).
        report: What was applied (``None`` when nothing was).
    """

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    plan: Plan
    events: list[str] = Field(default_factory=list)
    not_in_source: list[str] = Field(default_factory=list)
    soak: SoakVerdict | None = None
    report: ApplyReport | None = None

    @property
    def passed(self) -> bool:
        """True unless the soak verdict failed."""
        return self.soak is None or self.soak.passed

    def refusal(self) -> str:
        """Why the promotion may not go ahead, naming each event with its numbers ("" if it may)."""
        if self.passed or self.soak is None:
            return ""
        failing = self.soak.failing()
        lines = "\n".join(f"  {self.soak.describe(item)}" for item in failing)
        return (
            f"refusing to promote {self.source} → {self.target}: {len(failing)} of "
            f"{len(self.soak.events)} changed event(s) did not hold the SLO in {self.source}:\n"
            f"{lines}"
        )


def _spec_from_plan(live_spec: EventSpec, planned: EventSpec) -> EventSpec:
    return live_spec.model_copy(
        update={
            "owner": planned.owner,
            "tags": planned.tags,
            "allow_breaking": planned.allow_breaking,
            "forbidden_properties": planned.forbidden_properties,
        }
    )


def staged_plan(
    plan: TrackingPlan, source: LiveState, target: str
) -> tuple[TrackingPlan, list[str]]:
    """What the target should hold: the source's live state within what ``plan`` manages, with
    the target environment's enforcement (pure).

    Returns:
        The plan to diff the target against, and the plan entries the source lacks.
    """
    select_environment(plan, target)
    pulled = plan_from_live(source, plan_id=plan.plan_id)
    missing: list[str] = []
    events: dict[str, EventSpec] = {}
    for name, planned in sorted(plan.events.items()):
        live_spec = pulled.events.get(name)
        definition = source.events_by_name.get(name)
        if live_spec is None and definition is None:
            missing.append(f'event "{name}"')
            continue
        if live_spec is None:
            live_spec = EventSpec(description=definition.description if definition else None)
        staged = _spec_from_plan(live_spec, planned).model_copy(
            update={
                "enforcement": planned_enforcement(plan, name, target),
                "description": live_spec.description if planned.description is not None else None,
            }
        )
        events[name] = staged
    wanted = {group for spec in events.values() for group in spec.groups}
    groups = {}
    for name in sorted(wanted | set(plan.property_groups)):
        live_group = pulled.property_groups.get(name)
        if live_group is None:
            missing.append(f'group "{name}"')
            continue
        planned_group = plan.property_groups.get(name)
        if planned_group is not None:
            live_group = live_group.model_copy(
                update={
                    "owner": planned_group.owner,
                    "tags": planned_group.tags,
                    "allow_breaking": planned_group.allow_breaking,
                }
            )
        groups[name] = live_group
    staged_plan_ = plan.model_copy(update={"property_groups": groups, "events": events})
    return staged_plan_, missing


def changed_events(writes: Plan, staged: TrackingPlan) -> list[str]:
    """The events whose conformance the writes change: bindings made or removed, groups created
    or given other properties (every event bound to them), and switches to ``reject``. A new
    description changes no event's conformance."""
    bound_to: dict[str, set[str]] = {}
    for event, spec in staged.events.items():
        for group in spec.groups:
            bound_to.setdefault(group, set()).add(event)
    changed: set[str] = set()
    for change in writes.changes:
        if isinstance(change, CreateBinding | DeleteBinding):
            changed.add(change.event)
        elif isinstance(change, CreateGroup) or (
            isinstance(change, UpdateGroup) and change.properties is not None
        ):
            changed |= bound_to.get(change.group, set())
        elif isinstance(change, UpdateEvent) and change.enforcement_mode is EnforcementMode.REJECT:
            changed.add(change.event)
    return sorted(changed)


def _comparison(options: PromotionOptions, source: LiveState, target: LiveState) -> Promotion:
    staged, missing = staged_plan(options.plan, source, options.target)
    writes = diff(staged, target, prune=options.prune, create_events=True)
    return Promotion(
        source=options.source,
        target=options.target,
        plan=writes,
        events=changed_events(writes, staged),
        not_in_source=missing,
    )


def _target_names(options: PromotionOptions) -> list[str] | None:
    return None if options.prune else sorted(options.plan.events)


def compare_environments(
    source: EventSchemaClient, target: EventSchemaClient, options: PromotionOptions
) -> Promotion:
    """What promoting ``options.source`` to ``options.target`` would write (reads only).

    Args:
        source: The client of the source environment's project.
        target: The client of the target environment's project.
        options: From :func:`promotion_options`.

    Raises:
        ConfigurationError: a client does not reach the project its environment names.
        EventSchemaError: an API error.
    """
    check_client(options.plan, options.source, source)
    check_client(options.plan, options.target, target)
    source_live = LiveState.read(source)
    target_live = LiveState.read(target, event_names=_target_names(options))
    return _comparison(options, source_live, target_live)


async def compare_environments_async(
    source: AsyncEventSchemaClient, target: AsyncEventSchemaClient, options: PromotionOptions
) -> Promotion:
    """Async twin of :func:`compare_environments`."""
    check_client(options.plan, options.source, source)
    check_client(options.plan, options.target, target)
    source_live = await LiveState.read_async(source)
    target_live = await LiveState.read_async(target, event_names=_target_names(options))
    return _comparison(options, source_live, target_live)


def _judged(promotion: Promotion, soak: SoakVerdict | None) -> Promotion:
    return promotion.model_copy(update={"soak": soak})


def check_promotion(
    source: EventSchemaClient,
    target: EventSchemaClient,
    options: PromotionOptions,
    *,
    now: datetime | None = None,
) -> Promotion:
    """The promotion's writes and the soak verdict on the events they change (reads only).

    Args:
        source: The client of the source environment's project.
        target: The client of the target environment's project.
        options: From :func:`promotion_options`.
        now: The end of the soak period (default: now); for replays and simulated time.
    """
    check_client(options.plan, options.source, source)
    check_client(options.plan, options.target, target)
    source_live = LiveState.read(source)
    target_live = LiveState.read(target, event_names=_target_names(options))
    promotion = _comparison(options, source_live, target_live)
    if not promotion.events:
        return promotion
    soak = check_soak(source, promotion.events, options.soak, now=now, live=source_live)
    return _judged(promotion, soak)


async def check_promotion_async(
    source: AsyncEventSchemaClient,
    target: AsyncEventSchemaClient,
    options: PromotionOptions,
    *,
    now: datetime | None = None,
) -> Promotion:
    """Async twin of :func:`check_promotion`."""
    check_client(options.plan, options.source, source)
    check_client(options.plan, options.target, target)
    source_live = await LiveState.read_async(source)
    target_live = await LiveState.read_async(target, event_names=_target_names(options))
    promotion = _comparison(options, source_live, target_live)
    if not promotion.events:
        return promotion
    soak = await check_soak_async(source, promotion.events, options.soak, now=now, live=source_live)
    return _judged(promotion, soak)


def promote(
    source: EventSchemaClient,
    target: EventSchemaClient,
    options: PromotionOptions,
    *,
    now: datetime | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Promotion:
    """Apply the promotion to the target if the source's changed events held the SLO.

    Returns:
        The promotion; ``report`` is set when the writes were made, and ``refusal()`` says why
        they were not.
    """
    promotion = check_promotion(source, target, options, now=now)
    if not promotion.passed or promotion.plan.is_empty:
        return promotion
    report = apply(target, promotion.plan, concurrency=concurrency)
    return promotion.model_copy(update={"report": report})


async def promote_async(
    source: AsyncEventSchemaClient,
    target: AsyncEventSchemaClient,
    options: PromotionOptions,
    *,
    now: datetime | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Promotion:
    """Async twin of :func:`promote`."""
    promotion = await check_promotion_async(source, target, options, now=now)
    if not promotion.passed or promotion.plan.is_empty:
        return promotion
    report = await apply_async(target, promotion.plan, concurrency=concurrency)
    return promotion.model_copy(update={"report": report})
