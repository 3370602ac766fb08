"""Review a plan change before it ships: what each change does, replayed over live traffic.

:func:`review_plan` reads the project once, diffs the plan against it (every change classified
``breaking``, ``risky`` or ``safe``, see :mod:`eventschema_tools.tracking_plan.impact`), adds the
value-rule changes when the plan's earlier version is given, and with ``backtest_days`` replays
the expectations PostHog would hold after ``apply`` next to today's over the last days of
events, for the events whose expectations change only. Its :class:`PlanReview` says whether the
gate (``fail_on``) passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.audit.expectations import (
    EventExpectation,
    GroupShape,
    PropertyShape,
    SchemaState,
    expectations,
    state_from_live,
)
from eventschema_tools.models import PropertyInput
from eventschema_tools.review.backtest import (
    DEFAULT_BACKTEST_DAYS,
    MAX_BACKTEST_DAYS,
    Backtest,
    check_days,
    run_backtest,
    run_backtest_async,
)
from eventschema_tools.tracking_plan.changes import (
    CreateBinding,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    Plan,
    UpdateEvent,
    UpdateGroup,
)
from eventschema_tools.tracking_plan.diff import diff
from eventschema_tools.tracking_plan.file import TrackingPlan
from eventschema_tools.tracking_plan.impact import FailOn, Impact, parse_fail_on
from eventschema_tools.tracking_plan.live import LiveState

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "DEFAULT_BACKTEST_DAYS",
    "MAX_BACKTEST_DAYS",
    "PlanReview",
    "changed_expectations",
    "projected_state",
    "review_plan",
    "review_plan_async",
]


class PlanReview(BaseModel):
    """A plan with every change classified, the gate's verdict and, if asked, the backtest.

    Attributes:
        plan: The changes, their impacts and stale acknowledgements.
        fail_on: The gate: ``breaking``, ``risky`` or ``never``.
        failures: The impacts that fail the gate (at or above ``fail_on``, unacknowledged).
        passed: Whether the gate passes.
        backtest: Today's and the proposed expectations replayed over live events.
    """

    model_config = ConfigDict(frozen=True)

    plan: Plan
    fail_on: FailOn = "never"
    failures: list[Impact] = Field(default_factory=list)
    passed: bool = True
    backtest: Backtest | None = None

    def summary(self) -> str:
        """One line: the classification and the gate's verdict."""
        verdict = (
            "gate passes"
            if self.passed
            else f"gate fails: {len(self.failures)} unacknowledged at or above {self.fail_on}"
        )
        return f"{self.plan.review_summary()[:-1]}; {verdict}."


def _check(fail_on: str, backtest_days: int | None) -> FailOn:
    gate = parse_fail_on(fail_on)
    if backtest_days is not None:
        check_days(backtest_days)
    return gate


def _reviewed(
    desired: TrackingPlan,
    live: LiveState,
    base: TrackingPlan | None,
    gate: FailOn,
    prune: bool,
    create_events: bool,
    adopt: bool,
) -> PlanReview:
    plan = diff(desired, live, prune=prune, create_events=create_events, adopt=adopt)
    if base is not None:
        plan = plan.with_rules_from(base, desired)
    failures = plan.unacknowledged(gate)
    return PlanReview(plan=plan, fail_on=gate, failures=failures, passed=not failures)


def _names_needed(desired: TrackingPlan, prune: bool) -> set[str] | None:
    return None if prune else set(desired.events)


def review_plan(
    client: EventSchemaClient,
    desired: TrackingPlan,
    *,
    base: TrackingPlan | None = None,
    backtest_days: int | None = None,
    fail_on: str = "never",
    prune: bool = False,
    create_events: bool = False,
    adopt: bool = False,
) -> PlanReview:
    """Classify every change that brings the project to ``desired``, and gate on it.

    Args:
        client: The project's client.
        desired: The proposed plan.
        base: The plan file's earlier version (e.g. the base branch's): value rules are compared
            against it (PostHog stores none, so the live project cannot tell).
        backtest_days: Replay the proposed and current expectations over this many days of
            events (1 to :data:`MAX_BACKTEST_DAYS`), for the events whose expectations
            change; ``None``: no queries.
        fail_on: ``breaking``, ``risky`` or ``never``: what fails the gate when the plan file
            does not acknowledge it (``allow_breaking``).
        prune: See :func:`~eventschema_tools.tracking_plan.diff`.
        create_events: See :func:`~eventschema_tools.tracking_plan.diff`.
        adopt: See :func:`~eventschema_tools.tracking_plan.diff`.

    Raises:
        InvalidInputError: A bad ``fail_on`` or ``backtest_days`` (before any request).
    """
    gate = _check(fail_on, backtest_days)
    live = LiveState.read(client, event_names=_names_needed(desired, prune))
    review = _reviewed(desired, live, base, gate, prune, create_events, adopt)
    if backtest_days is None:
        return review
    current, proposed = changed_expectations(live, review.plan)
    backtest = run_backtest(client, current, proposed, backtest_days)
    return review.model_copy(update={"backtest": backtest})


async def review_plan_async(
    client: AsyncEventSchemaClient,
    desired: TrackingPlan,
    *,
    base: TrackingPlan | None = None,
    backtest_days: int | None = None,
    fail_on: str = "never",
    prune: bool = False,
    create_events: bool = False,
    adopt: bool = False,
) -> PlanReview:
    """Async twin of :func:`review_plan`."""
    gate = _check(fail_on, backtest_days)
    live = await LiveState.read_async(client, event_names=_names_needed(desired, prune))
    review = _reviewed(desired, live, base, gate, prune, create_events, adopt)
    if backtest_days is None:
        return review
    current, proposed = changed_expectations(live, review.plan)
    backtest = await run_backtest_async(client, current, proposed, backtest_days)
    return review.model_copy(update={"backtest": backtest})


def projected_state(live: LiveState, plan: Plan) -> SchemaState:
    """The schemas PostHog will hold once ``plan`` is applied: today's, with its changes."""
    now = state_from_live(live)
    groups = dict(now.groups)
    bindings = {event: list(names) for event, names in now.bindings.items()}
    enforcement = dict(now.enforcement)
    for change in plan.changes:
        if isinstance(change, CreateGroup | UpdateGroup):
            # An update without a property list changes only the description.
            if change.properties is not None:
                groups[change.group] = _shape(change.group, change.properties)
        elif isinstance(change, DeleteGroup):
            groups.pop(change.group, None)
            for names in bindings.values():
                if change.group in names:
                    names.remove(change.group)
        elif isinstance(change, CreateBinding):
            bindings.setdefault(change.event, []).append(change.group)
        elif isinstance(change, DeleteBinding):
            if change.group in bindings.get(change.event, []):
                bindings[change.event].remove(change.group)
        elif isinstance(change, UpdateEvent) and change.enforcement_mode is not None:
            enforcement[change.event] = change.enforcement_mode.value
    return SchemaState(
        groups=groups,
        bindings={event: tuple(sorted(names)) for event, names in bindings.items()},
        enforcement=enforcement,
        last_seen=now.last_seen,
    )


def _shape(name: str, properties: Iterable[PropertyInput]) -> GroupShape:
    return GroupShape(
        name,
        tuple(
            PropertyShape(prop.name, prop.property_type.value, prop.is_required)
            for prop in sorted(properties, key=lambda item: item.name)
        ),
    )


def changed_expectations(
    live: LiveState, plan: Plan
) -> tuple[list[EventExpectation], list[EventExpectation]]:
    """Today's and the proposed expectations of the events whose expectations ``plan``
    changes (what reject enforcement checks: types, required flags, the mode)."""
    candidates = sorted({event for impact in plan.impacts for event in impact.events})
    if not candidates:
        return [], []
    current = expectations(state_from_live(live), candidates)
    proposed = expectations(projected_state(live, plan), candidates)
    changed = [
        (now, then)
        for now, then in zip(current, proposed, strict=True)
        if _checked(now) != _checked(then)
    ]
    return [now for now, _ in changed], [then for _, then in changed]


def _checked(expected: EventExpectation) -> tuple[object, ...]:
    return (
        expected.enforcement_mode,
        tuple((prop.name, prop.types, prop.required) for prop in expected.properties),
    )
