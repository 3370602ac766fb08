"""``eventschema schemas|groups|events``: read and change one project's schemas from the shell.

Each command parses its options, makes one call to :class:`~eventschema_tools.catalog.Catalog`
(the operations the MCP server runs too, so both behave the same) and prints the result: a Rich
table or a sentence, or the result's JSON with ``--json``. Events and property groups are given
by name or by id: a value that parses as a UUID is an id, anything else is a name, matched
exactly. An unknown name fails with exit code 1 and suggests the closest names in the project.
Writes that remove or drop something ask first, with the question the MCP server asks
(:mod:`eventschema_tools.catalog.risk`); ``--yes`` skips it, and is needed without a terminal.

The risk assessment (which reads plans) and YAML are imported by the commands that use them, so
the read-only commands start without them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from eventschema_tools._files import read_input_text
from eventschema_tools._text import printable
from eventschema_tools.catalog import Catalog
from eventschema_tools.catalog.operations import unbind_target
from eventschema_tools.catalog.views import (
    BindingView,
    BindOutcome,
    EventDetail,
    EventView,
    GroupDeleteOutcome,
    GroupSummary,
    GroupView,
    PropertyView,
    UnbindOutcome,
)
from eventschema_tools.cli.common import (
    EXIT_USAGE,
    JsonOption,
    ask_before,
    client_from,
    command,
    console,
    fail,
    print_json,
)
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.models import PropertyType

__all__ = ["parse_property_option", "read_group_file", "register"]

R = TypeVar("R")

schemas_app = typer.Typer(
    help="Event schemas: bindings of property groups to event definitions.",
    no_args_is_help=True,
)
groups_app = typer.Typer(
    help="Property groups: named, reusable sets of typed properties.", no_args_is_help=True
)
events_app = typer.Typer(
    help="Event definitions: the events the project knows.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``schemas``, ``groups`` and ``events`` command groups to ``app``."""
    app.add_typer(schemas_app, name="schemas")
    app.add_typer(groups_app, name="groups")
    app.add_typer(events_app, name="events")


# --- options -----------------------------------------------------------------------------------

EventRef = Annotated[str, typer.Option("--event", "-e", help="Event name or id.")]
GroupRef = Annotated[str, typer.Option("--group", "-g", help="Property group name or id.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PropertyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--property",
        "-p",
        metavar="NAME:TYPE[:required]",
        help=(
            "A property, repeatable. TYPE is one of "
            + ", ".join(t.value for t in PropertyType)
            + "; add ':required' for a required property."
        ),
    ),
]
FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        exists=True,
        dir_okay=False,
        readable=True,
        help="YAML or JSON file with name, description and properties.",
    ),
]
DescriptionOption = Annotated[str | None, typer.Option("--description", "-d", help="Description.")]

_REQUIRED_FLAGS = {"required": True, "optional": False}
_GROUP_KEYS = ("name", "description", "properties")
# Read-only fields of the API objects: a file saved from `groups show --json` can be fed back.
_READ_ONLY_FIELDS = frozenset({"id", "created_at", "updated_at", "created_by", "events"})


# --- input parsing (pure) ----------------------------------------------------------------------


def parse_property_option(text: str) -> dict[str, Any]:
    """Parse ``--property NAME:TYPE[:required|optional]`` into a property dict.

    The name may itself contain colons: the type and flag are read from the right. The type is
    checked by the client like any input: in any case, and an unknown one is refused with the
    closest valid type.

    Raises:
        typer.BadParameter: the value has no ``:TYPE`` part.
    """
    head, _, last = text.rpartition(":")
    required = False
    if last.strip().lower() in _REQUIRED_FLAGS and ":" in head:
        required = _REQUIRED_FLAGS[last.strip().lower()]
        head, _, last = head.rpartition(":")
    if not head or not last.strip():
        raise typer.BadParameter(
            f"{text!r} is not NAME:TYPE[:required], e.g. order_id:String:required",
            param_hint="--property",
        )
    return {"name": head, "type": last.strip(), "required": required}


def _as_property_input(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A property entry without the read-only fields ``groups show --json`` writes."""
    return {key: value for key, value in entry.items() if key not in _READ_ONLY_FIELDS}


def read_group_file(path: Path) -> dict[str, Any]:
    """Read a property-group file (YAML or JSON) into ``name``/``description``/``properties``.

    Properties are spelled as ``groups show --json`` writes them, so its output can be edited
    and fed back (read-only fields such as ``id`` are ignored); PostHog's own keys
    (``property_type``, ``is_required``) are read too::

        name: checkout
        description: Every checkout event
        properties:
          - {name: order_id, type: String, required: true}
          - {name: coupon, type: String}

    The properties themselves are checked by the client, like any other input.

    Raises:
        ValueError: the file is not YAML/JSON or not shaped like a property group.
    """
    import yaml

    try:
        data = yaml.safe_load(read_input_text(path, "property group file"))
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML or JSON ({exc})".replace("\n", " ")) from None
    if not isinstance(data, Mapping):
        raise ValueError("expected a mapping with name, description and properties")
    unknown = set(data) - set(_GROUP_KEYS) - _READ_ONLY_FIELDS
    if unknown:
        raise ValueError(
            f"unknown keys {', '.join(sorted(map(str, unknown)))}; use {', '.join(_GROUP_KEYS)}"
        )
    group = {key: data[key] for key in _GROUP_KEYS if key in data}
    if "properties" in group:
        properties = group["properties"] or []
        if not isinstance(properties, list):
            raise ValueError(
                "properties: expected a list of {name, type, required, ...}; "
                "a tracking plan (properties by name) is applied with "
                "`eventschema apply --plan FILE`"
            )
        if not all(isinstance(entry, Mapping) for entry in properties):
            raise ValueError("properties: each entry is a mapping {name, type, required, ...}")
        group["properties"] = [_as_property_input(entry) for entry in properties]
    return group


def _group_input(
    file: Path | None,
    name: str | None,
    description: str | None,
    properties: list[str] | None,
) -> dict[str, Any]:
    """Merge a group file with command-line flags; flags win."""
    group: dict[str, Any] = {}
    if file is not None:
        try:
            group = read_group_file(file)
        except InvalidInputError as exc:  # the file itself was refused: the message names it
            fail(str(exc), EXIT_USAGE)
        except ValueError as exc:
            fail(f"{file}: {exc}")
    if name is not None:
        group["name"] = name
    if description is not None:
        group["description"] = description
    if properties:
        group["properties"] = [parse_property_option(text) for text in properties]
    return group


@contextmanager
def _catalog(ctx: typer.Context) -> Iterator[Catalog]:
    with client_from(ctx) as client:
        yield Catalog(client)


# --- rendering ---------------------------------------------------------------------------------

_NAME_COLUMNS = {"name", "event", "property group"}
_SHORT_COLUMNS = {"properties", "required", "events", "verified", "type", "enforcement"}


def _emit(result: R, json: bool, render: Callable[[R], RenderableType]) -> None:
    """Print a command's result: its JSON, or how ``render`` shows it to people."""
    if json:
        print_json(result)
        return
    shown = render(result)
    # Text, not markup: names may contain "[...]" (and control characters, shown escaped).
    console.print(Text(printable(shown)) if isinstance(shown, str) else shown)


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A table whose names wrap rather than being cut: names are what people read."""
    heading = Text(printable(title))
    # At least as wide as its title, so the title (which may hold an id) does not wrap either.
    table = Table(title=heading, title_justify="left", min_width=heading.cell_len)
    for column in columns:
        if column == "id":
            table.add_column(column, overflow="fold", style="dim")
        elif column in _SHORT_COLUMNS:
            table.add_column(column, no_wrap=True)
        elif column in _NAME_COLUMNS:
            table.add_column(column, overflow="fold", min_width=14, style="bold")
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        # Text, not markup; one line per cell, with control characters escaped.
        table.add_row(*(Text(printable(cell)) for cell in row))
    return table


def _required_count(properties: Iterable[PropertyView]) -> str:
    return str(sum(1 for prop in properties if prop.required))


def _schemas_table(bindings: Iterable[BindingView]) -> Table:
    return _table(
        "Event schemas",
        ("event", "property group", "properties", "required", "id"),
        [
            (
                b.event_label,
                b.group_name,
                str(len(b.properties)),
                _required_count(b.properties),
                str(b.id),
            )
            for b in bindings
        ],
    )


def _groups_table(groups: Iterable[GroupSummary]) -> Table:
    return _table(
        "Property groups",
        ("name", "properties", "required", "events", "id"),
        [
            (
                g.name,
                str(g.property_count),
                str(len(g.required_properties)),
                str(len(g.events)),
                str(g.id),
            )
            for g in groups
        ],
    )


def _required_label(prop: PropertyView) -> str:
    return ("yes" if prop.required else "no") + (
        " (optional in types)" if prop.optional_in_types else ""
    )


def _group_detail(group: GroupView) -> RenderableType:
    table = _table(
        f'Property group "{group.name}" ({group.id})',
        ("name", "type", "required", "description"),
        ((p.name, p.type.value, _required_label(p), p.description) for p in group.properties),
    )
    table.columns[2].no_wrap = False
    lines = (
        [printable(f"description: {group.description}", multiline=True)]
        if group.description
        else []
    )
    lines.append(printable(f"bound to events: {', '.join(e.name for e in group.events) or 'none'}"))
    return RichGroup(table, *map(Text, lines))


def _events_table(events: Iterable[EventView]) -> Table:
    return _table(
        "Event definitions",
        ("name", "enforcement", "verified", "groups", "id"),
        [
            (
                e.name,
                e.enforcement_mode.value,
                "yes" if e.verified else "no",
                ", ".join(e.property_groups),
                str(e.id),
            )
            for e in events
        ],
    )


def _event_detail(detail: EventDetail) -> RenderableType:
    parts: list[RenderableType] = [_events_table([detail.event])]
    if detail.event.description:
        parts.append(Text(printable(f"description: {detail.event.description}", multiline=True)))
    if detail.schemas:
        parts.append(_schemas_table(detail.schemas))
    else:
        parts.append(Text("no property groups bound to this event"))
    return RichGroup(*parts)


# --- schemas -----------------------------------------------------------------------------------


@schemas_app.command("list")
@command
def schemas_list(
    ctx: typer.Context,
    event: Annotated[
        str | None, typer.Option("--event", "-e", help="Only this event's schemas (name or id).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """List event schemas, newest first."""
    with _catalog(ctx) as catalog:
        _emit(catalog.bindings(event=event, limit=None).items, json, _schemas_table)


@schemas_app.command("create")
@command
def schemas_create(
    ctx: typer.Context,
    event: EventRef,
    group: GroupRef,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Bind a property group to an event; a pair already bound is reported as it is.

    Asks first when the event is in reject mode and the group has required properties its
    events may lack (those events would be dropped).
    """
    from eventschema_tools.catalog.risk import BindPairs
    from eventschema_tools.tracking_plan.bulk import Pair

    with _catalog(ctx) as catalog:
        ask_before(catalog.client, BindPairs([Pair(event, group)]), yes=yes)
        _emit(catalog.bind(event=event, group=group), json, BindOutcome.summary)


@schemas_app.command("update")
@command
def schemas_update(
    ctx: typer.Context,
    schema_id: Annotated[str, typer.Argument(metavar="ID", help="Event schema id.")],
    event: Annotated[
        str | None, typer.Option("--event", "-e", help="Move to this event (name or id).")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="Use this property group (name or id).")
    ] = None,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Move an event schema to another event and/or property group (asks first)."""
    from eventschema_tools.catalog.risk import MoveSchema

    if event is None and group is None:
        fail("nothing to update: give --event and/or --group", EXIT_USAGE)
    with _catalog(ctx) as catalog:
        ask_before(catalog.client, MoveSchema(schema_id, event, group), yes=yes)
        moved = catalog.move(schema_id, event=event, group=group)
        _emit(moved, json, lambda view: _schemas_table([view]))


@schemas_app.command("delete")
@command
def schemas_delete(
    ctx: typer.Context,
    schema_id: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="Event schema id (or give --event and --group)."),
    ] = None,
    event: Annotated[
        str | None, typer.Option("--event", "-e", help="The bound event (name or id).")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="The bound property group (name or id).")
    ] = None,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Remove an event schema, by id or by its event and group (both stay)."""
    from eventschema_tools.catalog.risk import DeleteSchema

    by_id = schema_id is not None and event is None and group is None
    by_pair = schema_id is None and event is not None and group is not None
    if not (by_id or by_pair):
        fail("give the schema ID, or both --event and --group", EXIT_USAGE)
    unbind_target(schema_id, event, group)  # a malformed id fails before any request
    with _catalog(ctx) as catalog:
        # The schema is looked up first: one that does not exist fails before the question.
        ask_before(catalog.client, DeleteSchema(schema_id, event, group), yes=yes)
        outcome = catalog.unbind(schema_id=schema_id, event=event, group=group)
        _emit(outcome, json, UnbindOutcome.summary)


# --- groups ------------------------------------------------------------------------------------


@groups_app.command("list")
@command
def groups_list(ctx: typer.Context, json: JsonOption = False) -> None:
    """List property groups by name."""
    with _catalog(ctx) as catalog:
        _emit(catalog.groups(limit=None).items, json, _groups_table)


@groups_app.command("show")
@command
def groups_show(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Group name or id.")],
    json: JsonOption = False,
) -> None:
    """Show one property group: its properties and the events it is bound to."""
    with _catalog(ctx) as catalog:
        _emit(catalog.group(group), json, _group_detail)


@groups_app.command("create")
@command
def groups_create(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Group name (or give it in the file).", show_default=False)
    ] = None,
    description: DescriptionOption = None,
    prop: PropertyOption = None,
    file: FileOption = None,
    json: JsonOption = False,
) -> None:
    """Create a property group from flags or from a YAML/JSON file (flags win)."""
    group = _group_input(file, name, description, prop)
    if "name" not in group:
        fail("give the group a name: as the NAME argument or `name:` in the file", EXIT_USAGE)
    with _catalog(ctx) as catalog:
        created = catalog.create_group(
            name=group["name"],
            description=group.get("description") or "",
            properties=group.get("properties", ()),
        )
        _emit(created, json, _group_detail)


@groups_app.command("update")
@command
def groups_update(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Group name or id.")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Rename the group.")] = None,
    description: DescriptionOption = None,
    prop: PropertyOption = None,
    file: FileOption = None,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Change a property group. Properties, when given, REPLACE the group's whole list.

    A replacement that removes properties (or makes reject-mode events drop live events) asks
    first. A new description keeps the group's ownership markers.
    """
    from eventschema_tools.catalog.risk import ReplaceProperties

    changes = _group_input(file, name, description, prop)
    if not changes:
        fail("nothing to update: give --name, --description, --property or --file", EXIT_USAGE)
    with _catalog(ctx) as catalog:
        if "properties" in changes:
            ask_before(catalog.client, ReplaceProperties(group, changes["properties"]), yes=yes)
        updated = catalog.update_group(
            group,
            name=changes.get("name"),
            description=changes.get("description"),
            properties=changes.get("properties"),
        )
        _emit(updated, json, _group_detail)


@groups_app.command("delete")
@command
def groups_delete(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Group name or id.")],
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Delete a property group, its properties and every event schema that uses it."""
    from eventschema_tools.catalog.risk import DeleteGroup

    with _catalog(ctx) as catalog:
        ask_before(catalog.client, DeleteGroup(group), yes=yes)
        _emit(catalog.delete_group(group), json, GroupDeleteOutcome.summary)


# --- events ------------------------------------------------------------------------------------


@events_app.command("list")
@command
def events_list(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Only names containing every word.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """List event definitions and the property groups bound to each."""
    with _catalog(ctx) as catalog:
        _emit(catalog.events(search=search, limit=None).items, json, _events_table)


@events_app.command("show")
@command
def events_show(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(metavar="EVENT", help="Event name or id.")],
    json: JsonOption = False,
) -> None:
    """Show one event definition and the property groups bound to it."""
    with _catalog(ctx) as catalog:
        _emit(catalog.event(event), json, _event_detail)
