"""Evidence behind a conformance finding, decoded from columns the conformance query already has.

Per expected property the query collects, for the rows that break it (a required property
missing, a value of the wrong type, a broken value rule): up to 5 distinct offending values
(their JSON text), up to 3 example events, and the count per *release*. A release is the row's
``$lib``, ``$lib_version`` and ``$app_version`` (``$app_build`` when there is no version); per
event the query also counts every release's events and its first time in the window. From those
numbers alone, with no further query, this module:

* fingerprints the values unless the caller asked to see them (:func:`fingerprint`);
* links each example to its event, person and session replay in PostHog's web app
  (``/project/<id>/events/<uuid>/<timestamp>``, ``/person/<distinct id>``, ``/replay/<session>``,
  as PostHog's ``frontend/src/urls.ts`` builds them);
* breaks the violation rate down by SDK release and by app version, and names the first release
  whose rate crossed the line (:func:`regression`): the earliest release, in version order, whose
  rate is at least twice that of the same SDK's earlier releases and at least 1 %, with at least
  3 violations.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal
from urllib.parse import quote

from eventschema_tools.audit.model import Evidence, ExampleEvent, Regression, VersionRate

__all__ = [
    "MAX_EXAMPLES",
    "MAX_VALUES",
    "RELEASE_KEY",
    "RELEASE_PROPERTIES",
    "EvidenceContext",
    "decode_evidence",
    "fingerprint",
    "map_counts",
    "regression",
    "release_key",
    "version_order",
]

MAX_VALUES: Final = 5
"""Distinct offending values kept per property."""
MAX_EXAMPLES: Final = 3
"""Example events kept per property."""
RELEASE_PROPERTIES: Final = ("$lib", "$lib_version", "$app_version", "$app_build")
"""The properties whose text, joined with ``|``, names a row's release."""


def release_key(text_of: Callable[[str], str]) -> str:
    """HogQL of a row's release, ``lib|lib_version|app_version|app_build`` (``''`` where
    absent), reading each property's text with the HogQL ``text_of(name)`` gives."""
    return "concat(" + ", '|', ".join(text_of(key) for key in RELEASE_PROPERTIES) + ")"


RELEASE_KEY: Final = release_key(lambda key: f"JSONExtractString(properties, '{key}')")
"""HogQL of a row's release, each property read from ``properties`` by itself."""

_REGRESSION_FACTOR: Final = 2.0
_REGRESSION_MIN_RATE: Final = 0.01
_REGRESSION_MIN_VIOLATIONS: Final = 3
_REGRESSION_Z: Final = 3.0
_CONCENTRATION: Final = 0.8
_VERSION_PART: Final = re.compile(r"(\d+)")

Field = Literal["$lib_version", "$app_version"]


@dataclass(frozen=True)
class EvidenceContext:
    """Where links point and whether raw values may be shown.

    Attributes:
        host: PostHog's address (``https://us.posthog.com``).
        project_id: The project, as in the web app's URLs.
        show_values: Keep offending values as they are instead of fingerprints.
    """

    host: str
    project_id: str
    show_values: bool = False


def fingerprint(raw: str) -> str:
    """A value as its JSON type, size and a short SHA-256: ``<string, 6 chars, sha256:1a2b3c4d>``.

    The same value always gives the same fingerprint, so runs can be compared without the value
    itself in the report. It is not encryption: a guessed value can be checked against it.
    """
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, bool) or value is None:
        kind = "boolean" if isinstance(value, bool) else "null"
        return f"<{kind}, sha256:{digest}>"
    if isinstance(value, int | float):
        return f"<number, sha256:{digest}>"
    if isinstance(value, str):
        return f"<string, {len(value)} chars, sha256:{digest}>"
    kind = "array" if isinstance(value, list) else "object"
    return f"<{kind}, {len(value)} items, sha256:{digest}>"


def version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders ``4.9.0`` before ``4.12.0`` (numbers compared as numbers)."""
    parts = _VERSION_PART.split(version)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)


def decode_evidence(
    row: Mapping[str, object],
    slot: int,
    context: EvidenceContext,
) -> Evidence | None:
    """The evidence of one property (slot ``slot`` of a conformance row), or ``None`` when no
    row broke it."""
    violations = map_counts(row.get(f"release_violations_{slot}"))
    if not violations:
        return None
    events = map_counts(row.get("release_events"))
    first_seen = {
        key: _moment(value) for key, value in map_counts(row.get("release_first_seen")).items()
    }
    versions = _version_rates(events, violations, first_seen)
    raw_values = sorted(str(value) for value in _items(row.get(f"values_{slot}")))[:MAX_VALUES]
    total = sum(violations.values())
    top = max(
        (item for item in versions if item.field == "$lib_version"),
        key=lambda item: item.violations,
        default=None,
    )
    return Evidence(
        values=raw_values if context.show_values else [fingerprint(value) for value in raw_values],
        values_shown=context.show_values,
        examples=[
            example
            for text in _items(row.get(f"examples_{slot}"))[:MAX_EXAMPLES]
            if (example := _example(str(text), context)) is not None
        ],
        versions=sorted(versions, key=lambda item: (-item.rate, -item.violations, item.lib)),
        regression=regression(versions),
        concentrated_in=top
        if top is not None and top.version and top.violations >= _CONCENTRATION * total
        else None,
    )


def regression(versions: Iterable[VersionRate]) -> Regression | None:
    """The first release, in version order, whose violation rate crossed the line.

    Per SDK and per field (``$lib_version``, then ``$app_version``): walking the releases from
    the oldest, the first whose rate is at least twice the rate of the earlier releases together
    (and at least 1 %, from at least 3 violations, with a two-proportion z of at least 3).
    Releases with no earlier release of the same SDK in the window cannot be a regression:
    nothing shows the property worked before.
    """
    found: list[Regression] = []
    by_lib: dict[tuple[str, Field], list[VersionRate]] = {}
    for item in versions:
        if item.version:
            by_lib.setdefault((item.lib, item.field), []).append(item)
    for (lib, field), releases in sorted(by_lib.items()):
        earlier_events = earlier_violations = 0
        for release in sorted(releases, key=lambda item: version_order(item.version)):
            if earlier_events:
                before = earlier_violations / earlier_events
                if (
                    release.violations >= _REGRESSION_MIN_VIOLATIONS
                    and release.rate >= _REGRESSION_MIN_RATE
                    and release.rate >= _REGRESSION_FACTOR * before
                    and _rise(release, earlier_violations, earlier_events) >= _REGRESSION_Z
                ):
                    found.append(
                        Regression(
                            lib=lib,
                            field=field,
                            version=release.version,
                            rate=release.rate,
                            earlier_rate=before,
                            first_seen=release.first_seen,
                        )
                    )
                    break
            earlier_events += release.events
            earlier_violations += release.violations
    if not found:
        return None
    # SDK releases explain more than app versions; among those, the largest jump.
    return max(
        found, key=lambda item: (item.field == "$lib_version", item.rate - item.earlier_rate)
    )


def _rise(release: VersionRate, earlier_violations: int, earlier_events: int) -> float:
    """The two-proportion z statistic of the release's rate against the earlier releases'."""
    pooled = (release.violations + earlier_violations) / (release.events + earlier_events)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / release.events + 1 / earlier_events))
    before = earlier_violations / earlier_events
    return (release.rate - before) / spread if spread else 0.0


def _version_rates(
    events: Mapping[str, int],
    violations: Mapping[str, int],
    first_seen: Mapping[str, datetime | None],
) -> list[VersionRate]:
    totals: dict[tuple[str, Field, str], list[int]] = {}
    seen: dict[tuple[str, Field, str], datetime] = {}
    for key, count in events.items():
        lib, lib_version, app_version, app_build = ([*key.split("|"), "", "", "", ""])[:4]
        bad = violations.get(key, 0)
        fields: list[tuple[Field, str]] = [("$lib_version", lib_version)]
        if app_version or app_build:
            fields.append(("$app_version", app_version or app_build))
        for field, version in fields:
            slot = (lib, field, version)
            pair = totals.setdefault(slot, [0, 0])
            pair[0] += count
            pair[1] += bad
            moment = first_seen.get(key)
            if moment is not None and (slot not in seen or moment < seen[slot]):
                seen[slot] = moment
    return [
        VersionRate(
            lib=lib,
            field=field,
            version=version,
            events=count,
            violations=bad,
            rate=bad / count if count else 0.0,
            first_seen=seen.get((lib, field, version)),
        )
        for (lib, field, version), (count, bad) in totals.items()
        if count
    ]


def _example(text: str, context: EvidenceContext) -> ExampleEvent | None:
    parts = text.split("|", 3)
    if len(parts) != 4 or not parts[0]:
        return None
    uuid, seconds, session, distinct_id = parts
    moment = _moment(seconds)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
    base = f"{context.host.rstrip('/')}/project/{quote(context.project_id, safe='')}"
    return ExampleEvent(
        uuid=uuid,
        timestamp=moment,
        distinct_id=distinct_id,
        session_id=session or None,
        url=f"{base}/events/{quote(uuid, safe='')}/{quote(stamp, safe='')}",
        person_url=f"{base}/person/{quote(distinct_id, safe='')}",
        replay_url=f"{base}/replay/{quote(session, safe='')}" if session else None,
    )


def map_counts(value: object) -> dict[str, int]:
    """A ``sumMap``/``minMap`` answer as a dict: ``[keys, values]``, an object, or either as
    JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if isinstance(value, Mapping):
        return {str(key): int(count) for key, count in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        keys, counts = value
        if isinstance(keys, Sequence) and isinstance(counts, Sequence):
            return {str(key): int(count) for key, count in zip(keys, counts, strict=False)}
    return {}


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _moment(value: object) -> datetime | None:
    try:
        seconds = int(str(value))
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
