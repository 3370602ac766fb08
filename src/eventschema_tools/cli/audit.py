"""``eventschema audit``: how live events conform to their schemas, for people and for CI;
``eventschema freshness``: whether events are arriving at all.

Exit codes: 0 the audit passed (the events are fresh), 4 a finding reached ``--fail-on``
(thresholds breached; an event is stale), 1 error (API error, unreadable plan), 2 bad options,
3 authentication or configuration error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from eventschema_tools._text import printable
from eventschema_tools.alerts import (
    DEFAULT_INCIDENTS,
    INCIDENTS_VARIABLE,
    ROUTES_VARIABLE,
    NotifyResult,
    alerting,
)
from eventschema_tools.audit.freshness import check_freshness, freshness_options
from eventschema_tools.audit.report import OutputFormat, render, render_table
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.cli.common import (
    EXIT_THRESHOLDS,
    EnvOption,
    JsonOption,
    OldPlanOption,
    client_for,
    client_from,
    command,
    console,
    error_console,
    exit_with_error,
    plan_file,
    print_json,
    write_stdout,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.environments import environment_plan
from eventschema_tools.tracking_plan.file import load_plan

__all__ = ["IncidentsOption", "NotifyOption", "RoutesOption", "register"]

NotifyOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="TARGET",
        help="Keep findings as incidents and message new, escalated and resolved ones to "
        "TARGET: slack, webhook, github, email or posthog (repeatable; settings from "
        "EVENTSCHEMA_* "
        "variables).",
    ),
]
IncidentsOption = Annotated[
    Path,
    typer.Option(
        metavar="FILE",
        envvar=INCIDENTS_VARIABLE,
        help="The incidents file (SQLite) --notify keeps.",
    ),
]
RoutesOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        envvar=ROUTES_VARIABLE,
        help="Routes file: which targets each owner's incidents go to (owners from the "
        "plan's owner: entries).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``audit`` and ``freshness`` commands to ``app``."""
    app.command(name="audit")(audit)
    app.command(name="freshness")(freshness)


@command
def audit(
    ctx: typer.Context,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help="Tracking-plan file: check its schemas and value rules, and its drift from "
            "PostHog. Without it the live schemas are checked.",
        ),
    ] = None,
    earlier_plan: OldPlanOption = None,
    kinds: Annotated[
        str | None,
        typer.Option(
            help="Audits to run, comma-separated: drift,hygiene,conformance,enforcement,volume,"
            "privacy (default: all but privacy; drift needs --plan or --generated)."
        ),
    ] = None,
    window: Annotated[str, typer.Option(help="How far back to look: 30m, 24h, 7d, 2w.")] = "24h",
    fail_on: Annotated[
        str, typer.Option(help="Lowest severity that fails the audit (exit 4): warning or error.")
    ] = "error",
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table, json or markdown.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option(help="Write the report to FILE instead of the terminal.")
    ] = None,
    history_dir: Annotated[
        Path | None,
        typer.Option(help="Keep each report in DIR as JSON and show the change since the last."),
    ] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option(help="Thresholds file (YAML/JSON): warning and error rates, per event."),
    ] = None,
    events: Annotated[
        str | None,
        typer.Option(
            help="Measure conformance and enforcement only for these events (comma-separated; "
            "default: every event with a schema)."
        ),
    ] = None,
    sample: Annotated[
        str | None,
        typer.Option(
            help="Read this share of the people (HogQL SAMPLE), e.g. 0.1: rates then carry "
            "95% intervals and are graded on them."
        ),
    ] = None,
    show_values: Annotated[
        bool,
        typer.Option(
            "--show-values",
            help="Show offending values as they are (default: type, size and a SHA-256 "
            "fingerprint).",
        ),
    ] = False,
    generated: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Code from eventschema codegen (its folder, module or manifest): the drift "
            "audit also reports where PostHog's schemas differ from what the code expects.",
        ),
    ] = None,
    notify: NotifyOption = None,
    incidents: IncidentsOption = DEFAULT_INCIDENTS,
    routes: RoutesOption = None,
    env: EnvOption = None,
) -> None:
    """Audit live events: drift, hygiene, conformance, enforcement, volume and privacy."""
    plan_path = plan_file(plan, earlier_plan)
    if env is not None and plan_path is None:
        exit_with_error("--env NAME picks one of the plan's environments: give --plan FILE too")
    environments = load_plan(plan_path) if env is not None and plan_path is not None else None
    options = audit_options(
        plan=environment_plan(environments, env) if environments and env else plan_path,
        kinds=kinds,
        window=window,
        thresholds=thresholds,
        fail_on=fail_on,
        history_dir=history_dir,
        events=events,
        sample=sample,
        show_values=show_values,
        generated=generated,
    )
    if routes is not None and not notify:
        raise InvalidInputError(
            "--routes routes the messages of --notify: name the targets with --notify",
            [("notify", "missing")],
        )
    alerts = alerting(notify or [], routes=routes, incidents=incidents) if notify else None
    with client_for(ctx, env, environments) as client:
        report = run_audit(client, options)
        if alerts is not None:
            result = alerts.notify(client, report, events=options.events, plan=options.plan)
            error_console.print(_notify_summary(result), highlight=False)
    if output is not None:
        output.write_text(render(report, output_format), encoding="utf-8")
        verdict = "passed" if report.passed else "failed"
        error_console.print(f"audit {verdict}; report written to {output}", highlight=False)
    elif output_format == "table":
        render_table(report, console)
    else:
        write_stdout(render(report, output_format))
    if not report.passed:
        raise typer.Exit(EXIT_THRESHOLDS)


def _notify_summary(result: NotifyResult) -> str:
    delivery = result.delivery
    line = (
        f"incidents ({result.path}): {result.opened} opened, {result.resolved} resolved; "
        f"{len(delivery.delivered)} message(s) delivered"
    )
    if delivery.failed:
        reasons = "; ".join(sorted({reason for *_, reason in delivery.failed}))
        line += f", {len(delivery.failed)} still pending ({reasons}): retried on the next run"
    return line


@command
def freshness(
    ctx: typer.Context,
    events: Annotated[
        str, typer.Option(help="The events to check, comma-separated (any name, schema or not).")
    ],
    within: Annotated[str, typer.Option(help="How recent an arrival counts: 30m, 6h, 1d.")] = "1h",
    min_events: Annotated[
        int, typer.Option(help="The fewest arrivals within the window that count as fresh.")
    ] = 1,
    json_output: JsonOption = False,
) -> None:
    """Check in one HogQL query that each event arrived recently; exit 4 while one has not."""
    options = freshness_options(events=events, within=within, min_events=min_events)
    with client_from(ctx) as client:
        check = check_freshness(client, options)
    if json_output:
        print_json(check)
    else:
        for item in check.events:
            mark = "ok   " if item.fresh else "STALE"
            last = item.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ") if item.last_seen else "never"
            console.print(
                Text(
                    printable(
                        f"{mark} {item.event}: {item.events:,} in the last "
                        f"{check.within}; latest {last}"
                    )
                ),
                highlight=False,
                soft_wrap=True,
            )
        verdict = "all fresh" if check.passed else f"stale: {', '.join(check.stale)}"
        console.print(Text(printable(verdict), style="bold"), highlight=False, soft_wrap=True)
    if not check.passed:
        raise typer.Exit(EXIT_THRESHOLDS)
