"""``eventschema infer``: propose a tracking plan from the events of the last days.

The proposed plan (YAML, with the evidence as comments) goes to stdout, or with ``-o FILE`` to
that file, written in one step once the whole run has succeeded. The report (with ``--plan``:
the diff from the existing plan and the evidence behind each change; then a short summary)
goes to stderr while the plan is on stdout, and to stdout when the plan went to a file.

Exit codes: 0 success, 1 error (no events in the window, API error such as a HogQL error, an
unreadable plan file), 2 bad options (checked before any request), 3 authentication or
configuration error.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from eventschema_tools._files import write_atomically
from eventschema_tools._text import listed, printable
from eventschema_tools.cli.common import (
    EnvOption,
    JsonOption,
    PlanOption,
    client_for,
    command,
    confirm_overwrite,
    console,
    error_console,
    fail,
    print_json,
    write_stdout,
)
from eventschema_tools.cli.plan import plan_lines
from eventschema_tools.inference import Inference, infer_options, infer_plan
from eventschema_tools.inference.options import DEFAULT_MIN_VOLUME, DEFAULT_REQUIRED_SHARE
from eventschema_tools.tracking_plan.changes import (
    CreateBinding,
    CreateEvent,
    CreateGroup,
    UpdateEvent,
    UpdateGroup,
)

__all__ = ["register"]

# Names listed in one summary line before "and N more" (--json lists every one).
_SHOWN = 10


def register(app: typer.Typer) -> None:
    """Add the ``infer`` command to ``app``."""
    app.command(name="infer")(infer_command)


@command
def infer_command(
    ctx: typer.Context,
    days: Annotated[
        float | None,
        typer.Option(help="Read the last N days of events (default 7; not with --since)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start of the window: an ISO date or date-time (UTC by default)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the window (default: now), as --since.")
    ] = None,
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            metavar="PATTERN",
            help="Only events matching this glob (e.g. 'checkout_*'); repeatable or "
            "comma-separated. Default: every event.",
        ),
    ] = None,
    min_volume: Annotated[
        int, typer.Option(help="Leave out events seen fewer times than this in the window.")
    ] = DEFAULT_MIN_VOLUME,
    required_share: Annotated[
        float,
        typer.Option(help="Propose a property as required from this share of its events on."),
    ] = DEFAULT_REQUIRED_SHARE,
    sample: Annotated[
        float | None,
        typer.Option(
            metavar="RATE",
            help="Read this share of the events (0-1], e.g. 0.1. Default: all of them, or a "
            "sample chosen automatically when the window holds very many.",
        ),
    ] = None,
    include_sdk: Annotated[
        bool,
        typer.Option("--include-sdk", help="Also infer PostHog's own $ events and properties."),
    ] = False,
    plan: PlanOption = None,
    plan_id: Annotated[
        str | None, typer.Option(help="plan_id of the new plan (not with --plan).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the proposed plan to FILE (only once the whole run succeeded) instead "
            "of stdout. Asks before replacing a file.",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Replace the -o file without asking.")
    ] = False,
    env: EnvOption = None,
    json_output: JsonOption = False,
) -> None:
    """Propose a tracking plan from live events, with shared property groups (reads only).

    With --plan, proposes additions and changes to that plan and shows them as `plan` does.
    """
    options = infer_options(
        days=days,
        since=since,
        until=until,
        events=",".join(events) if events is not None else None,
        min_volume=min_volume,
        required_share=required_share,
        sample=sample,
        include_sdk=include_sdk,
        plan=plan,
        plan_id=plan_id,
    )
    target = None if output is None or str(output) == "-" else output
    if target is not None:
        _check_writable(target)
        confirm_overwrite(target, yes=yes)
    with client_for(ctx, env, options.plan) as client:
        inference = infer_plan(client, options)
    if target is not None:
        write_atomically(target, inference.text)
    if json_output:
        print_json(inference)
        if target is not None:
            _print(error_console, Text(f"Wrote the proposed plan to {target}"))
        return
    if target is None:
        write_stdout(inference.text)
    report = console if target is not None else error_console
    for line in report_lines(inference, target, plan):
        _print(report, line)


def _check_writable(path: Path) -> None:
    """Refuse an output path that cannot be written before anything is read."""
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"cannot write the plan to {path}: it is a directory; give a file name")
    if not directory.is_dir():
        fail(f"cannot write the plan to {path}: the folder {directory} does not exist")


def _print(where: Console, line: Text) -> None:
    where.print(line, highlight=False, soft_wrap=True)


# --- the report ------------------------------------------------------------------------------


def report_lines(
    inference: Inference, target: Path | None, existing: Path | None = None
) -> Iterator[Text]:
    """The diff from an existing plan with its evidence (``--plan``), then the summary."""
    changes = inference.changes
    if changes is not None and changes.is_empty:
        yield Text(f"No changes: the events in the window agree with {existing or 'the plan'}.")
        yield Text("")
    elif changes is not None:
        yield from plan_lines(changes, f"Proposed changes to {existing or 'the plan'}:")
        evidence = list(_evidence_lines(inference))
        if evidence:
            yield Text("")
            yield Text("Evidence:", style="bold")
            yield from evidence
        yield Text("")
    yield from (Text(printable(line)) for line in summary_lines(inference, target))


def summary_lines(inference: Inference, target: Path | None = None) -> list[str]:
    """The short summary: what was read and inferred, queries, sampling, where the plan went."""
    window = inference.window
    lines = [
        f"Inferred {_count(len(inference.events), 'event')} from "
        f"{_count(inference.stored_events, 'event')} in the window {window.label} "
        f"({_moment(window.since)} .. {_moment(window.until)})",
        "Groups: " + _group_counts(inference),
    ]
    if inference.skipped:
        names = [f"{s.event} ({s.reason})" for s in inference.skipped]
        lines.append(f"Skipped {_count(len(inference.skipped), 'event')}: {listed(names, _SHOWN)}")
    lines.append(f"{_count(inference.queries, 'HogQL query')} (bound {inference.query_bound})")
    lines += [f"note: {note}" for note in inference.notes]
    if target is not None:
        lines.append(f"Wrote the proposed plan to {target}; next: eventschema lint --plan {target}")
    return lines


def _group_counts(inference: Inference) -> str:
    counts = {"shared": 0, "existing": 0, "event": 0}
    for group in inference.groups:
        counts[group.source] += 1
    return f"{counts['shared']} shared, {counts['existing']} existing, {counts['event']} per-event"


def _evidence_lines(inference: Inference) -> Iterator[Text]:
    """For each group and event the diff changes, why it is proposed (once each)."""
    assert inference.changes is not None
    groups = {group.name: group for group in inference.groups}
    events = {event.event: event for event in inference.events}
    seen: set[str] = set()
    for change in inference.changes.changes:
        if isinstance(change, CreateGroup | UpdateGroup):
            key, group = f"group:{change.group}", groups.get(change.group)
            if key in seen or group is None:
                continue
            seen.add(key)
            together = (
                "every property optional"
                if group.co_occurrence is None
                else "required properties present together on at least "
                f"{_percent(group.co_occurrence)} of their volume"
            )
            yield _evidence(
                f'group "{group.name}" ({group.source}): {group.reason.rstrip(".")}. Bound to '
                f"{_count(len(group.events), 'event')}; {together}."
            )
            if isinstance(change, UpdateGroup):
                yield from _property_evidence(inference, change.group, change)
        elif isinstance(change, CreateEvent | UpdateEvent | CreateBinding):
            key, event = f"event:{change.event}", events.get(change.event)
            if key in seen or event is None:
                continue
            seen.add(key)
            yield _evidence(
                f'event "{event.event}": {_count(event.volume, "event")} in the window, '
                f"{_count(len(event.properties), 'property')}, "
                f"groups {listed(event.groups, _SHOWN)}."
            )


def _property_evidence(inference: Inference, group: str, change: UpdateGroup) -> Iterator[Text]:
    changed = {prop.name for prop in change.property_changes}
    for name in sorted(changed):
        found = next(
            (
                prop
                for event in inference.events
                for prop in event.properties
                if prop.name == name and prop.group == group
            ),
            None,
        )
        if found is not None:
            required = "required" if found.required else "optional"
            yield _evidence(
                f"{name}: {found.type} ({_percent(found.parse_share)} of values parse as it), "
                f"present on {_percent(found.presence)}, proposed {required}",
                6,
            )


def _evidence(text: str, indent: int = 2) -> Text:
    line = Text(" " * indent)
    line.append("· ", style="dim")
    line.append(printable(text))
    return line


def _count(number: int, noun: str) -> str:
    """``1 event``, ``1,234 events``, ``2 HogQL queries``."""
    if number == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number:,} {plural}"


def _percent(share: float) -> str:
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + " %"


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
