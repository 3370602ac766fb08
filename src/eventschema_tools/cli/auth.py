"""``eventschema auth status``: who the key is, on which host and project, with which scopes.

One call, :meth:`EventSchemaClient.whoami`; the key is shown only masked (``phx_...abcd``).
A wrong key, a project that is not there and one the key may not use exit 3, as everywhere.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from eventschema_tools.cli.common import JsonOption, client_from, command, console, print_json
from eventschema_tools.identity import WhoAmI

__all__ = ["register"]

auth_app = typer.Typer(
    help="The connection's key: who it is and what it may do.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``auth`` command group to ``app``."""
    app.add_typer(auth_app, name="auth")


@auth_app.command("status")
@command
def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show the key's user, host, project and scopes (the key itself only masked)."""
    with client_from(ctx) as client:
        who = client.whoami()
    if json:
        print_json({**who.model_dump(mode="json"), "missing_scopes": who.missing_scopes})
        return
    console.print(_status_table(who))


def _status_table(who: WhoAmI) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Host", escape(who.host))
    project = who.project
    name = f" ({project.name})" if project is not None and project.name else ""
    table.add_row("Project", escape(f"{who.project_id}{name}"))
    if who.user is not None:
        person = " ".join(p for p in (who.user.first_name, who.user.last_name) if p)
        email = f" <{who.user.email}>" if who.user.email else ""
        table.add_row("User", escape(f"{person}{email}".strip() or str(who.user.id)))
    label = f" ({who.key.label})" if who.key is not None and who.key.label else ""
    table.add_row("Key", escape(f"{who.key_mask}{label}"))
    if who.key is not None:
        scopes = who.key.scopes
        shown = ", ".join(scopes) if scopes and scopes != ["*"] else "* (every scope)"
        table.add_row("Scopes", escape(shown))
        teams = who.key.scoped_teams
        table.add_row(
            "Projects", ", ".join(str(t) for t in teams) if teams else "every project of the user"
        )
    missing = who.missing_scopes
    if missing:
        needs = "; ".join(f"{scope} for {why}" for scope, why in missing.items())
        table.add_row("Missing", escape(needs))
    for part, why in who.unavailable.items():
        table.add_row("Not shown", escape(f"{part}: {why}"))
    return table
