"""The privacy audit: personal data in any property of any event, and the plan's privacy policy.

One HogQL query per 200 event names reads every property of every event in the window (planned
or not) once, as (event, property) rows: how many events carry it and how many of its values
look like each kind of personal data, with a few matching values. Names are checked here, not
in HogQL. Card-like digit runs are confirmed with a Luhn check on those values on this
machine. Values never leave this module unmasked: findings show masked examples only
(``j***@***.com``, ``**** **** **** 4242``).

The plan says what may be sent: ``pii: hash|drop|allow`` on a property (``allow`` with its
``pii_reason``) and ``forbidden_properties`` per event or for the whole plan. ``allow``
suppresses the findings on that property; ``hash`` suppresses the name finding but still
reports raw values; ``drop`` and forbidden properties are reported whenever they arrive.

What each detector matches is listed in ``docs/audits.md#privacy``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eventschema_tools.audit.model import AuditKind, Finding, Severity
from eventschema_tools.audit.queries import MAX_ROWS, WINDOW_FILTER, HogQLQuery, sample_clause
from eventschema_tools.models import HogQLResult
from eventschema_tools.tracking_plan.file import TrackingPlan
from eventschema_tools.tracking_plan.personal_data import pii_name_term

__all__ = [
    "EVENTS_PER_QUERY",
    "VALUE_DETECTORS",
    "PropertyValues",
    "decode_privacy",
    "luhn_valid",
    "mask",
    "personal_kind",
    "privacy_findings",
    "privacy_queries",
]

EVENTS_PER_QUERY: Final = 200
SAMPLES: Final = 5

# No letter, digit or dash on either side: UUID segments and words do not count.
_EDGE_START: Final = r"(^|[^0-9A-Za-z-])"
_EDGE_END: Final = r"($|[^0-9A-Za-z-])"

VALUE_DETECTORS: Final = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "iban": _EDGE_START + r"[A-Z]{2}[0-9]{2}( ?[A-Z0-9]){11,30}" + _EDGE_END,
    "jwt": r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}",
    "api_key": r"((sk|pk|rk)_(live|test)_[A-Za-z0-9]{16,}|ghp_[A-Za-z0-9]{36}"
    r"|github_pat_[A-Za-z0-9_]{40,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_-]{35}|phx_[A-Za-z0-9]{20,})",
    "card": _EDGE_START + r"[2-6]([ -]?[0-9]){12,18}" + _EDGE_END,
    "phone": _EDGE_START
    + r"(\+[1-9]([ .-]?[0-9]){7,14}"
    + r"|\(?[2-9][0-9]{2}\)?[ .-][0-9]{3}[ .-][0-9]{4}"
    + r"|0[0-9]{2,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4})"
    + _EDGE_END,
}
"""RE2 patterns (ClickHouse's ``match``) searched in each raw JSON value; ``card`` finds
candidates only, which the Luhn check on the examples confirms. :func:`personal_kind` tries
them in this order, so an IBAN with spaces counts as an IBAN before it counts as a phone."""

_WHAT: Final = {
    "email": "an email address",
    "phone": "a phone number",
    "iban": "an IBAN",
    "jwt": "a JSON Web Token",
    "api_key": "an API key",
    "card": "a payment card number (Luhn-valid)",
}
_COMPILED: Final = {kind: re.compile(pattern) for kind, pattern in VALUE_DETECTORS.items()}
_FIX: Final = (
    "Stop sending it (or hash it in the app), then declare it in the plan: pii: hash, drop or "
    "allow (with pii_reason) on the property."
)


@dataclass(frozen=True)
class PropertyValues:
    """One property of one event over the window: how often it arrived and what it held.

    Attributes:
        event: The event name.
        name: The property name.
        events: Events carrying the property.
        matches: Per detector, how many of those values matched it.
        samples: Per detector, up to five distinct matching values, raw (never shown).
    """

    event: str
    name: str
    events: int
    matches: Mapping[str, int]
    samples: Mapping[str, tuple[str, ...]]


def privacy_queries(
    events: Sequence[str], window_seconds: int, sample: float | None = None
) -> Iterator[HogQLQuery]:
    """One query per :data:`EVENTS_PER_QUERY` event names."""
    ordered = sorted(set(events))
    for start in range(0, len(ordered), EVENTS_PER_QUERY):
        yield _query(ordered[start : start + EVENTS_PER_QUERY], window_seconds, sample)


def _query(events: Sequence[str], window_seconds: int, sample: float | None) -> HogQLQuery:
    columns = []
    values: dict[str, Any] = {"events": list(events), "window_seconds": int(window_seconds)}
    for kind, pattern in VALUE_DETECTORS.items():
        values[f"re_{kind}"] = pattern
        test = f"match(tupleElement(kv, 2), {{re_{kind}}})"
        columns.append(f"countIf({test}) AS n_{kind}")
        columns.append(f"groupUniqArrayIf({SAMPLES})(tupleElement(kv, 2), {test}) AS s_{kind}")
    query = (
        "SELECT event, tupleElement(arrayJoin(JSONExtractKeysAndValuesRaw(properties)) AS kv, 1)"
        " AS name, count() AS total,\n  "
        + ",\n  ".join(columns)
        + f"\nFROM events{sample_clause(sample)}\nWHERE event IN {{events}} AND {WINDOW_FILTER}\n"
        f"GROUP BY event, name\nORDER BY event, name\nLIMIT {MAX_ROWS}"
    )
    return HogQLQuery(query, values)


def decode_privacy(result: HogQLResult) -> list[PropertyValues]:
    """Turn a privacy query's rows into :class:`PropertyValues`."""
    found = []
    for row in result.rows():
        found.append(
            PropertyValues(
                event=str(row["event"]),
                name=str(row["name"]),
                events=int(row["total"]),
                matches={kind: int(row[f"n_{kind}"] or 0) for kind in VALUE_DETECTORS},
                samples={
                    kind: tuple(_unquoted(item) for item in row[f"s_{kind}"] or ())
                    for kind in VALUE_DETECTORS
                },
            )
        )
    return found


def _unquoted(raw: object) -> str:
    # Values arrive as raw JSON: a string comes quoted and escaped, anything else as written.
    text = str(raw)
    if text.startswith('"'):
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        return decoded if isinstance(decoded, str) else text
    return text


def personal_kind(value: str) -> str | None:
    """The kind of personal data ``value`` holds (``email``, ``card``...), or ``None``: the
    audit's detectors, run here (a card number must pass the Luhn check)."""
    for kind, pattern in _COMPILED.items():
        found = pattern.search(value)
        if found is not None and (kind != "card" or luhn_valid(found.group(0))):
            return kind
    return None


def luhn_valid(text: str) -> bool:
    """True when the digits of ``text`` (13 to 19 of them) pass the Luhn check."""
    digits = [int(char) for char in text if char.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def mask(kind: str, value: str) -> str:
    """The part of ``value`` that matched ``kind``, masked: enough to recognise, not to use."""
    found = _COMPILED[kind].search(value)
    text = found.group(0).strip(" \"'()<>,;:") if found else value
    if kind == "email":
        local, _, domain = text.partition("@")
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@***.{tld}"
    if kind in ("card", "phone", "iban"):
        keep = 4 if kind != "phone" else 2
        digits_seen = sum(char.isalnum() for char in text)
        shown, out = 0, []
        for char in text:
            if char.isalnum():
                shown += 1
                out.append(char if shown > digits_seen - keep else "*")
            else:
                out.append(char)
        return "".join(out)
    return text[:4] + "***"


@dataclass(frozen=True)
class _Policy:
    decisions: Mapping[tuple[str, str], str]  # (event, property) -> hash | drop | allow
    anywhere: Mapping[str, str]  # property -> decision, from any group
    forbidden: Mapping[str, frozenset[str]]  # event -> names; "*" for the whole plan

    def decision(self, event: str, name: str) -> str | None:
        return self.decisions.get((event, name), self.anywhere.get(name))

    def forbids(self, event: str, name: str) -> bool:
        return name in self.forbidden.get(event, frozenset()) or name in self.forbidden.get(
            "*", frozenset()
        )


def _policy(plan: TrackingPlan | None) -> _Policy:
    if plan is None:
        return _Policy({}, {}, {})
    decisions: dict[tuple[str, str], str] = {}
    anywhere: dict[str, str] = {}
    for group in plan.property_groups.values():
        for name, prop in group.properties.items():
            if prop.pii is not None:
                anywhere.setdefault(name, prop.pii)
    for event, spec in plan.events.items():
        for group_name in spec.groups:
            bound = plan.property_groups.get(group_name)
            for name, prop in bound.properties.items() if bound else ():
                if prop.pii is not None:
                    decisions[(event, name)] = prop.pii
    forbidden = {event: frozenset(spec.forbidden_properties) for event, spec in plan.events.items()}
    forbidden["*"] = frozenset(plan.forbidden_properties)
    return _Policy(decisions, anywhere, forbidden)


def privacy_findings(
    found: Sequence[PropertyValues], plan: TrackingPlan | None, window_label: str
) -> list[Finding]:
    """Findings for personal data and forbidden properties in ``found``.

    Args:
        found: Every property of every event in the window.
        plan: The plan whose ``pii`` decisions and ``forbidden_properties`` apply, if any.
        window_label: The window as given, for messages.
    """
    policy = _policy(plan)
    findings: list[Finding] = []
    for item in found:
        decision = policy.decision(item.event, item.name)
        where = f'"{item.name}" on "{item.event}"'
        if policy.forbids(item.event, item.name) or decision == "drop":
            why = "pii: drop" if decision == "drop" else "forbidden_properties"
            findings.append(
                _finding(
                    "forbidden_property",
                    item,
                    f"{where} arrived on {item.events} events in {window_label}; the plan says "
                    f"it must not be sent ({why}).",
                    "Stop sending it from the app (its SDK call or a before_send hook).",
                )
            )
            continue
        if decision == "allow":
            continue
        # PostHog's own properties have fixed names ($ip is its business), not fixed values:
        # an email in $current_url's query string is a leak all the same.
        term = pii_name_term(item.name) if not item.name.startswith("$") else None
        if term is not None and decision is None:
            findings.append(
                _finding(
                    "pii_property_name",
                    item,
                    f"{where} looks personal by its name ({term!r}): {item.events} events in "
                    f"{window_label}.",
                    _FIX,
                )
            )
        findings.extend(_value_findings(item, where, window_label, hashed=decision == "hash"))
    return findings


def _value_findings(
    item: PropertyValues, where: str, window_label: str, *, hashed: bool
) -> Iterator[Finding]:
    for kind in VALUE_DETECTORS:
        matches = item.matches.get(kind, 0)
        samples = item.samples.get(kind, ())
        if not matches:
            continue
        if kind == "card":
            confirmed = [value for value in samples if luhn_valid(value)]
            if not confirmed:
                continue
            # Only the examples are checked: scale the count by the share that passed.
            matches = round(matches * len(confirmed) / len(samples))
            samples = tuple(confirmed)
        shown = ", ".join(mask(kind, value) for value in samples[:3])
        declared = " although the plan declares it pii: hash" if hashed else ""
        share = matches / item.events if item.events else 0.0
        yield _finding(
            f"pii_{kind}",
            item,
            f"{where} holds {_WHAT[kind]} in {matches} of {item.events} values "
            f"({share:.1%}) in {window_label}{declared}, e.g. {shown}.",
            _FIX,
            matches=matches,
        )


def _finding(
    code: str, item: PropertyValues, message: str, fix: str, *, matches: int | None = None
) -> Finding:
    counts = {"events": item.events}
    rates: dict[str, float] = {}
    if matches is not None:
        counts["matches"] = matches
        rates["matches"] = matches / item.events if item.events else 0.0
    return Finding(
        severity=Severity.ERROR,
        kind=AuditKind.PRIVACY,
        code=code,
        event=item.event,
        property=item.name,
        counts=counts,
        rates=rates,
        message=message,
        fix=fix,
    )
