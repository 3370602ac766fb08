"""The docs runner itself: it must fail on what the docs get wrong, or it proves nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from docs_blocks import README, Block, Directive
from docs_runner import Outcome, rewrite_ports, run_bash


def _block(text: str, lang: str = "bash") -> Block:
    return Block(path=README, line=10, lang=lang, text=text, directive=None)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def _run(text: str, work: Path) -> Outcome:
    outcome = Outcome()
    run_bash(_block(text), dict(os.environ), work, 8010, outcome)
    return outcome


def test_commands_are_split_with_their_continuations_and_expected_codes() -> None:
    commands = _block(
        "# a comment line\n"
        "eventschema plan \\\n"
        "  -f plan.yaml   # what would change\n"
        "eventschema audit --plan plan.yaml   # exit 4: findings\n"
        "cat > t.yaml <<'EOF'\n"
        "default: {}   # exit 9 is YAML here, not an expectation\n"
        "EOF\n"
        "eventschema sandbox --seed demo &   # in the background\n"
    ).commands()
    assert [c.line for c in commands] == [12, 14, 15, 18]
    assert [c.expected_exit for c in commands] == [0, 4, 0, 0]
    assert [c.background for c in commands] == [False, False, False, True]
    assert commands[0].words == ["eventschema", "plan", "-f", "plan.yaml"]
    assert commands[2].text.endswith("EOF")
    assert commands[3].program == "eventschema"


def test_an_exit_code_the_docs_do_not_state_is_a_failure(work: Path) -> None:
    outcome = _run("true\nfalse\nsh -c 'exit 4'   # exit 4\nsh -c 'exit 3'   # exit 4\n", work)
    assert len(outcome.failures) == 2
    assert "`false` exited 1, the docs say 0" in outcome.failures[0]
    assert "exited 3, the docs say 4" in outcome.failures[1]


def test_a_command_that_never_runs_is_a_failure(work: Path) -> None:
    outcome = _run("true\nexit 0\necho unreachable\n", work)
    assert len(outcome.failures) == 2
    assert "`exit 0` ended the block" in outcome.failures[0]
    assert "`echo unreachable` never ran" in outcome.failures[1]


def test_a_background_server_that_dies_or_serves_no_port_is_a_failure(work: Path) -> None:
    outcome = _run("sleep 0.2 --port 8765 &\nsleep 30 &\n", work)
    assert len(outcome.failures) == 2
    assert "exited" in outcome.failures[0]
    assert "names no port" in outcome.failures[1]


def test_documented_ports_become_free_ones_and_the_sandbox_gets_one() -> None:
    commands = _block(
        "eventschema sandbox --seed demo &\n"
        "curl http://127.0.0.1:8010/api/\n"
        "eventschema-mcp --transport streamable-http --port 8765 &\n"
        "curl http://127.0.0.1:8765/mcp\n"
    ).commands()
    texts, ports = rewrite_ports(commands, sandbox_port=45678)
    sandbox_port, mcp_port = ports[0], ports[2]
    assert sandbox_port is not None
    assert mcp_port is not None
    assert sandbox_port not in {8010, 45678}
    assert mcp_port != 8765
    assert texts[0] == f"eventschema sandbox --port {sandbox_port} --seed demo &"
    assert texts[1] == f"curl http://127.0.0.1:{sandbox_port}/api/"
    assert texts[3] == f"curl http://127.0.0.1:{mcp_port}/mcp"
    plain = _block("curl http://127.0.0.1:8010/api/\n").commands()
    assert rewrite_ports(plain, sandbox_port=45678)[0] == ["curl http://127.0.0.1:45678/api/"]


def test_directives_are_parsed_or_refused() -> None:
    assert Directive.parse("covered-by a.py b.py", "x") == Directive("covered-by", ("a.py", "b.py"))
    assert Directive.parse("external claude covered-by t.py", "x") == Directive(
        "external", ("t.py",), program="claude"
    )
    with pytest.raises(ValueError, match="unknown docs-test directive"):
        Directive.parse("skip", "x")
