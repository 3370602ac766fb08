"""The `demo-day` seed's events, sent through PostHog's own Python SDK once the sandbox listens.

The `demo` seed writes the simulated day straight into the events table; `demo-day` sends the
same day the way an app would, through the official `posthog` package to the capture endpoint,
so capture, type coercion and `reject` enforcement treat it as real traffic (and the SDK adds its
`$lib` properties). The events keep the day's timestamps: they are spread over the last 24 hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from eventschema_tools.sandbox.storage.simulated_day import DEFAULT_EVENTS, demo_events

__all__ = ["DAY_SEED", "SDK_SEEDS", "send_demo_day"]

DAY_SEED: Final = 7
"""The random seed of the simulated day (the same day as the `demo` seed's)."""

SDK_SEEDS: Final = frozenset({"demo-day"})
"""Seeds whose events are sent through the SDK after the server starts."""


def send_demo_day(url: str, token: str, *, now: datetime | None = None) -> int:
    """Send the simulated day to the sandbox at ``url`` with the SDK; return the events sent.

    Raises:
        RuntimeError: the SDK reported a failed request (the message says which).
    """
    # Loaded here: only this seed needs the SDK.
    import posthog

    errors: list[str] = []
    client = posthog.Posthog(
        project_api_key=token,
        host=url,
        on_error=lambda error, _batch: errors.append(str(error)),
        flush_at=500,
        disable_geoip=True,
        enable_exception_autocapture=False,
    )
    day = demo_events(DEFAULT_EVENTS, seed=DAY_SEED, now=now)
    try:
        for item in day:
            client.capture(
                item.event,
                distinct_id=item.distinct_id,
                properties=item.properties,
                timestamp=item.timestamp,
            )
        client.flush()
    finally:
        client.shutdown()
    if errors:
        raise RuntimeError(f"sending the demo day through the SDK failed: {errors[0]}")
    return len(day)
