"""Tracking plan → PostHog: read the live state, diff it, apply the changes, or pull it back.

Modules: ``changes`` (the :class:`Plan` model), ``live`` (:class:`LiveState`), ``diff``,
``apply`` and ``pull``; everything public is importable from ``eventschema_tools.tracking_plan``.

``diff(desired, live) -> Plan`` is pure. ``LiveState.read`` takes a snapshot with the fewest
requests: the property-group list (which also carries every binding, as each group's
``events``) and the event definitions the plan names (one ``names=`` request when they fit in
one URL, else the whole list with large pages). The event-schema list is read only when
bindings must be deleted, and then only the cheaper of "whole list" and "one filtered list per
event".

``apply(client, plan) -> ApplyReport`` (and ``apply_async``) runs the changes in phases, each
phase concurrently within the client's shared rate budget:

1. create and update property groups, create missing event definitions;
2. create bindings, set enforcement and descriptions of events (these need the ids of phase 1);
3. delete bindings and property groups the plan no longer lists (only with ``prune``).

A failed item is reported with its reason and the run goes on; items that depend on it are
skipped with the reason. Creates are reconciled by the client after ambiguous failures, and a
binding that turns out to exist already counts as done (outcome ``already_done``), so a second
run after a partial one finishes the work, and a run with nothing to do makes no writes.

Ownership and prune (see :mod:`.ownership`): groups this plan creates or
rewrites carry ``<!-- eventschema:plan=<plan_id> -->``. ``prune`` deletes only groups carrying
this plan's marker and bindings of such groups that the plan does not list. Objects carrying another
tool's marker (posthog-definitions' ``iac:``) are never updated or deleted; event definitions
are never deleted.

Enforcement: ``enforcement: allow|reject`` in the plan is PostHog's ``enforcement_mode``;
leaving it out leaves the event's mode alone. PostHog cloud may answer 400 to ``reject`` without
its ``schema-enforcement-reject`` feature flag: that item is reported failed with PostHog's
reason and the rest of the run continues.
"""

from eventschema_tools.tracking_plan.apply import (
    DEFAULT_CONCURRENCY,
    ApplyReport,
    ItemOutcome,
    ItemResult,
    ItemStatus,
    Progress,
    apply,
    apply_async,
)
from eventschema_tools.tracking_plan.changes import (
    Change,
    CreateBinding,
    CreateEvent,
    CreateGroup,
    DeleteBinding,
    DeleteGroup,
    Notice,
    NoticeKind,
    Plan,
    PropertyChange,
    UpdateEvent,
    UpdateGroup,
)
from eventschema_tools.tracking_plan.diff import compute_plan, compute_plan_async, diff
from eventschema_tools.tracking_plan.live import LiveState
from eventschema_tools.tracking_plan.pull import (
    MergedPlan,
    keep_local_fields,
    merge_plan,
    plan_from_live,
    pull,
    pull_async,
    pull_merge,
    pull_merge_async,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ApplyReport",
    "Change",
    "CreateBinding",
    "CreateEvent",
    "CreateGroup",
    "DeleteBinding",
    "DeleteGroup",
    "ItemOutcome",
    "ItemResult",
    "ItemStatus",
    "LiveState",
    "MergedPlan",
    "Notice",
    "NoticeKind",
    "Plan",
    "Progress",
    "PropertyChange",
    "UpdateEvent",
    "UpdateGroup",
    "apply",
    "apply_async",
    "compute_plan",
    "compute_plan_async",
    "diff",
    "keep_local_fields",
    "merge_plan",
    "plan_from_live",
    "pull",
    "pull_async",
    "pull_merge",
    "pull_merge_async",
]
