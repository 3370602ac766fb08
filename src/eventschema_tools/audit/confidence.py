"""Confidence intervals of rates measured on a sample of events.

A sampled audit (HogQL's ``SAMPLE``, a share of the people) measures each rate on the sampled
events only. Every such rate carries a 95 % Wilson score interval, which stays inside 0..1 and
behaves at rates near 0 and 1, where most conformance rates live. The interval treats the
sampled events as independent draws; PostHog samples people, so when one person sends many
breaking events the true spread is wider (``docs/audits.md`` says how to read it).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["Z_95", "wilson_interval"]

Z_95: Final = 1.959963984540054
"""The standard normal quantile of a two-sided 95 % interval."""


def wilson_interval(part: int, whole: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``part / whole`` (``(0.0, 1.0)`` when ``whole`` is 0)."""
    if whole <= 0:
        return 0.0, 1.0
    rate = part / whole
    scale = z * z / whole
    centre = (rate + scale / 2) / (1 + scale)
    spread = z * math.sqrt(rate * (1 - rate) / whole + scale / (4 * whole)) / (1 + scale)
    low = 0.0 if part <= 0 else max(0.0, centre - spread)
    high = 1.0 if part >= whole else min(1.0, centre + spread)
    return low, high
