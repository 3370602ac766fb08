"""The console script's output off a terminal: one row per line, and a reader that leaves early.

Every test runs the installed `eventschema` as a process against a loopback sandbox, with stdout
a pipe (what `| grep`, `| cat` and `| head` give it).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventschema_tools import EventSchemaClient
from eventschema_tools.catalog import Catalog
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox

SCRIPT = Path(sys.executable).with_name("eventschema")
# Longer than a whole 80-column row: the table used to wrap it (and the ids) over several lines.
LONG_EVENT = "checkout_completed_from_the_mobile_app_" + "after_a_very_long_journey_" * 4
LONG_GROUP = "Checkout attribution for the mobile app" + " and every partner storefront" * 3

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")


def capture(url: str, events: list[dict[str, Any]]) -> None:
    """Send events with the project's public token, as the SDKs do."""
    answer = httpx.post(
        f"{url}/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": events}, timeout=30
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        # checkout_started requires properties: twenty events without them fail the audit.
        capture(
            running.url,
            [{"event": LONG_EVENT, "distinct_id": "u1", "properties": {}}]
            + [{"event": "checkout_started", "distinct_id": "u1", "properties": {}}] * 20,
        )
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=running.url) as client:
            catalog = Catalog(client)
            catalog.create_group(name=LONG_GROUP)
            catalog.bind(event=LONG_EVENT, group=LONG_GROUP)
        yield running


def environment(server: RunningSandbox) -> dict[str, str]:
    return {
        **os.environ,
        "POSTHOG_HOST": server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        # What a shell may export: off a terminal it must not narrow the output either.
        "COLUMNS": "80",
    }


def eventschema(server: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listed(server: RunningSandbox, *command: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The table's lines and the same list as JSON."""
    table = eventschema(server, *command)
    data = eventschema(server, *command, "--json")
    assert table.returncode == 0, table.stderr
    assert data.returncode == 0, data.stderr
    return table.stdout.splitlines(), json.loads(data.stdout)


def one_line_with(lines: list[str], *parts: str) -> str:
    """The single line that holds every part."""
    found = [line for line in lines if all(part in line for part in parts)]
    assert len(found) == 1, (parts, lines)
    return found[0]


def test_events_list_through_a_pipe_is_one_line_per_event_with_the_full_id(
    server: RunningSandbox,
) -> None:
    lines, events = listed(server, "events", "list")

    assert len(events) > 10
    for event in events:
        one_line_with(lines, event["name"], event["id"])
    assert LONG_GROUP in one_line_with(lines, LONG_EVENT)
    assert not any("…" in line for line in lines)


def test_groups_list_through_a_pipe_is_one_line_per_group_with_the_full_id(
    server: RunningSandbox,
) -> None:
    lines, groups = listed(server, "groups", "list")

    for group in groups:
        one_line_with(lines, group["name"], group["id"])
    assert LONG_GROUP in {group["name"] for group in groups}


def test_schemas_list_through_a_pipe_is_one_line_per_schema_with_the_full_id(
    server: RunningSandbox,
) -> None:
    lines, schemas = listed(server, "schemas", "list")

    for schema in schemas:
        one_line_with(lines, schema["event_name"], schema["group_name"], schema["id"])
    grep = [line for line in lines if "checkout_completed" in line]
    assert len(grep) == sum(1 for s in schemas if "checkout_completed" in s["event_name"])


def run_with_reader_gone(server: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader has already closed: every write meets EPIPE."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [str(SCRIPT), *args],
            env=environment(server),
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize("output_format", ["table", "json", "markdown"])
def test_audit_keeps_exit_code_4_when_its_reader_has_gone(
    server: RunningSandbox, output_format: str
) -> None:
    finished = run_with_reader_gone(server, "audit", "--format", output_format)

    assert finished.returncode == 4, finished.stderr
    assert finished.stderr == ""


@pytest.mark.parametrize("command", [["events", "list"], ["groups", "list", "--json"]])
def test_lists_succeed_quietly_when_their_reader_has_gone(
    server: RunningSandbox, command: list[str]
) -> None:
    finished = run_with_reader_gone(server, *command)

    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""


def test_audit_piped_into_head_keeps_exit_code_4_under_pipefail(server: RunningSandbox) -> None:
    shell = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{shlex.quote(str(SCRIPT))} audit | head -1"],
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert shell.returncode == 4, shell.stderr
    assert shell.stdout.startswith(" FAIL ")
    assert shell.stdout.count("\n") == 1
    assert shell.stderr == ""
