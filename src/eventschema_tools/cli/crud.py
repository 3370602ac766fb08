"""``eventschema schemas|groups|events``: read and change one project's schemas from the shell.

Events and property groups are given by name or by id: a value that parses as a UUID is an id,
anything else is a name, matched exactly (:mod:`eventschema_tools.catalog.resolve`). An unknown name
fails with exit code 1 and suggests the closest names in the project. Every command prints a
Rich table, or JSON with ``--json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from eventschema_tools.catalog.resolve import Resolver
from eventschema_tools.cli.common import (
    EXIT_ERROR,
    EXIT_USAGE,
    JsonOption,
    client_from,
    command,
    console,
    fail,
    print_json,
)
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.models import EventDefinition, EventSchema, PropertyGroup, PropertyType

__all__ = ["parse_property_option", "read_group_file", "register"]

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
_TYPES_BY_LOWER = {t.value.lower(): t.value for t in PropertyType}
_GROUP_KEYS = ("name", "description", "properties")
# Read-only fields of the API objects: a file saved from `groups show --json` can be fed back.
_READ_ONLY_FIELDS = frozenset({"id", "created_at", "updated_at", "created_by", "events"})


# --- input parsing (pure) ----------------------------------------------------------------------


def parse_property_option(text: str) -> dict[str, Any]:
    """Parse ``--property NAME:TYPE[:required|optional]`` into a property dict.

    The name may itself contain colons: the type and flag are read from the right. Types match
    case-insensitively; an unknown type is passed on for the client to reject with the list of
    valid types.

    Raises:
        typer.BadParameter: the value has no ``:TYPE`` part.
    """
    head, _, last = text.rpartition(":")
    is_required = False
    if last.strip().lower() in _REQUIRED_FLAGS and ":" in head:
        is_required = _REQUIRED_FLAGS[last.strip().lower()]
        head, _, last = head.rpartition(":")
    if not head or not last.strip():
        raise typer.BadParameter(
            f"{text!r} is not NAME:TYPE[:required], e.g. order_id:String:required",
            param_hint="--property",
        )
    kind = last.strip()
    return {
        "name": head,
        "property_type": _TYPES_BY_LOWER.get(kind.lower(), kind),
        "is_required": is_required,
    }


def _without_read_only(entry: Any) -> Any:
    if isinstance(entry, Mapping):
        return {key: value for key, value in entry.items() if key not in _READ_ONLY_FIELDS}
    return entry


def read_group_file(path: Path) -> dict[str, Any]:
    """Read a property-group file (YAML or JSON) into ``name``/``description``/``properties``.

    The shape is the API's own, so the output of ``groups show --json`` can be edited and fed
    back (read-only fields such as ``id`` are ignored)::

        name: checkout
        description: Every checkout event
        properties:
          - {name: order_id, property_type: String, is_required: true}
          - {name: coupon, property_type: String}

    The properties themselves are checked by the client, like any other input.

    Raises:
        ValueError: the file is not YAML/JSON or not shaped like a property group.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
                "properties: expected a list of {name, property_type, is_required, ...}; "
                "a tracking plan (properties by name) is applied with `eventschema apply`"
            )
        group["properties"] = [_without_read_only(entry) for entry in properties]
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
        except ValueError as exc:
            fail(f"{file}: {exc}")
    if name is not None:
        group["name"] = name
    if description is not None:
        group["description"] = description
    if properties:
        group["properties"] = [parse_property_option(text) for text in properties]
    return group


# --- name-or-id resolution ---------------------------------------------------------------------


def _event(client: EventSchemaClient, ref: str) -> EventDefinition:
    return Resolver(client).event(ref)


def _group(client: EventSchemaClient, ref: str) -> PropertyGroup:
    return Resolver(client).group(ref)


def _confirm(question: str, yes: bool) -> None:
    try:
        confirmed = yes or typer.confirm(question, default=False)
    except typer.Abort:  # no terminal to ask on (end of input) or Ctrl+C
        confirmed = False
    if not confirmed:
        fail("cancelled, nothing was deleted (pass --yes to skip this question)", EXIT_ERROR)


# --- rendering ---------------------------------------------------------------------------------


def _event_name(schema: EventSchema) -> str:
    """The bound event's name, read from the embedded group (no extra request)."""
    for event in schema.property_group.events:
        if event.id == schema.event_definition:
            return event.name
    return str(schema.event_definition)


def _required_count(group: PropertyGroup) -> str:
    return str(sum(1 for prop in group.properties if prop.is_required))


_NAME_COLUMNS = {"name", "event", "property group"}
_SHORT_COLUMNS = {"properties", "required", "events", "verified", "type", "enforcement"}


def _table(title: str, *columns: str) -> Table:
    """A table whose names wrap rather than being cut: names are what people read."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        if column == "id":
            table.add_column(column, overflow="fold", style="dim")
        elif column in _SHORT_COLUMNS:
            table.add_column(column, no_wrap=True)
        elif column in _NAME_COLUMNS:
            table.add_column(column, overflow="fold", min_width=14, style="bold")
        else:
            table.add_column(column, overflow="fold")
    return table


def _schemas_table(schemas: Iterable[EventSchema]) -> Table:
    table = _table("Event schemas", "event", "property group", "properties", "required", "id")
    for schema in schemas:
        group = schema.property_group
        table.add_row(
            _event_name(schema),
            group.name,
            str(len(group.properties)),
            _required_count(group),
            str(schema.id),
        )
    return table


def _groups_table(groups: Iterable[PropertyGroup]) -> Table:
    table = _table("Property groups", "name", "properties", "required", "events", "id")
    for group in groups:
        table.add_row(
            group.name,
            str(len(group.properties)),
            _required_count(group),
            str(len(group.events)),
            str(group.id),
        )
    return table


def _group_detail(group: PropertyGroup) -> Table:
    table = _table(f"Property group {group.name!r} ({group.id})", "name", "type", "required")
    table.add_column("description", overflow="fold")
    table.columns[2].no_wrap = False
    for prop in group.properties:
        required = "yes" if prop.is_required else "no"
        if prop.is_optional_in_types:
            required += " (optional in types)"
        table.add_row(prop.name, prop.property_type.value, required, prop.description)
    return table


def _print_group(group: PropertyGroup) -> None:
    console.print(_group_detail(group))
    if group.description:
        console.print(f"description: {group.description}", highlight=False)
    events = ", ".join(event.name for event in group.events) or "none"
    console.print(f"bound to events: {events}", highlight=False)


def _events_table(events: Iterable[EventDefinition]) -> Table:
    table = _table("Event definitions", "name", "enforcement", "verified", "tags", "id")
    for event in events:
        table.add_row(
            event.name,
            event.enforcement_mode.value,
            "yes" if event.verified else "no",
            ", ".join(event.tags),
            str(event.id),
        )
    return table


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
    with client_from(ctx) as client:
        event_id = _event(client, event).id if event is not None else None
        schemas = list(client.event_schemas.list(event_definition=event_id))
    if json:
        print_json(schemas)
    else:
        console.print(_schemas_table(schemas))


@schemas_app.command("create")
@command
def schemas_create(
    ctx: typer.Context, event: EventRef, group: GroupRef, json: JsonOption = False
) -> None:
    """Bind a property group to an event."""
    with client_from(ctx) as client:
        event_definition = _event(client, event)
        property_group = _group(client, group)
        schema = client.event_schemas.create(
            event_definition=event_definition.id, property_group_id=property_group.id
        )
    if json:
        print_json(schema)
    else:
        console.print(
            f"Bound {property_group.name!r} to {event_definition.name!r} (schema {schema.id}).",
            highlight=False,
        )


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
    json: JsonOption = False,
) -> None:
    """Move an event schema to another event and/or property group."""
    if event is None and group is None:
        fail("nothing to update: give --event and/or --group", EXIT_USAGE)
    with client_from(ctx) as client:
        event_id = _event(client, event).id if event is not None else None
        group_id = _group(client, group).id if group is not None else None
        schema = client.event_schemas.update(
            schema_id, event_definition=event_id, property_group_id=group_id
        )
    if json:
        print_json(schema)
    else:
        console.print(_schemas_table([schema]))


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
    by_id = schema_id is not None and event is None and group is None
    by_pair = schema_id is None and event is not None and group is not None
    if not (by_id or by_pair):
        fail("give the schema ID, or both --event and --group", EXIT_USAGE)
    with client_from(ctx) as client:
        if event is not None and group is not None:
            target = str(_pair(client, event, group).id)
            question = f"Unbind {group!r} from {event!r} (event schema {target})?"
        else:
            target = str(schema_id)
            question = f"Delete event schema {target}?"
        _confirm(question, yes)
        client.event_schemas.delete(target)
    if json:
        print_json({"deleted": target})
    else:
        console.print(f"Deleted event schema {target}.", highlight=False)


def _pair(client: EventSchemaClient, event: str, group: str) -> EventSchema:
    event_definition, property_group = _event(client, event), _group(client, group)
    schema = client.event_schemas.find(
        event_definition=event_definition.id, property_group_id=property_group.id
    )
    if schema is None:
        fail(f"{property_group.name!r} is not bound to {event_definition.name!r}", EXIT_ERROR)
    return schema


# --- groups ------------------------------------------------------------------------------------


@groups_app.command("list")
@command
def groups_list(ctx: typer.Context, json: JsonOption = False) -> None:
    """List property groups by name."""
    with client_from(ctx) as client:
        groups = list(client.property_groups.list())
    if json:
        print_json(groups)
    else:
        console.print(_groups_table(groups))


@groups_app.command("show")
@command
def groups_show(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Group name or id.")],
    json: JsonOption = False,
) -> None:
    """Show one property group: its properties and the events it is bound to."""
    with client_from(ctx) as client:
        found = _group(client, group)
    if json:
        print_json(found)
    else:
        _print_group(found)


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
    with client_from(ctx) as client:
        created = client.property_groups.create(
            name=group["name"],
            description=group.get("description") or "",
            properties=group.get("properties", ()),
        )
    if json:
        print_json(created)
    else:
        _print_group(created)


@groups_app.command("update")
@command
def groups_update(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Group name or id.")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Rename the group.")] = None,
    description: DescriptionOption = None,
    prop: PropertyOption = None,
    file: FileOption = None,
    json: JsonOption = False,
) -> None:
    """Change a property group. Properties, when given, REPLACE the group's whole list."""
    changes = _group_input(file, name, description, prop)
    if not changes:
        fail("nothing to update: give --name, --description, --property or --file", EXIT_USAGE)
    with client_from(ctx) as client:
        target = _group(client, group)
        updated = client.property_groups.update(
            target.id,
            name=changes.get("name"),
            description=changes.get("description"),
            properties=changes.get("properties"),
        )
    if json:
        print_json(updated)
    else:
        _print_group(updated)


@groups_app.command("delete")
@command
def groups_delete(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Group name or id.")],
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Delete a property group, its properties and every event schema that uses it."""
    with client_from(ctx) as client:
        target = _group(client, group)
        bound = len(target.events)
        _confirm(
            f"Delete property group {target.name!r} with {len(target.properties)} properties"
            f" and its {bound} event binding{'s' if bound != 1 else ''}?",
            yes,
        )
        client.property_groups.delete(target.id)
    if json:
        print_json({"deleted": str(target.id), "name": target.name})
    else:
        console.print(f"Deleted property group {target.name!r} ({target.id}).", highlight=False)


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
    """List event definitions."""
    with client_from(ctx) as client:
        events = list(client.event_definitions.list(search=search))
    if json:
        print_json(events)
    else:
        console.print(_events_table(events))


@events_app.command("show")
@command
def events_show(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(metavar="EVENT", help="Event name or id.")],
    json: JsonOption = False,
) -> None:
    """Show one event definition and the property groups bound to it."""
    with client_from(ctx) as client:
        found = _event(client, event)
        schemas = list(client.event_schemas.list(event_definition=found.id))
    if json:
        print_json({"event": found, "schemas": schemas})
        return
    console.print(_events_table([found]))
    if found.description:
        console.print(f"description: {found.description}", highlight=False)
    if schemas:
        console.print(_schemas_table(schemas))
    else:
        console.print("no property groups bound to this event", highlight=False)
