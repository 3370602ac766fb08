"""Environments and enforcement: ``diff`` (cross-environment drift), ``promote`` (gated on the
source's soak) and ``ratchet`` (enforcement moved by the data).

Both read the plan's ``environments:`` block; each environment's key comes from
``POSTHOG_PERSONAL_API_KEY_<NAME>`` (else ``POSTHOG_PERSONAL_API_KEY``). The change set is
rendered as ``eventschema plan`` renders one.

Exit codes: 0 success (or no drift), 1 error, 2 usage error or partial apply, 3 authentication or
configuration error, 4 the soak gate refused the promotion (or ``diff --exit-code`` found drift).
``ratchet`` exits 0 whatever it decided (its switches are the news, sent with ``--notify``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from eventschema_tools.alerts import DEFAULT_INCIDENTS
from eventschema_tools.alerts.notify import alerting
from eventschema_tools.audit.soak import DEFAULT_MIN_EVENTS, DEFAULT_SLO, DEFAULT_SOAK, SoakVerdict
from eventschema_tools.cli.audit import IncidentsOption, NotifyOption, RoutesOption
from eventschema_tools.cli.common import (
    EXIT_OK,
    EXIT_THRESHOLDS,
    EnvOption,
    JsonOption,
    PlanOption,
    client_for,
    command,
    error_console,
    exit_with_error,
    fail,
    print_json,
    required_plan_file,
)
from eventschema_tools.cli.plan import (
    Concurrency,
    Prune,
    apply_exit_code,
    apply_progress,
    confirm_or_stop,
    plan_lines,
    print_lines,
    report_lines,
)
from eventschema_tools.rollout import (
    Promotion,
    PromotionOptions,
    RatchetMove,
    RatchetReport,
    check_promotion,
    compare_environments,
    notify_ratchet,
    promotion_options,
    ratchet,
    ratchet_options,
    store_ratchet,
)
from eventschema_tools.tracking_plan import DEFAULT_CONCURRENCY, apply
from eventschema_tools.tracking_plan.file import load_plan

__all__ = ["register"]


def _options(
    plan_path: Path | None,
    source: str,
    target: str,
    *,
    prune: bool,
    slo: float = DEFAULT_SLO,
    soak: str = DEFAULT_SOAK,
    min_events: int = DEFAULT_MIN_EVENTS,
) -> PromotionOptions:
    plan = load_plan(required_plan_file(plan_path))
    return promotion_options(
        plan, source=source, target=target, slo=slo, soak=soak, min_events=min_events, prune=prune
    )


def _source_notes(promotion: Promotion) -> Iterator[Text]:
    if promotion.not_in_source:
        shown = ", ".join(promotion.not_in_source[:10])
        more = (
            f" and {len(promotion.not_in_source) - 10} more"
            if len(promotion.not_in_source) > 10
            else ""
        )
        yield Text("")
        yield Text(
            f"Not in {promotion.source} yet (apply them there first): {shown}{more}", style="dim"
        )


def soak_lines(soak: SoakVerdict, source: str) -> Iterator[Text]:
    """The soak verdict: one line per changed event, then the outcome."""
    yield Text("")
    yield Text(
        f"Soak in {source}: SLO {soak.slo:.2%} over the last {soak.soak} "
        f"(buckets of {soak.bucket_seconds // 60} min, at least {soak.min_events} events):",
        style="bold",
    )
    for item in soak.events:
        held = item.status.value == "held"
        yield Text(("  ✓ " if held else "  ✗ ") + soak.describe(item), style="" if held else "red")


@command
def diff_command(
    ctx: typer.Context,
    env: Annotated[
        list[str],
        typer.Option(
            "--env",
            metavar="NAME",
            help="The two environments to compare, source first: --env staging --env prod.",
        ),
    ],
    plan_path: PlanOption = None,
    prune: Prune = False,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 4 when the environments differ (for CI)."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show what promoting the first environment to the second would change (reads only)."""
    if len(env) != 2:
        exit_with_error("give exactly two environments: --env SOURCE --env TARGET")
    options = _options(plan_path, env[0], env[1], prune=prune)
    with (
        client_for(ctx, options.source, options.plan) as source,
        client_for(ctx, options.target, options.plan) as target,
    ):
        promotion = compare_environments(source, target, options)
    if json_output:
        print_json(promotion)
    else:
        title = f"{options.target} differs from {options.source}; promoting would make:"
        print_lines(plan_lines(promotion.plan, title=title))
        print_lines(_source_notes(promotion))
    if exit_code and not promotion.plan.is_empty:
        raise typer.Exit(EXIT_THRESHOLDS)


@command
def promote_command(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(metavar="SOURCE", help="The environment to promote from (staging).")
    ],
    target: Annotated[
        str, typer.Argument(metavar="TARGET", help="The environment to promote to (prod).")
    ],
    plan_path: PlanOption = None,
    slo: Annotated[
        float,
        typer.Option(help="The share of the source's events that must conform (0.99 is 99%)."),
    ] = DEFAULT_SLO,
    soak: Annotated[
        str,
        typer.Option(help="How long they must have conformed: 6h, 24h, 7d (at most 90d)."),
    ] = DEFAULT_SOAK,
    min_events: Annotated[
        int, typer.Option(help="The fewest events a changed event needs in the soak period.")
    ] = DEFAULT_MIN_EVENTS,
    prune: Prune = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the change set and the verdict; write nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Promote without asking.")] = False,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    json_output: JsonOption = False,
) -> None:
    """Apply to TARGET the change set live in SOURCE, once SOURCE's changed events have held the
    SLO for the soak period."""
    options = _options(
        plan_path, source, target, prune=prune, slo=slo, soak=soak, min_events=min_events
    )
    with (
        client_for(ctx, options.source, options.plan) as source_client,
        client_for(ctx, options.target, options.plan) as target_client,
    ):
        promotion = check_promotion(source_client, target_client, options)
        if not json_output:
            title = f"promoting {source} → {target} will make these changes:"
            print_lines(plan_lines(promotion.plan, title=title))
            print_lines(_source_notes(promotion))
            if promotion.soak is not None:
                print_lines(soak_lines(promotion.soak, source))
        if not promotion.passed:
            if json_output:
                print_json(promotion)
            fail(promotion.refusal(), EXIT_THRESHOLDS)
        if dry_run or promotion.plan.is_empty:
            if json_output:
                print_json(promotion)
            return
        confirm_or_stop(yes)
        with apply_progress(len(promotion.plan.changes), "Promoting", not json_output) as bar:
            report = apply(target_client, promotion.plan, concurrency=concurrency, progress=bar)
    promotion = promotion.model_copy(update={"report": report})
    if json_output:
        print_json(promotion)
    else:
        print_lines(report_lines(report))
    code = apply_exit_code(report.ok, report.aborted)
    if code != EXIT_OK:
        raise typer.Exit(code)


_MOVE_SIGN = {
    RatchetMove.TO_REJECT: ("↑", "green"),
    RatchetMove.TO_ALLOW: ("↓", "red"),
    RatchetMove.KEEP: ("·", "dim"),
    RatchetMove.MISSING: ("?", "yellow"),
}


def ratchet_lines(report: RatchetReport) -> Iterator[Text]:
    """One line per ratcheted event: its move, its modes and why."""
    for step in report.steps:
        sign, style = _MOVE_SIGN[step.move]
        modes = f"{step.before} → {step.after}" if step.switched else f"stays {step.before or '-'}"
        yield Text(f"  {sign} {step.event}: {modes}; {step.reason}", style=style)


def _summary(report: RatchetReport) -> Iterator[Text]:
    yield Text("")
    yield Text(report.summary(), style="bold")


@command
def ratchet_command(
    ctx: typer.Context,
    plan_path: PlanOption = None,
    env: EnvOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and show the moves; switch nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Switch without asking.")] = False,
    history_dir: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Keep each run that switched an event in DIR (the audit history folder) as "
            "ratchet-<project>-<time>.json, with its evidence.",
        ),
    ] = None,
    notify: NotifyOption = None,
    incidents: IncidentsOption = DEFAULT_INCIDENTS,
    routes: RoutesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Move ratcheted events to reject once their conformance held the SLO for the soak period,
    and back to allow on a regression (events with a ratchet: entry in the plan)."""
    plan = load_plan(required_plan_file(plan_path))
    options = ratchet_options(plan, environment=env, dry_run=True)
    alerts = alerting(notify or [], routes=routes, incidents=incidents) if notify else None
    with client_for(ctx, env, plan) as client:
        report = ratchet(client, options)
        if not json_output:
            print_lines(ratchet_lines(report))
        if not dry_run and report.switches():
            confirm_or_stop(yes)
            report = report.model_copy(
                update={"dry_run": False, "report": apply(client, report.writes)}
            )
            if history_dir is not None:
                stored = store_ratchet(report, history_dir)
                error_console.print(f"Kept in {stored}", highlight=False)
            if alerts is not None:
                notified = notify_ratchet(alerts, client, report, plan=plan)
                error_console.print(
                    f"incidents: {notified.opened} opened, {notified.resolved} resolved",
                    highlight=False,
                )
    if json_output:
        print_json(report)
    else:
        print_lines(_summary(report))
        if report.report is not None:
            print_lines(report_lines(report.report))
    if report.report is not None:
        code = apply_exit_code(report.report.ok, report.report.aborted)
        if code != EXIT_OK:
            raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``diff``, ``promote`` and ``ratchet`` to ``app``."""
    app.command("diff")(diff_command)
    app.command("promote")(promote_command)
    app.command("ratchet")(ratchet_command)
