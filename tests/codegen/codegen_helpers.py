"""What the codegen tests share: the plans they generate from and the TypeScript tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from eventschema_tools.tracking_plan.file import TrackingPlan, load_plan, parse_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "tracking-plan.yaml"
# `make test` installs the compiler and the SDKs' declarations here (see the Makefile).
NODE_MODULES = Path(sys.prefix) / "share" / "codegen-node" / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"

# Names every language mangles differently, collisions, reserved words, quotes and comment
# ends in descriptions, enums of numbers, a pattern with backslashes, a property two groups
# declare with different types, a super property, and events without groups.
AWKWARD_PLAN = r'''
version: 1
plan_id: awkward
property_groups:
  Group with spaces:
    description: 'Ends a comment */ and a docstring """ and has a \ backslash'
    properties:
      Plan Type: {type: String, required: true, rules: {enum: ["it's", 'say "hi"', plain]}}
      distinct_id: {type: String, description: Collides with the SDK's own argument}
      class: {type: Boolean}
      $current_url: {type: String, rules: {pattern: '^https?://\S+$'}}
      9lives: {type: Numeric, rules: {enum: [1, 2.5, 3]}}
      a-b: {type: Numeric, required: true, rules: {min: -1.5, max: 1000000}}
      a_b: {type: DateTime}
      payload: {type: Object}
  class:
    properties:
      a-b: {type: String}
      count: {type: Numeric, rules: {enum: [1, 2, 3]}}
      tenant: {type: String, required: true, optional_in_types: true}
events:
  $pageview:
    groups: [class]
  Checkout Completed:
    groups: [Group with spaces, class]
    description: 'A "quoted" */ description'
  API-Request:
    groups: [class]
  api_request:
    groups: [Group with spaces]
  123 go: {}
  class: {}
  "\u00e9v\u00e9nement \U0001F600": {}
'''


def example_plan() -> TrackingPlan:
    """The example plan of the repository."""
    return load_plan(EXAMPLE_PLAN)


def awkward_plan() -> TrackingPlan:
    """:data:`AWKWARD_PLAN`, parsed."""
    return parse_plan(AWKWARD_PLAN, "<awkward>")


def typescript_compiler() -> Path:
    """The TypeScript compiler, or a skip that says how to get it."""
    if not TSC.exists():
        pytest.skip(
            f"the TypeScript compiler is not installed at {TSC}: `make test` installs it with "
            "npm (is npm on PATH and the npm registry reachable?)"
        )
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: the TypeScript compiler needs it")
    return TSC


@contextmanager
def typescript_folder() -> Iterator[Path]:
    """An empty folder beside the installed node_modules, so that imports of posthog-js and
    posthog-node resolve there as in a project (tsc and node look in the parent folders)."""
    typescript_compiler()
    folder = Path(tempfile.mkdtemp(prefix="codegen-test-", dir=NODE_MODULES.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def compile_typescript(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``tsc --strict --noEmit`` (and stricter flags) over every .ts file in ``folder``."""
    tsc = typescript_compiler()
    files = sorted(str(path) for path in folder.glob("*.ts"))
    return subprocess.run(
        [
            str(tsc),
            "--strict",
            "--noUncheckedIndexedAccess",
            "--exactOptionalPropertyTypes",
            "--noImplicitOverride",
            "--noEmit",
            "--target",
            "es2020",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "--skipLibCheck",
            *extra,
            *files,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
