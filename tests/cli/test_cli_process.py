"""The installed `eventschema` console script, run as a real process against a loopback sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

SCRIPT = Path(sys.executable).with_name("eventschema")


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        yield running


def eventschema(server: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POSTHOG_HOST": server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
    }
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_schemas_list_json_from_the_console_script(demo_server: RunningSandbox) -> None:
    listed = eventschema(demo_server, "schemas", "list", "--json")
    shown = eventschema(demo_server, "events", "show", "checkout_compleeted")

    assert listed.returncode == 0, listed.stderr
    schemas = json.loads(listed.stdout)
    assert "checkout_completed" in {schema["event_name"] for schema in schemas}
    assert shown.returncode == 1
    assert shown.stderr.count("\n") == 1
    assert "did you mean 'checkout_completed'" in shown.stderr
    assert "Traceback" not in shown.stderr


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_usage_error_from_the_console_script_is_one_line_exit_2(
    demo_server: RunningSandbox,
) -> None:
    result = eventschema(demo_server, "groups", "create", "g", "--property", "plan")

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "NAME:TYPE" in result.stderr


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_unknown_property_type_names_the_closest_and_creates_nothing(
    demo_server: RunningSandbox,
) -> None:
    result = eventschema(demo_server, "groups", "create", "orders", "-p", "amount:Number")
    listed = eventschema(demo_server, "groups", "list", "--json")

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.strip() == (
        "error: type of property 'amount': 'Number' is not one of DateTime, String, Numeric, "
        "Boolean, Object; did you mean 'Numeric'?"
    )
    assert result.stdout == ""
    assert "orders" not in {group["name"] for group in json.loads(listed.stdout)}


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_property_types_are_read_in_any_case(demo_server: RunningSandbox) -> None:
    result = eventschema(
        demo_server, "groups", "create", "refunds", "-p", "amount:numeric:required", "--json"
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert [(p["name"], p["type"], p["required"]) for p in created["properties"]] == [
        ("amount", "Numeric", True)
    ]
