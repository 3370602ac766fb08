"""Change review: classify plan changes and backtest them over live events.

:func:`review_plan` (and :func:`review_plan_async`) diffs a proposed tracking plan against the
project, classifies every change breaking, risky or safe (see
:mod:`eventschema_tools.tracking_plan.impact`), applies the gate and, if asked, replays the
change over recent events (:mod:`.backtest`). :mod:`.render` writes the review as a pull-request
comment (Markdown), SARIF or JSON.
"""

from eventschema_tools.review.backtest import (
    DEFAULT_BACKTEST_DAYS,
    MAX_BACKTEST_DAYS,
    Backtest,
    BacktestEvent,
    DayDrops,
    VersionSlice,
    run_backtest,
    run_backtest_async,
)
from eventschema_tools.review.run import (
    PlanReview,
    changed_expectations,
    projected_state,
    review_plan,
    review_plan_async,
)

__all__ = [
    "DEFAULT_BACKTEST_DAYS",
    "MAX_BACKTEST_DAYS",
    "Backtest",
    "BacktestEvent",
    "DayDrops",
    "PlanReview",
    "VersionSlice",
    "changed_expectations",
    "projected_state",
    "review_plan",
    "review_plan_async",
    "run_backtest",
    "run_backtest_async",
]
