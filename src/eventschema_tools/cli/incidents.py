"""``eventschema incidents``: the incidents ``audit --notify`` keeps: list, ack, mute, resolve.

Exit codes: 0 done, 1 error (a digest that reached no target), 2 bad options (unknown incident,
target or period).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from eventschema_tools._text import printable
from eventschema_tools.alerts import (
    DEFAULT_INCIDENTS,
    IncidentState,
    IncidentStore,
    notify_targets,
)
from eventschema_tools.alerts.delivery import deliver_pending
from eventschema_tools.alerts.digest import send_digest
from eventschema_tools.alerts.notify import INCIDENTS_VARIABLE, alerting
from eventschema_tools.alerts.targets import target_names
from eventschema_tools.audit.model import parse_window
from eventschema_tools.cli.common import (
    JsonOption,
    client_from,
    command,
    console,
    fail,
    print_json,
)
from eventschema_tools.errors import InvalidInputError

__all__ = ["register"]

incidents_app = typer.Typer(
    help="Incidents kept by `audit --notify`: list, acknowledge, mute, resolve, digest.",
    no_args_is_help=True,
)

IncidentsFile = Annotated[
    Path,
    typer.Option(
        "--incidents",
        metavar="FILE",
        envvar=INCIDENTS_VARIABLE,
        help="The incidents file (SQLite).",
    ),
]
Note = Annotated[str, typer.Option(help="Why (kept with the incident).")]


def register(app: typer.Typer) -> None:
    """Add the ``incidents`` command group to ``app``."""
    app.add_typer(incidents_app, name="incidents")


@incidents_app.command("list")
@command
def list_incidents(
    incidents: IncidentsFile = DEFAULT_INCIDENTS,
    all_states: Annotated[
        bool, typer.Option("--all", help="Resolved incidents too (default: unresolved only).")
    ] = False,
    json: JsonOption = False,
) -> None:
    """List incidents, newest first."""
    states = None if all_states else [s for s in IncidentState if s != IncidentState.RESOLVED]
    with IncidentStore.open(incidents) as store:
        found = store.incidents(states=states)
    if json:
        print_json([item.summary() for item in found])
        return
    if not found:
        console.print("No incidents." if all_states else "No open incidents.")
        return
    table = Table(title=f"Incidents in {incidents}", title_justify="left")
    for heading in ("ID", "State", "Severity", "Where", "What"):
        table.add_column(heading, overflow="fold")
    for item in found:
        finding = item.finding
        state = item.state.value
        if item.muted_until is not None and item.state == IncidentState.MUTED:
            state += f" until {item.muted_until:%Y-%m-%d}"
        table.add_row(
            str(item.id),
            state,
            finding.severity.value,
            Text(printable(finding.where)),
            Text(printable(finding.message)),
        )
    console.print(table)


@incidents_app.command("ack")
@command
def acknowledge(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="The incident's number.")],
    incidents: IncidentsFile = DEFAULT_INCIDENTS,
    note: Note = "",
) -> None:
    """Acknowledge an incident: someone owns it (escalations and resolution still notify)."""
    with IncidentStore.open(incidents) as store:
        incident = store.acknowledge(incident_id, note=note)
    console.print(f"incident {incident.id} acknowledged", highlight=False)


@incidents_app.command("mute")
@command
def mute(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="The incident's number.")],
    for_: Annotated[
        str, typer.Option("--for", help="How long: 12h, 7d, 2w (no message meanwhile).")
    ] = "7d",
    incidents: IncidentsFile = DEFAULT_INCIDENTS,
    note: Note = "",
) -> None:
    """Mute an incident for a while: no message until then, resolution included."""
    until = datetime.now(UTC) + parse_window(for_)
    with IncidentStore.open(incidents) as store:
        incident = store.mute(incident_id, until=until, note=note)
    console.print(f"incident {incident.id} muted until {until:%Y-%m-%d %H:%M} UTC", highlight=False)


@incidents_app.command("resolve")
@command
def resolve(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="The incident's number.")],
    incidents: IncidentsFile = DEFAULT_INCIDENTS,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TARGET",
            help="Also tell TARGET (slack, webhook, github, email, posthog) it is resolved.",
        ),
    ] = None,
    note: Note = "",
) -> None:
    """Resolve an incident by hand (it opens again if an audit finds it again)."""
    alerts = alerting(notify or [], incidents=incidents)
    targets = alerts.targets if alerts is not None else []
    if alerts is not None and alerts.writes_back:
        with client_from(ctx) as client:
            targets = alerts.targets_for(client)
    with IncidentStore.open(incidents) as store:
        incident = store.resolve(
            incident_id,
            targets=[target.name for target in targets],
            now=datetime.now(UTC),
            note=note,
        )
        if targets:
            deliver_pending(store, targets)
    console.print(f"incident {incident.id} resolved", highlight=False)


@incidents_app.command("digest")
@command
def digest(
    notify: Annotated[
        list[str],
        typer.Option(metavar="TARGET", help="Where the digest goes: slack, webhook, email."),
    ],
    period: Annotated[
        str, typer.Option(help="daily or weekly: sent once per UTC day or ISO week.")
    ] = "daily",
    incidents: IncidentsFile = DEFAULT_INCIDENTS,
) -> None:
    """Send one message listing the open incidents, once per day or week per target."""
    if period not in ("daily", "weekly"):
        raise InvalidInputError(
            f"unknown period {period!r}: choose daily or weekly", [("period", "unknown")]
        )
    if any(kind in ("github", "posthog") for kind, _ in target_names(notify)):
        raise InvalidInputError(
            "the digest goes to slack, webhook or email", [("notify", "not a digest target")]
        )
    targets = notify_targets(notify)
    with IncidentStore.open(incidents) as store:
        report = send_digest(
            store,
            targets,
            period="daily" if period == "daily" else "weekly",
            now=datetime.now(UTC),
        )
    line = f"digest {report.period}: {report.incidents} open incident(s)"
    if report.sent:
        line += f"; sent to {', '.join(report.sent)}"
    if report.already_sent:
        line += f"; {', '.join(report.already_sent)} had it already"
    console.print(line, highlight=False)
    if report.failed:
        reasons = "; ".join(f"{kind}: {reason}" for kind, reason in report.failed)
        fail(f"the digest did not reach {reasons}; run it again to retry")
