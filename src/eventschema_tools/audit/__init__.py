"""Audits: how a project's schemas and live events agree, in a handful of HogQL queries.

Modules: ``run`` (options, the sans-I/O steps and their two drivers), ``model`` (the report),
``rules`` (pure findings), ``queries`` (HogQL builders and decoders), ``expectations`` (what
the schemas expect of events), ``thresholds``, ``history``, ``gate`` (the conformance gate),
``freshness`` (the freshness gate) and ``report`` (terminal, JSON and Markdown rendering).
"""

from eventschema_tools.audit.freshness import (
    EventFreshness,
    FreshnessCheck,
    check_freshness,
    check_freshness_async,
    freshness_options,
)
from eventschema_tools.audit.run import (
    REPORT_SCHEMA_VERSION,
    AuditKind,
    AuditOptions,
    AuditReport,
    AuditWindow,
    EventConformance,
    Finding,
    FindingChange,
    HistoryComparison,
    PropertyConformance,
    Severity,
    Thresholds,
    audit_options,
    run_audit,
    run_audit_async,
)

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AuditKind",
    "AuditOptions",
    "AuditReport",
    "AuditWindow",
    "EventConformance",
    "EventFreshness",
    "Finding",
    "FindingChange",
    "FreshnessCheck",
    "HistoryComparison",
    "PropertyConformance",
    "Severity",
    "Thresholds",
    "audit_options",
    "check_freshness",
    "check_freshness_async",
    "freshness_options",
    "run_audit",
    "run_audit_async",
]
