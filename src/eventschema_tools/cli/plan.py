"""Tracking plan as code: ``plan``, ``apply``, ``pull``, ``bind``, ``unbind`` and ``lint``.

Every command parses its options, makes one call into the core (``spec``, ``lint``, ``plan``,
``bulk``) and renders the result: a Terraform-like text view on stdout, or ``--json``.
Progress bars go to stderr, and only when stderr is a terminal and ``--json`` is off.

Exit codes: 0 success (including "no changes"), 1 error (bad file, API error, lint errors),
2 partial failure (some items failed or were blocked), 3 authentication or configuration error.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from eventschema_tools._files import read_input_text, write_atomically
from eventschema_tools._text import listed, percent, printable
from eventschema_tools.catalog.risk import BindPairs, UnbindPairs
from eventschema_tools.cli.common import (
    EXIT_AUTH,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_THRESHOLDS,
    EXIT_USAGE,
    EnvOption,
    JsonOption,
    OldPlanOption,
    PlanOption,
    ask_before,
    client_for,
    client_from,
    command,
    console,
    error_console,
    exit_with_error,
    fail,
    print_json,
    required_plan_file,
    write_stdout,
)
from eventschema_tools.models import PropertyInput
from eventschema_tools.review.backtest import Backtest
from eventschema_tools.review.run import (
    DEFAULT_BACKTEST_DAYS,
    MAX_BACKTEST_DAYS,
    PlanReview,
    review_plan,
)
from eventschema_tools.tracking_plan import (
    DEFAULT_CONCURRENCY,
    ApplyReport,
    CreateBinding,
    CreateEvent,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    ItemResult,
    ItemStatus,
    Notice,
    Plan,
    UpdateEvent,
    UpdateGroup,
    apply,
    bulk,
    compute_plan,
    keep_local_fields,
    pull,
    pull_merge,
)
from eventschema_tools.tracking_plan.document import read_document
from eventschema_tools.tracking_plan.environments import environment_plan
from eventschema_tools.tracking_plan.file import (
    PlanFileError,
    dump_plan,
    load_plan,
    parse_plan,
    read_plan_text,
)
from eventschema_tools.tracking_plan.impact import FailOn, Impact, parse_fail_on
from eventschema_tools.tracking_plan.lint import (
    has_errors,
    lint_file,
    parse_convention,
    stale_acknowledgement_problems,
)

__all__ = [
    "apply_exit_code",
    "apply_progress",
    "confirm_or_stop",
    "plan_lines",
    "print_lines",
    "register",
    "report_lines",
]

# Long lists (a bulk binding of hundreds of events) are cut in the text view; --json has all.
_MAX_LINES_PER_BLOCK = 100

Prune = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Also delete groups this plan owns but no longer lists, and their bindings the "
        "plan does not list. Never touches objects the plan does not own.",
    ),
]
CreateEvents = Annotated[
    bool,
    typer.Option(
        "--create-events", help="Create event definitions the plan names but PostHog lacks."
    ),
]
Adopt = Annotated[
    bool,
    typer.Option(
        "--adopt",
        help="Mark listed groups that already match the plan as owned by it, so a later "
        "--prune may delete them.",
    ),
]
Concurrency = Annotated[
    int,
    typer.Option(min=1, max=64, help="Requests in flight at once (all within the rate budget)."),
]


# --- rendering -------------------------------------------------------------------------------

_STYLE = {"+": "green", "~": "yellow", "-": "red", "!": "red", "·": "dim"}


def _line(sign: str, text: str, indent: int = 2) -> Text:
    line = Text(" " * indent)
    line.append(f"{sign} ", style=_STYLE.get(sign, ""))
    line.append(printable(text))
    return line


def _property_text(prop: PropertyInput) -> str:
    flags = [prop.property_type.value]
    if prop.is_required:
        flags.append("required")
    if prop.is_optional_in_types:
        flags.append("optional in types")
    text = f"{prop.name}  " + " ".join(flags)
    return f'{text}  "{prop.description}"' if prop.description else text


def _property_delta(before: PropertyInput, after: PropertyInput) -> str:
    """Only the fields that change, e.g. ``type: Numeric → String; required: yes → no``."""
    parts = []
    if before.property_type != after.property_type:
        parts.append(f"type: {before.property_type.value} → {after.property_type.value}")
    for field, label in (
        ("is_required", "required"),
        ("is_optional_in_types", "optional in types"),
    ):
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            parts.append(f"{label}: {'yes' if old else 'no'} → {'yes' if new else 'no'}")
    if before.description != after.description:
        parts.append(f'description: "{before.description}" → "{after.description}"')
    return "; ".join(parts)


def _group_lines(change: CreateGroup | UpdateGroup | DeleteGroup) -> Iterator[Text]:
    if isinstance(change, CreateGroup):
        yield _line("+", f"{change.subject}")
        for prop in change.properties:
            yield _line("+", _property_text(prop), 6)
    elif isinstance(change, DeleteGroup):
        tail = f" (and its {change.bindings} binding(s))" if change.bindings else ""
        yield _line("-", f"{change.subject}{tail}")
    else:
        yield _line("~", change.subject + ("  (takes ownership)" if change.adopt else ""))
        if change.description_before != change.description_after:
            yield _line(
                "~",
                f'description: "{change.description_before}" → "{change.description_after}"',
                6,
            )
        for prop_change in change.property_changes:
            if prop_change.before is None and prop_change.after is not None:
                yield _line("+", _property_text(prop_change.after), 6)
            elif prop_change.after is None and prop_change.before is not None:
                yield _line("-", _property_text(prop_change.before), 6)
            elif prop_change.before is not None and prop_change.after is not None:
                delta = _property_delta(prop_change.before, prop_change.after)
                yield _line("~", f"{prop_change.name}  {delta}", 6)


def _event_lines(change: CreateEvent | UpdateEvent) -> Iterator[Text]:
    if isinstance(change, CreateEvent):
        yield _line("+", change.subject)
        if change.description:
            yield _line("+", f'description: "{change.description}"', 6)
        return
    yield _line("~", change.subject)
    if change.enforcement_mode is not None:
        before = change.enforcement_before.value if change.enforcement_before else "allow"
        yield _line("~", f"enforcement: {before} → {change.enforcement_mode.value}", 6)
    if change.description is not None:
        yield _line("~", f'description: "{change.description_before}" → "{change.description}"', 6)


def _binding_lines(changes: Sequence[CreateBinding | DeleteBinding]) -> Iterator[Text]:
    by_group: dict[str, list[CreateBinding | DeleteBinding]] = {}
    for change in changes:
        by_group.setdefault(change.group, []).append(change)
    for group, items in by_group.items():
        yield _line("~", f'bindings of group "{group}"')
        for change in items[:_MAX_LINES_PER_BLOCK]:
            yield _line("+" if isinstance(change, CreateBinding) else "-", change.event, 6)
        if len(items) > _MAX_LINES_PER_BLOCK:
            more = len(items) - _MAX_LINES_PER_BLOCK
            yield _line("·", f"... and {more} more (--json lists every one)", 6)


def _notice_lines(notices: Sequence[Notice]) -> Iterator[Text]:
    by_kind: dict[str, list[Notice]] = {}
    for notice in notices:
        by_kind.setdefault(notice.kind, []).append(notice)
    titles = {
        "blocked": "Blocked (cannot be applied as the plan stands):",
        "conflict": "Conflicts (owned elsewhere; left as they are):",
        "not_pruned": "In PostHog but not in the plan (apply --prune deletes them):",
        "kept": "Left alone (not owned by this plan):",
    }
    for kind, title in titles.items():
        items = by_kind.get(kind, [])
        if not items:
            continue
        yield Text("")
        yield Text(title, style="bold")
        sign = "!" if kind in ("blocked", "conflict") else "·"
        for notice in items[:_MAX_LINES_PER_BLOCK]:
            yield _line(sign, f"{notice.subject}: {notice.reason}")
        if len(items) > _MAX_LINES_PER_BLOCK:
            yield _line("·", f"... and {len(items) - _MAX_LINES_PER_BLOCK} more")


def plan_lines(plan: Plan, title: str = "eventschema will make these changes:") -> Iterator[Text]:
    """The Terraform-like text view of a plan, under ``title`` when it has changes."""
    groups = [c for c in plan.changes if isinstance(c, CreateGroup | UpdateGroup | DeleteGroup)]
    events = [c for c in plan.changes if isinstance(c, CreateEvent | UpdateEvent)]
    bindings = [c for c in plan.changes if isinstance(c, CreateBinding | DeleteBinding)]
    if plan.changes:
        yield Text(title, style="bold")
        yield Text("")
    for group_change in groups:
        yield from _group_lines(group_change)
    for event_change in events:
        yield from _event_lines(event_change)
    yield from _binding_lines(bindings)
    yield from _notice_lines(plan.notices)
    yield Text("")
    yield Text(plan.summary(), style="bold")


_LEVEL_SIGN = {"breaking": "!", "risky": "~", "safe": "·"}


def impact_lines(plan: Plan, fail_on: FailOn = "never") -> Iterator[Text]:
    """The breaking and risky changes of a plan, their acknowledgements, and how to
    acknowledge the ones that fail the gate; then stale acknowledgements."""
    flagged = [impact for impact in plan.impacts if impact.level != "safe"]
    if flagged:
        yield Text("")
        yield Text("Breaking and risky changes:", style="bold")
    for impact in flagged[:_MAX_LINES_PER_BLOCK]:
        reach = f" (events: {listed(impact.events)})" if impact.events else ""
        text = f"{impact.level} {impact.kind}: {impact.subject}: {impact.detail}{reach}"
        yield _line(_LEVEL_SIGN[impact.level], text)
        if impact.acknowledged is not None:
            yield _line("·", f"acknowledged: {impact.acknowledged}", 6)
        elif impact.fails(fail_on):
            yield _line("·", f"to accept it, add to {_owner(impact)}: {_entry(impact)}", 6)
    if len(flagged) > _MAX_LINES_PER_BLOCK:
        yield _line("·", f"... and {len(flagged) - _MAX_LINES_PER_BLOCK} more (--json)")
    if plan.stale_acknowledgements:
        yield Text("")
        yield Text("Acknowledgements no pending change matches (remove them):", style="bold")
        for stale in plan.stale_acknowledgements:
            about = f" of {stale.property}" if stale.property else ""
            yield _line("·", f"{stale.subject}: {stale.change}{about} ({stale.reason})")


def _owner(impact: Impact) -> str:
    if impact.group is not None and impact.event is None:
        return f'group "{impact.group}"'
    return f'event "{impact.event}"'


def _entry(impact: Impact) -> str:
    about = f", property: {impact.property}" if impact.property and impact.event is None else ""
    return f"allow_breaking: [{{change: {impact.kind}{about}, reason: ...}}]"


def backtest_lines(backtest: Backtest) -> Iterator[Text]:
    """Per changed event: conformance today and under the proposal, what reject drops."""
    yield Text("")
    yield Text(
        f"Backtest over the last {backtest.days} day(s), {backtest.queries} HogQL "
        f"quer{'y' if backtest.queries == 1 else 'ies'} (bound {backtest.query_bound}):",
        style="bold",
    )
    if not backtest.events:
        yield _line("·", "no event's schema changes: nothing to replay")
    for item in backtest.events:
        verb = "drops" if item.enforcement_proposed == "reject" else "would drop under reject"
        text = (
            f"{item.event}: {item.events:,} events; conforming {percent(item.conforming_now)}"
            f" now → {percent(item.conforming_proposed)} proposed; {verb} "
            f"{item.rejected_proposed:,}"
        )
        yield _line("!" if item.rejected_proposed > item.rejected_now else "·", text)
        days = [
            f"{day.day.isoformat()} {day.would_reject:,}" for day in item.by_day if day.would_reject
        ]
        if days:
            yield _line("·", "per day: " + ", ".join(days), 6)
        if item.worst_slice is not None:
            worst = item.worst_slice
            slice_name = " ".join(part for part in (worst.lib, worst.version) if part) or "no $lib"
            yield _line(
                "·",
                f"worst slice: {slice_name}: {percent(worst.rate)} of {worst.events:,} rejected",
                6,
            )
    for note in backtest.notes:
        yield _line("·", f"note: {note}")


def review_lines(review: PlanReview) -> Iterator[Text]:
    """The text view of a review: the plan, its classified changes, the backtest, the verdict."""
    yield from plan_lines(review.plan)
    yield from impact_lines(review.plan, review.fail_on)
    if review.backtest is not None:
        yield from backtest_lines(review.backtest)
    yield Text("")
    yield Text(review.summary(), style="bold" if review.passed else "bold red")


def _print(line: Text | str, *, stderr: bool = False) -> None:
    """Print one line as is: no markup, no highlighting, no wrapping (names stay intact)."""
    text = line if isinstance(line, Text) else Text(printable(line))
    (error_console if stderr else console).print(text, highlight=False, soft_wrap=True)


def print_lines(lines: Iterator[Text]) -> None:
    """Print each line on stdout as it is."""
    for line in lines:
        _print(line)


def report_lines(report: ApplyReport) -> Iterator[Text]:
    """What apply did not do, then its one-line summary."""
    problems = [item for item in report.items if item.status is not ItemStatus.DONE]
    if problems:
        yield Text("")
        yield Text("Not applied:", style="bold")
    for item in problems[:_MAX_LINES_PER_BLOCK]:
        yield _line("!", f"{item.subject}: {item.status}: {item.detail}")
    if len(problems) > _MAX_LINES_PER_BLOCK:
        yield _line("·", f"... and {len(problems) - _MAX_LINES_PER_BLOCK} more (see --json)")
    if report.aborted:
        yield _line("!", f"stopped early: {report.aborted}")
    yield Text("")
    yield Text(report.summary(), style="bold")


def apply_exit_code(ok: bool, aborted: str | None) -> int:
    """Exit code after apply: 3 when it stopped on auth, 2 when items failed, else 0."""
    if aborted is not None:
        return EXIT_AUTH
    return EXIT_OK if ok else EXIT_PARTIAL


@contextmanager
def apply_progress(
    total: int, label: str, enabled: bool
) -> Iterator[Callable[[ItemResult], None] | None]:
    """A progress bar on stderr, advanced once per finished item (None when off)."""
    if not enabled or total == 0 or not error_console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=error_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda _result: bar.advance(task)


# --- commands --------------------------------------------------------------------------------


ReviewFormat = Literal["text", "json", "markdown", "sarif"]

FailOnOption = Annotated[
    str,
    typer.Option(
        "--fail-on",
        help="Exit 4 on an unacknowledged change of this class or worse: breaking, risky or never.",
    ),
]


@command
def plan_command(
    ctx: typer.Context,
    plan_path: PlanOption = None,
    file: OldPlanOption = None,
    prune: Prune = False,
    create_events: CreateEvents = False,
    adopt: Adopt = False,
    base: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="The plan file's earlier version (e.g. the base branch's): also classify "
            "value-rule changes, which PostHog does not store.",
        ),
    ] = None,
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Replay the proposed and current schemas over recent events of the changed "
            "events: what reject would drop, per day and per SDK version.",
        ),
    ] = False,
    days: Annotated[
        int, typer.Option(min=1, max=MAX_BACKTEST_DAYS, help="Days of events to backtest.")
    ] = DEFAULT_BACKTEST_DAYS,
    fail_on: FailOnOption = "never",
    output_format: Annotated[
        ReviewFormat,
        typer.Option("--format", help="text, json, markdown (a review comment) or sarif."),
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the review to FILE instead.")
    ] = None,
    sarif: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Also write the review as SARIF to FILE.")
    ] = None,
    env: EnvOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the changes that would bring PostHog to the plan, each classified breaking, risky
    or safe; --backtest replays them over live events (reads only)."""
    path = required_plan_file(plan_path, file)
    if base is not None and not base.is_file():
        exit_with_error(f"--base {base}: no such file (give the plan file's earlier version)")
    # Read once: the SARIF view points at lines of exactly the text that was reviewed.
    text = read_plan_text(path)
    plan_file_ = parse_plan(text, str(path))
    desired = environment_plan(plan_file_, env) if env is not None else plan_file_
    earlier = load_plan(base) if base is not None else None
    if earlier is not None and env is not None:
        earlier = environment_plan(earlier, env)
    gate = parse_fail_on(fail_on)
    with client_for(ctx, env, plan_file_) as client:
        review = review_plan(
            client,
            desired,
            base=earlier,
            backtest_days=days if backtest else None,
            fail_on=gate,
            prune=prune,
            create_events=create_events,
            adopt=adopt,
        )
    chosen: ReviewFormat = "json" if json_output else output_format
    command_line = _reproduce(path, base, backtest, days, gate, prune, create_events, adopt, env)
    if sarif is not None:
        write_atomically(sarif, _rendered(review, "sarif", path, text, command_line))
    if output is not None:
        write_atomically(output, _rendered(review, chosen, path, text, command_line))
        error_console.print(
            Text(printable(f"{review.summary()} Review written to {output}")), highlight=False
        )
    elif chosen == "text":
        print_lines(review_lines(review))
    else:
        write_stdout(_rendered(review, chosen, path, text, command_line))
    if not review.passed:
        raise typer.Exit(EXIT_THRESHOLDS)


def _rendered(
    review: PlanReview, fmt: ReviewFormat, path: Path, text: str, command_line: str
) -> str:
    from eventschema_tools.review.render import render_json, render_markdown, render_sarif

    if fmt == "markdown":
        return render_markdown(review, plan_path=str(path), commands=[command_line])
    if fmt == "sarif":
        return render_sarif(review, plan_path=str(path), plan_text=text)
    if fmt == "json":
        return render_json(review)
    return "\n".join(line.plain for line in review_lines(review)) + "\n"


def _reproduce(
    path: Path,
    base: Path | None,
    backtest: bool,
    days: int,
    fail_on: FailOn,
    prune: bool,
    create_events: bool,
    adopt: bool,
    env: str | None,
) -> str:
    """The command that gives the same review (for the review comment)."""
    words = ["eventschema", "plan", "--plan", str(path)]
    if env is not None:
        words += ["--env", env]
    if base is not None:
        words += ["--base", str(base)]
    if backtest:
        words += ["--backtest", "--days", str(days)]
    words += ["--fail-on", fail_on]
    words += [
        flag
        for flag, on in (("--prune", prune), ("--create-events", create_events), ("--adopt", adopt))
        if on
    ]
    return shlex.join(words)


def confirm_or_stop(yes: bool) -> None:
    """Ask before writing (``--yes`` skips it); without a terminal, end with exit 2."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(
            "refusing to change PostHog without confirmation: pass --yes (or --dry-run)",
            EXIT_USAGE,
        )
    if not typer.confirm("Apply these changes?", default=False):
        fail("apply cancelled; nothing was changed")


@command
def apply_command(
    ctx: typer.Context,
    plan_path: PlanOption = None,
    file: OldPlanOption = None,
    prune: Prune = False,
    create_events: CreateEvents = False,
    adopt: Adopt = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and stop (no writes).")
    ] = False,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    fail_on: FailOnOption = "never",
    env: EnvOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make PostHog match the plan: groups first, then bindings and event settings."""
    plan_file_ = load_plan(required_plan_file(plan_path, file))
    desired = environment_plan(plan_file_, env) if env is not None else plan_file_
    gate = parse_fail_on(fail_on)
    with client_for(ctx, env, plan_file_) as client:
        plan = compute_plan(client, desired, prune=prune, create_events=create_events, adopt=adopt)
        if not json_output:
            print_lines(plan_lines(plan))
            print_lines(impact_lines(plan, gate))
        refused = plan.unacknowledged(gate)
        if refused:
            if json_output:
                print_json({"plan": plan, "report": None})
            fail(
                f"refusing to apply: {len(refused)} unacknowledged change(s) at or above "
                f"{gate} ({refused[0].subject}: {refused[0].detail}); acknowledge them with "
                "allow_breaking in the plan file, or choose --fail-on",
                EXIT_THRESHOLDS,
            )
        if dry_run or plan.is_empty:
            if json_output:
                print_json({"plan": plan, "report": None})
            if plan.is_empty and plan.blocked and not dry_run:
                raise typer.Exit(EXIT_PARTIAL)
            return
        confirm_or_stop(yes)
        with apply_progress(len(plan.changes), "Applying", not json_output) as progress:
            report = apply(client, plan, concurrency=concurrency, progress=progress)
    if json_output:
        print_json({"plan": plan, "report": report})
    else:
        print_lines(report_lines(report))
    code = apply_exit_code(report.ok, report.aborted)
    if code != EXIT_OK:
        raise typer.Exit(code)


@command
def pull_command(
    ctx: typer.Context,
    plan_path: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help="The tracking-plan file to write (YAML, or JSON for a .json name); '-' for "
            "stdout. An existing file's value rules and plan_id are kept.",
        ),
    ] = None,
    earlier_output: Annotated[Path | None, typer.Option("--output", "-o", hidden=True)] = None,
    plan_id: Annotated[
        str | None,
        typer.Option(
            help="plan_id to write (default: the one in the groups' ownership markers, else "
            "the existing file's)."
        ),
    ] = None,
    merge: Annotated[
        bool,
        typer.Option(
            "--merge",
            help="Refresh only what the existing file manages (its groups and events, and "
            "the bindings of its groups), keeping its comments and layout.",
        ),
    ] = False,
    add_new: Annotated[
        bool,
        typer.Option("--add-new", help="With --merge: also add live groups and events it lacks."),
    ] = False,
) -> None:
    """Write the live project as a plan file; `plan` on it then shows no changes."""
    output = required_plan_file(plan_path, earlier_output)
    if merge or add_new:
        _pull_merge(ctx, output, merge=merge, add_new=add_new, plan_id=plan_id)
        return
    with client_from(ctx) as client:
        pulled = pull(client, plan_id=plan_id)
        where = f"{client.host} project {client.project_id}"
    to_stdout = str(output) == "-"
    if not to_stdout and output.exists():
        try:
            previous = load_plan(output)
        except PlanFileError as exc:
            fail(f"{output} exists but is not a valid plan; move it away or fix it:\n{exc}")
        pulled = keep_local_fields(pulled, previous)
        if plan_id is not None:
            pulled = pulled.model_copy(update={"plan_id": plan_id})
    header = f"Pulled by eventschema from {where}."
    if output.suffix.lower() == ".json":
        text = dump_plan(pulled, fmt="json")
    else:
        text = dump_plan(pulled, fmt="yaml", header=header)
    if to_stdout:
        write_stdout(text)
        return
    write_atomically(output, text)
    _print(
        f"Wrote {len(pulled.property_groups)} groups and {len(pulled.events)} events to {output}",
        stderr=True,
    )


def _pull_merge(
    ctx: typer.Context, output: Path, *, merge: bool, add_new: bool, plan_id: str | None
) -> None:
    if not merge:
        exit_with_error("--add-new works with --merge")
    if str(output) == "-" or not output.exists():
        exit_with_error(f"--merge refreshes an existing plan file; {output} is not one")
    with client_from(ctx) as client:
        try:
            merged = pull_merge(client, output, add_new=add_new, plan_id=plan_id)
        except PlanFileError as exc:
            fail(f"{output} is not a valid plan; fix it or pull without --merge:\n{exc}")
    if merged.changed:
        write_atomically(output, merged.text)
    parts = [f"{len(merged.updated)} updated", f"{len(merged.added)} added"]
    removed = f" ({', '.join(merged.removed)})" if merged.removed else ""
    parts.append(f"{len(merged.removed)} removed{removed}")
    _print(f"Merged into {output}: " + ", ".join(parts), stderr=True)


def _pairs(group: str | None, events: str | None, file: Path | None) -> list[bulk.Pair]:
    if file is not None and (group is not None or events is not None):
        fail("give either --file, or --group with --events, not both")
    if file is not None:
        return bulk.parse_pairs_csv(read_input_text(file, "pairs file"), str(file))
    if group is None or events is None:
        fail("give --group NAME --events a,b,c, or --file pairs.csv")
    return bulk.pairs_for_group(group, events.split(","))


_PAIR_PROBLEMS = {bulk.PairStatus.FAILED, bulk.PairStatus.UNRESOLVED, bulk.PairStatus.SKIPPED}


def _bulk(
    ctx: typer.Context,
    action: bulk.BulkAction,
    pairs: list[bulk.Pair],
    concurrency: int,
    json_output: bool,
    yes: bool,
) -> None:
    run = bulk.bind if action == "bind" else bulk.unbind
    with client_from(ctx) as client:
        # The question `schemas create|delete` and the MCP tools ask.
        ask_before(client, BindPairs(pairs) if action == "bind" else UnbindPairs(pairs), yes=yes)
        label = "Binding" if action == "bind" else "Unbinding"
        with apply_progress(len(pairs), label, not json_output) as progress:
            report = run(client, pairs, concurrency=concurrency, progress=progress)
    if json_output:
        print_json(report)
    else:
        problems = [r for r in report.results if r.status in _PAIR_PROBLEMS]
        for result in problems[:_MAX_LINES_PER_BLOCK]:
            text = f'"{result.group}" → "{result.event}": {result.status}: {result.detail}'
            _print(_line("!", text))
        if len(problems) > _MAX_LINES_PER_BLOCK:
            more = len(problems) - _MAX_LINES_PER_BLOCK
            _print(_line("·", f"... and {more} more (see --json)"))
        _print(Text(report.summary(), style="bold"))
    code = apply_exit_code(report.ok, report.aborted)
    if code != EXIT_OK:
        raise typer.Exit(code)


GroupOption = Annotated[
    str | None, typer.Option("--group", "-g", help="The property group (name or id).")
]
EventsOption = Annotated[
    str | None, typer.Option("--events", "-e", help="Events (names or ids), comma-separated.")
]
BulkYes = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
]
PairsFile = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="CSV of event,group pairs (names or ids), one per line."),
]


@command
def bind_command(
    ctx: typer.Context,
    group: GroupOption = None,
    events: EventsOption = None,
    file: PairsFile = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    yes: BulkYes = False,
    json_output: JsonOption = False,
) -> None:
    """Bind a group to many events (or many pairs from a CSV); existing bindings are skipped.

    Asks first when an event is in reject mode and would drop events lacking the group's
    required properties.
    """
    _bulk(ctx, "bind", _pairs(group, events, file), concurrency, json_output, yes)


@command
def unbind_command(
    ctx: typer.Context,
    group: GroupOption = None,
    events: EventsOption = None,
    file: PairsFile = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    yes: BulkYes = False,
    json_output: JsonOption = False,
) -> None:
    """Remove a group from many events (or many pairs from a CSV); absent ones are skipped.

    Asks first, naming the bindings that go.
    """
    _bulk(ctx, "unbind", _pairs(group, events, file), concurrency, json_output, yes)


NamingOption = Annotated[
    str | None,
    typer.Option(
        help="Naming convention for event and property names: snake_case, camelCase, "
        "PascalCase, kebab-case or 'Title Case'."
    ),
]


@command
def lint_command(
    ctx: typer.Context,
    plan_path: PlanOption = None,
    earlier_file: OldPlanOption = None,
    naming: NamingOption = None,
    event_naming: Annotated[
        str | None, typer.Option(help="Naming convention for event names (overrides --naming).")
    ] = None,
    property_naming: Annotated[
        str | None,
        typer.Option(help="Naming convention for property names (overrides --naming)."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Also read the project: acknowledgements (allow_breaking) that no pending "
            "change matches are reported as stale.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Check a plan file offline: errors and warnings with file:line and a fix hint."""
    # `lint FILE`, the earlier spelling, arrives as an extra argument (see `register`).
    file = required_plan_file(plan_path, earlier_file, *_one_positional(ctx))
    problems = lint_file(
        file,
        naming=parse_convention(naming),
        event_naming=parse_convention(event_naming),
        property_naming=parse_convention(property_naming),
    )
    if live and not has_errors(problems):
        with client_from(ctx) as client:
            plan = compute_plan(client, load_plan(file))
        problems += stale_acknowledgement_problems(read_document(file), plan.stale_acknowledgements)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if json_output:
        data: dict[str, Any] = {
            "file": str(file),
            "errors": errors,
            "warnings": warnings,
            "problems": [p.as_dict() for p in problems],
        }
        print_json(data)
    else:
        for problem in problems:
            _print(str(problem))
        verdict = "ok" if not problems else f"{errors} error(s), {warnings} warning(s)"
        _print(Text(f"{file}: {verdict}", style="bold"))
    if has_errors(problems):
        raise typer.Exit(EXIT_ERROR)


def _one_positional(ctx: typer.Context) -> list[Path]:
    if len(ctx.args) > 1:
        exit_with_error(f"got unexpected extra arguments ({' '.join(ctx.args[1:])})")
    return [Path(arg) for arg in ctx.args]


def register(app: typer.Typer) -> None:
    """Add ``plan``, ``apply``, ``pull``, ``bind``, ``unbind`` and ``lint`` to ``app``."""
    app.command("plan")(plan_command)
    app.command("apply")(apply_command)
    app.command("pull")(pull_command)
    app.command("bind")(bind_command)
    app.command("unbind")(unbind_command)
    app.command("lint", context_settings={"allow_extra_args": True})(lint_command)
