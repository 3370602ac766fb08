"""``list_incidents`` through a real MCP client: the incidents `audit --notify` keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_test_helpers import structured_answer

from eventschema_tools.alerts import IncidentStore
from eventschema_tools.audit.model import (
    AuditKind,
    AuditReport,
    AuditWindow,
    Evidence,
    Finding,
    Severity,
)
from eventschema_tools.mcp_server.state import AppState

pytestmark = pytest.mark.anyio

TOOL = "list_incidents"
NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def _report(project: str, *findings: Finding) -> AuditReport:
    return AuditReport(
        generated_at=NOW,
        project_id=project,
        kinds=[AuditKind.CONFORMANCE],
        source="plan",
        window=AuditWindow(label="24h", seconds=86400, since=NOW, until=NOW),
        fail_on=Severity.ERROR,
        passed=False,
        counts_by_severity={},
        queries=2,
        findings=list(findings),
    )


def _finding(event: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(
        severity=severity,
        kind=AuditKind.CONFORMANCE,
        code="wrong_type",
        event=event,
        property="seats",
        message=f'"seats" has the wrong type on 3% of "{event}" events.',
        fix='Send "seats" as Numeric.',
        evidence=Evidence(values=['"twelve"'], values_shown=True),
    )


@pytest.fixture
async def client(
    server_for: Callable[..., MCPServer[AppState]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Client]:
    path = tmp_path / "incidents.sqlite3"
    monkeypatch.setenv("EVENTSCHEMA_INCIDENTS", str(path))
    async with Client(server_for(read_only=True)) as connected:
        yield connected


async def test_lists_the_projects_open_incidents_without_values(
    client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "incidents.sqlite3"
    with IncidentStore.open(path) as store:
        store.record(
            _report("1", _finding("member_invited"), _finding("info_only", Severity.INFO)),
            host="http://sandbox.test",
            targets=[],
            now=NOW,
        )
        store.record(_report("2", _finding("elsewhere")), host="h", targets=[], now=NOW)

    answer = await structured_answer(client, TOOL, {})

    assert answer["path"] == str(path)
    assert [(item["event"], item["state"]) for item in answer["incidents"]] == [
        ("member_invited", "open")
    ]
    assert "twelve" not in str(answer)
    assert b"twelve" not in path.read_bytes()  # the file keeps no offending values either
    resolved = await structured_answer(client, TOOL, {"states": ["resolved"]})
    assert resolved["incidents"] == []


async def test_without_a_file_it_says_how_to_make_one(client: Client, tmp_path: Path) -> None:
    answer = await structured_answer(client, TOOL, {})

    assert answer["incidents"] == []
    assert "--notify" in answer["note"]
    assert not (tmp_path / "incidents.sqlite3").exists()
