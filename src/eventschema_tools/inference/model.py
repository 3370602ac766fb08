"""The typed result of ``infer``: the proposed plan and the evidence behind every line of it.

Shares are fractions between 0 and 1 (``0.995`` is 99.5 %); counts are events as read (with
sampling, the events of the sample: ``Inference.sample_rate`` says how to scale them). The
models serialise to JSON for the CLI's ``--json``, the MCP tool and Airflow's XCom.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.tracking_plan.changes import Plan
from eventschema_tools.tracking_plan.file import TrackingPlan

__all__ = [
    "EventEvidence",
    "GroupEvidence",
    "Inference",
    "InferenceWindow",
    "PropertyEvidence",
    "SkippedEvent",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertyEvidence(_Model):
    """What the events said about one property of one event.

    Attributes:
        name: The property.
        type: The PostHog type proposed (the most specific one nearly every value parses as).
        parse_share: Share of the present values that parse as ``type`` under PostHog's rules.
        presence: Share of the event's volume that carries the property (not null).
        required: Whether it is proposed as required (``presence`` reached the required share).
        json_types: Events per JSON type of the raw values (``String``, ``Int64``, ``Bool``...).
        strings: Present values that are JSON strings.
        distinct_values: Distinct string values seen (estimated when there are many).
        values: The distinct string values, when there are few of them and none is email-like.
        enum: Proposed allowed values (low-cardinality strings), if any.
        minimum: Smallest numeric value seen, if numeric.
        maximum: Largest numeric value seen, if numeric.
        pattern: A known shape every value has, as a regular expression, if any.
        shape: The shape's name (``ISO currency``, ``UUID``, ``ISO date``...), if any.
        possible_pii: Personal data was seen (an email-like value, a personal-looking name or a
            value the privacy audit's detectors match): values are never copied into the plan.
        group: The group the property is proposed in.
    """

    name: str
    type: str
    parse_share: float
    presence: float
    required: bool
    json_types: dict[str, int] = Field(default_factory=dict)
    strings: int = 0
    distinct_values: int | None = None
    values: list[str] | None = None
    enum: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    shape: str | None = None
    possible_pii: bool = False
    group: str | None = None


class EventEvidence(_Model):
    """One event: its volume in the window and what each of its properties looked like."""

    event: str
    volume: int
    properties: list[PropertyEvidence] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class GroupEvidence(_Model):
    """Why a group is proposed.

    Attributes:
        name: The group.
        source: ``shared`` (mined: properties that travel together across events), ``existing``
            (a group PostHog or the plan already has, reused because the events carry all of
            it) or ``event`` (one event's remaining properties).
        events: The events it is bound to.
        properties: Its properties.
        co_occurrence: A lower bound on the share of the bound events' volume that carries
            every required property of the group at once (from each property's presence);
            ``None`` when every property of the group is optional.
        reason: One sentence on why these properties form a group.
    """

    name: str
    source: Literal["shared", "existing", "event"]
    events: list[str]
    properties: list[str]
    co_occurrence: float | None
    reason: str


class SkippedEvent(_Model):
    """An event seen in the window that the proposal leaves out, and why."""

    event: str
    volume: int
    reason: str


class InferenceWindow(_Model):
    """The time range the events were read from (UTC): ``since`` inclusive, ``until`` exclusive."""

    label: str
    since: datetime
    until: datetime


class Inference(_Model):
    """A tracking plan inferred from live events, with its evidence.

    Attributes:
        plan: The proposed plan (with an existing plan: that plan plus the proposed additions
            and changes).
        text: The proposed plan file: YAML with the evidence as comments (with an existing plan:
            its text edited in place, comments and layout kept).
        changes: With an existing plan, the proposal as a plan diff (existing → proposed).
        window: The time range read.
        events: Per inferred event, its volume and property evidence.
        groups: Per proposed group, why it is there.
        skipped: Events seen but left out (volume below the minimum, ``$`` events...).
        queries: HogQL queries sent.
        query_bound: The most this run could send: ⌈events / 200⌉ + 1.
        sample_rate: The share of events read (``None``: all of them).
        sampled_automatically: Sampling was turned on because the volume was high.
        stored_events: Events in the window (before sampling), from the first query.
        notes: Anything the reader should know (sampling, truncated answers).
    """

    plan: TrackingPlan
    text: str
    changes: Plan | None = None
    window: InferenceWindow
    events: list[EventEvidence] = Field(default_factory=list)
    groups: list[GroupEvidence] = Field(default_factory=list)
    skipped: list[SkippedEvent] = Field(default_factory=list)
    queries: int
    query_bound: int
    sample_rate: float | None = None
    sampled_automatically: bool = False
    stored_events: int
    notes: list[str] = Field(default_factory=list)
