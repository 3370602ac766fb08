"""What every ``eventschema`` command shares: connection options, output, errors, exit codes.

Exit codes (documented in docs/cli.md):

====  ==================================================================
0     success (including "no changes")
1     error (API error, unreachable host, bad file)
2     usage error (bad option or argument), or a partial failure of bulk work
3     authentication or configuration error (key, scope, project, host)
4     audit thresholds breached
====  ==================================================================
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import (
    AuthenticationError,
    ConfigurationError,
    EventSchemaError,
    InvalidInputError,
    PermissionDeniedError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_THRESHOLDS",
    "EXIT_USAGE",
    "Connection",
    "JsonOption",
    "cli_errors",
    "client_from",
    "command",
    "console",
    "exit_with_error",
    "fail",
    "print_json",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 2
EXIT_AUTH = 3
EXIT_THRESHOLDS = 4

console = Console()
error_console = Console(stderr=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]


@dataclass(frozen=True)
class Connection:
    """The connection options given on the command line (``None`` = use the environment)."""

    host: str | None = None
    project: str | None = None
    api_key: str | None = None


def client_from(ctx: typer.Context) -> EventSchemaClient:
    """Build a client from the root command's ``--host/--project/--api-key`` and the env."""
    conn = ctx.find_root().obj
    if not isinstance(conn, Connection):
        conn = Connection()
    return EventSchemaClient(api_key=conn.api_key, project_id=conn.project, host=conn.host)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one line on stderr and exit with ``code``."""
    # Messages carry names and PostHog's text; escaping keeps "[...]" in them from being markup.
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_with_error(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``eventschema: error: <message>`` on stderr and exit with ``code``.

    The form of usage errors (bad option values), also used outside a command's body, where
    Typer's own errors are reported the same way.
    """
    typer.echo(f"eventschema: error: {message}", err=True)
    raise SystemExit(code)


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
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def to_jsonable(value: Any) -> Any:
    """Pydantic models (and lists of them) as plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    return value


def print_json(value: Any) -> None:
    """Write ``value`` as indented JSON on stdout (no colour codes, parseable by scripts)."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Decorator: run a command body under :func:`cli_errors`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with cli_errors():
            fn(*args, **kwargs)

    return wrapper
