"""Hypothesis settings profiles of the fuzz tests.

* ``fuzz-ci`` (default): a modest, derandomized number of examples, so every CI run tries the
  same inputs and takes the same time; no example database is written.
* ``fuzz-deep``: many more random examples, remembered in hypothesis' example database; choose
  it with ``EVENTSCHEMA_FUZZ=deep``.

Each test scales the profile's ``max_examples`` with :func:`fuzz_settings` (expensive targets,
such as a query run on the sandbox, take a smaller share).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "fuzz-ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "fuzz-deep",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)

PROFILE = settings.get_profile(
    "fuzz-deep" if os.environ.get("EVENTSCHEMA_FUZZ") == "deep" else "fuzz-ci"
)


def fuzz_settings(share: float = 1.0) -> settings:
    """The active profile with ``share`` of its examples (at least 5)."""
    return settings(PROFILE, max_examples=max(5, int(PROFILE.max_examples * share)))
