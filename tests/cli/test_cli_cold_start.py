"""What a command imports when it starts: only what it needs.

Each command runs in its own process, which writes down ``sys.modules`` as it ends (``python -X
importtime`` would miss the command modules, loaded with ``importlib``). The optional extras
(Airflow, chDB, the MCP SDK, Starlette) must stay out of the commands that do not use them, and
each command imports the module that defines it and no other command's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventschema_tools.cli.main import COMMANDS
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

EXTRAS = frozenset({"airflow", "chdb", "mcp", "starlette"})
COMMAND_MODULES = frozenset(entry.module for entry in COMMANDS)

_PROBE = """
import sys
from pathlib import Path

from eventschema_tools.cli.main import main

record = Path(sys.argv[1])
sys.argv = ["eventschema", *sys.argv[2:]]
try:
    main()
finally:
    record.write_text("\\n".join(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        yield running


def imported_modules(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded when ``eventschema ARGS`` ends, run in a process of its own."""
    record = tmp_path / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(record), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(record.read_text().splitlines())


def connection(server: RunningSandbox) -> dict[str, str]:
    """The variables that point a command at the demo project of ``server``."""
    return {
        "POSTHOG_HOST": server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
    }


def top_level(modules: set[str]) -> set[str]:
    return {module.partition(".")[0] for module in modules}


def test_help_imports_no_command_module_no_client_and_no_extra(tmp_path: Path) -> None:
    modules = imported_modules(tmp_path, "--help")

    assert not top_level(modules) & EXTRAS
    assert not modules & COMMAND_MODULES
    assert "eventschema_tools.client" not in modules


def test_schemas_list_imports_its_own_module_only_and_no_extra(
    demo_server: RunningSandbox, tmp_path: Path
) -> None:
    modules = imported_modules(tmp_path, "schemas", "list", env=connection(demo_server))

    assert not top_level(modules) & EXTRAS
    assert modules & COMMAND_MODULES == {"eventschema_tools.cli.crud"}
    # One request: the rate limiter is never needed, so it is never loaded.
    assert "pyrate_limiter" not in top_level(modules)


def test_a_listing_of_two_pages_loads_the_rate_limiter(
    demo_server: RunningSandbox, tmp_path: Path
) -> None:
    env = {**connection(demo_server), "EVENTSCHEMA_PAGE_SIZE": "2"}
    modules = imported_modules(tmp_path, "schemas", "list", env=env)

    assert "pyrate_limiter" in top_level(modules)
