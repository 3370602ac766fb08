"""Four simulated weeks of the demo product, with incidents planted in the last day.

The same product as the simulated day (``simulated_day``), over 28 days, with the rhythm real
traffic has (quiet nights, quieter weekends) and the releases that send it: the web app on
``posthog-js`` (1.180.0, then 1.181.0 released 20 hours ago), the iOS app on ``posthog-ios``
(4.11.0, then 4.12.0 released 3 days ago, with ``$app_version``), the billing service on
``posthog-node``. Planted in the last day (:data:`PLANTED`):

* ``invite_accepted`` stopped arriving 30 hours ago (a missing event);
* ``report_exported`` fell to 30 % of its volume in the last 24 hours (a drop);
* ``project_created`` tripled in the last 24 hours (a spike);
* ``posthog-js`` 1.181.0 stopped sending ``user_role`` on ``user_logged_in`` (a presence drop);
* ``posthog-ios`` 4.12.0 sends ``surface`` as ``"iOS"`` on ``feature_used`` (a regression of one
  property on one ``$lib_version``).

The ``demo-weeks`` seed loads these weeks into the demo project; the volume audit's benchmark
and tests measure how many of the planted incidents the audit finds, and what else it reports.
"""

from __future__ import annotations

import builtins
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from eventschema_tools.sandbox.storage.simulated_day import MIX, DemoEvent, event_properties

if TYPE_CHECKING:
    from eventschema_tools.audit.model import AuditReport

__all__ = ["PLANTED", "PlantedIncident", "demo_weeks", "reported_incidents"]

HOURS: Final = 28 * 24
PEAK_PER_HOUR: Final = 250


@dataclass(frozen=True)
class PlantedIncident:
    """One problem planted in the weeks: what an audit should report.

    Attributes:
        event: The event.
        code: The finding's code (``regression``: a conformance finding naming ``release``).
        property: The property, when the problem is about one.
        release: The release behind it, when one is.
    """

    event: str
    code: str
    property: str | None = None
    release: str | None = None

    @builtins.property
    def key(self) -> tuple[str, str, str | None, str | None]:
        """What a report must say to count as finding it (the release only for regressions)."""
        return (
            self.event,
            self.code,
            self.property,
            self.release if self.code == "regression" else None,
        )


PLANTED: Final = (
    PlantedIncident("invite_accepted", "missing_event"),
    PlantedIncident("report_exported", "volume_drop"),
    PlantedIncident("project_created", "volume_spike"),
    PlantedIncident("user_logged_in", "presence_drop", "user_role", "posthog-js 1.181.0"),
    PlantedIncident("feature_used", "regression", "surface", "posthog-ios 4.12.0"),
)
"""The incidents :func:`demo_weeks` plants."""

_VOLUME_CODES: Final = frozenset({"missing_event", "volume_drop", "volume_spike", "presence_drop"})
_STOPPED_HOURS: Final = 30
_DROP_KEEPS: Final = 0.3
_SPIKE_TIMES: Final = 3
_WEB_RELEASE_HOURS: Final = 20
_IOS_RELEASE_HOURS: Final = 72
_SERVER_EVENTS: Final = frozenset(
    {"trial_started", "subscription_started", "subscription_changed", "subscription_cancelled"}
)


def demo_weeks(
    *, seed: int = 11, now: datetime | None = None, peak_per_hour: int = PEAK_PER_HOUR
) -> list[DemoEvent]:
    """Four weeks of events with the incidents of :data:`PLANTED` (deterministic for a seed).

    Args:
        seed: The random seed.
        now: The end of the weeks (default: now).
        peak_per_hour: Events in the busiest weekday hour, before incidents.
    """
    rng = random.Random(seed)
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    workspaces = [f"ws_{index:03d}" for index in range(60)]
    plans = {
        workspace: rng.choice(("free", "team", "business", "enterprise"))
        for workspace in workspaces
    }
    events: list[DemoEvent] = []
    for hours_ago in range(HOURS, 0, -1):
        start = moment - timedelta(hours=hours_ago)
        expected = peak_per_hour * _rhythm(start)
        for _ in range(_poisson(rng, expected)):
            at = start + timedelta(seconds=rng.uniform(0, 3600))
            age = (moment - at).total_seconds() / 3600
            name = rng.choices(names, weights)[0]
            copies = _copies(rng, name, age)
            for _ in range(copies):
                workspace = rng.choice(workspaces)
                user = f"user_{workspace}_{rng.randint(1, 12)}"
                properties = event_properties(rng, name, workspace, plans[workspace])
                properties.update(_release(rng, name, user, age, properties))
                events.append(DemoEvent(name, user, properties, at))
    return sorted(events, key=lambda item: item.timestamp)


def _rhythm(moment: datetime) -> float:
    """Traffic relative to a weekday's busiest hour: low at night, 40 % at weekends."""
    hour = moment.hour + moment.minute / 60
    daily = 0.15 + 0.85 * math.sin(math.pi * max(0.0, min(1.0, (hour - 6) / 16))) ** 2
    return daily * (0.4 if moment.weekday() >= 5 else 1.0)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine at these means (well under 200).
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _copies(rng: random.Random, name: str, age: float) -> int:
    if name == "invite_accepted" and age < _STOPPED_HOURS:
        return 0
    if name == "report_exported" and age < 24:
        return 1 if rng.random() < _DROP_KEEPS else 0
    if name == "project_created" and age < 24:
        return _SPIKE_TIMES
    return 1


def _release(
    rng: random.Random, name: str, user: str, age: float, properties: dict[str, Any]
) -> dict[str, Any]:
    """The SDK fields of one event, and the release's own mistakes applied to ``properties``."""
    if name in _SERVER_EVENTS:
        return {"$lib": "posthog-node", "$lib_version": "4.2.0"}
    on_ios = sum(map(ord, user)) % 10 < 3
    if on_ios:
        new = age < _IOS_RELEASE_HOURS and rng.random() < 0.6
        if new and name == "feature_used" and "surface" in properties:
            properties["surface"] = "iOS"
        version = "4.12.0" if new else "4.11.0"
        return {"$lib": "posthog-ios", "$lib_version": version, "$app_version": f"2.{version}"}
    new = age < _WEB_RELEASE_HOURS and rng.random() < 0.85
    if new and name == "user_logged_in":
        properties.pop("user_role", None)
    return {"$lib": "posthog-js", "$lib_version": "1.181.0" if new else "1.180.0"}


def reported_incidents(report: AuditReport) -> set[tuple[str, str, str | None, str | None]]:
    """What an audit report claims, as :attr:`PlantedIncident.key` s: every volume finding, and
    every conformance finding that names a regression (with its release)."""
    found: set[tuple[str, str, str | None, str | None]] = set()
    for finding in report.findings:
        if finding.kind == "volume" and finding.code in _VOLUME_CODES and finding.event:
            found.add((finding.event, finding.code, finding.property, None))
        regression = finding.evidence.regression if finding.evidence else None
        if regression is not None and finding.event:
            release = f"{regression.lib} {regression.version}".strip()
            found.add((finding.event, "regression", finding.property, release))
    return found
