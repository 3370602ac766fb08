"""Who owns a property group or an event definition: ownership markers in PostHog objects.

PostHog has no tags on property groups, so ownership is recorded where posthog-definitions
records it too: an HTML comment at the end of the group's ``description`` (invisible when the
description is rendered as Markdown)::

    Properties every checkout event carries

    <!-- eventschema:plan=web-app -->

Rules (``plan.py`` applies them):

* A group **owned by a plan** carries ``<!-- eventschema:plan=<plan_id> -->``. ``apply`` writes
  that marker on every group it creates or rewrites; nothing else does.
* A group or event **owned by another tool** carries that tool's marker: posthog-definitions
  writes ``<!-- iac:property-groups:<key> iac:hash:<hex> -->`` into group descriptions and tags
  event definitions ``iac:event-definitions:<key>``. Any ``iac:`` token in a description counts,
  inside a comment or not. Such objects are never updated or deleted, and their marker text is
  never removed or rewritten.
* A plan may not put a marker comment in a description itself (the plan file is refused); lint
  warns about a bare ``iac:`` token there, which would make the group hands-off after apply.
* Every other description edit (``eventschema groups update -d``, the MCP tool, the library's
  ``Catalog.update_group``) keeps the markers the group carries and drops any marker comment in
  the new text (:func:`keep_markers`): a person changes the words, never who owns the group.
* Descriptions are compared without markers (:func:`visible_description`), so a marker never
  shows up as a change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "any_marker",
    "foreign_marker",
    "foreign_token",
    "keep_markers",
    "marker",
    "owner_plan",
    "visible_description",
    "with_marker",
]

_OURS = re.compile(r"<!--\s*eventschema:plan=(?P<plan>[A-Za-z0-9_.\-]+)\s*-->")
# Any HTML comment that carries an ownership marker: ours, or another tool's `iac:` marker. A
# marker starts at the nearest `<!--` before it, so a stray `<!--` in a person's text is kept.
_ANY_MARKER = re.compile(r"<!--(?:(?!-->|<!--).)*?\b(?:iac|eventschema):(?:(?!-->).)*?-->", re.S)
_FOREIGN_MARKER = re.compile(r"<!--(?:(?!-->|<!--).)*?\biac:(?:(?!-->).)*?-->", re.S)
# An `iac:` token outside a comment (say, a comment an editor mangled) still means another tool
# may own the group: erring towards "not ours" is the safe side.
_FOREIGN_TOKEN = re.compile(r"\biac:\S*")
_FOREIGN_TAG_PREFIX = "iac:"


def marker(plan_id: str) -> str:
    """The marker a plan writes into the groups it owns."""
    return f"<!-- eventschema:plan={plan_id} -->"


def owner_plan(description: str | None) -> str | None:
    """The plan id in our marker, or ``None`` when the group carries no marker of ours."""
    match = _OURS.search(description or "")
    return match.group("plan") if match else None


def foreign_marker(description: str | None = None, tags: Iterable[str] = ()) -> str | None:
    """Another tool's marker on a group description or an event's tags, or ``None``.

    Args:
        description: a group's (or event's) description.
        tags: an event definition's tags.
    """
    text = description or ""
    match = _FOREIGN_MARKER.search(text) or _FOREIGN_TOKEN.search(text)
    if match:
        return match.group(0)
    return next((tag for tag in tags if tag.startswith(_FOREIGN_TAG_PREFIX)), None)


def foreign_token(text: str | None) -> str | None:
    """A bare ``iac:`` token in ``text`` (outside any comment), or ``None``."""
    match = _FOREIGN_TOKEN.search(_ANY_MARKER.sub("", text or ""))
    return match.group(0) if match else None


def any_marker(text: str | None) -> str | None:
    """The first ownership marker comment (ours or another tool's) in ``text``, or ``None``."""
    match = _ANY_MARKER.search(text or "")
    return match.group(0) if match else None


def visible_description(description: str | None) -> str:
    """The description a person wrote: without ownership markers, trimmed."""
    return _ANY_MARKER.sub("", description or "").strip()


def with_marker(text: str, plan_id: str, current: str | None = None) -> str:
    """The description to write for a group this plan owns.

    Args:
        text: the description from the plan.
        plan_id: the plan that owns the group.
        current: the group's description in PostHog, whose foreign markers are kept verbatim.
    """
    kept = [m.group(0) for m in _FOREIGN_MARKER.finditer(current or "")]
    parts = [text.strip(), *kept, marker(plan_id)]
    return "\n\n".join(part for part in parts if part)


def keep_markers(text: str, current: str | None) -> str:
    """The description to write when ``text`` replaces a group's words, markers kept.

    Args:
        text: the new description; marker comments in it are dropped, so an edit can neither
            move a group to another owner nor forge a marker.
        current: the group's description in PostHog, whose markers (ours and other tools')
            are kept verbatim and in order.
    """
    kept = [m.group(0) for m in _ANY_MARKER.finditer(current or "")]
    parts = [visible_description(text), *kept]
    return "\n\n".join(part for part in parts if part)
