"""The plan: the writes that bring a project to a tracking plan, what will not be done, and
what each change does to the events that arrive (:mod:`.impact`).

Each change is a small frozen model with an ``action`` discriminator, so a plan serialises to
JSON (``--json``, a review artifact) and back without losing anything.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.models import EnforcementMode, PropertyInput
from eventschema_tools.tracking_plan.file import DEFAULT_PLAN_ID, TrackingPlan
from eventschema_tools.tracking_plan.impact import (
    IMPACT_LEVELS,
    FailOn,
    Impact,
    ImpactLevel,
    StaleAcknowledgement,
    rule_impacts,
    stale_acknowledgements,
)

__all__ = [
    "Change",
    "CreateBinding",
    "CreateEvent",
    "CreateGroup",
    "DeleteBinding",
    "DeleteGroup",
    "Notice",
    "NoticeKind",
    "Plan",
    "PropertyChange",
    "UpdateEvent",
    "UpdateGroup",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class PropertyChange(_Model):
    """How one property of a group changes (for display; the update sends the whole list)."""

    name: str
    before: PropertyInput | None = None
    after: PropertyInput | None = None


class CreateGroup(_Model):
    """Create a property group (with this plan's ownership marker)."""

    action: Literal["create_group"] = "create_group"
    group: str
    description: str
    properties: list[PropertyInput]

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'group "{self.group}"'


class UpdateGroup(_Model):
    """Rewrite a group's description and/or its whole property list."""

    action: Literal["update_group"] = "update_group"
    group: str
    group_id: UUID
    description: str | None = None
    properties: list[PropertyInput] | None = None
    description_before: str = ""
    description_after: str = ""
    property_changes: list[PropertyChange] = Field(default_factory=list)
    adopt: bool = False

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'group "{self.group}"'


class DeleteGroup(_Model):
    """Delete a group this plan owns (PostHog also deletes its bindings)."""

    action: Literal["delete_group"] = "delete_group"
    group: str
    group_id: UUID
    bindings: int = 0

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'group "{self.group}"'


class CreateEvent(_Model):
    """Create a missing event definition (only with ``create_events``)."""

    action: Literal["create_event"] = "create_event"
    event: str
    description: str | None = None

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'event "{self.event}"'


class UpdateEvent(_Model):
    """Set an event definition's enforcement mode and/or description."""

    action: Literal["update_event"] = "update_event"
    event: str
    event_id: UUID | None = None
    enforcement_mode: EnforcementMode | None = None
    description: str | None = None
    enforcement_before: EnforcementMode | None = None
    description_before: str | None = None

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'event "{self.event}"'


class CreateBinding(_Model):
    """Bind a group to an event (ids are ``None`` when phase 1 creates the object)."""

    action: Literal["create_binding"] = "create_binding"
    event: str
    group: str
    event_id: UUID | None = None
    group_id: UUID | None = None

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'binding "{self.group}" → "{self.event}"'


class DeleteBinding(_Model):
    """Remove a binding of a group this plan owns (only with ``prune``)."""

    action: Literal["delete_binding"] = "delete_binding"
    event: str
    group: str
    event_id: UUID
    group_id: UUID

    @property
    def subject(self) -> str:
        """What the change is about, for people."""
        return f'binding "{self.group}" → "{self.event}"'


Change = Annotated[
    CreateGroup
    | UpdateGroup
    | DeleteGroup
    | CreateEvent
    | UpdateEvent
    | CreateBinding
    | DeleteBinding,
    Field(discriminator="action"),
]

NoticeKind = Literal["blocked", "conflict", "not_pruned", "kept"]


class Notice(_Model):
    """Something the plan will not do, and why.

    ``blocked`` and ``conflict`` notices mean part of the desired state cannot be reached
    (``blocking``); ``not_pruned`` lists what ``--prune`` would delete; ``kept`` lists
    objects prune leaves alone because this plan does not own them.
    """

    kind: NoticeKind
    subject: str
    reason: str
    blocking: bool = False


_ACTION_ORDER = {
    "create_group": 0,
    "update_group": 1,
    "create_event": 2,
    "update_event": 3,
    "create_binding": 4,
    "delete_binding": 5,
    "delete_group": 6,
}


class Plan(_Model):
    """The changes that bring a project to a tracking plan, and what will not be done.

    Attributes:
        plan_id: the plan's id (written into ownership markers).
        changes: the writes to make, in apply order.
        notices: what will not be done, and why.
        live_bindings: how many bindings the project had (chooses how to look up the ids
            of bindings to delete with the fewest requests).
        impacts: what the changes do, each ``breaking``, ``risky`` or ``safe``, acknowledged
            where the plan file's ``allow_breaking`` says so.
        stale_acknowledgements: ``allow_breaking`` entries no pending change matches.
    """

    plan_id: str = DEFAULT_PLAN_ID
    changes: list[Change] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    live_bindings: int = 0
    impacts: list[Impact] = Field(default_factory=list)
    stale_acknowledgements: list[StaleAcknowledgement] = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not self.changes

    @property
    def blocked(self) -> list[Notice]:
        """Notices for desired state this plan cannot reach."""
        return [notice for notice in self.notices if notice.blocking]

    def counts(self) -> dict[str, int]:
        """Changes by kind: ``add``, ``change``, ``destroy`` (Terraform's summary)."""
        kinds = Counter(change.action.split("_")[0] for change in self.changes)
        return {
            "add": kinds["create"],
            "change": kinds["update"],
            "destroy": kinds["delete"],
        }

    def impact_tally(self) -> dict[ImpactLevel, tuple[int, int]]:
        """Per level (``breaking``, ``risky``, ``safe``): the impacts, and how many of them the
        plan file acknowledges."""
        return {
            level: (
                sum(1 for i in self.impacts if i.level == level),
                sum(1 for i in self.impacts if i.level == level and i.acknowledged is not None),
            )
            for level in IMPACT_LEVELS
        }

    def unacknowledged(self, fail_on: FailOn) -> list[Impact]:
        """The impacts that fail a review at ``fail_on`` (``never``: none)."""
        return [impact for impact in self.impacts if impact.fails(fail_on)]

    def with_rules_from(self, base: TrackingPlan, desired: TrackingPlan) -> Plan:
        """This plan with the value-rule impacts of ``desired`` against ``base``, an earlier
        version of the plan file (PostHog stores no rules, so only the files can tell)."""
        impacts = [*self.impacts, *rule_impacts(base, desired)]
        return self.model_copy(
            update={
                "impacts": impacts,
                "stale_acknowledgements": stale_acknowledgements(
                    desired, impacts, rules_compared=True
                ),
            }
        )

    def review_summary(self) -> str:
        """One line such as ``Review: 2 breaking (1 acknowledged), 0 risky, 5 safe.``"""
        parts = [
            f"{total} {level}" + (f" ({accepted} acknowledged)" if accepted else "")
            for level, (total, accepted) in self.impact_tally().items()
        ]
        return "Review: " + ", ".join(parts) + "."

    def summary(self) -> str:
        """One line such as ``Plan: 3 to add, 1 to change, 0 to destroy.``"""
        if self.is_empty:
            return "No changes. PostHog matches the plan."
        counts = self.counts()
        return (
            f"Plan: {counts['add']} to add, {counts['change']} to change, "
            f"{counts['destroy']} to destroy."
        )
