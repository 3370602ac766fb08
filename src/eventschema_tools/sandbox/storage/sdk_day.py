"""The `demo-day` seed's events, sent through PostHog's own Python SDK once the sandbox listens.

The `demo` seed writes the simulated day straight into the events table; `demo-day` sends the
same day the way an app would, through the official `posthog` package to the capture endpoint,
so capture, type coercion and `reject` enforcement treat it as real traffic (and the SDK adds its
`$lib` properties). The events keep the day's timestamps: they are spread over the last 24 hours.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any, Final

from eventschema_tools.sandbox.storage.simulated_day import DEFAULT_EVENTS, demo_events

__all__ = ["DAY_SEED", "SDK_SEEDS", "send_demo_day"]

DAY_SEED: Final = 7
"""The random seed of the simulated day (the same day as the `demo` seed's)."""

SDK_SEEDS: Final = frozenset({"demo-day"})
"""Seeds whose events are sent through the SDK after the server starts."""


def send_demo_day(url: str, token: str, *, now: datetime | None = None) -> int:
    """Send the simulated day to the sandbox at ``url`` with the SDK; return the events sent.

    The SDK talks to ``url`` only: no personal API key (so no feature flag polling or remote
    config), no GeoIP, no exception autocapture, and the ``/batch/`` capture protocol whatever
    ``POSTHOG_CAPTURE_MODE`` says. It returns once the SDK has flushed and shut down, that is
    once the sandbox has answered every batch.

    Raises:
        RuntimeError: the SDK refused an event or reported a failed request (the message says
            which).
    """
    # Loaded here: only this seed needs the SDK.
    import posthog

    errors: list[str] = []
    options: dict[str, Any] = {}
    if "capture_mode" in inspect.signature(posthog.Posthog).parameters:
        options["capture_mode"] = "v0"
    client = posthog.Posthog(
        project_api_key=token,
        host=url,
        on_error=lambda error, _batch: errors.append(str(error)),
        flush_at=500,
        disable_geoip=True,
        enable_exception_autocapture=False,
        **options,
    )
    day = demo_events(DEFAULT_EVENTS, seed=DAY_SEED, now=now)
    refused = 0
    try:
        for item in day:
            queued = client.capture(
                item.event,
                distinct_id=item.distinct_id,
                properties=item.properties,
                timestamp=item.timestamp,
            )
            refused += queued is None
        client.flush()
    finally:
        client.shutdown()
    if errors:
        raise RuntimeError(f"sending the demo day through the SDK failed: {errors[0]}")
    if refused:
        raise RuntimeError(f"the PostHog SDK did not queue {refused:,} of the demo day's events")
    return len(day)
