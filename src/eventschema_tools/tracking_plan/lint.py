"""Lint a tracking-plan file: every problem with ``file:line:column`` and a fix hint.

Errors (lint exits 1):

* everything that makes the file unusable (see :func:`.file.validate_document`):
  YAML syntax, unknown keys and property types, references to undefined groups, ...;
* ``case-collision``: two groups, two events or two properties of a group whose names differ
  only by case (PostHog keeps both; people and dashboards mix them up);
* ``naming``: a name that breaks the naming convention asked for (``--naming``);
* ``pii-undecided``: a property whose name looks like personal data (``email``, ``phone``,
  ``ip_address``...; the list is ``personal_data.NAME_TERMS``) without a ``pii:`` decision.

Warnings (reported, lint still passes):

* ``reserved-prefix``: a property whose name starts with ``$`` (PostHog's own properties);
* ``portable-name``: a property name with characters other than letters, digits and ``_``
  (older PostHog versions and generated code reject them);
* ``name-whitespace``: an event name with leading or trailing spaces;
* ``unused-group``: a group no event uses;
* ``optional-in-types``: ``optional_in_types`` on a property that is not required (it only
  affects required properties);
* ``reject-without-required``: an event in ``reject`` mode whose groups require nothing, so
  enforcement has nothing to check;
* ``type-conflict``: an event that gets the same property with different types from two groups
  (PostHog then accepts either type);
* ``foreign-token``: a group description with a bare ``iac:`` token, which marks groups managed
  by another tool (this plan could no longer change or prune the group after apply);
* ``ack-misplaced``: an ``allow_breaking`` entry that can never match where it is (property
  changes are acknowledged on their group, ``enforcement_reject`` on the event);
* ``ack-unknown-property``: an ``allow_breaking`` entry naming a property its group lacks;
* ``ack-stale`` (``lint --live`` only): an ``allow_breaking`` entry no pending change matches
  (the change is applied: remove the entry);
* ``control-character``: a group, property or event name with control characters (escape
  sequences, tabs, line breaks) or bidi overrides (they make names read differently from what
  they are, and every report shows them escaped).

Lint reads the raw document, so it reports style problems even when the file has errors too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from eventschema_tools._text import printable
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.file import (
    PlanDocument,
    PlanFileError,
    Problem,
    read_document,
    validate_document,
)
from eventschema_tools.tracking_plan.impact import (
    ACKNOWLEDGEABLE,
    ImpactKind,
    StaleAcknowledgement,
)
from eventschema_tools.tracking_plan.ownership import foreign_token
from eventschema_tools.tracking_plan.personal_data import pii_name_term

__all__ = [
    "NamingConvention",
    "has_errors",
    "lint_document",
    "lint_file",
    "parse_convention",
    "stale_acknowledgement_problems",
    "to_convention",
]

_PORTABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")


class NamingConvention(StrEnum):
    """Naming conventions lint can enforce on event and property names."""

    SNAKE_CASE = "snake_case"
    CAMEL_CASE = "camelCase"
    PASCAL_CASE = "PascalCase"
    KEBAB_CASE = "kebab-case"
    TITLE_CASE = "Title Case"


_CONVENTION_PATTERN = {
    NamingConvention.SNAKE_CASE: re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"),
    NamingConvention.CAMEL_CASE: re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$"),
    NamingConvention.PASCAL_CASE: re.compile(r"^(?:[A-Z][a-z0-9]*)+$"),
    NamingConvention.KEBAB_CASE: re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"),
    NamingConvention.TITLE_CASE: re.compile(r"^[A-Z][a-z0-9]*(?: [A-Z][a-z0-9]*)*$"),
}


def parse_convention(text: str | None) -> NamingConvention | None:
    """Read a convention name leniently (``snake``, ``snake_case``, ``title case``, ...).

    Raises:
        InvalidInputError: not one of the known conventions.
    """
    if text is None:
        return None
    wanted = _compact(text)
    for convention in NamingConvention:
        if _compact(convention.value) in (wanted, wanted + "case"):
            return convention
    choices = ", ".join(f"'{c.value}'" for c in NamingConvention)
    raise InvalidInputError(
        f"unknown naming convention {text!r}; use one of {choices}", [("naming", text)]
    )


def _compact(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def to_convention(name: str, convention: NamingConvention) -> str:
    """``name`` rewritten in ``convention`` (``"Order Completed"`` → ``order_completed``)."""
    words: list[str] = [str(word).lower() for word in _WORDS.findall(name)]
    if not words:
        return name
    match convention:
        case NamingConvention.SNAKE_CASE:
            return "_".join(words)
        case NamingConvention.KEBAB_CASE:
            return "-".join(words)
        case NamingConvention.CAMEL_CASE:
            return words[0] + "".join(word.capitalize() for word in words[1:])
        case NamingConvention.PASCAL_CASE:
            return "".join(word.capitalize() for word in words)
        case NamingConvention.TITLE_CASE:
            return " ".join(word.capitalize() for word in words)
    raise ValueError(f"unknown naming convention {convention!r}")  # pragma: no cover


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _groups(doc: PlanDocument) -> Mapping[Any, Any]:
    return _mapping(_mapping(doc.data).get("property_groups"))


def _events(doc: PlanDocument) -> Mapping[Any, Any]:
    return _mapping(_mapping(doc.data).get("events"))


def _properties(group: Any) -> Mapping[Any, Any]:
    return _mapping(_mapping(group).get("properties"))


def _group_refs(event: Any) -> list[str]:
    refs = _mapping(event).get("groups")
    return [ref for ref in refs if isinstance(ref, str)] if isinstance(refs, list) else []


def _case_collisions(
    doc: PlanDocument, names: Mapping[Any, Any], where: tuple[Any, ...], what: str
) -> Iterator[Problem]:
    first: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str):
            continue
        folded = name.strip().casefold()
        if folded in first and first[folded].strip() != name.strip():
            yield doc.problem(
                (*where, name),
                f"{what} {name!r} differs from {first[folded]!r} only by case",
                hint="use one spelling; PostHog treats them as two different names",
                code="case-collision",
            )
        first.setdefault(folded, name)


def _naming(
    doc: PlanDocument, path: tuple[Any, ...], name: str, what: str, convention: NamingConvention
) -> Iterator[Problem]:
    if name.startswith("$") or _CONVENTION_PATTERN[convention].match(name):
        return
    yield doc.problem(
        path,
        f"{what} {name!r} is not {convention.value}",
        hint=f"rename it to '{to_convention(name, convention)}'",
        code="naming",
    )


def _control_characters(
    doc: PlanDocument, path: tuple[Any, ...], name: str, what: str
) -> Iterator[Problem]:
    if printable(name) != name:
        yield doc.problem(
            path,
            f"{what} {name!r} has control or bidi characters",
            hint="remove them; terminals would obey them, so reports show them escaped",
            code="control-character",
            severity="warning",
        )


def _property_warnings(doc: PlanDocument, path: tuple[Any, ...], name: str) -> Iterator[Problem]:
    if name.startswith("$"):
        yield doc.problem(
            path,
            f"property {name!r} starts with '$', the prefix of PostHog's own properties",
            hint="name your own properties without '$' unless you mean PostHog's property",
            code="reserved-prefix",
            severity="warning",
        )
    elif not _PORTABLE.match(name.strip()):
        yield doc.problem(
            path,
            f"property {name!r} has characters other than letters, digits and '_'",
            hint="older PostHog versions and generated code accept only [A-Za-z_][A-Za-z0-9_]*",
            code="portable-name",
            severity="warning",
        )


def _group_rules(doc: PlanDocument, property_naming: NamingConvention | None) -> Iterator[Problem]:
    groups = _groups(doc)
    used = {ref.strip() for event in _events(doc).values() for ref in _group_refs(event)}
    yield from _case_collisions(doc, groups, ("property_groups",), "group")
    for group_name, group in groups.items():
        path = ("property_groups", group_name)
        if isinstance(group_name, str):
            yield from _control_characters(doc, path, group_name, "group")
        if isinstance(group_name, str) and group_name.strip() not in used:
            yield doc.problem(
                path,
                f"group {group_name!r} is not used by any event",
                hint="bind it under an event's groups, or remove it",
                code="unused-group",
                severity="warning",
            )
        token = foreign_token(_text(_mapping(group).get("description")))
        if token is not None:
            yield doc.problem(
                (*path, "description"),
                f"description contains {token!r}, which marks groups managed by another tool",
                hint="after apply this plan could no longer change or prune the group; reword it",
                code="foreign-token",
                severity="warning",
            )
        properties = _properties(group)
        yield from _case_collisions(doc, properties, (*path, "properties"), "property")
        for prop_name, prop in properties.items():
            if not isinstance(prop_name, str):
                continue
            prop_path = (*path, "properties", prop_name)
            yield from _control_characters(doc, prop_path, prop_name, "property")
            yield from _property_warnings(doc, prop_path, prop_name)
            if property_naming is not None:
                yield from _naming(doc, prop_path, prop_name.strip(), "property", property_naming)
            spec = _mapping(prop)
            term = pii_name_term(prop_name) if not prop_name.startswith("$") else None
            if term is not None and "pii" not in spec:
                yield doc.problem(
                    prop_path,
                    f"property {prop_name!r} looks like personal data ({term!r}) and has no "
                    "pii decision",
                    hint="add pii: hash (send a hash), drop (never send it) or allow with "
                    "pii_reason: '...'",
                    code="pii-undecided",
                )
            if spec.get("optional_in_types") is True and spec.get("required") is not True:
                yield doc.problem(
                    (*prop_path, "optional_in_types"),
                    f"optional_in_types has no effect: property {prop_name!r} is not required",
                    hint="remove optional_in_types, or set required: true",
                    code="optional-in-types",
                    severity="warning",
                )


def _event_rules(doc: PlanDocument, event_naming: NamingConvention | None) -> Iterator[Problem]:
    events = _events(doc)
    groups = {str(name).strip(): group for name, group in _groups(doc).items()}
    yield from _case_collisions(doc, events, ("events",), "event")
    for name, event in events.items():
        if not isinstance(name, str):
            continue
        path = ("events", name)
        yield from _control_characters(doc, path, name, "event")
        if name != name.strip():
            yield doc.problem(
                path,
                f"event {name!r} has leading or trailing spaces",
                hint="SDKs send the name exactly; remove the spaces unless events carry them",
                code="name-whitespace",
                severity="warning",
            )
        if event_naming is not None:
            yield from _naming(doc, path, name, "event", event_naming)
        bound = [groups[ref.strip()] for ref in _group_refs(event) if ref.strip() in groups]
        yield from _type_conflicts(doc, path, name, _group_refs(event), groups)
        if _mapping(event).get("enforcement") == "reject" and not any(
            _mapping(prop).get("required") is True
            for group in bound
            for prop in _properties(group).values()
        ):
            yield doc.problem(
                (*path, "enforcement"),
                f"event {name!r} rejects events, but its groups require no property",
                hint="reject only drops events missing a required property; mark properties "
                "required: true, or use allow",
                code="reject-without-required",
                severity="warning",
            )


def _type_conflicts(
    doc: PlanDocument,
    path: tuple[Any, ...],
    event: str,
    refs: list[str],
    groups: Mapping[str, Any],
) -> Iterator[Problem]:
    seen: dict[str, tuple[str, Any]] = {}
    reported: set[str] = set()
    for ref in refs:
        for prop_name, prop in _properties(groups.get(ref.strip())).items():
            kind = _mapping(prop).get("type")
            if not isinstance(prop_name, str) or kind is None:
                continue
            if prop_name in seen and seen[prop_name][1] != kind and prop_name not in reported:
                reported.add(prop_name)
                other_group, other_kind = seen[prop_name]
                yield doc.problem(
                    (*path, "groups"),
                    f"event {event!r} gets property {prop_name!r} as {other_kind} from group "
                    f"{other_group!r} and as {kind} from group {ref!r}",
                    hint="give the property one type in both groups (PostHog would accept either)",
                    code="type-conflict",
                    severity="warning",
                )
            seen.setdefault(prop_name, (ref, kind))


# Where an acknowledgement can match a change: impacts of a group's properties carry the group
# only; impacts of a binding or an event's mode carry the event (and the binding's group).
_GROUP_KINDS: Final = frozenset(
    {
        ImpactKind.PROPERTY_REQUIRED,
        ImpactKind.PROPERTY_REMOVED,
        ImpactKind.TYPE_CHANGED,
        ImpactKind.OPTIONAL_IN_TYPES_DROPPED,
        ImpactKind.RULE_TIGHTENED,
        ImpactKind.GROUP_UNBOUND,
    }
)
_EVENT_KINDS: Final = frozenset(
    {ImpactKind.ENFORCEMENT_REJECT, ImpactKind.GROUP_UNBOUND, ImpactKind.PROPERTY_REQUIRED}
)


def _acknowledgement_rules(doc: PlanDocument) -> Iterator[Problem]:
    owners = [("property_groups", name, spec, _GROUP_KINDS) for name, spec in _groups(doc).items()]
    owners += [("events", name, spec, _EVENT_KINDS) for name, spec in _events(doc).items()]
    for section, name, spec, kinds in owners:
        entries = _mapping(spec).get("allow_breaking")
        if not isinstance(entries, list):
            continue
        properties = _properties(spec) if section == "property_groups" else {}
        for index, entry in enumerate(entries):
            path = (section, name, "allow_breaking", index)
            change, prop = _mapping(entry).get("change"), _mapping(entry).get("property")
            if change not in {kind.value for kind in ACKNOWLEDGEABLE}:
                continue  # validation reports it
            owner = "a group" if section == "property_groups" else "an event"
            if change not in {kind.value for kind in kinds}:
                yield doc.problem(
                    (*path, "change"),
                    f"{change} is never about {owner}, so this acknowledgement matches nothing",
                    hint="acknowledge property changes on their group, and enforcement_reject "
                    "on the event",
                    code="ack-misplaced",
                    severity="warning",
                )
            elif (
                section == "property_groups"
                and isinstance(prop, str)
                and prop not in properties
                and change not in ("property_removed", "group_unbound")
            ):
                yield doc.problem(
                    (*path, "property"),
                    f"group {name!r} has no property {prop!r}",
                    hint="name a property of the group (or leave property out)",
                    code="ack-unknown-property",
                    severity="warning",
                )


def stale_acknowledgement_problems(
    doc: PlanDocument, stale: Iterable[StaleAcknowledgement]
) -> list[Problem]:
    """``ack-stale`` warnings at the ``allow_breaking`` entries no pending change matches
    (from a plan computed against the project: ``lint --live``)."""
    problems = []
    for item in stale:
        key, name = ("property_groups", item.group) if item.group else ("events", item.event)
        entries = _mapping(_mapping(_mapping(doc.data).get(key)).get(name)).get("allow_breaking")
        index = next(
            (
                position
                for position, entry in enumerate(entries if isinstance(entries, list) else [])
                if _mapping(entry).get("change") == item.change
                and _mapping(entry).get("property") == item.property
            ),
            None,
        )
        path: tuple[Any, ...] = (key, name, "allow_breaking")
        problems.append(
            doc.problem(
                path if index is None else (*path, index),
                f"{item.subject} acknowledges {item.change}"
                + (f" of {item.property!r}" if item.property else "")
                + ", but no pending change matches it",
                hint="it is applied (or was never needed): remove the entry",
                code="ack-stale",
                severity="warning",
            )
        )
    return problems


def lint_document(
    doc: PlanDocument,
    *,
    naming: NamingConvention | None = None,
    event_naming: NamingConvention | None = None,
    property_naming: NamingConvention | None = None,
) -> list[Problem]:
    """Every problem in a parsed plan document, errors and warnings, in file order.

    Args:
        doc: the parsed document.
        naming: convention for event and property names.
        event_naming: convention for event names (overrides ``naming``).
        property_naming: convention for property names (overrides ``naming``).
    """
    _, problems = validate_document(doc)
    problems.extend(_group_rules(doc, property_naming or naming))
    problems.extend(_event_rules(doc, event_naming or naming))
    problems.extend(_acknowledgement_rules(doc))
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: (p.line or 0, p.column or 0, p.severity != "error"))
    return unique


def lint_file(
    path: str | Path,
    *,
    naming: NamingConvention | None = None,
    event_naming: NamingConvention | None = None,
    property_naming: NamingConvention | None = None,
) -> list[Problem]:
    """Lint a plan file; a file that cannot be parsed gives its parse problems."""
    try:
        doc = read_document(path)
    except PlanFileError as exc:
        return exc.problems
    return lint_document(
        doc, naming=naming, event_naming=event_naming, property_naming=property_naming
    )


def has_errors(problems: list[Problem]) -> bool:
    """True when any problem is an error (lint exits 1)."""
    return any(problem.severity == "error" for problem in problems)
