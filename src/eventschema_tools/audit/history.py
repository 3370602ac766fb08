"""Audit history: each report stored as JSON in a directory, and the change since the last one.

Reports are written as ``audit-<project>-<UTC time>.json``; the newest readable report of the
same project is the baseline of the next run. A finding is "the same" across runs when its kind,
code, event, property and group match (:attr:`Finding.key`). Findings of audit kinds that did not
run this time are never counted as resolved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ValidationError

from eventschema_tools.audit.model import (
    REPORT_SCHEMA_VERSION,
    AuditKind,
    AuditReport,
    Finding,
    FindingChange,
    HistoryComparison,
)

__all__ = [
    "compare",
    "history_file_name",
    "latest_report",
    "report_file_name",
    "store_in_history",
    "store_report",
]

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")


def _project_part(project_id: str) -> str:
    return _UNSAFE.sub("_", project_id) or "project"


def history_file_name(kind: str, project_id: str, moment: datetime) -> str:
    """``<kind>-<project>-<UTC time>.json``: the name of a record in the history folder (sorts by
    time within a kind and project)."""
    return f"{kind}-{_project_part(project_id)}-{moment:%Y%m%dT%H%M%S%fZ}.json"


def report_file_name(report: AuditReport) -> str:
    """The file name a report is stored under (sorts by time within a project)."""
    return history_file_name("audit", report.project_id, report.generated_at)


def latest_report(directory: Path, project_id: str) -> AuditReport | None:
    """The newest readable report of ``project_id`` in ``directory``, or ``None``.

    Files that are not reports of this layout version (or not valid JSON) are skipped.
    """
    if not directory.is_dir():
        return None
    project = _project_part(project_id)
    for path in sorted(directory.glob(f"audit-{project}-*.json"), reverse=True):
        try:
            report = AuditReport.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError):
            continue
        if report.schema_version == REPORT_SCHEMA_VERSION:
            return report
    return None


def store_report(report: AuditReport, directory: Path) -> Path:
    """Write ``report`` into ``directory`` (created if missing) and return the file's path."""
    return store_in_history(report, directory, report_file_name(report))


def store_in_history(record: BaseModel, directory: Path, name: str) -> Path:
    """Write ``record`` as indented JSON to ``directory / name`` (the folder created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def compare(
    findings: Sequence[Finding], kinds: Sequence[AuditKind], previous: AuditReport
) -> tuple[list[Finding], HistoryComparison]:
    """Mark each finding with its change since ``previous`` and list what was resolved.

    Args:
        findings: This run's findings.
        kinds: The audit kinds that ran this time.
        previous: The previous report.

    Returns:
        The findings with ``change`` set, and the summary of the comparison.
    """
    before = {finding.key: finding for finding in previous.findings}
    marked: list[Finding] = []
    new = changed = 0
    for finding in findings:
        old = before.get(finding.key)
        change = _change(finding, old)
        new += change.status == "new"
        changed += change.status == "changed"
        marked.append(finding.model_copy(update={"change": change}))
    current = {finding.key for finding in findings}
    ran = set(kinds)
    resolved = [
        finding.model_copy(update={"change": None})
        for finding in previous.findings
        if finding.key not in current and finding.kind in ran
    ]
    return marked, HistoryComparison(
        previous_generated_at=previous.generated_at,
        previous_passed=previous.passed,
        new=new,
        changed=changed,
        resolved=resolved,
    )


def _change(finding: Finding, old: Finding | None) -> FindingChange:
    if old is None:
        return FindingChange(status="new")
    rate_deltas = {
        name: value - old.rates[name] for name, value in finding.rates.items() if name in old.rates
    }
    count_deltas = {
        name: value - old.counts[name]
        for name, value in finding.counts.items()
        if name in old.counts
    }
    moved = (
        finding.severity != old.severity
        or any(delta != 0 for delta in rate_deltas.values())
        or any(delta != 0 for delta in count_deltas.values())
    )
    return FindingChange(
        status="changed" if moved else "unchanged",
        previous_severity=old.severity,
        rate_deltas=rate_deltas,
        count_deltas=count_deltas,
    )
