"""The `demo-day` seed: the demo project, with its day of events sent through PostHog's SDK."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from sandbox_events_helpers import AUTH

from eventschema_tools.sandbox import run_sandbox
from eventschema_tools.sandbox.storage.simulated_day import DEFAULT_EVENTS


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


def test_the_command_says_what_it_sent() -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "eventschema_tools.cli.main", "sandbox"),
            *("--seed", "demo-day", "--port", "0", "--no-rate-limit"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert process.stdout is not None
    try:
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
            f"PostHog SDK, {DEFAULT_EVENTS:,} stored"
        )
        assert query(url[1], "SELECT count() FROM events") == [[DEFAULT_EVENTS]]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
