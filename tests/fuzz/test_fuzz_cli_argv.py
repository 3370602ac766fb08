"""Fuzz the command line: random argv gives a documented exit code and never a traceback.

The argv grammar is read from the CLI itself (every command, option and argument it has), so
new commands are fuzzed as they appear. Values come from a pool of hostile text, numbers, ids,
names that exist in the sandbox's demo seed, file paths (a copy of the example plan, garbage, a
directory, a missing file) and connection settings (the sandbox, a closed port, malformed URLs
and project ids). `sandbox` and `demo` run servers or whole demos, so they only get `--help`.

Exit codes are the documented ones (0 ok, 1 error, 2 usage or partial failure, 3 auth or
configuration, 4 audit thresholds); click's own "Aborted!" (an unanswered prompt) is 1. Every
run works in a temporary directory, so files a command writes (`pull --output x`) land there.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fuzz_settings import fuzz_settings
from hypothesis import currently_in_test_context, event, given, note
from hypothesis import strategies as st
from typer.testing import CliRunner

from eventschema_tools.cli.main import app
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"
SERVER_COMMANDS = {"sandbox", "demo"}
EXIT_CODES = {0, 1, 2, 3, 4}


def command_tree() -> list[tuple[tuple[str, ...], list[Any]]]:
    """Every leaf command as (path, params), read from the Typer app."""
    leaves: list[tuple[tuple[str, ...], list[Any]]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in sorted(children.items()):
                walk(child, (*path, name))
        else:
            leaves.append((path, list(command.params)))

    walk(typer.main.get_command(app), ())
    return leaves


LEAVES = command_tree()
ROOT_PARAMS = list(typer.main.get_command(app).params)


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", rate_limiting=False) as running:
        yield running


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """The working directory of every run: commands that write files write them here."""
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


@pytest.fixture(scope="module")
def files(workdir: Path) -> dict[str, str]:
    """Paths to offer as values: a copy of the example plan, garbage, a directory, nothing."""
    (workdir / "plan.yaml").write_bytes(EXAMPLE_PLAN.read_bytes())
    (workdir / "garbage.yaml").write_bytes(b"version: [1\n\x00\xff")
    (workdir / "pairs.csv").write_text("event,group\nuser_signed_up,identity\n", encoding="utf-8")
    (workdir / "props.json").write_text('[{"name": "x", "property_type": "String"}]')
    return {
        "plan": str(workdir / "plan.yaml"),
        "garbage": str(workdir / "garbage.yaml"),
        "pairs": str(workdir / "pairs.csv"),
        "props": str(workdir / "props.json"),
        "dir": str(workdir),
        "missing": str(workdir / "missing.yaml"),
        "output": str(workdir / "out" / "report.json"),
    }


def values(sandbox_url: str, files: dict[str, str]) -> st.SearchStrategy[str]:
    """Option and argument values: hostile, plausible, or pointing at real objects."""
    return st.one_of(
        st.text(max_size=15),
        st.sampled_from(
            [
                "",
                "-",
                "--",
                "0",
                "-1",
                "1e9",
                "nan",
                "24h",
                "7d",
                "json",
                "markdown",
                "table",
                "error",
                "warning",
                "String",
                "x:String",
                "x:Numeric:required",
                "a%2Fb",
                "?x=1#y",
                str(uuid.uuid4()),
                "checkout",
                "billing",
                "identity",
                "user_signed_up",
                "checkout_completed",
                "$pageview",
                "@current",
                sandbox_url,
            ]
        ),
        st.sampled_from(sorted(files.values())),
    )


def path_values(files: dict[str, str]) -> st.SearchStrategy[str]:
    """Paths for options that read or write files: only inside the working directory."""
    return st.one_of(
        st.sampled_from(sorted(files.values())),
        st.sampled_from(["", "out.yaml", "report.md", "history", "nested/deeper/x.json"]),
        st.from_regex(r"[a-z0-9_]{1,8}(\.(yaml|json|md|csv))?", fullmatch=True),
    )


def takes_a_path(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    return getattr(descriptor, "annotation", None) is Path


connection = st.sampled_from(
    [
        [],
        [],
        ["--project", "2"],
        ["--project", "x"],
        ["--api-key", "phx_wrong"],
        ["--api-key", ""],
        ["--host", "ftp://example"],
        ["--host", "not a url"],
        ["--host", "http://127.0.0.1:9"],
    ]
)


@st.composite
def argvs(draw: st.DrawFn, sandbox_url: str, files: dict[str, str]) -> list[str]:
    """A random command line for one of the CLI's commands."""
    path, params = draw(st.sampled_from(LEAVES))
    argv = draw(connection) + list(path)
    if path and path[0] in SERVER_COMMANDS:
        return [*argv, "--help"]
    value, path = values(sandbox_url, files), path_values(files)
    for param in params:
        if not draw(st.integers(0, 2)):
            continue
        if takes_a_path(param):
            given = draw(path)
            argv += [given] if param.param_type_name == "argument" else [param.opts[0], given]
        elif param.param_type_name == "argument":
            argv.append(draw(value))
        elif getattr(param, "is_flag", False):
            argv.append(draw(st.sampled_from(param.opts)))
        else:
            argv += [draw(st.sampled_from(param.opts)), draw(value)]
    argv += draw(st.lists(st.one_of(value, st.sampled_from(["--json", "--yes", "-h"])), max_size=2))
    return argv


def check_run(argv: list[str], sandbox_url: str, workdir: Path) -> int:
    """Run the CLI; fail on an exception, an undocumented exit code or a traceback."""
    env = {
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_HOST": sandbox_url,
        "EVENTSCHEMA_MAX_RETRIES": "0",
        "EVENTSCHEMA_TIMEOUT": "10",
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_QUERY_RATE_LIMIT": "off",
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }
    with contextlib.chdir(workdir):
        result = CliRunner().invoke(app, argv, env=env, input="")
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    if currently_in_test_context():
        note(f"argv={argv!r} exit={result.exit_code} output={output[-2000:]!r}")
        event(f"exit {result.exit_code}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{argv!r} raised {result.exception!r}") from result.exception
    assert result.exit_code in EXIT_CODES, (argv, result.exit_code, output[-500:])
    assert "Traceback" not in output, (argv, output[-2000:])
    return result.exit_code


def test_the_grammar_covers_the_commands() -> None:
    names = {path[0] for path, _ in LEAVES if path}
    assert {"schemas", "groups", "events"} <= names, names


@fuzz_settings(0.8)
@given(data=st.data())
def test_any_command_line_exits_with_a_documented_code_and_no_traceback(
    served: RunningSandbox, files: dict[str, str], workdir: Path, data: st.DataObject
) -> None:
    argv = data.draw(argvs(served.url, files), label="argv")
    check_run(argv, served.url, workdir)


@fuzz_settings(0.3)
@given(tokens=st.lists(st.text(max_size=12), max_size=6))
def test_any_tokens_exit_with_a_documented_code_and_no_traceback(
    served: RunningSandbox, workdir: Path, tokens: list[str]
) -> None:
    # Bare words only: a token that happened to be an option value must not name a file
    # outside the working directory.
    tokens = [token for token in tokens if "/" not in token and "\\" not in token]
    if tokens and tokens[0] in SERVER_COMMANDS:
        tokens = [*tokens, "--help"]
    check_run(tokens, served.url, workdir)


@pytest.mark.parametrize("plan_id", [":", "-starts-with-a-dash", "x" * 65, "has space"])
def test_an_invalid_plan_id_is_a_usage_error_not_a_traceback(
    served: RunningSandbox, workdir: Path, plan_id: str
) -> None:
    if "pull" not in {path[0] for path, _ in LEAVES if path}:
        pytest.skip("no pull command")
    assert check_run(["pull", "--plan-id", plan_id], served.url, workdir) == 2
