"""Generated code against the live project: the ``drift`` audit's findings for ``--generated``.

The manifest beside a generated module says what the code relies on: per event, per property,
the types it sends and whether it always sends it. Each event is compared with the schema
PostHog enforces for it (its groups merged the way ingestion merges them, as the conformance
audit does). Only what changes the outcome is reported: a property PostHog requires that the
code may leave out or never sends, a type the code sends that PostHog does not accept, a
schema the code was typed for but PostHog does not have, and (for information) schemas the
code knows nothing of. Under ``reject`` enforcement the events concerned are dropped, so the
first two are errors there and warnings otherwise.
"""

from __future__ import annotations

from eventschema_tools.audit.expectations import (
    EventExpectation,
    expectations,
    state_from_live,
)
from eventschema_tools.audit.model import Finding, Severity
from eventschema_tools.audit.rules import drift_finding
from eventschema_tools.codegen.output import CodegenManifest, ExpectedProperty
from eventschema_tools.tracking_plan import LiveState

__all__ = ["generated_drift_findings"]

_REGENERATE = (
    "Regenerate the code (eventschema codegen) once the schema is what the code should follow, "
    "or change the schema in PostHog back to what the code was generated from."
)


def generated_drift_findings(manifest: CodegenManifest, live: LiveState) -> list[Finding]:
    """Where the live project's schemas differ from what generated code expects.

    Args:
        manifest: The generated module's manifest (:func:`read_manifest`).
        live: The live project.
    """
    state = state_from_live(live)
    known = {event.name for event in live.events}
    merged = {item.event: item for item in expectations(state, manifest.events)}
    module = manifest.module
    findings: list[Finding] = []
    for event, expected in sorted(manifest.events.items()):
        schema = merged.get(event)
        if schema is None or not schema.properties:
            if expected and event in known:
                findings.append(
                    drift_finding(
                        Severity.WARNING,
                        "generated_schema_missing",
                        f'{module} types {len(expected)} properties of "{event}", but PostHog '
                        "has no schema bound to it.",
                        "Apply the plan the code was generated from (eventschema apply), or "
                        "regenerate the code from the live project (--from-live).",
                        event=event,
                    )
                )
            continue
        findings.extend(_event_findings(module, event, expected, schema))
    for event in sorted(set(state.bound_events) - set(manifest.events)):
        findings.append(
            drift_finding(
                Severity.INFO,
                "generated_event_missing",
                f'PostHog has a schema for "{event}"; {module} has no helper for it.',
                "Add the event to the plan and regenerate, if the code should send it.",
                event=event,
            )
        )
    return findings


def _event_findings(
    module: str, event: str, expected: dict[str, ExpectedProperty], schema: EventExpectation
) -> list[Finding]:
    rejects = schema.enforcement_mode == "reject"
    severity = Severity.ERROR if rejects else Severity.WARNING
    outcome = " PostHog drops those events (reject)." if rejects else ""
    findings = []
    for prop in schema.properties:
        sent = expected.get(prop.name)
        if sent is None:
            if prop.required:
                findings.append(
                    drift_finding(
                        severity,
                        "generated_required_unknown",
                        f'PostHog requires "{prop.name}" on "{event}"; {module} never sends '
                        f"it.{outcome}",
                        _REGENERATE,
                        event=event,
                        prop=prop.name,
                    )
                )
            continue
        if prop.required and not sent.required:
            findings.append(
                drift_finding(
                    severity,
                    "generated_required_optional",
                    f'PostHog requires "{prop.name}" on "{event}"; {module} lets callers leave '
                    f"it out.{outcome}",
                    _REGENERATE,
                    event=event,
                    prop=prop.name,
                )
            )
        refused = [kind for kind in sent.types if kind not in prop.types]
        if refused:
            findings.append(
                drift_finding(
                    severity,
                    "generated_type_mismatch",
                    f'{module} sends "{prop.name}" on "{event}" as {" or ".join(refused)}; '
                    f"PostHog expects {' or '.join(sorted(prop.types))}.{outcome}",
                    _REGENERATE,
                    event=event,
                    prop=prop.name,
                )
            )
    declared = schema.names
    for name in sorted(set(expected) - declared):
        findings.append(
            drift_finding(
                Severity.INFO,
                "generated_property_undeclared",
                f'{module} types "{name}" on "{event}"; PostHog\'s schema does not declare it.',
                "Apply the plan the code was generated from, or regenerate the code.",
                event=event,
                prop=name,
            )
        )
    return findings
