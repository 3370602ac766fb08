"""The `demo-day` seed: the demo project, with its day of events sent through PostHog's SDK."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_events_helpers import AUTH

from eventschema_tools.sandbox import run_sandbox
from eventschema_tools.sandbox.http.server import send_seeded_day
from eventschema_tools.sandbox.storage.simulated_day import DEFAULT_EVENTS

SCRIPT = Path(sys.executable).parent / "eventschema"


def query(url: str, text: str) -> list[list[Any]]:
    answer = httpx.post(
        f"{url}/api/projects/1/query/",
        headers=AUTH,
        json={"query": {"kind": "HogQLQuery", "query": text}},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    results: list[list[Any]] = answer.json()["results"]
    return results


def test_the_day_arrives_through_the_sdk_with_the_demo_schemas() -> None:
    with run_sandbox(seed="demo-day", rate_limiting=False) as sandbox:
        [[total, from_sdk, latest_age]] = query(
            sandbox.url,
            "SELECT count(), countIf(JSONExtractString(properties, '$lib') = 'posthog-python'),"
            " dateDiff('second', max(timestamp), now()) FROM events",
        )
        groups = httpx.get(
            f"{sandbox.url}/api/projects/1/schema_property_groups/", headers=AUTH
        ).json()["results"]
    assert total == from_sdk == DEFAULT_EVENTS
    assert 0 <= latest_age < 24 * 3600
    assert {group["name"] for group in groups} >= {"Subscription", "Checkout", "Page context"}


@contextmanager
def demo_day_command() -> Iterator[subprocess.Popen[str]]:
    """`eventschema sandbox --seed demo-day` on a free port, stopped with Ctrl+C at the end."""
    process = subprocess.Popen(
        [SCRIPT, "sandbox", "--seed", "demo-day", "--port", "0", "--no-rate-limit"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert process.stdout is not None
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_the_command_says_what_it_sent() -> None:
    with demo_day_command() as process:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("seed demo-day"):
                break
        url = re.search(r"serving on (http://\S+)", "".join(lines))
        assert url is not None, lines
        assert lines[-1].strip() == (
            f"seed demo-day: {DEFAULT_EVENTS:,} events of a simulated day sent through the "
            f"PostHog SDK, {DEFAULT_EVENTS:,} stored, 0 dropped by reject enforcement"
        )
        assert query(url[1], "SELECT count() FROM events") == [[DEFAULT_EVENTS]]


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_a_query_sent_as_soon_as_the_server_answers_sees_the_whole_day() -> None:
    with demo_day_command() as process:
        assert process.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            url = re.search(r"serving on (http://\S+)", process.stdout.readline())
        assert url is not None
        # Sent before the day is in (it takes the SDK seconds): the query waits for it.
        assert query(url[1], "SELECT count() FROM events") == [[DEFAULT_EVENTS]]


def test_the_sdk_talks_to_the_sandbox_only(monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[Any] = []
    connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        reached.append(address)
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    with run_sandbox(seed="demo-day", rate_limiting=False) as sandbox:
        port = int(sandbox.url.rsplit(":", 1)[1])
    assert reached
    assert all(ipaddress.ip_address(host).is_loopback for host, *_ in reached), reached
    assert {address[1] for address in reached} == {port}


def test_events_dropped_by_reject_enforcement_are_counted() -> None:
    with run_sandbox(seed="demo-day", rate_limiting=False) as sandbox:
        with httpx.Client(base_url=f"{sandbox.url}/api/projects/1", headers=AUTH) as api:
            [[without_plan]] = query(
                sandbox.url,
                "SELECT countIf(NOT JSONHas(properties, 'workspace_plan')) FROM events "
                "WHERE event = 'user_logged_in'",
            )
            group = api.post(
                "/schema_property_groups/",
                json={
                    "name": "Login plan",
                    "properties": [
                        {"name": "workspace_plan", "property_type": "String", "is_required": True}
                    ],
                },
            ).json()
            login = api.get("/event_definitions/", params={"search": "user_logged_in"}).json()
            [definition] = [d for d in login["results"] if d["name"] == "user_logged_in"]
            bound = api.post(
                "/event_schemas/",
                json={"event_definition": definition["id"], "property_group_id": group["id"]},
            )
            assert bound.status_code == 201, bound.text
            api.patch(
                f"/event_definitions/{definition['id']}/", json={"enforcement_mode": "reject"}
            ).raise_for_status()
        # The same day once more, now that the plan is required.
        sandbox.sandbox.day_to_send = True
        message = send_seeded_day(sandbox.app, sandbox.url)
        [[total]] = query(sandbox.url, "SELECT count() FROM events")
        warnings = httpx.get(
            f"{sandbox.url}/_sandbox/ingestion_warnings", params={"project_id": 1}
        ).json()
    assert 0 < without_plan < DEFAULT_EVENTS
    assert total == 2 * DEFAULT_EVENTS - without_plan
    assert message == (
        f"seed demo-day: {DEFAULT_EVENTS:,} events of a simulated day sent through the PostHog "
        f"SDK, {DEFAULT_EVENTS - without_plan:,} stored, {without_plan:,} dropped by reject "
        "enforcement"
    )
    assert warnings["counts"]["schema_validation_failed"] == without_plan
