"""Plan files at the edges: large legitimate plans, JSON read as JSON, over-long keys, alias
bombs, and paths that are not regular files (through the library and the real `eventschema`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventschema_tools.tracking_plan import document
from eventschema_tools.tracking_plan.file import (
    PlanFileError,
    TrackingPlan,
    dump_plan,
    load_plan,
    parse_plan,
)
from eventschema_tools.tracking_plan.lint import lint_file
from eventschema_tools.tracking_plan.pull import pull_merge

SCRIPT = Path(sys.executable).with_name("eventschema")
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
LONG = "e" * 1500


def problems_of(text: str, source: str = "plan.yaml") -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlanFileError) as caught:
        parse_plan(text, source)
    return [(p.line, p.code, p.message) for p in caught.value.problems]


def many_events(count: int) -> str:
    """A plan with ``count`` events on one group, without aliases (four value nodes an event)."""
    lines = ["version: 1", "property_groups:", "  g: {properties: {id: {type: String}}}"]
    lines += [
        "events:",
        *(f"  e{i}: {{groups: [g], description: event {i}}}" for i in range(count)),
    ]
    return "\n".join(lines) + "\n"


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`eventschema` as a process; nothing answers on the host, so a request would fail."""
    env = {
        **os.environ,
        "POSTHOG_HOST": "http://127.0.0.1:9",
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": "phx_not_used",
        "EVENTSCHEMA_MAX_RETRIES": "0",
    }
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- large plans -----------------------------------------------------------------------------


def test_a_large_plan_without_aliases_loads() -> None:
    """Far more nodes than aliases may add: the cap is on what aliases add, not on size."""
    plan = parse_plan(many_events(60_000))

    assert len(plan.events) == 60_000
    assert plan.events["e59999"].groups == ["g"]


def test_an_alias_bomb_is_refused_at_the_anchor_with_the_alias_hint() -> None:
    lines = ["version: 1", "x0: &a0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]

    with pytest.raises(PlanFileError) as caught:
        parse_plan("\n".join(lines) + "\n", "bomb.yaml")

    (problem,) = caught.value.problems
    assert (problem.code, problem.line) == ("too-large", 12)
    assert "aliases" in problem.message
    assert "aliases" in problem.hint


def test_a_document_that_contains_itself_is_refused() -> None:
    found = problems_of("version: 1\nevents: &loop {e: {groups: *loop}}\n")

    assert found[0][:2] == (2, "too-large")
    assert "refers to itself" in found[0][2]


def test_small_aliases_still_read() -> None:
    text = (
        "version: 1\nproperty_groups:\n"
        "  a: {properties: &props {id: {type: String}, n: {type: Numeric}}}\n"
        "  b: {properties: *props}\n"
    )

    plan = parse_plan(text)

    assert plan.property_groups["a"] == plan.property_groups["b"]


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(document.MAX_FILE_BYTES + 1)  # sparse: nothing to parse, only a size

    with pytest.raises(PlanFileError) as caught:
        load_plan(path)

    (problem,) = caught.value.problems
    assert problem.code == "too-large"
    assert f"{document.MAX_FILE_BYTES + 1} bytes" in problem.message


def test_a_file_that_reports_no_size_is_read_only_up_to_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = Path("/proc/self/environ")
    if not environ.is_file() or environ.stat().st_size != 0:
        pytest.skip("needs a /proc file that reports size 0")
    monkeypatch.setattr(document, "MAX_FILE_BYTES", 4)

    with pytest.raises(PlanFileError) as caught:
        load_plan(environ)

    assert caught.value.problems[0].code == "too-large"
    assert "more than 4 bytes" in caught.value.problems[0].message


# --- JSON ------------------------------------------------------------------------------------


def test_json_keys_over_1024_characters_are_names_too_long(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"version": 1, "events": {LONG: {}}}, indent=2))

    with pytest.raises(PlanFileError) as caught:
        load_plan(path)

    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.code) == (4, 5, "invalid-name")
    assert problem.message == "name too long (1500 > 1024 characters)"
    assert "invalid YAML" not in str(caught.value)


def test_json_text_is_read_as_json_without_a_json_name() -> None:
    text = json.dumps({"version": 1, "events": {LONG: {}}})

    assert problems_of(text, "<plan_yaml>") == [
        (1, "invalid-name", "name too long (1500 > 1024 characters)")
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"version: 1\nevents:\n  {LONG}: {{}}\n", 3),
        (f"version: 1\nevents: {{a: {{}}, '{LONG}': {{}}}}\n", 2),
        (f"version: 1\nevents:\n  ? {LONG}\n  : {{}}\n", 3),
    ],
    ids=["block key", "quoted flow key", "explicit key"],
)
def test_yaml_keys_over_1024_characters_are_names_too_long_too(text: str, line: int) -> None:
    assert problems_of(text) == [(line, "invalid-name", "name too long (1500 > 1024 characters)")]


def test_json_numbers_and_value_positions_are_json_ones(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "property_groups": {"g": {"properties": {"n": {"type": "Numeric", "rules": {"max": 1}}}}},
        "events": {"e": {"groups": ["g"], "enforcement": "block"}},
    }
    text = json.dumps(data, indent=2).replace('"max": 1', '"max": 1e3')
    lines = text.splitlines()
    row = next(index for index, line in enumerate(lines) if '"block"' in line)
    path = tmp_path / "plan.json"
    path.write_text(text)

    (problem,) = problems_of_file(path)
    path.write_text(text.replace('"block"', '"reject"'))

    assert (problem.code, problem.line, problem.column) == (
        "unknown-enforcement",
        row + 1,
        lines[row].index('"block"') + 1,
    )
    rules = load_plan(path).property_groups["g"].properties["n"].rules
    assert rules is not None
    assert rules.max == 1000


def test_json_syntax_errors_and_repeated_keys_are_positioned(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{\n  "version": 1,\n  "events": {"e": {}},\n}\n')
    (syntax,) = problems_of_file(path)
    path.write_text('{\n  "version": 1,\n  "events": {"e": {},\n    "e": {"groups": []}}\n}\n')
    (repeated,) = problems_of_file(path)

    assert (syntax.line, syntax.code) == (4, "syntax")
    assert syntax.message.startswith("not valid JSON: ")
    assert (repeated.line, repeated.column, repeated.code) == (4, 5, "duplicate-key")
    assert "first on line 3" in repeated.message


def problems_of_file(path: Path) -> list[document.Problem]:
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    return caught.value.problems


def test_a_json_plan_round_trips_through_lint_without_problems(tmp_path: Path) -> None:
    plan = parse_plan(many_events(3))
    path = tmp_path / "plan.json"
    path.write_text(dump_plan(plan, fmt="json"))

    assert lint_file(path) == []
    assert load_plan(path) == plan


def test_pull_merge_reads_through_the_same_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)

    with pytest.raises(PlanFileError) as caught:
        pull_merge(None, fifo)  # type: ignore[arg-type]  # refused before the client is used

    assert caught.value.problems[0].code == "not-a-file"


# --- paths that are not plan files, through the real command line ---------------------------


@needs_script
@pytest.mark.parametrize("path", ["/dev/zero", "FIFO", "DIR"])
@pytest.mark.parametrize(
    "command",
    [["lint"], ["plan", "--plan"], ["apply", "--yes", "--plan"], ["audit", "--plan"]],
    ids=["lint", "plan", "apply", "audit"],
)
def test_a_path_that_is_not_a_regular_file_is_refused_in_one_line(
    tmp_path: Path, path: str, command: list[str]
) -> None:
    if path == "FIFO":
        path = str(tmp_path / "plan.yaml")
        os.mkfifo(path)
    elif path == "DIR":
        path = str(tmp_path)

    result = run_cli(*command, path)

    assert result.returncode == 1, result.stderr
    output = result.stderr + result.stdout
    assert "[not-a-file]" in output
    assert "only regular files are read" in output
    assert "Traceback" not in output
    refusal = [line for line in output.splitlines() if "[not-a-file]" in line]
    assert len(refusal) == 1


@needs_script
def test_pull_merge_refuses_a_fifo_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)

    result = run_cli("pull", "--output", str(fifo), "--merge")

    assert result.returncode == 1
    assert "[not-a-file] a named pipe (FIFO) is not a plan file" in result.stderr
    assert "Traceback" not in result.stderr


@needs_script
def test_lint_names_a_long_json_key_too_long(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"version": 1, "events": {LONG: {}}}))

    result = run_cli("lint", str(path))

    assert result.returncode == 1
    assert f"{path}:1:" in result.stdout
    assert "name too long (1500 > 1024 characters)" in result.stdout
    assert "YAML" not in result.stdout


def test_the_plan_model_is_unchanged_by_the_json_reader() -> None:
    text = dump_plan(parse_plan(many_events(2)), fmt="json")

    assert parse_plan(text, "<plan_yaml>") == TrackingPlan.model_validate(json.loads(text))


# --- the other files a command reads: the same reader, other words ---------------------------


@needs_script
@pytest.mark.parametrize("path", ["/dev/zero", "FIFO"])
@pytest.mark.parametrize(
    ("command", "what"),
    [
        (["bind", "--file"], "pairs file"),
        (["unbind", "--yes", "--file"], "pairs file"),
        (["groups", "create", "--file"], "property group file"),
        (["audit", "--plan", "EXAMPLE", "--thresholds"], "thresholds file"),
    ],
    ids=["bind", "unbind", "groups-create", "audit-thresholds"],
)
def test_every_input_file_is_read_only_when_it_is_a_regular_file(
    tmp_path: Path, path: str, command: list[str], what: str
) -> None:
    """A FIFO is not waited on and /dev/zero is not read to exhaustion, by any command."""
    if path == "FIFO":
        path = str(tmp_path / "input.yaml")
        os.mkfifo(path)
    example = Path(__file__).parents[2] / "examples" / "tracking-plan.yaml"
    argv = [str(example) if part == "EXAMPLE" else part for part in command]

    result = run_cli(*argv, path, timeout=30)

    output = result.stderr + result.stdout
    assert result.returncode in (1, 2), output
    assert "Traceback" not in output
    [line] = [line for line in output.splitlines() if what in line]
    assert "only regular files are read" in line
