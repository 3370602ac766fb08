"""Every command the README and the guides show, run for real.

For each Markdown file, one sandbox as ``eventschema sandbox --seed demo`` serves it (the demo
project, PostHog's rate limits) to every block of that file, in the order the file shows them,
from a fresh working directory holding copies of ``examples/`` and
``airflow_plugin/example_dags/`` (what a reader has in a checkout):

- ``bash`` blocks run in ``bash``, one command at a time, with the ``POSTHOG_*`` variables
  pointing at the sandbox and ``.venv/bin`` first on PATH; each command must exit 0, or the code
  its line states with a trailing ``# exit N`` comment. A command ending in ``&`` starts a server
  in the background: the test waits until its port accepts connections, and stops it when the
  block ends. Ports are the only thing rewritten: the sandbox address ``127.0.0.1:8010`` the
  guides use becomes this test's sandbox (or the block's own ``eventschema sandbox``, which
  gets a free port), and a server's ``--port`` becomes a free port, so runs never collide.
- ``python`` blocks are executed with the same environment (they connect with ``from_env()``).
- ``json`` blocks must parse; ``yaml`` blocks must parse, and plan files, thresholds files and
  alert routes files must be valid ones.

A ``bash`` block that cannot run inside a test as written carries a ``docs-test`` directive
(see ``docs_blocks``): this module checks that the test it names exists and mentions the
block's program, so no block is skipped silently.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from docs_blocks import ROOT, SHELL_LANGUAGES, blocks_of, directives_without_block, doc_files
from docs_runner import Outcome, doc_id, run_doc

from eventschema_tools.alerts.routing import load_routes
from eventschema_tools.audit.thresholds import load_thresholds
from eventschema_tools.tracking_plan.file import parse_plan

PARALLEL_FILES = 3

DOCS = doc_files()


def _expected_cost(doc: Path) -> tuple[bool, int]:
    text = doc.read_text(encoding="utf-8")
    return ("airflow dags test" in text, len(text))


@pytest.fixture(scope="module")
def doc_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Outcome]:
    """Every file's blocks, run once: the files in parallel (each has its own sandbox and
    directory), the slowest first; the blocks of one file in order."""
    base = tmp_path_factory.mktemp("docs")
    order = sorted(DOCS, key=_expected_cost, reverse=True)
    with ThreadPoolExecutor(max_workers=PARALLEL_FILES) as pool:
        futures = {doc: pool.submit(run_doc, doc, base / doc.stem.lower()) for doc in order}
    return {doc: future.result() for doc, future in futures.items()}


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_bash_and_python_block_runs(doc: Path, doc_outcomes: dict[Path, Outcome]) -> None:
    outcome = doc_outcomes[doc]
    if os.environ.get("DOCS_TIMING"):
        for where, took in outcome.timings:
            print(f"{where} {took:.1f}s")
    assert not outcome.failures, "\n\n".join(outcome.failures)


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_block_names_its_language_and_shell_is_bash(doc: Path) -> None:
    """A block without a language, or shell under another tag, would escape the runner."""
    unnamed = [block.where for block in blocks_of(doc) if not block.lang]
    assert not unnamed, f"give these blocks a language (bash, python, text...): {unnamed}"
    others = [b.where for b in blocks_of(doc) if b.lang in SHELL_LANGUAGES and b.lang != "bash"]
    assert not others, f"use ```bash for shell commands: {others}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_blocks_not_run_here_name_a_test_that_runs_them(doc: Path) -> None:
    problems = [
        f"{doc.relative_to(ROOT)}:{line}: docs-test comment above no code block"
        for line in directives_without_block(doc)
    ]
    for block in blocks_of(doc):
        directive = block.directive
        if directive is None:
            continue
        if block.lang != "bash":
            problems.append(f"{block.where}: only bash blocks take a docs-test directive")
            continue
        texts = []
        for path in directive.paths:
            target = ROOT / path
            if not target.is_file():
                problems.append(f"{block.where}: {path} does not exist")
            else:
                texts.append(target.read_text(encoding="utf-8"))
        covering = "\n".join(texts)
        for command in block.commands():
            program = command.program
            if directive.kind == "external":
                if program != directive.program:
                    problems.append(f"{block.where}: `{program}` is not run by {directive.program}")
                named = {Path(word).name for word in command.words} & {
                    "eventschema",
                    "eventschema-mcp",
                }
                for name in named:
                    if name not in covering:
                        problems.append(f"{block.where}: {directive.paths} never mention {name}")
                continue
            if program not in covering:
                problems.append(f"{block.where}: {directive.paths} never mention `{program}`")
            if program == "make":
                target_name = command.words[1]
                dry_run = subprocess.run(
                    ["make", "-n", target_name],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if dry_run.returncode != 0:
                    problems.append(
                        f"{block.where}: `make -n {target_name}` failed: {dry_run.stderr.strip()}"
                    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_json_and_yaml_blocks_are_valid(doc: Path, tmp_path: Path) -> None:
    problems = []
    for block in blocks_of(doc):
        try:
            if block.lang == "json":
                json.loads(block.text)
            elif block.lang in {"yaml", "yml"}:
                data = yaml.safe_load(block.text)
                if isinstance(data, dict) and "version" in data:
                    parse_plan(block.text, source=block.where)
                elif isinstance(data, dict) and "routes" in data:
                    path = tmp_path / f"routes-{block.line}.yaml"
                    path.write_text(block.text, encoding="utf-8")
                    load_routes(path)
                elif (
                    isinstance(data, dict)
                    and {"default", "events", "stale_after_days"} & set(data)
                    and "jobs" not in data
                ):
                    path = tmp_path / f"thresholds-{block.line}.yaml"
                    path.write_text(block.text, encoding="utf-8")
                    load_thresholds(path)
        except Exception as exc:  # every kind of invalid block is reported the same way
            problems.append(f"{block.where}: {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)
