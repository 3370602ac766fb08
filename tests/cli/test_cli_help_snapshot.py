"""Every ``--help`` screen of ``eventschema``, byte for byte, against a stored snapshot.

Commands load their modules only when they run, so the root screen is drawn from a registry of
names and one-line helps; this snapshot is what proves that screen (and every other) did not
change. Rendered at a fixed width without colour. After a deliberate change of a command's help,
regenerate with ``python tests/cli/test_cli_help_snapshot.py``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from eventschema_tools.cli.main import COMMANDS, app

SNAPSHOT = Path(__file__).with_name("help_snapshot.txt")
WIDTH = "100"


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, typer.core.TyperGroup):
        context = typer.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            yield from _command_paths(sub, (*path, name))


def help_screens() -> str:
    """Every command's ``--help`` output, each under a ``$ eventschema ... --help`` line."""
    runner = CliRunner()
    env = {"COLUMNS": WIDTH, "TERMINAL_WIDTH": WIDTH, "NO_COLOR": "1"}
    screens = []
    argvs = [[*path, "--help"] for path in _command_paths(typer.main.get_command(app))]
    for argv in [[], *argvs]:  # with no arguments at all, the root screen too
        result = runner.invoke(app, argv, env=env, prog_name="eventschema")
        screens.append(f"$ {' '.join(['eventschema', *argv])}\n{result.output}")
    return "\n".join(screens)


def test_every_help_screen_matches_the_snapshot() -> None:
    assert help_screens() == SNAPSHOT.read_text(encoding="utf-8")


def test_each_listed_summary_is_the_first_paragraph_of_its_command_help() -> None:
    registered = {}
    for module in {entry.module for entry in COMMANDS}:
        holder = typer.Typer()
        importlib.import_module(module).register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
            registered[name] = (module, summary)

    assert registered == {entry.name: (entry.module, entry.summary) for entry in COMMANDS}


if __name__ == "__main__":
    SNAPSHOT.write_text(help_screens(), encoding="utf-8")
