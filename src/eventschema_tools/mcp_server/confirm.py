"""Confirmation of destructive calls: ask the user through the client, or require ``confirm``.

A client that can show a form (MCP elicitation) asks the user; one that cannot must pass
``confirm=true``, which defaults to False, so a call nobody agreed to is refused (fail closed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Elicit,
    ElicitationResult,
)
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from eventschema_tools.models import PropertyInput

if TYPE_CHECKING:
    pass


from eventschema_tools.mcp_server.state import Ctx


class Confirmation(BaseModel):
    """The form a client shows the user before a destructive call."""

    confirm: bool = Field(description="Yes, go ahead.")


def ask(ctx: Ctx, confirm: bool, question: str) -> Confirmation | Elicit[Confirmation]:
    """Ask the user when the client can show a form; otherwise fall back to ``confirm``.

    The fallback defaults to False, so a client that can neither ask nor pass ``confirm=true``
    is refused (fail closed).
    """
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return Confirmation(confirm=confirm)
    return Elicit(question, Confirmation)


def require_confirmation(answer: ElicitationResult[Confirmation], nothing_done: str) -> None:
    if not isinstance(answer, AcceptedElicitation):
        raise ToolError(f"The user did not confirm, so {nothing_done}.")
    if not answer.data.confirm:
        raise ToolError(
            f"Not confirmed, so {nothing_done}. Ask the user; if they agree, call again with "
            "confirm=true."
        )


async def confirm_delete(
    ctx: Ctx, confirm: bool, schema_id: str | None, event: str | None, group: str | None
) -> Confirmation | Elicit[Confirmation]:
    target = (
        f"event schema {schema_id}"
        if schema_id
        else f"the binding of property group {group!r} to event {event!r}"
    )
    return ask(ctx, confirm, f"Delete {target}? The property group and the event stay.")


async def confirm_replace(
    ctx: Ctx, confirm: bool, group: str, properties: list[PropertyInput] | None
) -> Confirmation | Elicit[Confirmation]:
    if properties is None:  # a rename or a new description destroys nothing
        return Confirmation(confirm=True)
    names = ", ".join(prop.name for prop in properties[:10]) or "no properties at all"
    more = f" and {len(properties) - 10} more" if len(properties) > 10 else ""
    return ask(
        ctx,
        confirm,
        f"Replace every property of group {group!r} with {names}{more}? "
        "Properties not in this list are deleted.",
    )


async def confirm_unbind(
    ctx: Ctx, confirm: bool, group: str, events: list[str]
) -> Confirmation | Elicit[Confirmation]:
    shown = ", ".join(events[:10]) + (f" and {len(events) - 10} more" if len(events) > 10 else "")
    return ask(ctx, confirm, f"Unbind property group {group!r} from {shown}?")
