"""The volume audit: planned events that stopped, fell or spiked, and properties that went quiet.

One HogQL query (:func:`volume_queries`; more only past the query-size budget) reads 28 days
of events grouped by planned event, with every other event in one row named ``""``. Per row:

* ``hourly``: events per hour, keyed by whole hours ago (``sumMap``), for 672 hours;
* ``recent_releases`` / ``earlier_releases``: events per release (``$lib``, ``$lib_version``,
  ``$app_version``) inside the window and before it;
* per optional property of the event: how many events carried it inside the window and before,
  and, inside the window, the events without it per release.

Everything else is computed here, without I/O (:func:`volume_findings`):

* **The prediction.** The window is compared with the same hours of each of the 3 previous
  weeks (so hour of week matches: a quiet Sunday is compared with earlier Sundays). In each
  week the event's share of the *rest* of the project's traffic (every other event) is measured,
  and applied to the rest of the traffic in the window: a project-wide lull lowers the
  prediction with it. The prediction is the median of the 3 weeks; their spread is the median
  absolute deviation (MAD, scaled by 1.4826), and a change must exceed ``min_z`` times the larger
  of that spread and Poisson noise (``√prediction``). Events with fewer than 2 such weeks of
  history get no prediction (one ``no_baseline`` info finding lists them).
* ``missing_event`` (error): no event for at least ``missing_after_hours`` while at least
  ``min_expected`` were predicted for the hours since it was last seen (up to the window), that
  prediction scaled by the event's own rate earlier in the window when it had fallen.
* ``volume_drop``: the window's volume fell by at least ``drop`` of the prediction (an error from
  ``drop_error``); ``volume_spike`` (warning): it rose to ``spike`` times the prediction.
* ``presence_drop`` (warning): an optional property's carry rate in the window fell by at least
  ``presence_drop`` of its rate before the window (a two-proportion z-test of at least
  ``min_z``).
* **The likely cause**, from the release counts: a release new in the window that carries a
  large share of the project's traffic but few of the event's, a release behind most of a
  spike, or the release behind most events without a property.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Final

from eventschema_tools.audit.evidence import RELEASE_KEY, map_counts
from eventschema_tools.audit.expectations import EventExpectation
from eventschema_tools.audit.model import AuditKind, Finding, Severity, format_rate
from eventschema_tools.audit.queries import (
    EVENT_INDEX,
    MAX_QUERY_CHARS,
    MAX_ROWS,
    HogQLQuery,
    QueryValues,
    sample_clause,
    split_into_queries,
)
from eventschema_tools.audit.thresholds import VolumeLimits
from eventschema_tools.models import HogQLResult

__all__ = [
    "BASELINE_WEEKS",
    "HISTORY_HOURS",
    "EventVolumeHistory",
    "decode_volume",
    "volume_findings",
    "volume_queries",
]

BASELINE_WEEKS: Final = 3
"""Earlier weeks the window is compared with."""
WEEK_HOURS: Final = 168
HISTORY_HOURS: Final = WEEK_HOURS * (BASELINE_WEEKS + 1)
"""How far back the volume query reads: 28 days."""
_MIN_WEEKS: Final = 2
_MAD_SCALE: Final = 1.4826
_OTHER: Final = ""
_NEW_RELEASE_SHARE: Final = 0.05
_CONCENTRATION: Final = 0.8


@dataclass
class EventVolumeHistory:
    """One row of the volume query: an event's hourly counts, releases and optional properties.

    Attributes:
        event: The planned event (``""``: every other event together).
        hourly: Events per whole hour ago (0 = the last hour).
        recent_releases: Events per release inside the window (``lib lib_version``).
        earlier_releases: Events per release before the window.
        present: Per optional property, events carrying it (inside the window, before it).
        absent_releases: Per optional property, events without it inside the window, per
            release.
    """

    event: str
    hourly: dict[int, int] = field(default_factory=dict)
    recent_releases: dict[str, int] = field(default_factory=dict)
    earlier_releases: dict[str, int] = field(default_factory=dict)
    present: dict[str, tuple[int, int]] = field(default_factory=dict)
    absent_releases: dict[str, dict[str, int]] = field(default_factory=dict)

    def between(self, start: int, hours: int) -> int:
        """Events from ``start`` to ``start + hours`` hours ago."""
        return sum(self.hourly.get(hour, 0) for hour in range(start, start + hours))


def volume_queries(
    expected: Sequence[EventExpectation],
    window_hours: int,
    *,
    sample: float | None = None,
    max_chars: int = MAX_QUERY_CHARS,
) -> list[tuple[HogQLQuery, list[EventExpectation]]]:
    """The volume queries of ``expected`` (one for hundreds of events), each with its events."""
    ordered = sorted(expected, key=lambda item: item.event)
    return split_into_queries(
        ordered,
        lambda chunk: _volume_query(chunk, window_hours, sample),
        max_chars=max_chars,
        max_items=MAX_ROWS - 1,
    )


def _optional(item: EventExpectation) -> list[str]:
    return sorted(prop.name for prop in item.properties if not prop.required)


def _volume_query(
    chunk: Sequence[EventExpectation], window_hours: int, sample: float | None
) -> HogQLQuery:
    values = QueryValues([item.event for item in chunk], HISTORY_HOURS * 3600)
    values.data["window_hours"] = int(window_hours)
    recent = "hours_ago < {window_hours}"
    columns = [
        f"if(({EVENT_INDEX} AS ei) > 0, event, '{_OTHER}') AS name",
        "sumMap([intDiv(dateDiff('second', timestamp, now()), 3600) AS hours_ago], [1]) AS hourly",
        f"sumMapIf([{RELEASE_KEY} AS release], [1], {recent}) AS recent_releases",
        f"sumMapIf([release], [1], NOT {recent}) AS earlier_releases",
    ]
    optional = [_optional(item) for item in chunk]
    for k in range(max((len(names) for names in optional), default=0)):
        lookup = values.per_event(
            f"o{k}", [names[k] if k < len(names) else None for names in optional]
        )
        # Events without slot K read '' as its name (never a property name).
        carried = f"ei > 0 AND oname_{k} != '' AND JSONType(properties, oname_{k})"
        columns += [
            f"countIf({recent} AND ei > 0 AND ({lookup} AS oname_{k}) != ''"
            f" AND JSONType(properties, oname_{k}) != 'Null') AS recent_present_{k}",
            f"countIf(NOT {recent} AND {carried} != 'Null') AS earlier_present_{k}",
            f"sumMapIf([release], [1], {recent} AND {carried} = 'Null') AS absent_releases_{k}",
        ]
    query = (
        "SELECT " + ",\n  ".join(columns) + f"\nFROM events{sample_clause(sample)}\n"
        "WHERE timestamp >= now() - toIntervalSecond({window_seconds})\n"
        f"GROUP BY name\nORDER BY name\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, values.data)


def decode_volume(
    result: HogQLResult, chunk: Sequence[EventExpectation]
) -> list[EventVolumeHistory]:
    """Turn a volume query's rows into one history per event of ``chunk`` plus the other
    traffic (``event == ""``); events without rows get empty histories."""
    rows = {str(row["name"]): row for row in result.rows()}
    histories = []
    for item in [*chunk, None]:
        name = item.event if item is not None else _OTHER
        row = rows.get(name, {})
        history = EventVolumeHistory(
            event=name,
            hourly={int(key): count for key, count in map_counts(row.get("hourly")).items()},
            recent_releases=_releases(row.get("recent_releases")),
            earlier_releases=_releases(row.get("earlier_releases")),
        )
        for k, prop in enumerate(_optional(item) if item is not None else []):
            history.present[prop] = (
                int(row.get(f"recent_present_{k}", 0)),
                int(row.get(f"earlier_present_{k}", 0)),
            )
            history.absent_releases[prop] = _releases(row.get(f"absent_releases_{k}"))
        histories.append(history)
    return histories


def _releases(value: object) -> dict[str, int]:
    """Counts per ``lib lib_version`` (app versions folded in), from a release map."""
    folded: dict[str, int] = {}
    for key, count in map_counts(value).items():
        lib, version = ([*key.split("|"), "", ""])[:2]
        label = f"{lib} {version}".strip()
        if label:
            folded[label] = folded.get(label, 0) + count
    return folded


# --- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prediction:
    expected: float
    sigma: float

    def z(self, observed: float) -> float:
        return (observed - self.expected) / self.sigma


def _predict(
    event: EventVolumeHistory, total: EventVolumeHistory, start: int, hours: int
) -> _Prediction | None:
    """What the same hours of the earlier weeks predict for ``hours`` hours from ``start``."""
    rest_now = total.between(start, hours) - event.between(start, hours)
    guesses = []
    for week in range(1, BASELINE_WEEKS + 1):
        shift = start + week * WEEK_HOURS
        everything = total.between(shift, hours)
        if everything == 0:
            continue  # the project had no traffic yet: no history for that week
        count = event.between(shift, hours)
        rest = everything - count
        guesses.append(count / rest * rest_now if rest > 0 and rest_now > 0 else float(count))
    if len(guesses) < _MIN_WEEKS:
        return None
    centre = median(guesses)
    spread = _MAD_SCALE * median(abs(guess - centre) for guess in guesses)
    return _Prediction(centre, max(spread, math.sqrt(max(centre, 1.0))))


def volume_findings(
    histories: Sequence[EventVolumeHistory],
    limits: VolumeLimits,
    *,
    window_hours: int,
    window_label: str,
    now: datetime,
) -> list[Finding]:
    """Grade each planned event's volume and optional properties (see the module's rules).

    Args:
        histories: The decoded rows of one or more volume queries (each query's ``""`` row
            is the traffic outside its events).
        limits: The volume thresholds.
        window_hours: The window, in whole hours.
        window_label: The window, for messages.
        now: When the audit ran (for "last seen" times).
    """
    findings: list[Finding] = []
    without_baseline: list[str] = []
    for events, total in _by_query(histories):
        scope = _Scope(total, limits, window_hours, window_label, now, _new_releases(total))
        for event in events:
            found = _event_findings(event, scope)
            if found is None:
                without_baseline.append(event.event)
            else:
                findings.extend(found)
    if without_baseline:
        names = sorted(without_baseline)
        listed = ", ".join(f'"{name}"' for name in names[:5])
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        findings.append(
            _finding(
                Severity.INFO,
                "no_baseline",
                None,
                message=f"No volume baseline for {len(names)} planned event(s) ({listed}{more}): "
                f"the volume audit needs at least {_MIN_WEEKS} of the {BASELINE_WEEKS} weeks "
                "before the window.",
                fix="Wait until the project has a few weeks of events; drift, conformance and "
                "freshness checks work meanwhile.",
                counts={"events": len(names)},
            )
        )
    return findings


def _by_query(
    histories: Sequence[EventVolumeHistory],
) -> list[tuple[list[EventVolumeHistory], EventVolumeHistory]]:
    """Split decoded rows back into queries: each query's events end with its ``""`` row."""
    groups: list[tuple[list[EventVolumeHistory], EventVolumeHistory]] = []
    events: list[EventVolumeHistory] = []
    for history in histories:
        if history.event == _OTHER:
            total = EventVolumeHistory(_OTHER)
            for item in [*events, history]:
                for hour, count in item.hourly.items():
                    total.hourly[hour] = total.hourly.get(hour, 0) + count
                for source, target in (
                    (item.recent_releases, total.recent_releases),
                    (item.earlier_releases, total.earlier_releases),
                ):
                    for key, count in source.items():
                        target[key] = target.get(key, 0) + count
            groups.append((events, total))
            events = []
        else:
            events.append(history)
    return groups


def _new_releases(total: EventVolumeHistory) -> dict[str, float]:
    """Releases first seen inside the window, with their share of the window's traffic."""
    recent = sum(total.recent_releases.values())
    return {
        release: count / recent
        for release, count in total.recent_releases.items()
        if recent and total.earlier_releases.get(release, 0) == 0
    }


@dataclass(frozen=True)
class _Scope:
    """What every event of one volume query is judged with."""

    total: EventVolumeHistory
    limits: VolumeLimits
    window_hours: int
    window_label: str
    now: datetime
    new_releases: Mapping[str, float]


def _event_findings(event: EventVolumeHistory, scope: _Scope) -> list[Finding] | None:
    window = _predict(event, scope.total, 0, scope.window_hours)
    if window is None:
        return None
    missing = _missing(event, scope)
    findings = [missing] if missing else []
    observed = event.between(0, scope.window_hours)
    if missing is None:
        findings += _drop_or_spike(event, window, observed, scope)
    earlier_events = sum(
        count for hour, count in event.hourly.items() if hour >= scope.window_hours
    )
    for prop, (recent, earlier) in sorted(event.present.items()):
        found = _presence_drop(
            event.event, prop, (recent, observed), (earlier, earlier_events), scope
        )
        if found is not None:
            cause = _concentrated(event.absent_releases.get(prop, {}))
            message = found.message[:-1] + cause + "."
            findings.append(found.model_copy(update={"message": message}))
    return findings


def _rate_before(event: EventVolumeHistory, scope: _Scope, quiet_hours: int) -> float:
    """The event's volume against its prediction in the window's hours before it went quiet.

    A quiet stretch after a drop is what the lower rate predicts, not a sign that the event
    stopped: an event down to 30 % has quiet nights. 1 when the whole window is quiet, or when
    too little was predicted before the stretch to tell.
    """
    before = scope.window_hours - quiet_hours
    if before <= 0:
        return 1.0
    predicted = _predict(event, scope.total, quiet_hours, before)
    if predicted is None or predicted.expected < scope.limits.min_expected:
        return 1.0
    return min(1.0, event.between(quiet_hours, before) / predicted.expected)


def _missing(event: EventVolumeHistory, scope: _Scope) -> Finding | None:
    last_hour = min((hour for hour, count in event.hourly.items() if count), default=None)
    # The whole quiet span counts, up to the window: the last few hours alone may be a quiet
    # night that predicts too little to judge, although the event has been gone for a day.
    quiet_hours = min(last_hour if last_hour is not None else HISTORY_HOURS, scope.window_hours)
    if quiet_hours < scope.limits.missing_after_hours:
        return None
    quiet = _predict(event, scope.total, 0, quiet_hours)
    if quiet is None or quiet.expected * _rate_before(event, scope, quiet_hours) < (
        scope.limits.min_expected
    ):
        return None
    seen = (
        f"last seen {scope.now - timedelta(hours=last_hour):%Y-%m-%d %H:00} UTC"
        if last_hour is not None
        else "not seen in 28 days"
    )
    name = event.event
    return _finding(
        Severity.ERROR,
        "missing_event",
        name,
        message=f'No "{name}" events in the last {quiet_hours}h where about '
        f"{quiet.expected:.0f} were expected ({seen}){_missing_cause(event, scope.new_releases)}.",
        fix=f'Check the release that stopped sending "{name}" (its SDK call or a renamed '
        "event), or remove it from the plan if it was retired.",
        counts={"expected": round(quiet.expected), "observed": 0},
        rates={"change": -1.0},
    )


def _drop_or_spike(
    event: EventVolumeHistory, window: _Prediction, observed: int, scope: _Scope
) -> list[Finding]:
    limits, name, label = scope.limits, event.event, scope.window_label
    change = observed / window.expected - 1 if window.expected else 0.0
    z = window.z(observed)
    counts = {"expected": round(window.expected), "observed": observed}
    rates = {"change": change, "z": z}
    dropped = change <= -limits.drop and z <= -limits.min_z
    if window.expected >= limits.min_expected and dropped:
        return [
            _finding(
                Severity.ERROR if change <= -limits.drop_error else Severity.WARNING,
                "volume_drop",
                name,
                message=f'"{name}" fell {format_rate(-change)} in the last {label}: {observed} '
                f"events where the same hours of earlier weeks predict {window.expected:.0f}"
                f"{_missing_cause(event, scope.new_releases)}.",
                fix="Look for a release or a code path that stopped sending it; compare the "
                "releases named here with the previous ones.",
                counts=counts,
                rates=rates,
            )
        ]
    spiked = observed >= limits.spike * window.expected and z >= limits.min_z
    if observed >= limits.min_expected and window.expected > 0 and spiked:
        return [
            _finding(
                Severity.WARNING,
                "volume_spike",
                name,
                message=f'"{name}" rose to {observed / window.expected:.1f}x its usual volume in '
                f"the last {label}: {observed} events where {window.expected:.0f} were "
                f"predicted{_spike_cause(event)}.",
                fix="Check for a duplicated capture call, a retry loop or a bot; if the growth "
                "is real, nothing to do.",
                counts=counts,
                rates=rates,
            )
        ]
    return []


def _presence_drop(
    event: str, prop: str, recent: tuple[int, int], earlier: tuple[int, int], scope: _Scope
) -> Finding | None:
    limits, window_label = scope.limits, scope.window_label
    (now_carried, now_total), (then_carried, then_total) = recent, earlier
    if now_total < limits.min_expected or then_total < limits.min_expected:
        return None
    now_rate, then_rate = now_carried / now_total, then_carried / then_total
    if then_rate == 0 or now_rate > then_rate * (1 - limits.presence_drop):
        return None
    pooled = (now_carried + then_carried) / (now_total + then_total)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / now_total + 1 / then_total))
    z = (now_rate - then_rate) / spread if spread else 0.0
    if z > -limits.min_z:
        return None
    return _finding(
        Severity.WARNING,
        "presence_drop",
        event,
        prop=prop,
        message=f'"{prop}" now comes with {format_rate(now_rate)} of "{event}" events in the last '
        f"{window_label}, down from {format_rate(then_rate)} before.",
        fix=f'Check the release that stopped setting "{prop}"; if it was retired, remove it '
        "from the group.",
        counts={"events": now_total, "carried": now_carried},
        rates={"presence": now_rate, "earlier_presence": then_rate, "z": z},
    )


def _missing_cause(event: EventVolumeHistory, new_releases: Mapping[str, float]) -> str:
    """A new release with a large share of all traffic but a small share of this event's."""
    recent = sum(event.recent_releases.values())
    if not recent:
        return ""  # nothing arrived at all: no release to compare
    candidates = []
    for release, share in new_releases.items():
        own = event.recent_releases.get(release, 0) / recent
        if share >= _NEW_RELEASE_SHARE and own < share / 2:
            candidates.append((share - own, release, share, own))
    if not candidates:
        return ""
    _, release, share, own = max(candidates)
    return (
        f"; {release} is new in the window ({format_rate(share)} of all events) and sent "
        f"{format_rate(own)} of these"
    )


def _spike_cause(event: EventVolumeHistory) -> str:
    recent = sum(event.recent_releases.values())
    for release, count in event.recent_releases.items():
        if recent and count >= _CONCENTRATION * recent and not event.earlier_releases.get(release):
            return f"; {format_rate(count / recent)} of them from {release}, new in the window"
    return ""


def _concentrated(counts: Mapping[str, int]) -> str:
    whole = sum(counts.values())
    if not whole:
        return ""
    release, count = max(counts.items(), key=lambda item: (item[1], item[0]))
    if count < _CONCENTRATION * whole:
        return ""
    return f"; {format_rate(count / whole)} of the events without it come from {release}"


def _finding(
    severity: Severity,
    code: str,
    event: str | None,
    *,
    message: str,
    fix: str,
    prop: str | None = None,
    counts: dict[str, int] | None = None,
    rates: dict[str, float] | None = None,
) -> Finding:
    return Finding(
        severity=severity,
        kind=AuditKind.VOLUME,
        code=code,
        event=event,
        property=prop,
        counts=counts or {},
        rates=rates or {},
        message=message,
        fix=fix,
    )
