"""The CLI's own hints are right: every command it suggests runs, and a plan file has one spelling.

The suggestions are collected, not listed by hand:

- every `eventschema ...` command between single backticks in a string of the package (the fix
  of an audit finding, an error message, a tool description; docstrings are documentation, not
  messages). ``FILE`` and ``...`` stand for the plan file and become the example plan; a
  command name alone (`eventschema apply`) names the command, and is checked with ``--help``;
- every "Try next" line of `eventschema demo`, pasted as a reader would: the line that starts a
  sandbox starts the one the others use (on a free port instead of 8010), ``export`` sets their
  environment, a path must exist.

Each command runs through the installed console script, with a terminal on standard input
where a confirmation is answered "y", and must end with the exit code its command promises:
0, or 4 for an audit with findings, never a usage error.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import (
    BIN,
    ROOT,
    clean_environment,
    run_at_terminal,
    running_sandbox,
    workdir,
)

from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox

pytestmark = pytest.mark.skipif(
    not (BIN / "eventschema").exists(), reason="the console script is not installed"
)

SOURCE = ROOT / "src" / "eventschema_tools"
_SUGGESTED = re.compile(r"(?<!`)`(eventschema(?: [^`]*)?)`(?!`)")
_PLACEHOLDER = re.compile(r"^(FILE|\.\.\.|\{\})$")
_DOCS_PORT = "127.0.0.1:8010"
ONCE = "give the tracking-plan file once, as --plan FILE"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.AST) -> Iterator[str]:
    """Every string of a module but its docstrings; formatted values of f-strings are ``{}``."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )


def suggested_commands() -> dict[str, list[str]]:
    """Every command the package's messages suggest, with the files that suggest it."""
    found: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for text in _strings(tree):
            for command in _SUGGESTED.findall(text):
                found.setdefault(command, []).append(str(path.relative_to(ROOT)))
    return found


def _argv(command: str, plan: str) -> list[str]:
    words = [plan if _PLACEHOLDER.match(word) else word for word in shlex.split(command)]
    return [*words, "--help"] if len(words) == 2 else words


def _expected_exit(argv: list[str]) -> set[int]:
    return {0, 4} if argv[1:2] == ["audit"] and "--help" not in argv else {0}


def test_the_scan_finds_the_hints_of_audit_findings_and_messages() -> None:
    found = suggested_commands()
    assert "eventschema apply --plan FILE" in found
    assert "eventschema apply --plan FILE --prune" in found
    assert "eventschema pull --plan -" in found
    assert not [command for command in found if "--file" in command or " -f " in command]


def test_every_command_a_message_suggests_is_accepted(tmp_path: Path) -> None:
    commands = suggested_commands()
    work = workdir(tmp_path)
    with run_sandbox(seed="demo", rate_limiting=False) as sandbox:
        env = clean_environment(
            POSTHOG_HOST=sandbox.url, POSTHOG_PROJECT_ID="1", POSTHOG_PERSONAL_API_KEY=DEMO_API_KEY
        )
        results = {
            command: run_at_terminal(_argv(command, "examples/tracking-plan.yaml"), env, work)
            for command in commands
        }
    wrong = {
        f"{command} (from {', '.join(sorted(set(commands[command])))})": (
            done.returncode,
            done.stderr.strip() or done.stdout[-300:],
        )
        for command, done in results.items()
        if done.returncode not in _expected_exit(_argv(command, "plan"))
    }
    assert wrong == {}


def _try_next_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if "Try next" in line)
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  ")]


def test_every_try_next_line_of_the_demo_works_when_pasted(tmp_path: Path) -> None:
    work = workdir(tmp_path)
    demo = subprocess.run(
        [str(BIN / "eventschema"), "demo", "--events", "200"],
        cwd=work,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = _try_next_lines(demo.stdout)
    starts = [line for line in lines if line.startswith("eventschema sandbox")]
    assert len(starts) == 1, lines
    [start] = starts
    words = shlex.split(start, comments=True)
    assert "--port" not in words
    ran: list[tuple[str, int]] = []
    with running_sandbox([*words, "--port", "0"], work) as url:
        env = clean_environment()
        for line in lines[lines.index(start) + 1 :]:
            argv = shlex.split(line.replace(f"http://{_DOCS_PORT}", url), comments=True)
            if argv[0] == "export":
                env.update(dict(word.split("=", 1) for word in argv[1:]))
                continue
            if argv[0] == "eventschema":
                done = run_at_terminal(argv, env, work)
            elif argv[0] == "eventschema-mcp":
                done = subprocess.run(
                    [str(BIN / argv[0]), *argv[1:]],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=work,
                    timeout=60,
                    check=False,
                )
            else:
                assert len(argv) == 1, line
                assert (work / argv[0]).is_file(), line
                continue
            assert done.returncode in _expected_exit(argv), (line, done.stdout, done.stderr)
            ran.append((argv[1] if len(argv) > 1 else argv[0], done.returncode))
    assert ran[0][0] == "plan"
    assert ("apply", 0) in ran
    assert [code for command, code in ran if command == "audit"] == [4, 4, 4]
    assert ("codegen", 0) in ran
    assert ran[-1] == ("eventschema-mcp", 0)
    assert env["POSTHOG_HOST"] == url


# --- one spelling of the plan file -------------------------------------------------------------

_EARLIER = {
    "lint": r"--file\b|(?<![\w-])-f\b",
    "plan": r"--file\b|(?<![\w-])-f\b",
    "apply": r"--file\b|(?<![\w-])-f\b",
    "audit": r"--file\b|(?<![\w-])-f\b",
    "pull": r"--output\b|(?<![\w-])-o\b",
    "demo": r"--file\b|(?<![\w-])-f\b",
}


@pytest.mark.parametrize("command", sorted(_EARLIER))
def test_every_command_that_takes_a_plan_file_shows_it_as_plan(command: str) -> None:
    done = subprocess.run(
        [str(BIN / "eventschema"), command, "--help"],
        env=clean_environment(COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"--plan\s+FILE", done.stdout) or command == "demo", done.stdout
    assert "--plan" in done.stdout
    assert not re.search(_EARLIER[command], done.stdout), done.stdout
    usage = next(line for line in done.stdout.splitlines() if "Usage:" in line)
    assert usage.strip().endswith(f"eventschema {command} [OPTIONS]"), usage


def test_earlier_spellings_still_work_and_one_file_is_given_once(tmp_path: Path) -> None:
    work = workdir(tmp_path)
    plan = "examples/tracking-plan.yaml"
    earlier = {
        "lint FILE": ["lint", plan],
        "lint -f": ["lint", "-f", plan],
        "plan -f": ["plan", "-f", plan],
        "plan --file": ["plan", "--file", plan],
        "apply -f": ["apply", "-f", plan, "--dry-run"],
        "pull -o": ["pull", "-o", "pulled.yaml"],
        "pull --output": ["pull", "--output", "-"],
        "audit -f": ["audit", "-f", plan, "--kinds", "drift"],
    }
    with run_sandbox(seed="demo", rate_limiting=False) as sandbox:
        env = clean_environment(
            POSTHOG_HOST=sandbox.url, POSTHOG_PROJECT_ID="1", POSTHOG_PERSONAL_API_KEY=DEMO_API_KEY
        )
        codes = {
            name: run_at_terminal(["eventschema", *argv], env, work).returncode
            for name, argv in earlier.items()
        }
        twice = run_at_terminal(["eventschema", "plan", "--plan", plan, "-f", plan], env, work)
        lint_twice = run_at_terminal(["eventschema", "lint", plan, "--plan", plan], env, work)
        missing = run_at_terminal(["eventschema", "apply", "--yes"], env, work)

    assert codes == {**dict.fromkeys(earlier, 0), "audit -f": 4}  # drift: nothing applied yet
    assert (work / "pulled.yaml").is_file()
    for done in (twice, lint_twice):
        assert done.returncode == 2
        assert done.stderr == f"eventschema: error: {ONCE}\n"
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "--plan" in missing.stderr
