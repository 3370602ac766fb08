"""The TypeScript generator: ``posthog-typed.ts`` over ``posthog-js`` or ``posthog-node``.

The module keeps the names ``posthog-cli exp schema pull`` writes (``EventSchemas``, keyed by
the event names as PostHog stores them; ``EventName``; ``EventProperties<K>``), so code typed
against one keeps compiling against the other. On top of them it writes one helper per event
(``captureCheckoutCompleted(properties, options?)`` for posthog-js,
``captureCheckoutCompleted(client, {distinctId, properties})`` for posthog-node), an
interface per property group, enum rules as unions of literals, ``optional_in_types``
honoured, descriptions as doc comments, and development-mode checks of the rules types
cannot say (min/max, patterns). ``docs/codegen.md`` lists the differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Final, Literal

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
from eventschema_tools.codegen.names import TYPESCRIPT_RESERVED, Namer, pascal
from eventschema_tools.codegen.runtime import Rule, RuleTable
from eventschema_tools.models import PropertyType

__all__ = ["FILE_NAME", "SDKS", "TypeScriptSdk", "render_typescript"]

FILE_NAME: Final = "posthog-typed.ts"
"""posthog-cli's name for the TypeScript module."""

TypeScriptSdk = Literal["posthog-js", "posthog-node"]
SDKS: Final[tuple[TypeScriptSdk, ...]] = ("posthog-js", "posthog-node")

_TYPES: Final = {
    PropertyType.STRING.value: "string",
    PropertyType.NUMERIC.value: "number",
    PropertyType.BOOLEAN.value: "boolean",
    PropertyType.DATETIME.value: "string | Date",
    PropertyType.OBJECT.value: "Record<string, unknown> | unknown[]",
}


def render_typescript(spec: CodeSpec, header: Sequence[str], sdk: TypeScriptSdk) -> str:
    """The TypeScript module for ``spec`` over ``sdk``; ``header`` lines open its comment."""
    names = Namer(_MODULE_NAMES, reserved=TYPESCRIPT_RESERVED, joiner="")
    groups = [
        (group, names.claim(pascal(group.name, empty="Group") + "Group")) for group in spec.groups
    ]
    helpers = [(event, names.claim("capture" + pascal(event.name))) for event in spec.events]
    parts = [
        _block_comment(header, indent=""),
        _IMPORTS[sdk],
        *(_group_interface(group, name) for group, name in groups),
        _event_schemas(spec.events),
        _TYPES_AND_RUNTIME + _SDK_RUNTIME[sdk],
        _rule_table(RuleTable(spec)),
        *(_helper(event, name, sdk) for event, name in helpers),
    ]
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


_MODULE_NAMES: Final = frozenset(
    {
        "posthog", "PostHog", "CaptureOptions", "CaptureResult", "EventMessage", "CaptureMessage",
        "EventSchemas", "EventName", "EventProperties", "SchemaViolation", "SchemaViolationError",
        "ViolationHandler", "ViolationRule", "throwViolation", "logViolation", "captureViolation",
        "configureChecks", "captureEvent", "checkProperties", "VIOLATION_EVENT", "RULES", "Rule",
        "TypeName", "checks", "hasType", "problem", "patterns", "compiled", "shown", "nodeEnv",
        "process",
    }
)  # fmt: skip

_IMPORTS: Final[dict[TypeScriptSdk, str]] = {
    "posthog-js": (
        "import posthog from 'posthog-js'\n"
        "import type { CaptureOptions, CaptureResult, PostHog } from 'posthog-js'"
    ),
    "posthog-node": (
        "import type { PostHog } from 'posthog-node'\n\n"
        "/** The message posthog-node's `capture` takes. */\n"
        "export type EventMessage = Parameters<PostHog['capture']>[0]\n\n"
        "/** A capture message whose properties follow the plan. */\n"
        "export type CaptureMessage<P> = Omit<EventMessage, 'event' | 'properties'> & "
        "{ properties: P }"
    ),
}


def _comment_text(text: str) -> str:
    return " ".join(text.replace("*/", "*\\/").split())


def _block_comment(lines: Sequence[str], indent: str) -> str:
    body = "".join(
        f"{indent} * {_comment_text(line)}\n" if line.strip() else f"{indent} *\n" for line in lines
    )
    return f"{indent}/**\n{body}{indent} */"


def _doc(text: str, indent: str) -> str:
    return f"{indent}/** {_comment_text(sentence(text))} */\n" if text.strip() else ""


def _type(prop: PropertyCode) -> str:
    if prop.enum is None:
        return " | ".join(_TYPES[kind] for kind in prop.types)
    rest = [_TYPES[kind] for kind in prop.types if kind != prop.enum_type]
    return " | ".join([*(literal(value) for value in prop.enum), *rest])


def _members(properties: Sequence[PropertyCode], indent: str) -> str:
    return "".join(_member(prop, indent) for prop in properties)


@lru_cache(maxsize=4096)
def _member(prop: PropertyCode, indent: str) -> str:
    # Events share groups: the same member comes back once per event that has it.
    return (
        _doc(property_note(prop), indent)
        + f"{indent}{quoted(prop.name)}{'' if prop.required else '?'}: {_type(prop)}\n"
    )


def _group_interface(group: GroupCode, name: str) -> str:
    title = f"Properties of the group {quoted(group.name)}" + (
        f": {sentence(group.description)}" if group.description else "."
    )
    return _doc(title, "") + f"export interface {name} {{\n{_members(group.properties, '  ')}}}"


def _event_schemas(events: Sequence[EventCode]) -> str:
    body = "".join(
        _doc(event.description, "  ")
        + f"  {quoted(event.name)}: "
        + (
            f"{{\n{_members(event.properties, '    ')}  }}\n"
            if event.properties
            else _OPEN_PROPERTIES
        )
        for event in events
    )
    return (
        "/** Every event of the plan and its properties, keyed by event name. */\n"
        f"export interface EventSchemas {{\n{body}}}\n\n"
        "/** The name of an event of the plan. */\n"
        "export type EventName = keyof EventSchemas\n\n"
        "/** The properties of event `K`. */\n"
        "export type EventProperties<K extends EventName> = EventSchemas[K]"
    )


_OPEN_PROPERTIES: Final = "Record<string, unknown>\n"


def _rule_value(rule: Rule) -> str:
    fields = [f"types: [{', '.join(quoted(kind) for kind in rule.types)}]"]
    for key, value in rule.parts():
        if key == "enum":
            assert isinstance(value, tuple)
            fields.append(f"enum: [{', '.join(literal(item) for item in value)}]")
        elif key == "pattern":
            fields.append(f"pattern: {quoted(str(value))}")
        elif key == "required":
            fields.append("required: true")
        else:
            assert isinstance(value, int | float)
            fields.append(f"{key}: {number_text(value)}")
    return "{ " + ", ".join(fields) + " }"


def _rule_table(table: RuleTable) -> str:
    rules = "".join(f"const {name}: Rule = {_rule_value(rule)}\n" for name, rule in table.rules)
    events = "".join(
        f"  {quoted(event)}: {{ "
        + ", ".join(f"{quoted(prop)}: {rule}" for prop, rule in refs)
        + (" },\n" if refs else "},\n")
        for event, refs in table.events
    )
    return (
        "// What the checks test, per event and property (shared rules are written once).\n"
        + rules
        + "const RULES: { readonly [event: string]: { readonly [property: string]: Rule } } = {\n"
        + events
        + "}"
    )


def _helper(event: EventCode, name: str, sdk: TypeScriptSdk) -> str:
    schema = f"EventSchemas[{quoted(event.name)}]"
    summary = sentence(event.description) if event.description else ""
    lines = [summary, ""] if summary else []
    lines.append(
        f"Captures {quoted(event.name)}; in development the plan's value rules are checked first."
    )
    doc = _block_comment(lines, indent="")
    if sdk == "posthog-js":
        default = "" if event.has_required else " = {}"
        return (
            f"{doc}\nexport function {name}(\n"
            f"  properties: {schema}{default},\n"
            "  options?: CaptureOptions,\n"
            "  client: PostHog = posthog,\n"
            "): CaptureResult | undefined {\n"
            f"  return captureEvent({quoted(event.name)}, properties, options, client)\n"
            "}"
        )
    message = f"CaptureMessage<{schema}>"
    if not event.has_required:
        message = f"Omit<{message}, 'properties'> & {{ properties?: {schema} }}"
        passed = "{ ...message, properties: message.properties ?? {} }"
    else:
        passed = "message"
    return (
        f"{doc}\nexport function {name}(client: PostHog, message: {message}): void {{\n"
        f"  captureEvent(client, {quoted(event.name)}, {passed})\n"
        "}"
    )


_TYPES_AND_RUNTIME: Final = """\
/** What failed: a required property missing, a wrong type, or a value rule of the plan. */
export type ViolationRule = 'required' | 'type' | 'enum' | 'pattern' | 'min' | 'max'

/** A property value the tracking plan does not allow. */
export interface SchemaViolation {
  readonly event: string
  readonly property: string
  readonly rule: ViolationRule
  /** The failure in words, with the value shortened. */
  readonly message: string
}

/** What to do with a violation: throw, log, capture, or anything of your own. */
export type ViolationHandler = (violation: SchemaViolation) => void

/** What `throwViolation`, the default handler, throws. */
export class SchemaViolationError extends Error {
  readonly violation: SchemaViolation

  constructor(violation: SchemaViolation) {
    super(violation.message)
    this.name = 'SchemaViolationError'
    this.violation = violation
  }
}

/** The event `captureViolation` sends (the name eventschema's PostHog alerts use). */
export const VIOLATION_EVENT = '$eventschema_violation'

/** Throw a `SchemaViolationError` (the default handler); the event is not sent. */
export const throwViolation: ViolationHandler = (violation) => {
  throw new SchemaViolationError(violation)
}

/** Log a warning; the event is still sent. */
export const logViolation: ViolationHandler = (violation) => {
  console.warn(`[posthog-typed] ${violation.message}`)
}

type TypeName = 'String' | 'Numeric' | 'Boolean' | 'DateTime' | 'Object'

interface Rule {
  readonly types: readonly TypeName[]
  readonly required?: boolean
  readonly enum?: readonly (string | number)[]
  readonly pattern?: string
  readonly min?: number
  readonly max?: number
}

// Bundlers replace `process.env.NODE_ENV` with its value; a browser page without one has no
// `process` at all, which counts as production. The declaration is local to this module.
declare const process: { env: { NODE_ENV?: string } }
let nodeEnv: string | undefined
try {
  nodeEnv = process.env.NODE_ENV
} catch {
  nodeEnv = 'production'
}

const checks: { enabled: boolean; handler: ViolationHandler } = {
  enabled: nodeEnv !== 'production',
  handler: throwViolation,
}

/**
 * Turn the value checks on or off, and choose what a violation does.
 *
 * The checks are on unless `process.env.NODE_ENV` is `'production'`; a violation throws a
 * `SchemaViolationError` unless `onViolation` says otherwise (`logViolation`,
 * `captureViolation(...)` or your own function).
 */
export function configureChecks(settings: {
  enabled?: boolean
  onViolation?: ViolationHandler
}): void {
  if (settings.enabled !== undefined) checks.enabled = settings.enabled
  if (settings.onViolation !== undefined) checks.handler = settings.onViolation
}

const patterns = new Map<string, RegExp | null>()

function compiled(pattern: string): RegExp | null {
  let found = patterns.get(pattern)
  if (found === undefined) {
    try {
      found = new RegExp(pattern)
    } catch {
      // A pattern JavaScript cannot read (the plan's are Python's syntax) is not checked here.
      found = null
    }
    patterns.set(pattern, found)
  }
  return found
}

function hasType(type: TypeName, value: unknown): boolean {
  switch (type) {
    case 'String':
      return typeof value === 'string'
    case 'Numeric':
      return typeof value === 'number' && Number.isFinite(value)
    case 'Boolean':
      return typeof value === 'boolean'
    case 'DateTime':
      return typeof value === 'string' || value instanceof Date
    case 'Object':
      return typeof value === 'object' && value !== null && !(value instanceof Date)
  }
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`
}

function problem(rule: Rule, value: unknown): [ViolationRule, string] | undefined {
  if (value === undefined || value === null) {
    return rule.required === true ? ['required', 'is required'] : undefined
  }
  if (!rule.types.some((type) => hasType(type, value))) {
    return ['type', `must be ${rule.types.join(' or ')}, got ${typeof value}`]
  }
  const listable = typeof value === 'string' || typeof value === 'number'
  if (rule.enum !== undefined && listable && !rule.enum.includes(value)) {
    return ['enum', `${shown(value)} is not one of ${rule.enum.join(', ')}`]
  }
  if (rule.pattern !== undefined && typeof value === 'string') {
    const pattern = compiled(rule.pattern)
    if (pattern !== null && !pattern.test(value)) {
      return ['pattern', `${shown(value)} does not match ${rule.pattern}`]
    }
  }
  if (typeof value === 'number') {
    if (rule.min !== undefined && value < rule.min) {
      return ['min', `${shown(value)} is below the minimum ${rule.min}`]
    }
    if (rule.max !== undefined && value > rule.max) {
      return ['max', `${shown(value)} is above the maximum ${rule.max}`]
    }
  }
  return undefined
}

/** Check `properties` of `event` against the plan (a no-op when the checks are off). */
export function checkProperties(event: string, properties: object): void {
  const rules = RULES[event]
  if (!checks.enabled || rules === undefined) return
  const values = properties as { readonly [property: string]: unknown }
  for (const [name, rule] of Object.entries(rules)) {
    const found = problem(rule, values[name])
    if (found !== undefined) {
      const [kind, detail] = found
      checks.handler({ event, property: name, rule: kind, message: `${event}.${name} ${detail}` })
    }
  }
}
"""

_SDK_RUNTIME: Final[dict[TypeScriptSdk, str]] = {
    "posthog-js": """
/** A handler that captures each violation as a `$eventschema_violation` event (no values). */
export function captureViolation(client: PostHog = posthog): ViolationHandler {
  return (violation) => {
    client.capture(VIOLATION_EVENT, {
      audit: 'runtime_check',
      code: violation.rule,
      violating_event: violation.event,
      violating_property: violation.property,
    })
  }
}

/** Capture any event of the plan, its properties typed by its name. */
export function captureEvent<K extends EventName>(
  event: K,
  properties: EventSchemas[K],
  options?: CaptureOptions,
  client: PostHog = posthog,
): CaptureResult | undefined {
  checkProperties(event, properties)
  return client.capture(event, { ...properties }, options)
}
""",
    "posthog-node": """
/** A handler that captures each violation as a `$eventschema_violation` event (no values). */
export function captureViolation(client: PostHog, distinctId = 'eventschema'): ViolationHandler {
  return (violation) => {
    client.capture({
      distinctId,
      event: VIOLATION_EVENT,
      properties: {
        audit: 'runtime_check',
        code: violation.rule,
        violating_event: violation.event,
        violating_property: violation.property,
        $process_person_profile: false,
      },
    })
  }
}

/** Capture any event of the plan, its properties typed by its name. */
export function captureEvent<K extends EventName>(
  client: PostHog,
  event: K,
  message: CaptureMessage<EventSchemas[K]>,
): void {
  checkProperties(event, message.properties)
  client.capture({ ...message, event, properties: { ...message.properties } })
}
""",
}
