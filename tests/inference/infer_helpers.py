"""Helpers of the infer tests."""

from __future__ import annotations

SEED = "demo-day"
