"""``eventschema codegen`` as a reader runs it: from the plan offline, ``--check`` in CI, and
``--from-live`` against a sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from codegen_helpers import EXAMPLE_PLAN
from sandbox_clients import demo_client

from eventschema_tools.codegen import generate_code, read_manifest
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import load_plan

BIN = Path(sys.executable).parent
# No credentials and nowhere to send them: generating from a plan must not need either.
OFFLINE = {"POSTHOG_HOST": "http://127.0.0.1:9", "PATH": os.environ.get("PATH", "")}


def eventschema(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "eventschema"), *args],
        cwd=cwd,
        env=env or OFFLINE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def plan_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tracking-plan.yaml"
    shutil.copyfile(EXAMPLE_PLAN, target)
    return target


@pytest.mark.parametrize(
    ("lang", "files"),
    [
        ("python", ["posthog_typed.py", "posthog_typed.schema.json"]),
        ("typescript", ["posthog-typed.schema.json", "posthog-typed.ts"]),
    ],
)
def test_check_fails_after_a_plan_edit_and_passes_after_regenerating(
    tmp_path: Path, plan_copy: Path, lang: str, files: list[str]
) -> None:
    generate = ["codegen", "--lang", lang, "--plan", str(plan_copy), "--out", "gen"]
    written = eventschema(*generate, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert sorted(path.name for path in (tmp_path / "gen").iterdir()) == files
    assert "(13 events)" in written.stdout

    fresh = eventschema(*generate, "--check", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "is up to date (13 events)" in fresh.stdout

    text = plan_copy.read_text(encoding="utf-8")
    plan_copy.write_text(text.replace("saml]}", "saml, okta]}"), encoding="utf-8")
    stale = eventschema(*generate, "--check", cwd=tmp_path)
    assert stale.returncode == 1
    assert f"gen/{files[0]}: stale" in stale.stderr or f"gen/{files[1]}: stale" in stale.stderr
    assert "Regenerate: eventschema codegen --lang" in stale.stderr

    assert eventschema(*generate, cwd=tmp_path).returncode == 0
    again = eventschema(*generate, "--check", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    module = next(name for name in files if not name.endswith(".json"))
    assert '"okta"' in (tmp_path / "gen" / module).read_text(encoding="utf-8")


def test_check_reports_missing_files_as_json(tmp_path: Path) -> None:
    result = eventschema(
        "codegen", "--lang", "python", "--plan", str(EXAMPLE_PLAN), "--check", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["events"] == 13
    assert [item["reason"] for item in report["stale"]] == ["missing", "missing"]


def test_a_hand_edit_is_stale_too(tmp_path: Path) -> None:
    generate = ["codegen", "--lang", "python", "--plan", str(EXAMPLE_PLAN)]
    assert eventschema(*generate, cwd=tmp_path).returncode == 0
    module = tmp_path / "posthog_typed.py"
    module.write_text(module.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    result = eventschema(*generate, "--check", cwd=tmp_path)
    assert result.returncode == 1
    assert "posthog_typed.py: stale" in result.stderr


def test_module_to_stdout(tmp_path: Path) -> None:
    result = eventschema(
        "codegen", "--lang", "typescript", "--sdk", "posthog-node", "--plan", str(EXAMPLE_PLAN),
        "--out", "-", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("/**\n * GENERATED FILE - DO NOT EDIT.")
    assert "import type { PostHog } from 'posthog-node'" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "go", "--plan", "P"], "unknown language 'go': use typescript or python"),
        (["--lang", "python", "--sdk", "posthog-js", "--plan", "P"], "python helpers call posthog"),
        (["--lang", "python"], "give the plan file (--plan FILE), or --from-live"),
        (["--lang", "python", "--plan", "P", "--from-live"], "not both"),
        (["--lang", "python", "--plan", "P", "--out", "-", "--check"], "give a folder"),
    ],
)
def test_bad_options_are_one_line_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    args = [str(EXAMPLE_PLAN) if arg == "P" else arg for arg in args]
    result = eventschema("codegen", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_bad_plan_names_file_and_line(tmp_path: Path, plan_copy: Path) -> None:
    plan_copy.write_text(
        plan_copy.read_text(encoding="utf-8").replace("type: Boolean", "type: Bool"),
        encoding="utf-8",
    )
    result = eventschema("codegen", "--lang", "python", "--plan", str(plan_copy), cwd=tmp_path)
    assert result.returncode == 1
    assert "tracking-plan.yaml:" in result.stderr
    assert "did you mean 'Boolean'" in result.stderr
    assert not (tmp_path / "posthog_typed.py").exists()


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox() as running:
        with demo_client(running.url) as client:
            report = apply(
                client, compute_plan(client, load_plan(EXAMPLE_PLAN), create_events=True)
            )
            assert report.ok, report
            # An event definition without a schema, and one of PostHog's own.
            for name in ("page_closed", "$autocapture", "$pageview"):
                client.event_definitions.create(name=name)
        yield running


def test_from_live_expects_what_the_applied_plan_expects(
    tmp_path: Path, served: RunningSandbox
) -> None:
    env = {**OFFLINE, "POSTHOG_HOST": served.url, "POSTHOG_PROJECT_ID": "1",
           "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY}  # fmt: skip
    result = eventschema(
        "codegen", "--lang", "python", "--from-live", "--out", "live", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    live = read_manifest(tmp_path / "live")
    planned = generate_code(load_plan(EXAMPLE_PLAN), language="python").manifest
    # The same events and properties as from the plan, plus events with no schema
    # (posthog-cli's choice: every definition but PostHog's own $ events, $pageview kept).
    assert {k: v for k, v in live.events.items() if v} == planned.events
    assert set(live.events) - set(planned.events) == {"page_closed", "$pageview"}
    assert live.schema_hash != planned.schema_hash
    assert live.source == f"project 1 at {served.url}"
    check = eventschema(
        "codegen", "--lang", "python", "--from-live", "--out", "live", "--check",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
