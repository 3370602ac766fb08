"""The Python generator: ``posthog_typed.py``, one ``capture_<event>(client, ...)`` per event.

The module is what ``posthog-cli exp schema pull`` writes for Python, give or take: keyword-only
arguments (required ones first, each sorted by name), ``extra_properties`` and the SDK's own
capture arguments (``distinct_id``, ``timestamp``...) through ``**kwargs``, the event's UUID
returned. It differs in three ways: helpers are functions taking the client (any
``posthog.Posthog``) rather than methods of a subclass, enum rules become ``Literal`` types
and ``optional_in_types`` is honoured, and each property group becomes a ``TypedDict``.
Value rules the types cannot say (min/max, patterns, non-integer enums) are checked at run
time in development mode; see ``docs/codegen.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from eventschema_tools.codegen.model import (
    CodeSpec,
    EventCode,
    GroupCode,
    PropertyCode,
    literal,
    number_text,
    property_note,
    quoted,
    sentence,
)
from eventschema_tools.codegen.names import PYTHON_RESERVED, Namer, pascal, snake
from eventschema_tools.codegen.runtime import Rule, RuleTable
from eventschema_tools.models import PropertyType

__all__ = ["FILE_NAME", "render_python"]

FILE_NAME: Final = "posthog_typed.py"
"""posthog-cli's name for the Python module (hyphens are not valid in module names)."""

_TYPES: Final = {
    PropertyType.STRING.value: "str",
    PropertyType.NUMERIC.value: "float",
    PropertyType.BOOLEAN.value: "bool",
    PropertyType.DATETIME.value: "datetime",
    PropertyType.OBJECT.value: "dict[str, Any] | list[Any]",
}
# The SDK's capture arguments arrive through **kwargs; a property must not take their names.
_CAPTURE_ARGUMENTS: Final = (
    "client",
    "extra_properties",
    "kwargs",
    "distinct_id",
    "properties",
    "timestamp",
    "uuid",
    "groups",
    "flags",
    "send_feature_flags",
    "disable_geoip",
)


def render_python(spec: CodeSpec, header: Sequence[str]) -> str:
    """The Python module for ``spec``; ``header`` lines open its docstring."""
    functions = Namer(_MODULE_NAMES, reserved=PYTHON_RESERVED)
    table = RuleTable(spec)
    helpers = [(event, functions.claim("capture_" + snake(event.name))) for event in spec.events]
    groups = [
        (group, functions.claim(pascal(group.name, empty="Group") + "Group"))
        for group in spec.groups
    ]
    exported = sorted([*_RUNTIME_EXPORTS, *(name for _, name in [*helpers, *groups])])
    parts = [
        _docstring(header) + "\n\n" + _IMPORTS,
        "__all__ = [\n" + "".join(f'    "{name}",\n' for name in exported) + "]\n",
        _RUNTIME,
        _rule_table(table),
        *(_group_class(group, name) for group, name in groups),
        *(_helper(event, name) for event, name in helpers),
    ]
    return "\n\n\n".join(part.rstrip("\n") for part in parts) + "\n"


_RUNTIME_EXPORTS: Final = (
    "VIOLATION_EVENT",
    "SchemaViolationError",
    "Violation",
    "ViolationHandler",
    "capture_violation",
    "configure_checks",
    "log_violation",
    "raise_violation",
)

_IMPORTS: Final = """from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple, TypedDict

from posthog import Posthog
from posthog.args import OptionalCaptureArgs
from typing_extensions import Required, Unpack"""


_MODULE_NAMES: Final = frozenset(
    {
        *_RUNTIME_EXPORTS,
        "Any", "Callable", "Final", "Literal", "Mapping", "NamedTuple", "Posthog", "Required",
        "TypedDict", "Unpack", "OptionalCaptureArgs", "datetime", "dataclass", "logging", "re",
        "sys",
    }
)  # fmt: skip
"""Names the module's own code uses: no helper or group type may take them."""


def _comment(text: str) -> str:
    return " ".join(text.split())


def _docstring(lines: Sequence[str]) -> str:
    return '"""' + "\n".join(_doc(line) for line in lines).strip() + '\n"""'


def _doc(text: str) -> str:
    """``text`` safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


@lru_cache(maxsize=4096)
def _annotation(prop: PropertyCode) -> str:
    if prop.enum is not None and all(isinstance(value, str | int) for value in prop.enum):
        # Literal takes text and whole numbers only; other enums stay plain and are checked.
        choices = "Literal[" + ", ".join(literal(value) for value in prop.enum) + "]"
        rest = [_TYPES[kind] for kind in prop.types if kind != prop.enum_type]
        return " | ".join([choices, *rest])
    return " | ".join(_TYPES[kind] for kind in prop.types)


def _group_class(group: GroupCode, name: str) -> str:
    fields = [
        (prop.name, f"Required[{_annotation(prop)}]" if prop.required else _annotation(prop))
        for prop in group.properties
    ]
    title = f"Properties of the group {group.name!r}" + (
        f": {sentence(group.description)}" if group.description else "."
    )
    if all(field.isidentifier() and field not in PYTHON_RESERVED for field, _ in fields):
        body = "".join(f"    {field}: {annotation}\n" for field, annotation in fields)
        return f'class {name}(TypedDict, total=False):\n    """{_doc(title)}"""\n\n' + (
            body or "    pass\n"
        )
    items = "".join(f"        {quoted(field)}: {annotation},\n" for field, annotation in fields)
    opening = f"# {_comment(title)}\n{name} = TypedDict(\n    {quoted(name)},\n    {{\n"
    return opening + items + "    },\n    total=False,\n)\n"


def _helper(event: EventCode, name: str) -> str:
    params = Namer(_CAPTURE_ARGUMENTS, reserved=PYTHON_RESERVED)
    ordered = sorted(event.properties, key=lambda prop: (not prop.required, prop.name))
    named = [(prop, params.claim(snake(prop.name, empty="prop"))) for prop in ordered]
    signature = ["    client: Posthog,", "    *,"]
    for prop, param in named:
        default = "" if prop.required else " | None = None"
        signature.append(f"    {param}: {_annotation(prop)}{default},")
    signature += [
        "    extra_properties: Mapping[str, Any] | None = None,",
        "    **kwargs: Unpack[OptionalCaptureArgs],",
    ]
    body = ["properties: dict[str, Any] = dict(extra_properties or {})"]
    for prop, param in named:
        if prop.required:
            body.append(f"properties[{quoted(prop.name)}] = {param}")
        else:
            body += [f"if {param} is not None:", f"    properties[{quoted(prop.name)}] = {param}"]
    body.append(f"return _capture(client, {quoted(event.name)}, properties, kwargs)")
    return (
        f"def {name}(\n"
        + "\n".join(signature)
        + "\n) -> str | None:\n"
        + _helper_docstring(event, named)
        + "".join(f"    {line}\n" for line in body)
    )


def _helper_docstring(event: EventCode, named: Sequence[tuple[PropertyCode, str]]) -> str:
    lines = [sentence(event.description) if event.description else f"Capture {event.name!r}."]
    if event.description:
        lines += ["", f"Captures {event.name!r}."]
    lines += ["", "Args:"]
    lines += [f"    {param}: {_argument_text(prop, param)}" for prop, param in named]
    lines += [
        "    extra_properties: Properties outside the plan, sent as they are.",
        "    **kwargs: The SDK's capture arguments (distinct_id, timestamp, groups...).",
        "",
        "Returns:",
        "    The event's UUID, or None when the SDK did not queue it.",
    ]
    text = "\n".join(f"    {_doc(line)}" if line else "" for line in lines)
    return f'    """{text.lstrip()}\n    """\n'


@lru_cache(maxsize=4096)
def _argument_text(prop: PropertyCode, param: str) -> str:
    parts = [property_note(prop) or f"The {prop.name!r} property."]
    if param != prop.name:
        parts.append(f"Sent as {prop.name!r}.")
    return " ".join(parts)


_PYTHON_TYPES: Final = {
    PropertyType.STRING.value: "str",
    PropertyType.NUMERIC.value: "int, float",
    PropertyType.BOOLEAN.value: "bool",
    PropertyType.DATETIME.value: "datetime",
    PropertyType.OBJECT.value: "dict, list",
}


def _rule_value(rule: Rule) -> str:
    types = ", ".join(_PYTHON_TYPES[kind] for kind in rule.types)
    args = [f"({types})" if "," in types else f"({types},)", quoted(" or ".join(rule.types))]
    for key, value in rule.parts():
        if key == "enum":
            assert isinstance(value, tuple)
            args.append("enum=frozenset({" + ", ".join(literal(item) for item in value) + "})")
        elif key == "pattern":
            args.append(f"pattern=re.compile({quoted(str(value))})")
        elif key == "required":
            args.append("required=True")
        else:
            assert isinstance(value, int | float)
            args.append(f"{_PYTHON_BOUNDS[key]}={number_text(value)}")
    return "_Rule(" + ", ".join(args) + ")"


_PYTHON_BOUNDS: Final = {"min": "minimum", "max": "maximum"}


def _rule_table(table: RuleTable) -> str:
    rules = "".join(f"_{name}: Final = {_rule_value(rule)}\n" for name, rule in table.rules)
    events = "".join(
        f"    {quoted(event)}: {{"
        + ", ".join(f"{quoted(prop)}: _{rule}" for prop, rule in refs)
        + "},\n"
        for event, refs in table.events
    )
    return (
        "# What the checks test, per event and property (shared rules are written once).\n"
        + rules
        + "_RULES: Final[Mapping[str, Mapping[str, _Rule]]] = {\n"
        + events
        + "}\n"
    )


_RUNTIME: Final = '''VIOLATION_EVENT: Final = "$eventschema_violation"
"""The event :func:`capture_violation` sends (the name eventschema's PostHog alerts use)."""

_logger = logging.getLogger("posthog_typed")


@dataclass(frozen=True)
class Violation:
    """A property value the tracking plan does not allow.

    Attributes:
        event: The event name.
        property: The property name.
        rule: What failed: required, type, enum, pattern, min or max.
        message: The failure in words, with the value shortened.
    """

    event: str
    property: str
    rule: str
    message: str


class SchemaViolationError(ValueError):
    """What :func:`raise_violation`, the default handler, raises."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.message)
        self.violation = violation


ViolationHandler = Callable[[Violation], None]
"""What to do with a violation: raise, log, capture, or anything of your own."""


def raise_violation(violation: Violation) -> None:
    """Raise :class:`SchemaViolationError` (the default handler); the event is not sent."""
    raise SchemaViolationError(violation)


def log_violation(violation: Violation) -> None:
    """Log a warning on the ``posthog_typed`` logger; the event is still sent."""
    _logger.warning("%s", violation.message)


def capture_violation(client: Posthog, distinct_id: str = "eventschema") -> ViolationHandler:
    """A handler that captures each violation as a ``$eventschema_violation`` event.

    The event names the event, property and rule, never the value. The event itself is
    still sent.
    """

    def capture(violation: Violation) -> None:
        client.capture(
            VIOLATION_EVENT,
            distinct_id=distinct_id,
            properties={
                "audit": "runtime_check",
                "code": violation.rule,
                "violating_event": violation.event,
                "violating_property": violation.property,
                "$process_person_profile": False,
            },
        )

    return capture


class _Checks:
    # Python's development mode: `python -X dev` or PYTHONDEVMODE=1.
    enabled: bool = bool(sys.flags.dev_mode)
    handler: ViolationHandler = raise_violation


def configure_checks(
    *, enabled: bool | None = None, on_violation: ViolationHandler | None = None
) -> None:
    """Turn the value checks on or off, and choose what a violation does.

    The checks are on in Python's development mode (``python -X dev``) and off otherwise;
    a violation raises :class:`SchemaViolationError` unless ``on_violation`` says otherwise
    (:func:`log_violation`, :func:`capture_violation` or your own function).
    """
    if enabled is not None:
        _Checks.enabled = enabled
    if on_violation is not None:
        _Checks.handler = on_violation


class _Rule(NamedTuple):
    types: tuple[type, ...]
    type_names: str
    required: bool = False
    enum: frozenset[object] | None = None
    pattern: re.Pattern[str] | None = None
    minimum: float | None = None
    maximum: float | None = None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _problem(rule: _Rule, value: object) -> tuple[str, str] | None:
    if value is None:
        return ("required", "is required") if rule.required else None
    is_bool = isinstance(value, bool)
    if not isinstance(value, rule.types) or (is_bool and bool not in rule.types):
        return "type", f"must be {rule.type_names}, got {type(value).__name__}"
    listable = isinstance(value, str | int | float) and not is_bool
    if rule.enum is not None and listable and value not in rule.enum:
        allowed = ", ".join(sorted(str(item) for item in rule.enum))
        return "enum", f"{_shown(value)} is not one of {allowed}"
    if rule.pattern is not None and isinstance(value, str) and not rule.pattern.search(value):
        return "pattern", f"{_shown(value)} does not match {rule.pattern.pattern}"
    if isinstance(value, int | float) and not is_bool:
        if rule.minimum is not None and value < rule.minimum:
            return "min", f"{_shown(value)} is below the minimum {rule.minimum:g}"
        if rule.maximum is not None and value > rule.maximum:
            return "max", f"{_shown(value)} is above the maximum {rule.maximum:g}"
    return None


def _capture(
    client: Posthog, event: str, properties: dict[str, Any], arguments: OptionalCaptureArgs
) -> str | None:
    if "properties" in arguments:
        raise TypeError("give properties as keyword arguments or extra_properties=")
    if _Checks.enabled:
        for name, rule in _RULES.get(event, {}).items():
            problem = _problem(rule, properties.get(name))
            if problem is not None:
                rule_name, detail = problem
                _Checks.handler(Violation(event, name, rule_name, f"{event}.{name} {detail}"))
    uuid: str | None = client.capture(event, properties=properties, **arguments)
    return uuid'''
