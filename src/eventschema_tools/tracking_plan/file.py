"""The tracking-plan file: property groups, events and value rules, as YAML (or JSON) in git.

A plan file looks like this::

    version: 1
    plan_id: web-app             # optional; names this plan in ownership markers
    property_groups:
      checkout:
        description: Properties every checkout event carries
        properties:
          order_id: {type: String, required: true, description: Order number}
          amount: {type: Numeric, required: true, rules: {min: 0}}
          plan: {type: String, rules: {enum: [free, pro, enterprise]}}
    events:
      checkout_completed:
        groups: [checkout]
        description: A customer paid
        enforcement: allow       # or reject; leave out to not manage it

The models (:class:`TrackingPlan`, :class:`PropertyGroupSpec`, :class:`PropertySpec`,
:class:`ValueRules`, :class:`EventSpec`) are the public, stable description of a plan; audits
read ``rules``, ``plan.py`` turns the rest into API calls.

Loading is ``yaml.safe_load``-level safe: tags that would build Python objects are refused, and
what aliases add is capped; JSON files are read as JSON, and only regular files of at most
10 MiB are read (see :mod:`~eventschema_tools.tracking_plan.document`). Every problem is
reported with ``file:line:column`` and a hint, via :class:`PlanFileError` (all problems at
once, not only the first).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from eventschema_tools.errors import closest_choice
from eventschema_tools.models import (
    MAX_EVENT_NAME_LENGTH,
    MAX_GROUP_NAME_LENGTH,
    EnforcementMode,
    PropertyName,
    PropertyType,
)
from eventschema_tools.tracking_plan.document import (
    PlanDocument,
    PlanFileError,
    Problem,
    gc_paused,
    parse_document,
    plan_format,
    read_document,
    read_plan_text,
)
from eventschema_tools.tracking_plan.environments import (
    EnvironmentEvent,
    EnvironmentName,
    EnvironmentSpec,
)
from eventschema_tools.tracking_plan.impact import ACKNOWLEDGEABLE, ImpactKind
from eventschema_tools.tracking_plan.ownership import any_marker

__all__ = [
    "DEFAULT_PLAN_ID",
    "JSON_SCHEMA_RESOURCE",
    "PLAN_VERSION",
    "Acknowledgement",
    "EnvironmentSpec",
    "EventSpec",
    "Owner",
    "PiiDecision",
    "PlanDocument",
    "PlanFileError",
    "Problem",
    "PropertyGroupSpec",
    "PropertySpec",
    "RatchetSpec",
    "TrackingPlan",
    "ValueRules",
    "dump_plan",
    "json_schema",
    "json_schema_text",
    "load_plan",
    "parse_document",
    "parse_plan",
    "plan_data",
    "plan_format",
    "property_data",
    "read_document",
    "read_plan_text",
    "shipped_json_schema_text",
    "validate_document",
    "write_json_schema",
]

PLAN_VERSION = 1
DEFAULT_PLAN_ID = "default"
JSON_SCHEMA_RESOURCE = "tracking-plan.schema.json"

PLAN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


# --- models ----------------------------------------------------------------------------------


class _Spec(BaseModel):
    """Base of the plan-file models: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _add_regex_synonym(schema: dict[str, Any]) -> None:
    schema["properties"]["regex"] = {
        "type": "string",
        "description": "Synonym of `pattern`.",
    }


def _is_finite_number(value: Any) -> bool:
    # NaN and infinities compare false with everything: as bounds or allowed values they would
    # silently accept or reject every value.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _finite_number(value: Any) -> Any:
    if not _is_finite_number(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return value


def _enum_value(value: Any) -> Any:
    if not isinstance(value, str) and not _is_finite_number(value):
        raise ValueError(f"enum values must be text or finite numbers, got {value!r}")
    return value


RuleNumber = Annotated[int | float, BeforeValidator(_finite_number)]
EnumValue = Annotated[str | int | float, BeforeValidator(_enum_value)]


PiiDecision = Literal["hash", "drop", "allow"]
"""What may be sent of a property holding personal data (``pii:`` in the plan)."""

ForbiddenField: Any = Field(
    default_factory=list,
    description="Property names that must never arrive (the privacy audit reports them).",
)


class ValueRules(_Spec):
    """Value rules kept in the plan and checked by audits (PostHog itself does not store them).

    ``enum`` suits String and Numeric properties, ``pattern`` (or its synonym ``regex``)
    String ones, ``min``/``max`` Numeric ones (inclusive bounds).
    """

    model_config = ConfigDict(json_schema_extra=_add_regex_synonym)

    enum: list[EnumValue] | None = Field(default=None, min_length=1, description="Allowed values.")
    pattern: str | None = Field(
        default=None, description="A regular expression every value must match (searched)."
    )
    min: RuleNumber | None = Field(default=None, description="Smallest allowed value (inclusive).")
    max: RuleNumber | None = Field(default=None, description="Largest allowed value (inclusive).")

    @model_validator(mode="before")
    @classmethod
    def _regex_is_pattern(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "regex" in value:
            if "pattern" in value:
                raise ValueError("give either 'pattern' or 'regex', not both")
            value = {("pattern" if key == "regex" else key): item for key, item in value.items()}
        return value

    @field_validator("enum", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, value: Any) -> Any:
        if isinstance(value, list):
            for item in value:
                if isinstance(item, bool):
                    raise ValueError(
                        f"enum value {item!r} is a YAML boolean (from an unquoted yes/no/on/off/"
                        "true/false); quote it, e.g. 'yes'"
                    )
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> ValueRules:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class PropertySpec(_Spec):
    """One property of a group, as PostHog stores it (plus our own value ``rules``)."""

    type: PropertyType = Field(description="One of String, Numeric, Boolean, DateTime, Object.")
    required: bool = Field(default=False, description="Events must carry this property.")
    optional_in_types: bool = Field(
        default=False,
        description="Required at runtime but optional in generated types (e.g. super "
        "properties set by the SDK).",
    )
    description: str = Field(default="", description="What the property means.")
    rules: ValueRules | None = Field(
        default=None, description="Value rules checked by audits (not sent to PostHog)."
    )
    pii: PiiDecision | None = Field(
        default=None,
        description="Personal data policy: hash (send only a hash), drop (never send it) or "
        "allow (personal data on purpose; give pii_reason). Checked by the privacy audit.",
    )
    pii_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Why the property may carry personal data (required with pii: allow).",
    )

    @model_validator(mode="after")
    def _allow_says_why(self) -> PropertySpec:
        if self.pii == "allow" and not (self.pii_reason or "").strip():
            raise ValueError("pii: allow needs pii_reason: say why this personal data is sent")
        if self.pii_reason is not None and self.pii is None:
            raise ValueError("pii_reason explains a pii decision: add pii: hash, drop or allow")
        return self

    @model_validator(mode="after")
    def _rules_fit_type(self) -> PropertySpec:
        rules = self.rules
        if rules is None:
            return self
        kind = self.type
        if rules.enum is not None:
            if kind not in (PropertyType.STRING, PropertyType.NUMERIC):
                raise ValueError(f"enum rules apply to String or Numeric properties, not {kind}")
            expected: tuple[type, ...] = (str,) if kind == PropertyType.STRING else (int, float)
            wrong = [v for v in rules.enum if not isinstance(v, expected)]
            if wrong:
                raise ValueError(
                    f"enum values of a {kind} property must be "
                    f"{'text' if kind == PropertyType.STRING else 'numbers'}; got {wrong[0]!r}"
                    + (" (quote numbers meant as text, e.g. '1')" if expected == (str,) else "")
                )
        if rules.pattern is not None and kind != PropertyType.STRING:
            raise ValueError(f"pattern rules apply to String properties, not {kind}")
        if (rules.min is not None or rules.max is not None) and kind != PropertyType.NUMERIC:
            raise ValueError(f"min/max rules apply to Numeric properties, not {kind}")
        return self


GroupName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GROUP_NAME_LENGTH)
]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EVENT_NAME_LENGTH)]


class Acknowledgement(_Spec):
    """An ``allow_breaking`` entry: a breaking or risky change made on purpose, and why."""

    change: ImpactKind = Field(
        description="The kind of change accepted: property_required, property_removed, "
        "type_changed, group_unbound, enforcement_reject, rule_tightened or "
        "optional_in_types_dropped."
    )
    property: PropertyName | None = Field(
        default=None, description="Only the change of this property (default: any)."
    )
    reason: str = Field(
        min_length=1,
        max_length=1000,
        description="Why the change is safe to make (shown in reviews).",
    )

    @field_validator("change")
    @classmethod
    def _breaking_or_risky(cls, value: ImpactKind) -> ImpactKind:
        if value not in ACKNOWLEDGEABLE:
            kinds = ", ".join(sorted(kind.value for kind in ACKNOWLEDGEABLE))
            raise ValueError(f"{value.value} is safe and needs no acknowledgement; one of {kinds}")
        return value

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give a reason: it is what reviewers read")
        return value


_OWNER: Final = re.compile(r"^@?[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TAG: Final = re.compile(r"^[a-z0-9][a-z0-9_:.-]*$")


def _owner(value: str) -> str:
    if not _OWNER.match(value):
        raise ValueError(
            f"owner {value!r} is not a team name (billing-team, org/team) or a handle (@alice)"
        )
    return value


def _tag(value: str) -> str:
    if not _TAG.match(value):
        raise ValueError(f"tag {value!r}: use lower-case letters, digits, -, _, : or .")
    return value


Owner = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_owner),
]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_tag)]
OwnerField: Any = Field(
    default=None,
    description="Who answers for it: a team (billing-team) or a handle (@alice); alerts about "
    "it are routed by this name (docs/alerts.md#routing).",
)
TagsField: Any = Field(
    default_factory=list, description="Labels in lower case (pii, revenue, mobile...)."
)


def _unique_tags(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


AllowBreaking: Any = Field(
    default_factory=list,
    description="Breaking or risky changes made on purpose: each names the change kind, "
    "optionally the property, and the reason. Plan reviews let them through.",
)


class PropertyGroupSpec(_Spec):
    """A reusable, named set of typed properties."""

    description: str = Field(default="", description="What the group is for.")
    properties: dict[PropertyName, PropertySpec] = Field(
        default_factory=dict, description="Properties by name."
    )
    owner: Owner | None = OwnerField
    tags: list[Tag] = TagsField
    allow_breaking: list[Acknowledgement] = AllowBreaking

    _tags = field_validator("tags")(_unique_tags)

    @field_validator("description")
    @classmethod
    def _no_ownership_marker(cls, value: str) -> str:
        # Written into PostHog, a marker here would make the group look owned by another plan
        # or tool, and every later run would report a conflict.
        found = any_marker(value)
        if found is not None:
            raise ValueError(
                f"description contains the ownership marker {found!r}; remove it "
                "(apply writes this plan's own marker)"
            )
        return value


def _window(value: str) -> str:
    from eventschema_tools.audit.model import parse_window

    parse_window(value)
    return value.strip()


Window = Annotated[str, AfterValidator(_window)]


class RatchetSpec(_Spec):
    """When enforcement moves by itself: ``allow`` → ``reject`` once conformance held the SLO
    for the soak period, and back to ``allow`` when it falls under ``allow_below``."""

    slo: float = Field(
        default=0.99, ge=0, le=1, description="Conformance that must hold before reject."
    )
    soak: Window = Field(
        default="7d", description="How long it must have held: 24h, 7d... (at most 90d)."
    )
    min_events: int = Field(
        default=100, ge=1, description="The fewest events the soak period must hold."
    )
    allow_below: float = Field(
        default=0.95,
        ge=0,
        le=1,
        description="Back to allow when conformance in a bucket of the last window is clearly "
        "under this share (events reject dropped count as not conforming).",
    )
    window: Window = Field(
        default="1h", description="How far back a regression is looked for: 30m, 1h, 6h..."
    )
    environments: list[EnvironmentName] | None = Field(
        default=None,
        description="The environments the ratchet runs in (default: all, or the one project "
        "of a plan without environments). There, apply and promote leave the event's "
        "enforcement to the ratchet.",
    )

    @field_validator("soak")
    @classmethod
    def _soak_at_most_90_days(cls, value: str) -> str:
        from eventschema_tools.audit.model import parse_window

        if parse_window(value).days > 90:
            raise ValueError(f"soak {value!r} is longer than 90 days")
        return value

    @model_validator(mode="after")
    def _allow_below_slo(self) -> RatchetSpec:
        if self.allow_below > self.slo:
            raise ValueError(
                f"allow_below ({self.allow_below:g}) must not be above slo ({self.slo:g}): an "
                "event would switch back and forth"
            )
        return self

    def runs_in(self, environment: str | None) -> bool:
        """Whether the ratchet decides this event's enforcement in ``environment``."""
        return environment is None or self.environments is None or environment in self.environments


class EventSpec(_Spec):
    """An event: the groups bound to it, its description and its enforcement mode."""

    groups: list[GroupName] = Field(
        default_factory=list, description="Names of the property groups bound to this event."
    )
    description: str | None = Field(
        default=None, description="The event definition's description; leave out to not manage."
    )
    enforcement: EnforcementMode | None = Field(
        default=None,
        description="PostHog's enforcement_mode: allow (observe) or reject (drop events "
        "missing a required property); leave out to not manage it.",
    )
    owner: Owner | None = OwnerField
    tags: list[Tag] = TagsField
    allow_breaking: list[Acknowledgement] = AllowBreaking
    forbidden_properties: list[PropertyName] = ForbiddenField
    ratchet: RatchetSpec | None = Field(
        default=None,
        description="Let data decide enforcement: reject once conformance held an SLO for a "
        "soak period, allow again on a regression (eventschema ratchet). Off when left out.",
    )

    _tags = field_validator("tags")(_unique_tags)

    @model_validator(mode="after")
    def _one_owner_of_enforcement(self) -> EventSpec:
        if self.ratchet is not None and self.enforcement is not None:
            raise ValueError(
                "enforcement and ratchet both decide the enforcement mode: keep one (the "
                "ratchet starts from the mode the event has)"
            )
        return self

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class TrackingPlan(_Spec):
    """A tracking plan: the desired property groups and events of one PostHog project."""

    model_config = ConfigDict(title="eventschema tracking plan")

    schema_url: str | None = Field(
        default=None, alias="$schema", description="JSON Schema of this file (for editors)."
    )
    version: Literal[1] = Field(description="File format version; always 1.")
    plan_id: str = Field(
        default=DEFAULT_PLAN_ID,
        pattern=PLAN_ID_PATTERN,
        description="Names this plan in the ownership marker of the groups it creates, so "
        "several plans can share one project; prune only touches this plan's groups.",
    )
    property_groups: dict[GroupName, PropertyGroupSpec] = Field(
        default_factory=dict, description="Property groups by name."
    )
    events: dict[EventName, EventSpec] = Field(default_factory=dict, description="Events by name.")
    forbidden_properties: list[PropertyName] = ForbiddenField
    environments: dict[EnvironmentName, EnvironmentSpec] = Field(
        default_factory=dict,
        description="The PostHog projects this plan is applied to (staging, prod...), each "
        "with its host, project id and enforcement overrides; keys come from "
        "POSTHOG_PERSONAL_API_KEY_<NAME>, never from this file.",
    )

    @model_validator(mode="after")
    def _one_project_per_environment(self) -> TrackingPlan:
        seen: dict[tuple[str, int], str] = {}
        for name, environment in self.environments.items():
            where = (environment.host, environment.project_id)
            if where in seen:
                raise ValueError(
                    f"environments {seen[where]!r} and {name!r} are the same project "
                    f"({environment.project_id} on {environment.host}); give each its own"
                )
            seen[where] = name
        return self

    def bindings(self) -> set[tuple[str, str]]:
        """Every (event name, group name) pair the plan binds."""
        return {(event, group) for event, spec in self.events.items() for group in spec.groups}


# --- validation ------------------------------------------------------------------------------

_MODEL_AT_DEPTH: dict[tuple[str, ...], type[BaseModel]] = {
    (): TrackingPlan,
    ("property_groups", "*"): PropertyGroupSpec,
    ("property_groups", "*", "properties", "*"): PropertySpec,
    ("property_groups", "*", "properties", "*", "rules"): ValueRules,
    ("events", "*"): EventSpec,
    ("property_groups", "*", "allow_breaking", "*"): Acknowledgement,
    ("events", "*", "allow_breaking", "*"): Acknowledgement,
    ("events", "*", "ratchet"): RatchetSpec,
    ("environments", "*"): EnvironmentSpec,
    ("environments", "*", "events", "*"): EnvironmentEvent,
}


def _model_at(path: Sequence[Any]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``path`` ("*" stands for any name)."""
    for pattern, model in _MODEL_AT_DEPTH.items():
        if len(pattern) == len(path) and all(
            p == "*" or p == str(part) for p, part in zip(pattern, path, strict=True)
        ):
            return model
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    keys = [info.alias or name for name, info in model.model_fields.items()]
    return [*keys, "regex"] if model is ValueRules else keys


def _suggest(word: str, choices: Sequence[str]) -> str:
    return closest_choice(word, choices) or ""


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} characters)"


def _explain(error: Mapping[str, Any]) -> tuple[Sequence[Any], str, str, str]:
    """Turn one pydantic error into (path, message, hint, code)."""
    loc = [part for part in error["loc"] if part != "[key]"]
    is_key = "[key]" in error["loc"]
    kind = error["type"]
    value = error.get("input")
    leaf = loc[-1] if loc else ""
    if is_key:
        if isinstance(value, str) and loc[:1] == ["environments"] and value.strip():
            return (
                loc,
                f"environment name {_short(value)!r} must start with a lower-case letter and "
                "hold only lower-case letters, digits, '-' and '_' (at most 32)",
                "it also names the key's variable, e.g. POSTHOG_PERSONAL_API_KEY_PROD",
                "invalid-name",
            )
        if isinstance(value, str):
            message = str(error["msg"]).removeprefix("Value error, ")
            if not value.strip():
                message, hint = "name must not be blank", "give it a name"
            else:
                message, hint = f"name {_short(value)!r}: {message}", ""
            return loc, message, hint, "invalid-name"
        return loc, f"name {value!r} must be text", f"quote it: '{value}'", "invalid-name"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = _allowed_keys(model) if model else []
        guess = _suggest(str(leaf), allowed)
        hint = f"did you mean '{guess}'? " if guess else ""
        if value is None or " " in str(leaf).strip():
            hint = "a comma inside {...} starts a new key: quote text that contains commas; "
        return (
            loc,
            f"unknown key {leaf!r}",
            f"{hint}allowed keys here: {', '.join(allowed)}",
            "unknown-key",
        )
    if kind == "missing":
        hint = "add 'version: 1' at the top" if leaf == "version" else ""
        if leaf == "type":
            hint = f"add 'type:' with one of {', '.join(t.value for t in PropertyType)}"
        return loc, f"missing required key {leaf!r}", hint, "missing-key"
    if kind == "enum" and leaf == "type":
        types = [t.value for t in PropertyType]
        guess = _suggest(str(value), types)
        hint = f"did you mean '{guess}'? " if guess else ""
        return (
            loc,
            f"unknown property type {value!r}",
            f"{hint}use one of {', '.join(types)}",
            "unknown-type",
        )
    if kind == "enum" and leaf == "enforcement":
        modes = [m.value for m in EnforcementMode]
        return (
            loc,
            f"unknown enforcement {value!r}",
            f"use one of {', '.join(modes)}, or leave it out to not manage it",
            "unknown-enforcement",
        )
    if kind == "literal_error" and leaf == "version":
        return loc, f"unsupported version {value!r}", "this release reads 'version: 1'", "version"
    if kind in ("dict_type", "model_type"):
        return (
            loc,
            f"{'the file' if not loc else repr(leaf)} must be a mapping of keys to values, "
            f"got {type(value).__name__}",
            "indent the entries under it as 'key: value' lines",
            "wrong-shape",
        )
    if kind == "list_type":
        return (
            loc,
            f"{leaf!r} must be a list, got {type(value).__name__}",
            f"write it as [{value}]" if isinstance(value, str) else "write it as [a, b]",
            "wrong-shape",
        )
    if kind == "string_pattern_mismatch" and leaf == "plan_id":
        return (
            loc,
            f"plan_id {value!r} is not a valid identifier",
            "use letters, digits, '_', '.' or '-' (at most 64 characters)",
            "invalid-plan-id",
        )
    if kind in ("string_too_short", "value_error") and isinstance(value, str) and not value.strip():
        if leaf == "reason":
            return loc, "reason must not be blank", "say why the change is safe", "invalid"
        return loc, "name must not be blank", "give it a name", "invalid-name"
    message = str(error["msg"]).removeprefix("Value error, ")
    return loc, message, "", "invalid"


def validate_document(doc: PlanDocument) -> tuple[TrackingPlan | None, list[Problem]]:
    """Validate a parsed document as a tracking plan.

    Returns:
        The plan (``None`` if it is invalid) and every error found, each with its position.
    """
    with gc_paused():
        return _validated(doc)


def _validated(doc: PlanDocument) -> tuple[TrackingPlan | None, list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(doc.data, Mapping):
        problems.append(
            doc.problem(
                (),
                f"a plan file must be a mapping with 'version: 1' at the top, got "
                f"{type(doc.data).__name__}",
                hint="see examples/tracking-plan.yaml",
                code="wrong-shape",
            )
        )
        return None, problems
    try:
        plan = TrackingPlan.model_validate(doc.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path, message, hint, code = _explain(error)
            about_value = code not in ("unknown-key", "missing-key", "invalid-name")
            problems.append(doc.problem(path, message, hint=hint, code=code, at_value=about_value))
        plan = None
    problems.extend(_reference_problems(doc))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return (plan if not problems else None), problems


def _entries(data: Any, key: str) -> Mapping[Any, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _reference_problems(doc: PlanDocument) -> Iterator[Problem]:
    """Errors across entries: undefined groups, names equal after PostHog trims them."""
    groups = _entries(doc.data, "property_groups")
    defined = {str(name).strip() for name in groups}
    for event, spec in _entries(doc.data, "events").items():
        refs = spec.get("groups") if isinstance(spec, Mapping) else None
        if not isinstance(refs, list):
            continue
        for index, ref in enumerate(refs):
            if isinstance(ref, str) and ref.strip() and ref.strip() not in defined:
                guess = _suggest(ref, sorted(defined))
                yield doc.problem(
                    ("events", event, "groups", index),
                    f"event {event!r} uses group {ref!r}, which the plan does not define",
                    hint=(f"did you mean '{guess}'? " if guess else "")
                    + "define it under property_groups",
                    code="undefined-group",
                )
    events = _entries(doc.data, "events")
    environments = _entries(doc.data, "environments")
    for event, spec in events.items():
        ratchet = spec.get("ratchet") if isinstance(spec, Mapping) else None
        where = ratchet.get("environments") if isinstance(ratchet, Mapping) else None
        for index, name in enumerate(where if isinstance(where, list) else []):
            if name not in environments:
                yield doc.problem(
                    ("events", event, "ratchet", "environments", index),
                    f"event {event!r} ratchets in environment {name!r}, which the plan does "
                    "not define",
                    hint="add it under environments, or remove it from the list",
                    code="undefined-environment",
                )
    for environment, spec in environments.items():
        for event, override in _entries(spec, "events").items():
            ratchet = (
                events[event].get("ratchet") if isinstance(events.get(event), Mapping) else None
            )
            where = ratchet.get("environments") if isinstance(ratchet, Mapping) else None
            ratcheted_here = isinstance(ratchet, Mapping) and (
                not isinstance(where, list) or environment in where
            )
            if ratcheted_here and isinstance(override, Mapping) and "enforcement" in override:
                yield doc.problem(
                    ("environments", environment, "events", event, "enforcement"),
                    f"environment {environment!r} sets the enforcement of {event!r}, which the "
                    "ratchet decides there",
                    hint="remove the override, or leave this environment out of the ratchet's "
                    "environments",
                    code="ratchet-conflict",
                )
            if event not in events:
                guess = _suggest(str(event), sorted(map(str, events)))
                yield doc.problem(
                    ("environments", environment, "events", event),
                    f"environment {environment!r} overrides event {event!r}, which the plan "
                    "does not list",
                    hint=(f"did you mean '{guess}'? " if guess else "")
                    + "add the event under events, or remove the override",
                    code="undefined-event",
                )
    seen_groups: dict[str, Any] = {}
    for name in groups:
        trimmed = str(name).strip()
        if trimmed in seen_groups:
            yield doc.problem(
                ("property_groups", name),
                f"group {name!r} is the same as {seen_groups[trimmed]!r} once spaces are trimmed",
                hint="PostHog trims group names; keep one of them",
                code="duplicate-name",
            )
        seen_groups.setdefault(trimmed, name)
        for prop_path, trimmed_prop, first in _trimmed_property_clashes(groups[name]):
            yield doc.problem(
                ("property_groups", name, "properties", *prop_path),
                f"property {prop_path[0]!r} is the same as {first!r} once spaces are trimmed",
                hint=f"PostHog trims property names; keep one '{trimmed_prop}'",
                code="duplicate-name",
            )


def _trimmed_property_clashes(group: Any) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    seen: dict[str, Any] = {}
    for name in _entries(group, "properties"):
        if not isinstance(name, str):
            continue
        trimmed = name.strip()
        if trimmed in seen:
            yield (name,), trimmed, seen[trimmed]
        seen.setdefault(trimmed, name)


def parse_plan(text: str, source: str = "<plan>") -> TrackingPlan:
    """Parse and validate plan text (YAML or JSON).

    Raises:
        PlanFileError: with every problem, positioned by line and column.
    """
    return _plan_or_raise(parse_document(text, source))


def load_plan(path: str | Path) -> TrackingPlan:
    """Read, parse and validate a plan file.

    Raises:
        PlanFileError: the file is unreadable, not YAML/JSON, or not a valid plan; the
            error lists each problem as ``file:line:column`` with a hint.
    """
    return _plan_or_raise(read_document(path))


def _plan_or_raise(doc: PlanDocument) -> TrackingPlan:
    plan, problems = validate_document(doc)
    if plan is None:
        raise PlanFileError(problems)
    return plan


# --- writing ---------------------------------------------------------------------------------


class _Flow(dict[str, Any]):
    """A mapping written on one line (``{type: String, required: true}``)."""


class _FlowList(list[str]):
    """A list written on one line (``groups: [checkout, billing]``)."""


class _PlanDumper(yaml.SafeDumper):
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_PlanDumper.add_representer(_Flow, _represent_flow)
_PlanDumper.add_representer(_FlowList, _represent_flow_list)


def property_data(spec: PropertySpec) -> dict[str, Any]:
    """A property as the plan file writes it: ``type``, then only the fields that are set."""
    data: dict[str, Any] = {"type": spec.type.value}
    if spec.required:
        data["required"] = True
    if spec.optional_in_types:
        data["optional_in_types"] = True
    if spec.description:
        data["description"] = spec.description
    if spec.rules is not None:
        data["rules"] = spec.rules.model_dump(exclude_none=True)
    if spec.pii is not None:
        data["pii"] = spec.pii
    if spec.pii_reason is not None:
        data["pii_reason"] = spec.pii_reason
    return data


def _acknowledgements(entries: Sequence[Acknowledgement]) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json", exclude_none=True) for entry in entries]


def _ownership(entry: dict[str, Any], owner: str | None, tags: Sequence[str]) -> None:
    if owner is not None:
        entry["owner"] = owner
    if tags:
        entry["tags"] = list(tags)


def plan_data(plan: TrackingPlan) -> dict[str, Any]:
    """The plan as plain data in file order, with defaults left out (what ``dump_plan`` writes)."""
    groups: dict[str, Any] = {}
    for name in sorted(plan.property_groups):
        group = plan.property_groups[name]
        entry: dict[str, Any] = {}
        if group.description:
            entry["description"] = group.description
        entry["properties"] = {
            prop: property_data(group.properties[prop]) for prop in sorted(group.properties)
        }
        _ownership(entry, group.owner, group.tags)
        if group.allow_breaking:
            entry["allow_breaking"] = _acknowledgements(group.allow_breaking)
        groups[name] = entry
    events: dict[str, Any] = {}
    for name in sorted(plan.events):
        spec = plan.events[name]
        event: dict[str, Any] = {"groups": list(spec.groups)}
        if spec.description is not None:
            event["description"] = spec.description
        if spec.enforcement is not None:
            event["enforcement"] = spec.enforcement.value
        _ownership(event, spec.owner, spec.tags)
        if spec.allow_breaking:
            event["allow_breaking"] = _acknowledgements(spec.allow_breaking)
        if spec.forbidden_properties:
            event["forbidden_properties"] = list(spec.forbidden_properties)
        if spec.ratchet is not None:
            event["ratchet"] = spec.ratchet.model_dump(mode="json", exclude_defaults=True)
        events[name] = event
    data: dict[str, Any] = {}
    if plan.schema_url is not None:
        data["$schema"] = plan.schema_url
    data["version"] = plan.version
    if plan.plan_id != DEFAULT_PLAN_ID:
        data["plan_id"] = plan.plan_id
    if plan.forbidden_properties:
        data["forbidden_properties"] = list(plan.forbidden_properties)
    data["property_groups"] = groups
    data["events"] = events
    if plan.environments:
        data["environments"] = {
            name: plan.environments[name].model_dump(mode="json", exclude_defaults=True)
            for name in sorted(plan.environments)
        }
    return data


def dump_plan(
    plan: TrackingPlan, *, fmt: Literal["yaml", "json"] = "yaml", header: str = ""
) -> str:
    """Write a plan as YAML (properties on one line each) or JSON, sorted by name.

    Args:
        plan: the plan to write.
        fmt: ``yaml`` or ``json``.
        header: comment lines put at the top of a YAML file (without ``#``).
    """
    data = plan_data(plan)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    for group in data["property_groups"].values():
        group["properties"] = {name: _Flow(prop) for name, prop in group["properties"].items()}
    for event in data["events"].values():
        event["groups"] = _FlowList(event["groups"])
    text = yaml.dump(
        data, Dumper=_PlanDumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comments + text


# --- JSON Schema -----------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema of plan files, generated from :class:`TrackingPlan`."""
    schema = TrackingPlan.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text() -> str:
    """The JSON Schema as the exact text shipped in the package."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def shipped_json_schema_text() -> str:
    """The JSON Schema file shipped with the package (beside this module)."""
    return (
        resources.files("eventschema_tools.tracking_plan")
        .joinpath(JSON_SCHEMA_RESOURCE)
        .read_text("utf-8")
    )


def write_json_schema(path: str | Path | None = None) -> Path:
    """Regenerate the shipped JSON Schema file (run after changing the plan models)."""
    target = (
        Path(path)
        if path is not None
        else Path(
            str(resources.files("eventschema_tools.tracking_plan").joinpath(JSON_SCHEMA_RESOURCE))
        )
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json_schema_text(), encoding="utf-8")
    return target
