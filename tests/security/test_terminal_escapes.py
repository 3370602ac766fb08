"""Names holding terminal escape sequences are shown escaped, never sent to the terminal raw.

Whoever holds a project's public ``phc_`` token can capture an event, and capturing creates its
event definition: these tests create such names through the sandbox's capture endpoint and run
the installed `eventschema` as a process, as a person or a CI job would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventschema_tools import EventSchemaClient
from eventschema_tools._text import printable
from eventschema_tools.catalog import Catalog
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan.lint import has_errors, lint_file

SCRIPT = Path(sys.executable).with_name("eventschema")

CLEAR_SCREEN = "\x1b[2J\x1b[H"
REWRITE_LINE = "\x1b[1A\x1b[2K"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: put "rm -rf ~" on the clipboard
CSI_8BIT = "\x9b31m"  # the one-byte C1 form of ESC [
RIGHT_TO_LEFT = "\u202e"
EVENT = f"signup{CLEAR_SCREEN}{REWRITE_LINE}{CLIPBOARD}{CSI_8BIT}{RIGHT_TO_LEFT}done"
GROUP = f"Checkout{REWRITE_LINE}\u2066trusted\u2069"

# Raw in the output, any of these would be obeyed by a terminal (line feeds and tabs are layout).
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (but tab and line feed), DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"  # bidi, separators
)

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        batch = [{"event": EVENT, "distinct_id": "u1", "properties": {"plan": "pro"}}] * 3
        answer = httpx.post(
            f"{running.url}/batch/",
            json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=running.url) as client:
            catalog = Catalog(client)
            catalog.create_group(name=GROUP)
            catalog.bind(event=EVENT, group=GROUP)
        yield running


def eventschema(server: RunningSandbox, *args: str, cwd: Path | None = None) -> Any:
    env = {
        **os.environ,
        "POSTHOG_HOST": server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
    }
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_nothing_raw(text: str) -> None:
    raw = RAW_CONTROL.findall(text)
    assert not raw, f"raw control characters {raw!r} in:\n{text!r}"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b[2Jb", "a\\u001b[2Jb"),
        ("bell\x07", "bell\\u0007"),
        ("cr\rlf\ntab\t", "cr\\u000dlf\\u000atab\\u0009"),
        ("del\x7f", "del\\u007f"),
        ("csi\x9b2J", "csi\\u009b2J"),
        ("\u202egnp.exe", "\\u202egnp.exe"),
        ("\u2066iso\u2069", "\\u2066iso\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("café [bold]ü", "café [bold]ü"),
    ],
)
def test_printable_spells_out_controls_bidi_and_separators(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable("two\nlines\tand\x1b", multiline=True) == "two\nlines\tand\\u001b"


def test_events_list_shows_the_name_escaped(server: RunningSandbox) -> None:
    listed = eventschema(server, "events", "list")

    assert listed.returncode == 0, listed.stderr
    assert_nothing_raw(listed.stdout)
    assert printable(EVENT) in listed.stdout
    assert printable(GROUP) in listed.stdout


@pytest.mark.parametrize(
    "command",
    [["groups", "list"], ["schemas", "list"], ["events", "show", EVENT], ["groups", "show", GROUP]],
    ids=["groups-list", "schemas-list", "events-show", "groups-show"],
)
def test_other_tables_show_names_escaped(server: RunningSandbox, command: list[str]) -> None:
    shown = eventschema(server, *command)

    assert shown.returncode == 0, shown.stderr
    assert_nothing_raw(shown.stdout + shown.stderr)
    assert printable(GROUP) in shown.stdout


def test_json_output_escapes_controls_and_keeps_the_names(server: RunningSandbox) -> None:
    listed = eventschema(server, "events", "list", "--json")

    assert listed.returncode == 0, listed.stderr
    assert_nothing_raw(listed.stdout)
    assert EVENT in {event["name"] for event in json.loads(listed.stdout)}


def test_errors_that_echo_names_show_them_escaped(server: RunningSandbox) -> None:
    # Close to EVENT: the error suggests it by name.
    missing = eventschema(server, "events", "show", EVENT.replace("done", "dome"))

    assert missing.returncode == 1
    assert_nothing_raw(missing.stderr)
    assert "did you mean" in missing.stderr


@pytest.mark.parametrize("output_format", ["table", "markdown", "json"])
def test_audit_reports_show_names_escaped(server: RunningSandbox, output_format: str) -> None:
    audited = eventschema(server, "audit", "--format", output_format, "--fail-on", "error")

    assert audited.returncode in (0, 4), audited.stderr
    assert_nothing_raw(audited.stdout)
    if output_format == "json":
        report = json.loads(audited.stdout)
        assert EVENT in {finding.get("event") for finding in report["findings"]}
    else:
        # Markdown escapes the backslash, so the rendered text reads \u001b.
        assert "\\u001b" in audited.stdout


def test_plan_lines_show_names_escaped(server: RunningSandbox, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        json.dumps({"version": 1, "events": {"ordered" + CLEAR_SCREEN + CLIPBOARD: {}}}),
        encoding="utf-8",
    )

    planned = eventschema(server, "plan", "--plan", str(plan), "--create-events")

    assert planned.returncode == 0, planned.stderr
    assert_nothing_raw(planned.stdout + planned.stderr)
    assert printable("ordered" + CLEAR_SCREEN) in planned.stdout


LINTED = """\
version: 1
property_groups:
  "Checkout\\e[2J":
    properties:
      "amount\\u202e": {type: Numeric}
events:
  "signup\\e]52;c;aGk=\\a":
    groups: ["Checkout\\e[2J"]
  "tabbed\\tname": {}
"""


def test_lint_warns_on_control_characters_in_names(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(LINTED, encoding="utf-8")

    problems = lint_file(plan)
    linted = subprocess.run(
        [str(SCRIPT), "lint", "--plan", str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    found = [(p.line, p.severity) for p in problems if p.code == "control-character"]
    assert found == [(3, "warning"), (5, "warning"), (7, "warning"), (9, "warning")]
    assert not has_errors(problems)
    assert linted.returncode == 0, linted.stderr
    assert_nothing_raw(linted.stdout)
    assert linted.stdout.count("[control-character]") == 4
