"""The `eventschema` command line.

Each command parses its options, makes one call into the library and prints the result. Bad
option values end the command with one line on stderr and exit code 2; the API key is never
printed in full unless it is the public demo key.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from typing import Annotated

import typer

from eventschema_tools._version import __version__
from eventschema_tools.cli.common import Connection, exit_with_error
from eventschema_tools.cli.lazy_group import LazyCommand, LazyGroup


def _commands_of(module: str, *summaries: tuple[str, str]) -> tuple[LazyCommand, ...]:
    return tuple(
        LazyCommand(name, f"eventschema_tools.cli.{module}", summary) for name, summary in summaries
    )


# Each module's `register(app)` adds these commands when one of them runs; the summaries are the
# first paragraph of each command's help (a test holds them to it), listed in this order.
COMMANDS: tuple[LazyCommand, ...] = (
    *_commands_of(
        "plan",
        (
            "plan",
            "Show the changes that would bring PostHog to the plan, each classified breaking, "
            "risky\nor safe; --backtest replays them over live events (reads only).",
        ),
        ("apply", "Make PostHog match the plan: groups first, then bindings and event settings."),
        ("pull", "Write the live project as a plan file; `plan` on it then shows no changes."),
        (
            "bind",
            "Bind a group to many events (or many pairs from a CSV); existing bindings are "
            "skipped.",
        ),
        (
            "unbind",
            "Remove a group from many events (or many pairs from a CSV); absent ones are skipped.",
        ),
        ("lint", "Check a plan file offline: errors and warnings with file:line and a fix hint."),
    ),
    *_commands_of(
        "rollout",
        (
            "diff",
            "Show what promoting the first environment to the second would change (reads only).",
        ),
        (
            "promote",
            "Apply to TARGET the change set live in SOURCE, once SOURCE's changed events have "
            "held the\nSLO for the soak period.",
        ),
        (
            "ratchet",
            "Move ratcheted events to reject once their conformance held the SLO for the soak "
            "period,\nand back to allow on a regression (events with a ratchet: entry in the "
            "plan).",
        ),
    ),
    *_commands_of(
        "infer",
        (
            "infer",
            "Propose a tracking plan from live events, with shared property groups (reads only).",
        ),
    ),
    *_commands_of(
        "codegen",
        ("codegen", "Generate typed capture helpers (one per event) from the tracking plan."),
    ),
    *_commands_of(
        "audit",
        (
            "audit",
            "Audit live events: drift, hygiene, conformance, enforcement, volume and privacy.",
        ),
        (
            "freshness",
            "Check in one HogQL query that each event arrived recently; exit 4 while one has not.",
        ),
    ),
    *_commands_of(
        "sandbox",
        ("sandbox", "Serve a PostHog-compatible sandbox until Ctrl+C."),
        (
            "demo",
            "Run the whole job on a throwaway sandbox: events, plan, drift and every audit.",
        ),
    ),
    *_commands_of(
        "crud",
        ("schemas", "Event schemas: bindings of property groups to event definitions."),
        ("groups", "Property groups: named, reusable sets of typed properties."),
        ("events", "Event definitions: the events the project knows."),
    ),
    *_commands_of("auth", ("auth", "The connection's key: who it is and what it may do.")),
    *_commands_of(
        "incidents",
        (
            "incidents",
            "Incidents kept by `audit --notify`: list, acknowledge, mute, resolve, digest.",
        ),
    ),
)


class _Commands(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    cls=_Commands,
    name="eventschema",
    help="Keep PostHog event schemas under control.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"eventschema-tools {__version__}")
        raise typer.Exit()


@app.callback()
def connection(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(help="PostHog host: us, eu or a URL (env POSTHOG_HOST; default us)."),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(help="Project id or @current (env POSTHOG_PROJECT_ID)."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Personal API key phx_... (env POSTHOG_PERSONAL_API_KEY; prefer the env var: "
            "command lines are visible to other local users)."
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version (eventschema-tools X.Y.Z) and exit.",
        ),
    ] = False,
) -> None:
    """Keep PostHog event schemas under control.

    Connection options apply to every command and win over the POSTHOG_* environment variables.
    """
    ctx.obj = Connection(host=host, project=project, api_key=api_key)


def _show_retries_on_terminal() -> None:
    """Print the client's retry notices on stderr when a person is watching it.

    Without them a slow or flaky host looks like a hung command; scripts (stderr not a
    terminal) keep a quiet stderr that holds only the final error.
    """
    if not sys.stderr.isatty():
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("eventschema: %(message)s"))
    retry_logger = logging.getLogger("eventschema_tools.retry")
    retry_logger.addHandler(handler)
    retry_logger.setLevel(logging.INFO)


def _skip_final_collections() -> None:
    """Let the interpreter's shutdown skip the collector's passes over what was built to start.

    The process ends with the command, and those passes walk every object the libraries built
    (Pydantic's validators, Typer's commands): they took longer than a short command's own
    work. Objects still go as the interpreter frees them; only cycles among them are left to the
    operating system, like anything else the interpreter does not reach at exit.
    """
    atexit.register(gc.freeze)


def main() -> None:
    """Console-script entry point: run the app, turning usage errors into one stderr line."""
    _skip_final_collections()
    _show_retries_on_terminal()
    try:
        result = app(standalone_mode=False)
    except typer.TyperException as error:
        exit_with_error(error.format_message(), error.exit_code)
    except typer.Abort:
        typer.echo("eventschema: aborted", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
