"""A command group that imports a command's module only when that command runs.

Importing every command module up front costs more than the rest of a start together (the
audit, plan and rollout machinery, YAML, the alert senders), and most runs use one command. The
group is given each command's name, its module and the summary its ``--help`` lists; the listing
is drawn from those, and the module is imported the first time one of its commands is looked up
for anything else (running it, its own ``--help``, completion).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer import _click as click  # the Click that Typer's classes are built on

__all__ = ["LazyCommand", "LazyGroup"]


@dataclass(frozen=True)
class LazyCommand:
    """One command of a :class:`LazyGroup`, known without importing its module."""

    name: str
    module: str
    """The module whose ``register(app)`` adds the command, e.g. ``eventschema_tools.cli.crud``."""
    summary: str
    """The first paragraph of the command's help, as the group's ``--help`` lists it."""


class _Summary(TyperCommand):
    """What the group's ``--help`` lists for a command whose module is not imported yet."""

    def __init__(self, entry: LazyCommand) -> None:
        super().__init__(entry.name, help=entry.summary)
        self.module = entry.module


class LazyGroup(TyperGroup):
    """A Typer group whose subclasses name their commands in :attr:`lazy_commands`.

    Typer builds the group from a ``typer.Typer(cls=...)`` app; the named commands stand beside
    those registered on the app itself, in the order given.
    """

    lazy_commands: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for entry in self.lazy_commands:
            self.commands[entry.name] = _Summary(entry)
        self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command named ``cmd_name``, its module imported unless only listed in help."""
        command = self.commands.get(cmd_name)
        if isinstance(command, _Summary) and not self._listing:
            self._load(command.module)
            command = self.commands[cmd_name]
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's help, listing each command from its summary."""
        with self._listing_only():
            super().format_help(ctx, formatter)

    @contextmanager
    def _listing_only(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def _load(self, module_name: str) -> None:
        """Import ``module_name`` and put its commands in place of their summaries."""
        holder = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        importlib.import_module(module_name).register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            if not isinstance(self.commands.get(name), _Summary):
                raise LookupError(f"{module_name} registers {name!r}, a command not named here")
            self.commands[name] = command
