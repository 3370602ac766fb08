"""``eventschema-mcp``: PostHog event schemas and property groups as tools for AI assistants.

A thin adapter over the core (:mod:`eventschema_tools.catalog`): each tool parses
its arguments, makes one call into the core and returns a Pydantic model, so clients get an
``outputSchema`` and ``structuredContent``. Errors come back as tool errors (``isError``) with
text that says what to do next; the API key never appears in them.

Run it::

    eventschema-mcp                                  # stdio (what desktop clients start)
    eventschema-mcp --read-only                      # no write tools at all
    eventschema-mcp --transport streamable-http --host 127.0.0.1 --port 8765

Configuration: ``POSTHOG_PERSONAL_API_KEY`` (read from the environment only, never from the
command line, where other local users could see it), ``POSTHOG_PROJECT_ID`` /
``--project-id``, ``POSTHOG_HOST`` / ``--posthog-host``, ``EVENTSCHEMA_MCP_READ_ONLY=1`` /
``--read-only``, ``EVENTSCHEMA_MCP_TOKEN`` (bearer token for HTTP) and
``EVENTSCHEMA_MCP_ALLOWED_PROJECTS`` / ``--allow-project`` (the projects this server may be
pointed at).
"""

from __future__ import annotations

import argparse
import functools
import hmac
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

import anyio
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from eventschema_tools._version import __version__
from eventschema_tools.audit.model import AuditKind, AuditReport
from eventschema_tools.catalog.operations import AsyncCatalog
from eventschema_tools.catalog.views import (
    BindingPage,
    BindingView,
    BindOutcome,
    EventPage,
    GroupPage,
    GroupView,
    UnbindOutcome,
)
from eventschema_tools.config import ClientSettings
from eventschema_tools.errors import (
    APIConnectionError,
    BadRequestError,
    ConfigurationError,
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
    from eventschema_tools.client import AsyncEventSchemaClient

__all__ = ["ServerOptions", "create_server", "main"]

SERVER_NAME = "eventschema-tools"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

INSTRUCTIONS = """\
Reads and changes the PostHog event schemas of one project (the one this server is configured
for; there is no project argument).
- A property group is a named, reusable set of typed properties (String, Numeric, Boolean,
  DateTime, Object), each required or optional.
- An event schema binds one property group to one event definition. An event can carry several
  groups and a group can be bound to many events; removing a binding keeps both.
- PostHog cannot read one event schema by id: find schemas with list_event_schemas (filter by
  event). Events and groups are named by exact name or id; an unknown name comes back with close
  names, and find_event_definitions / list_property_groups show what exists.
- Updating a group's properties replaces its whole property list.
- The API key needs the scope event_definition:read (event_definition:write to change
  anything, query:read for audit_events); a missing scope is named in the error.
"""

P = ParamSpec("P")
R = TypeVar("R")
ClientFactory = Callable[[], "AsyncEventSchemaClient"]


class AppState:
    """What every tool call shares: one catalog over one client, opened by the first call.

    Opening the client costs more than the rest of the start-up together (TLS certificates,
    connection pool, rate limiter); deferring it lets a host start the server and list its
    tools without waiting for that. The lifespan closes the client.
    """

    def __init__(self, factory: ClientFactory, stack: AsyncExitStack) -> None:
        self._factory = factory
        self._stack = stack
        self._lock = anyio.Lock()
        self._catalog: AsyncCatalog | None = None

    async def catalog(self) -> AsyncCatalog:
        """The catalog, opening the client on first use (once, even under concurrent calls)."""
        async with self._lock:
            if self._catalog is None:
                client = await self._stack.enter_async_context(self._factory())
                self._catalog = AsyncCatalog(client)
            return self._catalog


Ctx = Context[AppState]


async def _open_catalog(ctx: Ctx) -> AsyncCatalog:
    return await ctx.request_context.lifespan_context.catalog()


Catalog = Annotated[AsyncCatalog, Resolve(_open_catalog)]
"""The catalog, injected into each tool (and hidden from its input schema)."""


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


# --- confirmation of destructive calls ---------------------------------------------------------


class Confirmation(BaseModel):
    """The form a client shows the user before a destructive call."""

    confirm: bool = Field(description="Yes, go ahead.")


def _ask(ctx: Ctx, confirm: bool, question: str) -> Confirmation | Elicit[Confirmation]:
    """Ask the user when the client can show a form; otherwise fall back to ``confirm``.

    The fallback defaults to False, so a client that can neither ask nor pass ``confirm=true``
    is refused (fail closed).
    """
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return Confirmation(confirm=confirm)
    return Elicit(question, Confirmation)


def _require(answer: ElicitationResult[Confirmation], nothing_done: str) -> None:
    if not isinstance(answer, AcceptedElicitation):
        raise ToolError(f"The user did not confirm, so {nothing_done}.")
    if not answer.data.confirm:
        raise ToolError(
            f"Not confirmed, so {nothing_done}. Ask the user; if they agree, call again with "
            "confirm=true."
        )


async def _confirm_delete(
    ctx: Ctx, confirm: bool, schema_id: str | None, event: str | None, group: str | None
) -> Confirmation | Elicit[Confirmation]:
    target = (
        f"event schema {schema_id}"
        if schema_id
        else f"the binding of property group {group!r} to event {event!r}"
    )
    return _ask(ctx, confirm, f"Delete {target}? The property group and the event stay.")


async def _confirm_replace(
    ctx: Ctx, confirm: bool, group: str, properties: list[PropertyInput] | None
) -> Confirmation | Elicit[Confirmation]:
    if properties is None:  # a rename or a new description destroys nothing
        return Confirmation(confirm=True)
    names = ", ".join(prop.name for prop in properties[:10]) or "no properties at all"
    more = f" and {len(properties) - 10} more" if len(properties) > 10 else ""
    return _ask(
        ctx,
        confirm,
        f"Replace every property of group {group!r} with {names}{more}? "
        "Properties not in this list are deleted.",
    )


async def _confirm_unbind(
    ctx: Ctx, confirm: bool, group: str, events: list[str]
) -> Confirmation | Elicit[Confirmation]:
    shown = ", ".join(events[:10]) + (f" and {len(events) - 10} more" if len(events) > 10 else "")
    return _ask(ctx, confirm, f"Unbind property group {group!r} from {shown}?")


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
    catalog: Catalog,
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
async def create_event_schema(catalog: Catalog, event: EventArg, group: GroupArg) -> BindOutcome:
    """Bind one property group to one event. If the pair is already bound, the existing event
    schema is returned with created=false. To bind one group to many events, use
    bind_property_group."""
    return await catalog.bind(event=event, group=group)


@_guarded
async def update_event_schema(
    catalog: Catalog,
    schema_id: SchemaIdArg,
    event: Annotated[str | None, Field(description="Move to this event (name or id).")] = None,
    group: Annotated[str | None, Field(description="Use this group instead (name or id).")] = None,
) -> BindingView:
    """Move an existing event schema to another event and/or property group. Get the id from
    list_event_schemas first."""
    return await catalog.move(schema_id, event=event, group=group)


@_guarded
async def delete_event_schema(
    catalog: Catalog,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_delete)],
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
    _require(confirmation, "nothing was deleted")
    return await catalog.unbind(schema_id=schema_id, event=event, group=group)


# --- tools: property groups --------------------------------------------------------------------


@_guarded
async def list_property_groups(
    catalog: Catalog,
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
async def get_property_group(catalog: Catalog, group: GroupArg) -> GroupView:
    """Show one property group: every property with its type and whether it is required, and
    the events it is bound to."""
    return await catalog.group(group)


@_guarded
async def create_property_group(
    catalog: Catalog,
    name: Annotated[str, Field(min_length=1, max_length=400, description="Group name.")],
    properties: PropertiesArg,
    description: Annotated[str, Field(description="What the group describes.")] = "",
) -> GroupView:
    """Create a property group. Fails if the name is taken (then use update_property_group).
    Bind it to events afterwards with create_event_schema or bind_property_group."""
    return await catalog.create_group(name=name, description=description, properties=properties)


@_guarded
async def update_property_group(
    catalog: Catalog,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_replace)],
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
    _require(confirmation, "the group was not changed")
    return await catalog.update_group(
        group, name=name, description=description, properties=properties
    )


@_guarded
async def bind_property_group(catalog: Catalog, group: GroupArg, events: EventsArg) -> BulkReport:
    """Bind one property group to many events at once. Pairs already bound are reported as
    'exists'; unknown names are reported 'unresolved' with close names, without stopping the
    others. Safe to run again to finish a partial run."""
    return await bind_async(catalog.client, pairs_for_group(group, events))


@_guarded
async def unbind_property_group(
    catalog: Catalog,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_unbind)],
    group: GroupArg,
    events: EventsArg,
    confirm: ConfirmArg = False,
) -> BulkReport:
    """Remove one property group from many events (the group and the events stay). Pairs not
    bound are reported as 'absent'. The user must confirm: the client asks them, or you pass
    confirm=true after they agreed."""
    _require(confirmation, "nothing was unbound")
    return await unbind_async(catalog.client, pairs_for_group(group, events))


# --- tools: tracking plan and audits -----------------------------------------------------------


@_guarded
async def plan_tracking_plan(
    catalog: Catalog,
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
    catalog: Catalog,
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
    from eventschema_tools.audit.run import run_audit_async

    desired = parse_plan(plan_yaml, "<plan_yaml>") if plan_yaml else None
    return await run_audit_async(
        catalog.client, plan=desired, kinds=kinds, window=window, events=events
    )


# --- tools: event definitions ------------------------------------------------------------------


@_guarded
async def find_event_definitions(
    catalog: Catalog,
    search: Annotated[
        str | None, Field(description="Words that must all appear in the event name.")
    ] = None,
    cursor: CursorArg = None,
    limit: LimitArg = 50,
) -> EventPage:
    """Find event definitions by name, each with the property groups bound to it. Use it to get
    exact event names before binding or filtering."""
    return await catalog.events(search=search, cursor=cursor, limit=limit)


# --- the server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSpec:
    """A tool and its annotations; ``writes`` tools are left out in read-only mode."""

    fn: Callable[..., Awaitable[Any]]
    title: str
    writes: bool
    destructive: bool = False
    idempotent: bool = True

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


@dataclass(frozen=True)
class ServerOptions:
    """How the server runs (the PostHog connection itself is in :class:`ClientSettings`).

    Attributes:
        read_only: register no tool that writes.
        transport: ``stdio`` or ``streamable-http``.
        host: HTTP bind address.
        port: HTTP port.
        token: bearer token HTTP clients must send (``None``: no token).
        allowed_projects: project ids this server may act on (empty: the configured one).
        allowed_hosts: extra Host header values accepted over HTTP (beyond the bind host).
    """

    read_only: bool = False
    transport: Literal["stdio", "streamable-http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = field(default=None, repr=False)
    allowed_projects: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()

    def check(self, settings: ClientSettings) -> None:
        """Refuse settings this server must not run with.

        Raises:
            ConfigurationError: the project is outside the allow-list, the port is out of
                range, or an HTTP server on a non-loopback address has no token.
        """
        project = settings.project_id or ""
        if self.allowed_projects and project not in self.allowed_projects:
            raise ConfigurationError(
                f"project {project} is not in the allowed projects "
                f"({', '.join(self.allowed_projects)}); set POSTHOG_PROJECT_ID to one of them"
                + (" (not @current)" if project == "@current" else "")
            )
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"port must be between 1 and 65535, got {self.port}")
        exposed = self.transport == "streamable-http" and self.host not in LOOPBACK_HOSTS
        if exposed and not self.token:
            raise ConfigurationError(
                f"serving on {self.host} needs a bearer token: set EVENTSCHEMA_MCP_TOKEN, "
                "or bind to 127.0.0.1"
            )

    def transport_security(self) -> TransportSecuritySettings:
        """Host and Origin checks against DNS rebinding, on for every bind address."""
        hosts = list(LOOPBACK_HOSTS) if self.host in LOOPBACK_HOSTS else [self.host]
        hosts += self.allowed_hosts
        named = [f"[{h}]" if ":" in h else h for h in hosts]
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"{h}:*" for h in named],
            allowed_origins=[f"{scheme}://{h}:*" for h in named for scheme in ("http", "https")],
        )


class StaticTokenVerifier:
    """Accepts exactly one bearer token (compared in constant time)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        """The access granted to ``token``, or ``None`` when it is not the configured one."""
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token=token, client_id=SERVER_NAME, scopes=[])
        return None


def _auth(options: ServerOptions) -> dict[str, Any]:
    if options.transport != "streamable-http" or not options.token:
        return {}
    # No resource_server_url: there is no OAuth server to advertise, only the static token.
    settings = AuthSettings(
        issuer_url=f"http://127.0.0.1:{options.port}",
        resource_server_url=None,
    )
    return {"token_verifier": StaticTokenVerifier(options.token), "auth": settings}


def _new_client(**overrides: Any) -> AsyncEventSchemaClient:
    """The PostHog client, from the environment and ``overrides``."""
    # Imported here: the HTTP stack loads on the first tool call, keeping start-up fast for
    # MCP hosts that spawn the server on demand.
    from eventschema_tools.client import AsyncEventSchemaClient

    return AsyncEventSchemaClient(**overrides)


def create_server(
    options: ServerOptions | None = None, *, client_factory: ClientFactory | None = None
) -> MCPServer[AppState]:
    """Build the MCP server.

    Args:
        options: how to run; defaults to stdio with every tool.
        client_factory: builds the PostHog client when the server starts (tests point it at
            the sandbox); defaults to a client configured from the environment.
    """
    options = options or ServerOptions()
    factory = client_factory or _new_client

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            yield AppState(factory, stack)

    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        title="PostHog event schemas",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        **_auth(options),
    )
    for spec in TOOLS:
        if options.read_only and spec.writes:
            continue
        server.add_tool(spec.fn, title=spec.title, annotations=spec.annotations)
    return server


# --- command line ------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _env_flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise ConfigurationError(f"{name} must be 1 or 0 (true/false), got {value!r}")
    return value in _TRUE


def _env_list(env: Mapping[str, str], name: str) -> list[str]:
    return [part.strip() for part in env.get(name, "").split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventschema-mcp",
        description="MCP server for PostHog event schemas and property groups. The API key is "
        "read from POSTHOG_PERSONAL_API_KEY.",
    )
    parser.add_argument("--project-id", help="PostHog project id (default: POSTHOG_PROJECT_ID).")
    parser.add_argument("--posthog-host", help="us, eu or a URL (default: POSTHOG_HOST, else us).")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="Register no write tools (also EVENTSCHEMA_MCP_READ_ONLY=1).",
    )
    parser.add_argument(
        "--allow-project",
        action="append",
        default=[],
        metavar="ID",
        help="Refuse to start unless the project is one of these (repeatable; also "
        "EVENTSCHEMA_MCP_ALLOWED_PROJECTS=1,2).",
    )
    parser.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address.")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port.")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="Another Host header value HTTP clients may use (repeatable).",
    )
    return parser


def parse_options(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[ServerOptions, dict[str, Any]]:
    """Read flags and environment into server options and client-setting overrides.

    Raises:
        ConfigurationError: an environment variable has a malformed value.
        SystemExit: a flag is malformed (argparse prints the usage line).
    """
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)
    options = ServerOptions(
        read_only=args.read_only or _env_flag(env, "EVENTSCHEMA_MCP_READ_ONLY"),
        transport=args.transport,
        host=args.host,
        port=args.port,
        token=env.get("EVENTSCHEMA_MCP_TOKEN") or None,
        allowed_projects=tuple(
            args.allow_project or _env_list(env, "EVENTSCHEMA_MCP_ALLOWED_PROJECTS")
        ),
        allowed_hosts=tuple(args.allowed_host),
    )
    return options, {"project_id": args.project_id, "host": args.posthog_host}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``eventschema-mcp`` and ``python mcp_server.py``."""
    try:
        options, overrides = parse_options(argv)
        options.check(ClientSettings.load(**overrides))
    except ConfigurationError as exc:
        sys.stderr.write(f"eventschema-mcp: error: {exc}\n")
        raise SystemExit(2) from None
    server = create_server(options, client_factory=functools.partial(_new_client, **overrides))
    if options.transport == "stdio":
        server.run("stdio")
    else:
        server.run(
            "streamable-http",
            host=options.host,
            port=options.port,
            transport_security=options.transport_security(),
        )


if __name__ == "__main__":
    main()
