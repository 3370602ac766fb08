"""What every ``eventschema`` command shares: connection options, output, errors, exit codes.

Exit codes (documented in docs/cli.md):

====  ==================================================================
0     success (including "no changes")
1     error (API error, unreachable host, bad file)
2     usage error (bad option or argument), a confirmation with no terminal and no --yes,
      or a partial failure of bulk work
3     authentication or configuration error (key, scope, project, host)
4     audit thresholds breached
====  ==================================================================

Output is for people and for scripts alike. On a terminal, tables fit its width; anywhere else
(a pipe, a file) nothing wraps, so each row stays on one line for ``grep`` and ``cut``. A reader
that goes away early (``| head -1``) is not an error: the rest of the output is dropped and the
command still ends with its own exit code. Names from the project are shown through
:func:`eventschema_tools._text.printable`, so control characters in them are never sent raw.

Every command imports this module, ``eventschema --help`` too: the client, plan files and risk
assessment are imported inside the functions that use them, so a command loads only its own.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from eventschema_tools._text import printable
from eventschema_tools.errors import (
    AuthenticationError,
    ConfigurationError,
    EventSchemaError,
    InvalidInputError,
    PermissionDeniedError,
)

if TYPE_CHECKING:
    from eventschema_tools.catalog.risk import Risk, Write
    from eventschema_tools.client import EventSchemaClient
    from eventschema_tools.tracking_plan.file import TrackingPlan

__all__ = [
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_THRESHOLDS",
    "EXIT_USAGE",
    "Connection",
    "EnvOption",
    "JsonOption",
    "OldPlanOption",
    "PlanOption",
    "ask_before",
    "cli_errors",
    "client_for",
    "client_from",
    "command",
    "confirm_overwrite",
    "confirm_write",
    "console",
    "exit_with_error",
    "fail",
    "plan_file",
    "print_json",
    "required_plan_file",
    "write_stdout",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 2
EXIT_AUTH = 3
EXIT_THRESHOLDS = 4

# Wider than any row the CLI prints (names are at most a few hundred characters): off a terminal,
# tables take their natural width instead of wrapping at 80 columns or at $COLUMNS.
_UNWRAPPED_WIDTH: Final = 1_000_000


def _drop_rest_of(stream: IO[str]) -> None:
    """The reader of ``stream`` has gone (``| head``): send whatever follows to /dev/null.

    Python's recipe for SIGPIPE in command-line programs (the note on SIGPIPE in the ``signal``
    docs), except that the command carries on, so it still ends with its own exit code.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


class _Console(Console):
    """A Rich console that outlives its reader instead of exiting 1 (Rich's default)."""

    def on_broken_pipe(self) -> None:
        """Print nothing more and let the command finish."""
        self.quiet = True
        _drop_rest_of(self.file)


def _console(*, stderr: bool = False) -> Console:
    """The console on stdout or stderr: the terminal's width, or no wrapping off a terminal."""
    made = _Console(stderr=stderr)
    if not made.is_terminal:
        made.width = _UNWRAPPED_WIDTH
    return made


console = _console()
error_console = _console(stderr=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]

PlanOption = Annotated[
    Path | None,
    typer.Option("--plan", metavar="FILE", help="The tracking-plan file (YAML or JSON)."),
]
"""``--plan FILE``: how every command that reads or writes a tracking-plan file is given it."""

OldPlanOption = Annotated[Path | None, typer.Option("--file", "-f", hidden=True)]

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME",
        help="Work on this environment of the plan (its host and project; key from "
        "POSTHOG_PERSONAL_API_KEY_<NAME>, else POSTHOG_PERSONAL_API_KEY).",
    ),
]
"""``--env NAME``: one of the plan's environments instead of ``--host``/``--project``."""
"""``-f``/``--file``, an earlier spelling of ``--plan``: still accepted, no longer shown."""


@dataclass(frozen=True)
class Connection:
    """The connection options given on the command line (``None`` = use the environment)."""

    host: str | None = None
    project: str | None = None
    api_key: str | None = None


def _connection(ctx: typer.Context) -> Connection:
    conn = ctx.find_root().obj
    return conn if isinstance(conn, Connection) else Connection()


def client_from(ctx: typer.Context) -> EventSchemaClient:
    """Build a client from the root command's ``--host/--project/--api-key`` and the env."""
    from eventschema_tools.client import EventSchemaClient

    conn = _connection(ctx)
    return EventSchemaClient(api_key=conn.api_key, project_id=conn.project, host=conn.host)


def client_for(ctx: typer.Context, env: str | None, plan: TrackingPlan | None) -> EventSchemaClient:
    """The client of ``--env``'s project when it is given (the plan names the environment),
    else the one :func:`client_from` builds. ``--api-key`` still wins over the variables."""
    from eventschema_tools.tracking_plan.environments import (
        SHARED_KEY_VARIABLE,
        environment_client,
    )

    if env is None:
        return client_from(ctx)
    if plan is None:
        exit_with_error("--env NAME picks one of the plan's environments: give --plan FILE too")
    conn = _connection(ctx)
    if conn.host is not None or conn.project is not None:
        exit_with_error("--env gives the host and project: leave out --host and --project")
    environ = {SHARED_KEY_VARIABLE: conn.api_key} if conn.api_key else None
    return environment_client(plan, env, environ=environ)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one line on stderr and exit with ``code``."""
    # Messages carry names and PostHog's text: control characters are spelled out, and escaping
    # keeps "[...]" in them from being markup.
    shown = escape(printable(message, multiline=True))
    error_console.print(f"[bold red]error:[/] {shown}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_with_error(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``eventschema: error: <message>`` on stderr and exit with ``code``.

    The form of usage errors (bad option values), also used outside a command's body, where
    Typer's own errors are reported the same way.
    """
    typer.echo(f"eventschema: error: {printable(message, multiline=True)}", err=True)
    raise SystemExit(code)


def plan_file(plan: Path | None, *earlier: Path | None) -> Path | None:
    """The plan file given as ``--plan`` or in an earlier spelling; None when none was given.

    Ends the command with a usage error when the file is given more than once.
    """
    given = [path for path in (plan, *earlier) if path is not None]
    if len(given) > 1:
        exit_with_error("give the tracking-plan file once, as --plan FILE")
    return given[0] if given else None


def required_plan_file(plan: Path | None, *earlier: Path | None) -> Path:
    """Like :func:`plan_file`, for commands that need the file: a usage error without it."""
    chosen = plan_file(plan, *earlier)
    if chosen is None:
        exit_with_error("Missing option '--plan' (the tracking-plan file, YAML or JSON).")
    return chosen


def ask_before(client: EventSchemaClient, write: Write, *, yes: bool) -> None:
    """Ask before ``write`` when it risks something; with ``--yes`` nothing is even read."""
    from eventschema_tools.catalog.risk import assess

    if not yes:
        confirm_write(assess(client, write))


def confirm_write(risk: Risk) -> None:
    """Ask before a write that removes or drops something; end the command if not agreed.

    The question is the one the MCP server asks (:mod:`eventschema_tools.catalog.risk`).
    Without a terminal to ask on, the command ends with exit code 2 and one line naming
    ``--yes``, which callers pass to skip the assessment and the question altogether.
    """
    if risk.needs_confirmation:
        _ask(risk.question, risk.nothing_done)


def confirm_overwrite(path: Path, *, yes: bool) -> None:
    """Ask before a command replaces the existing file ``path``; ``--yes`` answers for scripts.

    Asked before any request, so a "no" costs nothing. Without a terminal the command ends
    with exit code 2 and one line naming ``--yes``, as :func:`confirm_write` does.
    """
    if not yes and path.exists():
        _ask(f"{path} exists. Overwrite it?", f"{path} was left as it was")


def _ask(question: str, nothing_done: str) -> None:
    """Ask ``question`` on the terminal; end the command (``nothing_done``) unless agreed."""
    if not sys.stdin.isatty():
        fail(
            f"{question} Not asked: standard input is not a terminal, so "
            f"{nothing_done}; pass --yes to go ahead.",
            EXIT_USAGE,
        )
    try:
        confirmed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # end of input or Ctrl+C
        confirmed = False
    if not confirmed:
        fail(f"cancelled, so {nothing_done} (pass --yes to skip this question)")


def exit_code_for(exc: EventSchemaError) -> int:
    """The exit code of an error: 3 for auth/config, 2 for bad input, 1 otherwise."""
    if isinstance(exc, ConfigurationError | AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(exc, InvalidInputError):
        return EXIT_USAGE
    return EXIT_ERROR


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn this package's errors (and bad files) into one stderr line and an exit code."""
    try:
        yield
    except EventSchemaError as exc:
        fail(str(exc), exit_code_for(exc))
    except BrokenPipeError:
        # A write that bypassed the guarded ones below; its command cannot finish, so exit 1.
        _drop_rest_of(sys.stdout)
        raise typer.Exit(EXIT_ERROR) from None
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def to_jsonable(value: Any) -> Any:
    """Pydantic models (and lists of them) as plain JSON values."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    return value


def write_stdout(text: str) -> None:
    """Write ``text`` on stdout as it is; a reader that has gone (``| head``) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_rest_of(sys.stdout)


def print_json(value: Any) -> None:
    """Write ``value`` as indented JSON on stdout (no colour codes, parseable by scripts).

    ``json.dumps`` escapes every control character and every non-ASCII one, so names from the
    project cannot reach the terminal raw even here.
    """
    write_stdout(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Decorator: run a command body under :func:`cli_errors`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with cli_errors():
            fn(*args, **kwargs)

    return wrapper
