"""The MCP tools: each parses its arguments, makes one call into the core and returns a model.

Pydantic return types give clients an ``outputSchema`` and ``structuredContent``. Core errors come
back as tool errors (``isError``) whose text names the tool to call next; the API key never
appears in them. :data:`TOOLS` lists every tool with its annotations.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

from mcp.server.mcpserver import (
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from eventschema_tools.audit.model import AuditKind, AuditReport
from eventschema_tools.catalog.views import (
    BindingPage,
    BindingView,
    BindOutcome,
    EventPage,
    GroupPage,
    GroupView,
    UnbindOutcome,
)
from eventschema_tools.errors import (
    APIConnectionError,
    BadRequestError,
    EventSchemaError,
    RateLimitError,
    UnknownNameError,
)
from eventschema_tools.models import PropertyInput
from eventschema_tools.tracking_plan import Plan, compute_plan_async
from eventschema_tools.tracking_plan.bulk import (
    BulkReport,
    bind_async,
    pairs_for_group,
    unbind_async,
)
from eventschema_tools.tracking_plan.file import parse_plan

if TYPE_CHECKING:
    pass


from eventschema_tools.mcp_server.confirm import (
    Confirmation,
    confirm_delete,
    confirm_replace,
    confirm_unbind,
    require_confirmation,
)
from eventschema_tools.mcp_server.state import InjectedCatalog

__all__ = ["TOOLS", "ToolSpec"]

P = ParamSpec("P")
R = TypeVar("R")

# --- errors ----------------------------------------------------------------------------------

_LOOK_UP = {
    "event": "Call find_event_definitions to search event names.",
    "property group": "Call list_property_groups to see the group names.",
    "event schema": "Call list_event_schemas to see the current event schemas and ids.",
}


def _explain(exc: EventSchemaError) -> str:
    """The error text the model reads: the core's message plus the tool to call next."""
    hint = ""
    if isinstance(exc, UnknownNameError):
        hint = _LOOK_UP.get(exc.kind, "")
    elif isinstance(exc, BadRequestError) and exc.is_duplicate:
        hint = "It already exists: read it instead of creating it again."
    elif isinstance(exc, RateLimitError):
        hint = "PostHog's rate limit was reached; wait before calling again."
    elif isinstance(exc, APIConnectionError):
        hint = "PostHog did not answer; try again in a moment."
    text = str(exc)
    if not hint:
        return text
    return f"{text}{'' if text.endswith(('.', '?')) else '.'} {hint}"


def _guarded(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn the core's errors into tool errors (``isError``) with actionable text."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except EventSchemaError as exc:
            raise ToolError(_explain(exc)) from None

    return call


# --- parameters --------------------------------------------------------------------------------

EventArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=400,
        description="Event name, exactly as tracked (e.g. 'checkout_completed', '$pageview'), "
        "or the event definition's id.",
    ),
]
GroupArg = Annotated[
    str,
    Field(min_length=1, max_length=400, description="Property group name (exact) or id."),
]
SchemaIdArg = Annotated[str, Field(description="Event schema id, from list_event_schemas.")]
CursorArg = Annotated[
    str | None,
    Field(description="next_cursor from the previous page; leave out for the first page."),
]
LimitArg = Annotated[int, Field(ge=1, le=200, description="Items per page (1-200).")]
ConfirmArg = Annotated[
    bool,
    Field(
        description="Set true only after the user agreed to this change. Clients that can ask "
        "the user themselves do so, and then this value is not used."
    ),
]
EventsArg = Annotated[
    list[str],
    Field(min_length=1, max_length=1000, description="Event names (exact) or ids."),
]
PlanArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1_000_000,
        description="The tracking plan as YAML (or JSON) text: version, property_groups, events.",
    ),
]
PropertiesArg = Annotated[
    list[PropertyInput],
    Field(
        description="Typed properties: name, property_type (String, Numeric, Boolean, "
        "DateTime, Object), is_required, optional description."
    ),
]


# --- tools: event schemas ----------------------------------------------------------------------


@_guarded
async def list_event_schemas(
    catalog: InjectedCatalog,
    event: Annotated[
        str | None, Field(description="Only this event's schemas (event name or id).")
    ] = None,
    cursor: CursorArg = None,
    limit: LimitArg = 50,
) -> BindingPage:
    """List event schemas (property groups bound to events), newest first, each with its group's
    properties. Filter by event to see which groups an event carries. Use the ids with
    update_event_schema or delete_event_schema; pass next_cursor back for more."""
    return await catalog.bindings(event=event, cursor=cursor, limit=limit)


@_guarded
async def create_event_schema(
    catalog: InjectedCatalog, event: EventArg, group: GroupArg
) -> BindOutcome:
    """Bind one property group to one event. If the pair is already bound, the existing event
    schema is returned with created=false. To bind one group to many events, use
    bind_property_group."""
    return await catalog.bind(event=event, group=group)


@_guarded
async def update_event_schema(
    catalog: InjectedCatalog,
    schema_id: SchemaIdArg,
    event: Annotated[str | None, Field(description="Move to this event (name or id).")] = None,
    group: Annotated[str | None, Field(description="Use this group instead (name or id).")] = None,
) -> BindingView:
    """Move an existing event schema to another event and/or property group. Get the id from
    list_event_schemas first."""
    return await catalog.move(schema_id, event=event, group=group)


@_guarded
async def delete_event_schema(
    catalog: InjectedCatalog,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(confirm_delete)],
    schema_id: Annotated[
        str | None, Field(description="Event schema id; or give event and group instead.")
    ] = None,
    event: Annotated[str | None, Field(description="Event name or id.")] = None,
    group: Annotated[str | None, Field(description="Property group name or id.")] = None,
    confirm: ConfirmArg = False,
) -> UnbindOutcome:
    """Remove one event schema, given by id or by its event and group. The group and the event
    stay. The user must confirm: the client asks them, or you pass confirm=true after they
    agreed."""
    require_confirmation(confirmation, "nothing was deleted")
    return await catalog.unbind(schema_id=schema_id, event=event, group=group)


# --- tools: property groups --------------------------------------------------------------------


@_guarded
async def list_property_groups(
    catalog: InjectedCatalog,
    search: Annotated[
        str | None, Field(description="Only groups whose name contains this text.")
    ] = None,
    cursor: CursorArg = None,
    limit: LimitArg = 50,
) -> GroupPage:
    """List property groups by name, with their required properties and the events they are
    bound to. Call get_property_group for all properties of one group."""
    return await catalog.groups(search=search, cursor=cursor, limit=limit)


@_guarded
async def get_property_group(catalog: InjectedCatalog, group: GroupArg) -> GroupView:
    """Show one property group: every property with its type and whether it is required, and
    the events it is bound to."""
    return await catalog.group(group)


@_guarded
async def create_property_group(
    catalog: InjectedCatalog,
    name: Annotated[str, Field(min_length=1, max_length=400, description="Group name.")],
    properties: PropertiesArg,
    description: Annotated[str, Field(description="What the group describes.")] = "",
) -> GroupView:
    """Create a property group. Fails if the name is taken (then use update_property_group).
    Bind it to events afterwards with create_event_schema or bind_property_group."""
    return await catalog.create_group(name=name, description=description, properties=properties)


@_guarded
async def update_property_group(
    catalog: InjectedCatalog,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(confirm_replace)],
    group: GroupArg,
    name: Annotated[str | None, Field(description="New name.")] = None,
    description: Annotated[str | None, Field(description="New description.")] = None,
    properties: Annotated[
        list[PropertyInput] | None,
        Field(description="The complete new property list: it REPLACES every property."),
    ] = None,
    confirm: ConfirmArg = False,
) -> GroupView:
    """Rename a property group, change its description, or replace its properties. To add one
    property, read the group with get_property_group and pass the full list plus the new one.
    Replacing properties needs the user's confirmation: the client asks them, or you pass
    confirm=true after they agreed; renames and descriptions do not."""
    require_confirmation(confirmation, "the group was not changed")
    return await catalog.update_group(
        group, name=name, description=description, properties=properties
    )


@_guarded
async def bind_property_group(
    catalog: InjectedCatalog, group: GroupArg, events: EventsArg
) -> BulkReport:
    """Bind one property group to many events at once. Pairs already bound are reported as
    'exists'; unknown names are reported 'unresolved' with close names, without stopping the
    others. Safe to run again to finish a partial run."""
    return await bind_async(catalog.client, pairs_for_group(group, events))


@_guarded
async def unbind_property_group(
    catalog: InjectedCatalog,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(confirm_unbind)],
    group: GroupArg,
    events: EventsArg,
    confirm: ConfirmArg = False,
) -> BulkReport:
    """Remove one property group from many events (the group and the events stay). Pairs not
    bound are reported as 'absent'. The user must confirm: the client asks them, or you pass
    confirm=true after they agreed."""
    require_confirmation(confirmation, "nothing was unbound")
    return await unbind_async(catalog.client, pairs_for_group(group, events))


# --- tools: tracking plan and audits -----------------------------------------------------------


@_guarded
async def plan_tracking_plan(
    catalog: InjectedCatalog,
    plan_yaml: PlanArg,
    prune: Annotated[
        bool, Field(description="Also list deletions of groups and bindings the plan dropped.")
    ] = False,
    create_events: Annotated[
        bool, Field(description="Plan to create events the project has not seen yet.")
    ] = False,
) -> Plan:
    """Compare a tracking plan (YAML text) with the live project and return the changes that
    would make PostHog match it. Never changes anything (apply with `eventschema apply`).
    Errors in the YAML come back with line and column."""
    desired = parse_plan(plan_yaml, "<plan_yaml>")
    return await compute_plan_async(
        catalog.client, desired, prune=prune, create_events=create_events
    )


@_guarded
async def audit_events(
    catalog: InjectedCatalog,
    window: Annotated[
        str, Field(description="How far back to look: 30m, 24h, 7d, 2w.", max_length=16)
    ] = "24h",
    kinds: Annotated[
        list[AuditKind] | None,
        Field(
            min_length=1,
            description="Audits to run (default: all): conformance (missing, wrong-type and "
            "unexpected property rates of bound events), hygiene (unused groups, unbound or "
            "stale events, conflicting types), enforcement (what reject mode would drop), "
            "drift (plan against project; only with plan_yaml).",
        ),
    ] = None,
    plan_yaml: Annotated[
        str | None,
        Field(max_length=1_000_000, description="Audit against this tracking plan instead."),
    ] = None,
    events: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=400)]] | None,
        Field(
            min_length=1,
            max_length=500,
            description="Measure conformance and enforcement only for these events (names "
            "of events that have a schema); default: every bound event.",
        ),
    ] = None,
) -> AuditReport:
    """Measure how live events conform to their schemas over a time window, with rates per
    event and property, and findings that say what to fix. Uses a few HogQL queries (PostHog
    allows about 120 an hour), so do not call it in a loop."""
    # Loaded on first use: the audit's query builders and rules are not needed to start.
    from eventschema_tools.audit.run import audit_options, run_audit_async

    desired = parse_plan(plan_yaml, "<plan_yaml>") if plan_yaml else None
    options = audit_options(plan=desired, kinds=kinds, window=window, events=events)
    return await run_audit_async(catalog.client, options)


# --- tools: event definitions ------------------------------------------------------------------


@_guarded
async def find_event_definitions(
    catalog: InjectedCatalog,
    search: Annotated[
        str | None, Field(description="Words that must all appear in the event name.")
    ] = None,
    cursor: CursorArg = None,
    limit: LimitArg = 50,
) -> EventPage:
    """Find event definitions by name, each with the property groups bound to it. Use it to get
    exact event names before binding or filtering."""
    return await catalog.events(search=search, cursor=cursor, limit=limit)


@dataclass(frozen=True)
class ToolSpec:
    """A tool and its annotations; ``writes`` tools are left out in read-only mode."""

    fn: Callable[..., Awaitable[Any]]
    title: str
    writes: bool
    destructive: bool = False
    idempotent: bool = True

    @property
    def description(self) -> str:
        """The docstring without its source indentation: what the model reads."""
        return inspect.cleandoc(self.fn.__doc__ or "")

    @property
    def annotations(self) -> ToolAnnotations:
        """All four hints, set explicitly (every tool talks to PostHog: open world)."""
        return ToolAnnotations(
            read_only_hint=not self.writes,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=True,
        )


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(list_event_schemas, "List event schemas", writes=False),
    ToolSpec(create_event_schema, "Bind a property group to an event", writes=True),
    ToolSpec(update_event_schema, "Move an event schema", writes=True, destructive=True),
    ToolSpec(delete_event_schema, "Delete an event schema", writes=True, destructive=True),
    ToolSpec(bind_property_group, "Bind a group to many events", writes=True),
    ToolSpec(
        unbind_property_group, "Unbind a group from many events", writes=True, destructive=True
    ),
    ToolSpec(list_property_groups, "List property groups", writes=False),
    ToolSpec(get_property_group, "Show a property group", writes=False),
    ToolSpec(create_property_group, "Create a property group", writes=True, idempotent=False),
    ToolSpec(update_property_group, "Update a property group", writes=True, destructive=True),
    ToolSpec(find_event_definitions, "Find event definitions", writes=False),
    ToolSpec(plan_tracking_plan, "Plan a tracking plan (dry run)", writes=False),
    ToolSpec(audit_events, "Audit events against their schemas", writes=False),
)
