"""What an ``infer`` run does, checked before any request: :func:`infer_options`."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.document import read_plan_text
from eventschema_tools.tracking_plan.file import TrackingPlan, parse_plan
from eventschema_tools.tracking_plan.pull import check_plan_id

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_MIN_VOLUME",
    "DEFAULT_REQUIRED_SHARE",
    "MAX_DAYS",
    "InferOptions",
    "infer_options",
]

DEFAULT_DAYS: Final = 7
"""Days of events read when no window is given."""

MAX_DAYS: Final = 365
DEFAULT_REQUIRED_SHARE: Final = 0.995
"""A property is proposed as required when present on at least this share of its event."""

DEFAULT_MIN_VOLUME: Final = 1
"""Events seen fewer times than this in the window are left out of the plan."""


@dataclass(frozen=True)
class InferOptions:
    """What an ``infer`` run reads and proposes, validated before any request.

    Attributes:
        since: Start of the window (inclusive), UTC.
        until: End of the window (exclusive), UTC.
        window_label: The window as given (``7d`` or ``2026-11-01..2026-11-08``).
        events: Glob patterns of the event names to infer (``None``: every event).
        min_volume: Events seen fewer times in the window are skipped.
        required_share: Presence share from which a property is proposed as required.
        sample: The sampling rate asked for (``None``: read every event, or sample
            automatically above ``queries.AUTO_SAMPLE_EVENTS`` events).
        include_sdk: Also infer ``$``-prefixed events and properties (PostHog's SDK ones).
        plan: An existing plan to propose additions and changes to (``None``: a new plan).
        plan_path: Where ``plan`` was read from.
        plan_text: The file's text (kept so the proposal can edit it in place).
        plan_id: The ``plan_id`` of a new plan.
    """

    since: datetime
    until: datetime
    window_label: str
    events: tuple[str, ...] | None = None
    min_volume: int = DEFAULT_MIN_VOLUME
    required_share: float = DEFAULT_REQUIRED_SHARE
    sample: float | None = None
    include_sdk: bool = False
    plan: TrackingPlan | None = None
    plan_path: str | None = None
    plan_text: str | None = None
    plan_id: str | None = None

    def wants(self, event: str) -> bool:
        """Whether ``event`` is one this run infers (patterns, and ``$`` events only if asked)."""
        if self.events is not None:
            return any(fnmatch.fnmatchcase(event, pattern) for pattern in self.events)
        return self.include_sdk or not event.startswith("$")


def infer_options(
    *,
    days: float | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    events: str | Sequence[str] | None = None,
    min_volume: int = DEFAULT_MIN_VOLUME,
    required_share: float = DEFAULT_REQUIRED_SHARE,
    sample: float | None = None,
    include_sdk: bool = False,
    plan: TrackingPlan | str | Path | None = None,
    plan_text: str | None = None,
    plan_id: str | None = None,
    now: datetime | None = None,
) -> InferOptions:
    """Validate ``infer`` settings; every mistake is reported before anything is sent.

    Args:
        days: Read the last ``days`` days (default :data:`DEFAULT_DAYS` when no ``since``).
        since: Start of the window: an ISO date or date-time (UTC unless it says otherwise).
        until: End of the window (default: now).
        events: Glob patterns of event names (``"checkout_*,signup"`` or a list).
        min_volume: Skip events seen fewer times than this in the window.
        required_share: Presence share (0-1) from which a property is required.
        sample: Read a sample of this share (0-1] of the events, with PostHog's ``SAMPLE``.
        include_sdk: Also infer ``$``-prefixed events and properties.
        plan: An existing plan (or its path) to propose additions and changes to.
        plan_text: The text of the existing plan (YAML or JSON), so the proposal can edit it
            in place: alone, or with ``plan`` parsed from it.
        plan_id: The ``plan_id`` of the proposed plan (a new plan only).
        now: The current time (for tests); default the clock.

    Raises:
        InvalidInputError: a bad or future window, a share or rate outside 0-1, a negative
            volume, an empty event pattern list, ``plan_id`` together with ``plan``.
        PlanFileError: the plan file is unreadable or not a valid plan.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    start, end, label = _window(days, since, until, moment)
    if isinstance(min_volume, bool) or not isinstance(min_volume, int) or min_volume < 1:
        raise InvalidInputError(
            f"bad min volume {min_volume!r}: give a whole number of events, 1 or more",
            [("min_volume", "not a positive whole number")],
        )
    share = _fraction("required share", "required_share", required_share, allow_one=True)
    rate = None if sample is None else _fraction("sample rate", "sample", sample, allow_one=True)
    plan_path = None
    if plan_text is not None:
        if isinstance(plan, str | Path):
            raise InvalidInputError(
                "give either a plan file or plan_text, not both", [("plan_text", "given with plan")]
            )
        plan_path = "<plan text>"
        plan = plan if plan is not None else parse_plan(plan_text, plan_path)
    elif isinstance(plan, str | Path):
        plan_path = str(plan)
        plan_text = read_plan_text(plan)
        plan = parse_plan(plan_text, plan_path)
    check_plan_id(plan_id)
    if plan is not None and plan_id is not None:
        raise InvalidInputError(
            "plan_id names a new plan; with an existing plan the proposal keeps its plan_id",
            [("plan_id", "given with plan")],
        )
    return InferOptions(
        since=start,
        until=end,
        window_label=label,
        events=_patterns(events),
        min_volume=min_volume,
        required_share=share,
        sample=rate,
        include_sdk=include_sdk,
        plan=plan,
        plan_path=plan_path,
        plan_text=plan_text,
        plan_id=plan_id,
    )


def _window(
    days: float | None,
    since: str | date | datetime | None,
    until: str | date | datetime | None,
    now: datetime,
) -> tuple[datetime, datetime, str]:
    if days is not None and since is not None:
        raise InvalidInputError(
            "give either days or since, not both (days counts back from until, or from now)",
            [("days", "given with since")],
        )
    end = now if until is None else _moment("until", until)
    if end > now:
        end = now
    if since is not None:
        start = _moment("since", since)
    else:
        span = DEFAULT_DAYS if days is None else days
        if (
            isinstance(span, bool)
            or not isinstance(span, int | float)
            or not math.isfinite(span)
            or not 0 < span <= MAX_DAYS
        ):
            raise InvalidInputError(
                f"bad days {span!r}: give a number of days above 0 and at most {MAX_DAYS}, e.g. 7",
                [("days", "out of range")],
            )
        start = end - timedelta(days=span)
    if start >= now:
        raise InvalidInputError(
            f"the window starts in the future ({_iso(start)}); events only exist up to now "
            f"({_iso(now)}): give an earlier since, or days",
            [("since", "in the future")],
        )
    if start >= end:
        raise InvalidInputError(
            f"the window is empty: since ({_iso(start)}) is not before until ({_iso(end)})",
            [("since", "not before until")],
        )
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInputError(
            f"the window is longer than {MAX_DAYS} days: give a later since or an earlier until",
            [("since", "window too long")],
        )
    if since is None and until is None:
        label = f"{days if days is not None else DEFAULT_DAYS:g}d"
    else:
        label = f"{_iso(start)}..{_iso(end)}"
    return start, end, label


def _moment(field: str, value: str | date | datetime) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text else "?")
        except ValueError:
            raise InvalidInputError(
                f"bad {field} {value!r}: write an ISO date or date-time, e.g. 2026-11-01 or "
                "2026-11-01T08:00:00Z",
                [(field, "not an ISO date")],
            ) from None
    else:
        raise InvalidInputError(
            f"bad {field} {value!r}: write an ISO date or date-time, e.g. 2026-11-01",
            [(field, "not a date")],
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fraction(label: str, field: str, value: float, *, allow_one: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 1
    ):
        raise InvalidInputError(
            f"bad {label} {value!r}: give a share above 0 and at most 1, e.g. 0.995 "
            "(99.5 %) or 0.1 (10 %)",
            [(field, "not a share between 0 and 1")],
        )
    return float(value)


def _patterns(events: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if events is None:
        return None
    items = events.split(",") if isinstance(events, str) else list(events)
    chosen = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not chosen:
        raise InvalidInputError(
            "events is empty: give at least one event name or pattern (e.g. 'checkout_*'), "
            "or leave it out to infer every event",
            [("events", "empty")],
        )
    return chosen
