"""Without its optional extras, the installed package still works and says what to install.

The console scripts run as real processes whose import system cannot see the extras' modules
(``sitecustomize`` hides them from every finder, so ``import starlette`` fails and
``importlib.util.find_spec("starlette")`` returns None, exactly as when they are not installed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest
import typer
from packaging.requirements import Requirement

from eventschema_tools.cli.main import app
from eventschema_tools.errors import (
    EXTRA_MODULES,
    EventSchemaError,
    MissingExtraError,
    requires_extra,
)
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OPTIONAL = sorted({module for modules in EXTRA_MODULES.values() for module in modules})
SANDBOX_HINT = "pip install 'eventschema-tools[sandbox]'"
MCP_HINT = "pip install 'eventschema-tools[mcp]'"

_HIDE = textwrap.dedent(
    """
    import os
    import sys

    _HIDDEN = frozenset(os.environ["EVENTSCHEMA_TEST_HIDDEN"].split(","))


    class _Hiding:
        def __init__(self, inner):
            self._inner = inner

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in _HIDDEN:
                return None
            find = getattr(self._inner, "find_spec", None)
            return None if find is None else find(name, path, target)

        def __getattr__(self, attr):
            return getattr(self._inner, attr)


    sys.meta_path[:] = [_Hiding(finder) for finder in sys.meta_path]
    """
)


@pytest.fixture(scope="module")
def hider(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hide-extras")
    (folder / "sitecustomize.py").write_text(_HIDE)
    return folder


def run(
    hider: Path,
    *argv: str,
    hidden: Iterable[str] = OPTIONAL,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with ``hidden`` top-level modules made unimportable."""
    python_path = os.pathsep.join(filter(None, [str(hider), os.environ.get("PYTHONPATH")]))
    full_env = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": python_path,
        "EVENTSCHEMA_TEST_HIDDEN": ",".join(hidden),
        "COLUMNS": "200",
    }
    return subprocess.run(
        list(argv), env=full_env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def eventschema(hider: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run(hider, str(BIN / "eventschema"), *args, **kwargs)  # type: ignore[arg-type]


def assert_one_line_hint(result: subprocess.CompletedProcess[str], hint: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert hint in lines[0]


def test_the_hider_makes_the_extras_unimportable(hider: Path) -> None:
    probe = (
        "import importlib, importlib.util, sys\n"
        "assert importlib.util.find_spec('starlette') is None\n"
        "assert importlib.util.find_spec('httpx') is not None\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        assert exc.name == name, exc.name\n"
        "    else:\n"
        "        raise SystemExit(f'{name} was imported')\n"
        "print('hidden')\n"
    )

    result = run(hider, sys.executable, "-c", probe, *OPTIONAL)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hidden\n"


def test_importing_the_package_and_the_cli_loads_no_optional_module() -> None:
    probe = (
        "import sys\n"
        "import eventschema_tools, eventschema_tools.errors, eventschema_tools.cli.main\n"
        "import eventschema_tools.mcp_server, eventschema_tools.airflow_plugin.provider_info\n"
        "print(sorted({name.partition('.')[0] for name in sys.modules} & set(sys.argv[1:])))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe, *OPTIONAL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_help_works_without_any_extra(hider: Path) -> None:
    result = eventschema(hider, "--help")

    assert result.returncode == 0, result.stderr
    for command in ("schemas", "lint", "audit", "sandbox", "demo"):
        assert command in result.stdout


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    paths = []
    for name, command in root.commands.items():
        paths.append([name])
        if isinstance(command, typer.core.TyperGroup):
            paths.extend([name, sub] for sub in command.commands)
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_shows_its_help_without_any_extra(hider: Path, path: list[str]) -> None:
    result = eventschema(hider, *path, "--help")

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_sandbox_help_shows_the_demo_key_without_the_extra(hider: Path) -> None:
    result = eventschema(hider, "sandbox", "--help")

    assert result.returncode == 0, result.stderr
    assert "phx_sandbox_demo_key" in result.stdout


def test_help_names_the_sandbox_demo_key() -> None:
    from eventschema_tools.cli.sandbox import DEMO_API_KEY_SHOWN

    assert DEMO_API_KEY_SHOWN == DEMO_API_KEY


def test_lint_works_without_any_extra(hider: Path) -> None:
    result = eventschema(hider, "lint", "examples/tracking-plan.yaml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "examples/tracking-plan.yaml: ok" in result.stdout


def test_api_commands_work_without_any_extra(
    hider: Path, sandbox_server: RunningSandbox, tmp_path: Path
) -> None:
    env = {
        "POSTHOG_HOST": sandbox_server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
    }
    name = "packaging_without_extras"

    created = eventschema(hider, "groups", "create", name, "--property", "plan:String", env=env)
    listed = eventschema(hider, "groups", "list", "--json", env=env)
    planned = eventschema(
        hider, "plan", "-f", str(ROOT / "examples" / "tracking-plan.yaml"), env=env, cwd=tmp_path
    )

    assert created.returncode == 0, created.stderr
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout
    assert planned.returncode == 0, planned.stderr
    assert "Traceback" not in created.stderr + listed.stderr + planned.stderr


@pytest.mark.parametrize("command", ["sandbox", "demo"])
def test_sandbox_commands_without_the_extra_print_one_install_line(
    hider: Path, command: str
) -> None:
    result = eventschema(hider, command)

    assert_one_line_hint(result, SANDBOX_HINT)
    assert result.stdout == ""
    assert f"eventschema {command} needs the sandbox extra" in result.stderr


@pytest.mark.parametrize(
    ("command", "missing"),
    [("sandbox", "chdb"), ("sandbox", "hogql_parser"), ("demo", "posthog"), ("demo", "uvicorn")],
)
def test_any_missing_module_of_the_extra_is_named_before_work_starts(
    hider: Path, command: str, missing: str
) -> None:
    # chdb, the HogQL parser and the SDK are loaded late (first query, first event): the command
    # must not start a server or send events before finding out one of them is missing.
    result = eventschema(hider, command, "--port", "0", hidden=[missing])

    assert_one_line_hint(result, SANDBOX_HINT)
    assert f"({missing} is not installed)" in result.stderr
    assert result.stdout == ""


def test_bad_options_are_reported_before_the_missing_extra(hider: Path) -> None:
    result = eventschema(hider, "sandbox", "--port", "nope")

    assert result.returncode == 2
    assert "Invalid value for '--port'" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [[str(BIN / "eventschema-mcp")], [sys.executable, str(ROOT / "mcp_server.py")]],
    ids=["eventschema-mcp", "mcp_server.py"],
)
def test_mcp_server_without_the_extra_prints_one_install_line(hider: Path, argv: list[str]) -> None:
    result = run(hider, *argv)

    assert_one_line_hint(result, MCP_HINT)
    assert result.stderr.startswith("eventschema-mcp: the MCP server needs the mcp extra")


def test_missing_extra_error_is_one_of_ours_and_an_import_error() -> None:
    with pytest.raises(MissingExtraError) as raised, requires_extra("sandbox", "the feature"):
        raise ModuleNotFoundError("No module named 'starlette.types'", name="starlette.types")

    error = raised.value
    assert isinstance(error, EventSchemaError)
    assert isinstance(error, ImportError)
    assert (error.extra, error.module, error.install) == ("sandbox", "starlette", SANDBOX_HINT)
    assert str(error) == (
        "the feature needs the sandbox extra (starlette is not installed): " + SANDBOX_HINT
    )


def test_other_missing_modules_are_not_blamed_on_the_extra() -> None:
    with pytest.raises(ModuleNotFoundError) as raised, requires_extra("mcp", "the MCP server"):
        raise ModuleNotFoundError("No module named 'starlette'", name="starlette")

    assert not isinstance(raised.value, MissingExtraError)


def _top_level_modules(distribution: str, depth: int = 1) -> set[str]:
    """The top-level modules ``distribution`` ships, or (for a meta-package) its requirements'."""
    dist = metadata.distribution(distribution)
    tops = {PurePosixPath(str(file)).parts[0] for file in dist.files or ()}
    # "hogql_parser.cpython-311-x86_64-linux-gnu.so" is the module hogql_parser.
    modules = {
        top.split(".")[0] for top in tops if not top.endswith((".dist-info", ".data", "..", ".pth"))
    }
    if modules or depth == 0:
        return modules
    for requirement in dist.requires or ():
        if "extra ==" not in requirement:
            modules |= _top_level_modules(Requirement(requirement).name, depth - 1)
    return modules


def test_every_dependency_of_an_extra_has_a_module_in_the_hint_table() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]

    assert set(EXTRA_MODULES) == set(declared) - {"dev", "all"}
    for extra, requirements in EXTRA_MODULES.items():
        for requirement in declared[extra]:
            name = Requirement(requirement).name
            assert _top_level_modules(name) & set(requirements), (extra, name)
