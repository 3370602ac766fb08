"""Helpers of the alert tests: reports built by hand, and the CLI's environment."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from eventschema_tools.audit.model import AuditKind, AuditReport, AuditWindow, Finding, Severity
from eventschema_tools.sandbox import DEMO_API_KEY


def report_of(
    *findings: Finding,
    at: datetime | None = None,
    kinds: tuple[AuditKind, ...] = (AuditKind.CONFORMANCE,),
) -> AuditReport:
    """An audit report of project 1 holding ``findings``."""
    moment = at or datetime.now(UTC)
    return AuditReport(
        generated_at=moment,
        project_id="1",
        kinds=list(kinds),
        source="plan",
        window=AuditWindow(label="24h", seconds=86400, since=moment, until=moment),
        fail_on=Severity.ERROR,
        passed=not findings,
        counts_by_severity={},
        queries=0,
        findings=list(findings),
    )


def cli_environment(url: str, **extra: str) -> dict[str, str]:
    """This environment without POSTHOG_*/EVENTSCHEMA_* settings, pointed at the sandbox."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POSTHOG_", "EVENTSCHEMA_"))
    }
    env.update(
        POSTHOG_HOST=url, POSTHOG_PERSONAL_API_KEY=DEMO_API_KEY, POSTHOG_PROJECT_ID="1", **extra
    )
    return env
