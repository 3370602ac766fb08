"""A plan review as a pull-request comment (Markdown), as SARIF 2.1.0, or as JSON (pure).

Names come from the project and the plan file, which anyone with the project's public token can
fill: in Markdown every name is escaped and kept on one line, so none can break a table or open
HTML; SARIF and JSON carry them as JSON strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, Final
from urllib.parse import quote

from eventschema_tools._text import markdown_text, percent
from eventschema_tools._version import __version__
from eventschema_tools.review.backtest import Backtest, BacktestEvent
from eventschema_tools.review.run import PlanReview
from eventschema_tools.tracking_plan.document import PlanFileError, parse_document
from eventschema_tools.tracking_plan.impact import LEVEL_OF, Impact, ImpactKind

__all__ = ["MAX_COMMENT_CHARS", "render_json", "render_markdown", "render_sarif"]

MAX_COMMENT_CHARS: Final = 60_000
"""The Markdown comment stays under this (GitHub refuses comments over 65,536 characters)."""

_MARKS: Final = {"breaking": "🔴 breaking", "risky": "🟠 risky", "safe": "⚪ safe"}
_SHOWN_EVENTS: Final = 5

_RULES: Final[dict[ImpactKind, tuple[str, str]]] = {
    ImpactKind.PROPERTY_REQUIRED: (
        "A property becomes required",
        "Events without it stop conforming; in reject mode PostHog drops them. Check the "
        "backtest, then acknowledge it with allow_breaking on the group (or the event).",
    ),
    ImpactKind.PROPERTY_REMOVED: (
        "A property is removed from a bound group",
        "Readers and generated code lose the property's contract.",
    ),
    ImpactKind.TYPE_CHANGED: (
        "A property's type changes",
        "Values of the old type stop conforming; in reject mode PostHog drops them.",
    ),
    ImpactKind.GROUP_UNBOUND: (
        "A group is unbound from an event",
        "The event loses the group's contract (its binding is deleted).",
    ),
    ImpactKind.ENFORCEMENT_REJECT: (
        "An event switches to reject",
        "From then on PostHog drops the event when a required property is missing or of the "
        "wrong type. Check the backtest's dropped share first.",
    ),
    ImpactKind.RULE_TIGHTENED: (
        "A value rule is tightened",
        "Audits will flag values the rule accepted before (PostHog does not enforce rules).",
    ),
    ImpactKind.OPTIONAL_IN_TYPES_DROPPED: (
        "optional_in_types is dropped",
        "Generated types make the property mandatory: callers that omit it stop compiling.",
    ),
}


def render_json(review: PlanReview) -> str:
    """The review as indented JSON (the :class:`PlanReview` model)."""
    return review.model_dump_json(indent=2) + "\n"


# --- Markdown ------------------------------------------------------------------------------------


def render_markdown(
    review: PlanReview,
    *,
    plan_path: str,
    commands: Sequence[str],
    max_chars: int = MAX_COMMENT_CHARS,
) -> str:
    """The review as a pull-request comment: a summary line, the changes by class, the stale
    acknowledgements, the backtest, and the commands that reproduce it.

    Args:
        review: The review.
        plan_path: The plan file, as the reader knows it.
        commands: The commands that give the same review.
        max_chars: Long tables are cut so the comment stays under this many characters.
    """
    tail = _reproduce(commands)
    budget = max_chars - len(tail) - 200
    lines: list[str] = [
        f"### eventschema plan review: {markdown_text(plan_path)}",
        "",
        _headline(review),
        "",
    ]
    sections = [_changes(review), _stale(review)]
    if review.backtest is not None:
        sections.append(_backtest(review.backtest))
    used = sum(len(line) + 1 for line in lines)
    for section in sections:
        for line in section:
            if used + len(line) + 1 > budget:
                return "\n".join([*lines, *_cut_note(lines)]) + "\n" + tail
            lines.append(line)
            used += len(line) + 1
    return "\n".join(lines) + "\n" + tail


def _cut_note(lines: Sequence[str]) -> list[str]:
    """The note that ends a cut comment, closing a collapsed section the cut left open (or
    everything after it, the commands included, would be folded away)."""
    opened = sum(1 for line in lines if line.startswith("<details>"))
    closed = sum(1 for line in lines if line == "</details>")
    note = ["", "_The review is cut here to fit a comment; `--format json` has it all._"]
    return ["", "</details>"] * (opened - closed) + note


def _headline(review: PlanReview) -> str:
    parts = []
    for level, (total, accepted) in review.plan.impact_tally().items():
        text = f"**{total} {level}**" if level != "safe" else f"{total} safe"
        parts.append(text + (f" ({accepted} acknowledged)" if accepted else ""))
    if review.plan.is_empty:
        verdict = "no changes: PostHog matches the plan"
    elif review.passed:
        verdict = f"✅ the gate passes (fails on `{review.fail_on}`)"
    else:
        verdict = (
            f"❌ the gate fails: {len(review.failures)} change(s) at or above `{review.fail_on}` "
            "not acknowledged"
        )
    return " · ".join(parts) + f" — {verdict}"


def _events_cell(events: Sequence[str]) -> str:
    shown = ", ".join(markdown_text(name) for name in events[:_SHOWN_EVENTS])
    more = len(events) - _SHOWN_EVENTS
    return shown + (f" and {more} more" if more > 0 else "") if events else "—"


def _changes(review: PlanReview) -> Iterator[str]:
    flagged = [i for i in review.plan.impacts if i.level != "safe"]
    safe = [i for i in review.plan.impacts if i.level == "safe"]
    header = "| Class | Kind | What | Change | Events | Acknowledged |"
    rule = "|---|---|---|---|---|---|"
    if flagged:
        yield "#### Breaking and risky changes"
        yield ""
        yield header
        yield rule
        yield from (_change_row(impact) for impact in flagged)
        yield ""
    if safe:
        yield f"<details><summary>{len(safe)} safe change(s)</summary>"
        yield ""
        yield header
        yield rule
        yield from (_change_row(impact) for impact in safe)
        yield ""
        yield "</details>"
        yield ""


def _change_row(impact: Impact) -> str:
    reason = markdown_text(impact.acknowledged) if impact.acknowledged else "—"
    cells = [
        _MARKS[impact.level],
        impact.kind.value.replace("_", "\\_"),
        markdown_text(impact.subject),
        markdown_text(impact.detail),
        _events_cell(impact.events),
        reason,
    ]
    return "| " + " | ".join(cells) + " |"


def _stale(review: PlanReview) -> Iterator[str]:
    if not review.plan.stale_acknowledgements:
        return
    yield "#### Acknowledgements that match no change (remove them)"
    yield ""
    for stale in review.plan.stale_acknowledgements:
        about = f" of {markdown_text(stale.property)}" if stale.property else ""
        kind = stale.change.replace("_", "\\_")
        yield f"- {markdown_text(stale.subject)}: {kind}{about}: {markdown_text(stale.reason)}"
    yield ""


def _backtest(backtest: Backtest) -> Iterator[str]:
    queries = f"{backtest.queries} HogQL quer{'y' if backtest.queries == 1 else 'ies'}"
    yield f"#### Backtest: the last {backtest.days} day(s) of events"
    yield ""
    yield (
        f"Today's schemas and the proposed ones replayed over the changed events; {queries} "
        f"(at most {backtest.query_bound})."
    )
    yield ""
    if not backtest.events:
        yield "No event's schema changes: nothing to replay."
        yield ""
        return
    yield (
        "| Event | Events | Conforming now | Proposed | Dropped by reject | Per day "
        "| Worst SDK version |"
    )
    yield "|---|---:|---:|---:|---:|---|---|"
    yield from (_backtest_row(item) for item in backtest.events)
    yield ""
    for note in backtest.notes:
        yield f"- note: {markdown_text(note)}"


def _backtest_row(item: BacktestEvent) -> str:
    if item.enforcement_proposed == "reject":
        dropped = f"**{item.dropped:,}**" if item.dropped else "0"
    else:
        dropped = f"0 (would be {item.rejected_proposed:,} in reject mode)"
    days = ", ".join(
        f"{day.day.isoformat()}: {day.would_reject:,}" for day in item.by_day if day.would_reject
    )
    worst = "—"
    if item.worst_slice is not None:
        slice_ = item.worst_slice
        name = " ".join(part for part in (slice_.lib, slice_.version) if part) or "no $lib"
        worst = f"{markdown_text(name)}: {percent(slice_.rate)} of {slice_.events:,}"
    cells = [
        markdown_text(item.event),
        f"{item.events:,}",
        percent(item.conforming_now),
        percent(item.conforming_proposed),
        dropped,
        days or "—",
        worst,
    ]
    return "| " + " | ".join(cells) + " |"


def _reproduce(commands: Sequence[str]) -> str:
    if not commands:
        return ""
    body = "\n".join(commands)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"\n#### Reproduce\n\n{fence}bash\n{body}\n{fence}\n"


# --- SARIF ---------------------------------------------------------------------------------------


def render_sarif(review: PlanReview, *, plan_path: str, plan_text: str) -> str:
    """The breaking and risky changes as SARIF 2.1.0 results on the plan file's lines.

    Unacknowledged breaking changes are errors, unacknowledged risky ones warnings, and
    acknowledged ones notes carrying their reason. Each points at the most specific key of
    ``plan_text`` it is about (the property, the event's ``enforcement`` or ``groups``, the
    group); one whose key the file does not have (a removed group) points at the first line.
    """
    flagged = [impact for impact in review.plan.impacts if impact.level != "safe"]
    kinds = sorted({impact.kind for impact in flagged}, key=lambda kind: kind.value)
    index = {kind: position for position, kind in enumerate(kinds)}
    marks = _marks(plan_text, plan_path) if flagged else {}
    uri = quote(plan_path.replace("\\", "/"))
    results = [
        _result(impact, index[impact.kind], uri, _position(impact, marks)) for impact in flagged
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "eventschema",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(kind) for kind in kinds],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(kind: ImpactKind) -> dict[str, Any]:
    short, help_text = _RULES.get(kind, (kind.value.replace("_", " "), ""))
    level = "error" if LEVEL_OF[kind] == "breaking" else "warning"
    return {
        "id": kind.value,
        "name": "".join(word.capitalize() for word in kind.value.split("_")),
        "shortDescription": {"text": short},
        "help": {"text": help_text or short},
        "defaultConfiguration": {"level": level},
        "properties": {"class": LEVEL_OF[kind]},
    }


def _marks(plan_text: str, plan_path: str) -> dict[Any, tuple[int, int]]:
    """Where each key of the plan file is; none (every result on line 1) if it does not parse."""
    try:
        return dict(parse_document(plan_text, plan_path).marks)
    except PlanFileError:
        return {}


def _result(impact: Impact, rule_index: int, uri: str, position: tuple[int, int]) -> dict[str, Any]:
    if impact.acknowledged is not None:
        level = "note"
        message = f"{impact.subject}: {impact.detail} (acknowledged: {impact.acknowledged})"
    else:
        level = "error" if impact.level == "breaking" else "warning"
        message = f"{impact.level} change: {impact.subject}: {impact.detail}"
    if impact.events:
        shown = ", ".join(impact.events[:_SHOWN_EVENTS])
        more = len(impact.events) - _SHOWN_EVENTS
        message += f"; events: {shown}" + (f" and {more} more" if more > 0 else "")
    identity = "|".join(
        [impact.kind.value, impact.group or "", impact.event or "", impact.property or ""]
    )
    line, column = position
    return {
        "ruleId": impact.kind.value,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": line, "startColumn": column},
                }
            }
        ],
        "partialFingerprints": {
            "eventschemaImpact/v1": hashlib.sha256(identity.encode()).hexdigest()[:32]
        },
    }


def _position(impact: Impact, marks: dict[Any, tuple[int, int]]) -> tuple[int, int]:
    """The most specific key of the plan file the impact is about."""
    candidates: list[tuple[Any, ...]] = []
    if impact.event is not None:
        event = ("events", impact.event)
        if impact.kind == ImpactKind.ENFORCEMENT_REJECT:
            candidates.append((*event, "enforcement"))
        if impact.group is not None:
            candidates.append((*event, "groups"))
        candidates.append(event)
    if impact.group is not None:
        group = ("property_groups", impact.group)
        if impact.property is not None:
            candidates.append((*group, "properties", impact.property))
        candidates.append(group)
    for path in candidates:
        if path in marks:
            return marks[path]
    return (1, 1)
