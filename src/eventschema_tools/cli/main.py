"""The `eventschema` command line.

Each command parses its options, makes one call into the library and prints the result. Bad
option values end the command with one line on stderr and exit code 2; the API key is never
printed in full unless it is the public demo key.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from eventschema_tools._version import __version__
from eventschema_tools.cli import (
    audit,
    auth,
    codegen,
    crud,
    incidents,
    infer,
    plan,
    rollout,
    sandbox,
)
from eventschema_tools.cli.common import Connection, exit_with_error

app = typer.Typer(
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


crud.register(app)
auth.register(app)
plan.register(app)
rollout.register(app)
infer.register(app)
codegen.register(app)
audit.register(app)
incidents.register(app)
sandbox.register(app)


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


def main() -> None:
    """Console-script entry point: run the app, turning usage errors into one stderr line."""
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
