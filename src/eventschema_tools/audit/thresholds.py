"""Thresholds: the rates at which an audit finding becomes a warning or an error.

Each measured rate (a fraction of an event's volume in the window) is graded against a pair of
limits: above ``warning`` it is a warning, above ``error`` an error, otherwise informational.
A limit left empty (``null``) never triggers. Limits are set for every event (``default``) and
can be overridden per event, one field at a time. A thresholds file (YAML or JSON) looks like::

    default:
      missing_required: {warning: 0, error: 0.05}
      wrong_type: {warning: 0, error: 0.01}
    events:
      checkout_completed:
        missing_required: {error: 0}      # any missing required property fails this event
        would_reject: {error: 0}
    stale_after_days: 30
    volume:
      drop: 0.5                 # a fall of half the usual volume for these hours
      missing_after_hours: 6
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools._files import read_settings_file
from eventschema_tools.audit.model import Severity

__all__ = ["METRICS", "Limit", "RateLimits", "Thresholds", "VolumeLimits", "load_thresholds"]

METRICS: Final = (
    "missing_required",
    "wrong_type",
    "value_rule",
    "unexpected_properties",
    "would_reject",
)
"""The graded rates, each a fraction of the event's volume in the window."""

Fraction = float


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Model):
    """The two limits of one rate; a rate strictly above a limit reaches its severity.

    Attributes:
        warning: Above this fraction the finding is a warning (``None``: never).
        error: Above this fraction the finding is an error (``None``: never).
    """

    warning: Fraction | None = Field(default=None, ge=0, le=1)
    error: Fraction | None = Field(default=None, ge=0, le=1)

    def grade(self, rate: float) -> Severity:
        """The severity of ``rate`` under these limits."""
        if self.error is not None and rate > self.error:
            return Severity.ERROR
        if self.warning is not None and rate > self.warning:
            return Severity.WARNING
        return Severity.INFO

    def over(self, base: Limit) -> Limit:
        """This limit where it was given, ``base`` for the fields it leaves out."""
        given = self.model_dump(include=self.model_fields_set)
        return base.model_copy(update=given)


class RateLimits(_Model):
    """Limits for every graded rate (see :data:`METRICS`).

    Defaults: any missing required property, wrong type or value-rule violation is a warning;
    more than 5 % missing, 1 % wrong type or 5 % rule violations is an error; unexpected
    properties are at most warnings; the ``reject`` simulation is informational.
    """

    missing_required: Limit = Limit(warning=0, error=0.05)
    wrong_type: Limit = Limit(warning=0, error=0.01)
    value_rule: Limit = Limit(warning=0, error=0.05)
    unexpected_properties: Limit = Limit(warning=0)
    would_reject: Limit = Limit()

    def over(self, base: RateLimits) -> RateLimits:
        """These limits where given, field by field, ``base`` elsewhere."""
        merged = {
            name: getattr(self, name).over(getattr(base, name)) for name in self.model_fields_set
        }
        return base.model_copy(update=merged)


class VolumeLimits(_Model):
    """When the volume audit speaks up (``volume:`` in the thresholds file).

    Attributes:
        drop: A planned event's volume in the window fell by at least this share of what the
            same hours of the previous weeks predict (``volume_drop``; an error from a fall of
            ``drop_error``).
        drop_error: The fall that makes a drop an error.
        spike: The volume rose to at least this multiple of the prediction (``volume_spike``).
        missing_after_hours: No event for this many hours while at least ``min_expected`` were
            predicted is ``missing_event`` (an error).
        presence_drop: An optional property's carry rate fell by at least this share of its
            rate before the window (``presence_drop``).
        min_expected: Predictions below this many events are too small to judge.
        min_z: How many standard deviations (the larger of the weeks' spread, scaled from
            their median absolute deviation, and Poisson noise) a change must reach.
    """

    drop: float = Field(default=0.5, gt=0, lt=1)
    drop_error: float = Field(default=0.8, gt=0, le=1)
    spike: float = Field(default=2.0, gt=1)
    missing_after_hours: int = Field(default=6, ge=1, le=168)
    presence_drop: float = Field(default=0.3, gt=0, le=1)
    min_expected: float = Field(default=10, ge=1)
    min_z: float = Field(default=3.0, ge=0)


class Thresholds(_Model):
    """Global and per-event limits, and the hygiene settings.

    Attributes:
        default: Limits for every event.
        events: Per-event overrides; a field left out keeps the default.
        stale_after_days: A bound event not ingested for this many days is stale (hygiene).
        min_events: Below this many events in the window, conformance findings stay
            informational (too few to judge).
        volume: When the volume audit reports drops, spikes, missing events and presence
            drops.
    """

    default: RateLimits = RateLimits()
    events: dict[str, RateLimits] = Field(default_factory=dict)
    stale_after_days: int = Field(default=30, ge=1)
    min_events: int = Field(default=1, ge=0)
    volume: VolumeLimits = VolumeLimits()

    def limits_for(self, event: str) -> RateLimits:
        """The limits that apply to ``event``."""
        override = self.events.get(event)
        return override.over(self.default) if override is not None else self.default

    def grade(self, event: str, metric: str, rate: float, *, events: int) -> Severity:
        """The severity of one rate of one event.

        Args:
            event: The event.
            metric: One of :data:`METRICS`.
            rate: The measured fraction.
            events: The event's volume in the window (below ``min_events``: info).
        """
        if events < self.min_events:
            return Severity.INFO
        limit: Limit = getattr(self.limits_for(event), metric)
        return limit.grade(rate)


def load_thresholds(path: str | Path) -> Thresholds:
    """Read a thresholds file (YAML or JSON).

    Raises:
        InvalidInputError: the file cannot be read, is not YAML, or holds an unknown metric, a
            limit outside 0..1 or another mistake; the message names each problem.
    """
    return read_settings_file(
        path,
        Thresholds,
        what="thresholds file",
        field="thresholds",
        hint=f"metrics: {', '.join(METRICS)}; limits are fractions from 0 to 1",
    )
