"""Check the package as users get it: built through the sdist, installed from the wheel.

Run by ``make package-check`` (and so by ``.ci/run``) with the project's ``.venv`` Python:

1. no symbolic link anywhere in the checkout;
2. ``uv build`` makes the sdist, then the wheel from that sdist, in a temporary directory;
3. the sdist holds what the wheel build needs, and nothing from caches or virtualenvs;
4. the wheel holds every module, the Airflow adapter and its example DAGs, the MCP server, the
   example plan, the JSON schema and ``py.typed``, no link, and entry points that resolve;
5. in a fresh virtualenv with no extras, from a directory outside the checkout, ``eventschema
   --help`` and ``eventschema lint`` work, and ``eventschema sandbox``/``demo``,
   ``eventschema-mcp`` and the Airflow adapter each say in one line which extra to install;
6. in a fresh virtualenv with ``[all]``, ``eventschema demo`` runs from outside the checkout
   with the example plan shipped inside the package, and the Airflow entry points load.

Installs are pinned by ``constraints.txt`` and served from uv's cache when it is warm. Build
output and virtualenvs live in a temporary directory that is removed at the end; the checkout is
left as it was. Any failure prints what was checked and exits 1.
"""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
PACKAGE = "eventschema_tools"
DISTRIBUTION = "eventschema-tools"

# Paths inside the wheel that every installation must have.
WHEEL_REQUIRED = (
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/py.typed",
    f"{PACKAGE}/airflow_plugin/hooks.py",
    f"{PACKAGE}/airflow_plugin/operators.py",
    f"{PACKAGE}/airflow_plugin/sensors.py",
    f"{PACKAGE}/airflow_plugin/plugin.py",
    f"{PACKAGE}/airflow_plugin/provider_info.py",
    f"{PACKAGE}/mcp_server/server.py",
    f"{PACKAGE}/mcp_server/__main__.py",
    f"{PACKAGE}/examples/tracking-plan.yaml",
    f"{PACKAGE}/tracking_plan/tracking-plan.schema.json",
)
# Where the wheel carries each folder of the sdist (pyproject.toml's packages and force-include).
WHEEL_MAPPING = {
    "src/eventschema_tools/": f"{PACKAGE}/",
    "examples/": f"{PACKAGE}/examples/",
    "airflow_plugin/example_dags/": f"{PACKAGE}/airflow_plugin/example_dags/",
}
SDIST_REQUIRED = (
    "pyproject.toml",
    "README.md",
    "constraints.txt",
    "src/eventschema_tools/__init__.py",
    "src/eventschema_tools/_version.py",
    "examples/tracking-plan.yaml",
)
# Names that must never be packaged: caches, virtualenvs, build output, VCS data.
JUNK = {
    ".venv",
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".sandbox-data",
    "airflow-home",
    "dist",
    "build",
}
SANDBOX_HINT = "pip install 'eventschema-tools[sandbox]'"
MCP_HINT = "pip install 'eventschema-tools[mcp]'"
AIRFLOW_HINT = "pip install 'eventschema-tools[airflow]'"
OPTIONAL_MODULES = ("starlette", "uvicorn", "chdb", "hogql_parser", "posthog", "mcp", "airflow")


class CheckFailed(Exception):
    """One check failed; the message says what was expected and what was found."""


def main() -> int:
    started = time.monotonic()
    uv = _find_uv()
    before = _build_output_in_checkout()
    with tempfile.TemporaryDirectory(prefix="eventschema-package-") as scratch:
        work = Path(scratch)
        try:
            _step("no symbolic link in the checkout", _check_no_links_in_checkout)
            sdist, wheel = _step("build the sdist, then the wheel from it", _build, uv, work)
            sdist_files = _step(f"sdist contents ({sdist.name})", _check_sdist, sdist)
            _step(f"wheel contents ({wheel.name})", _check_wheel, wheel, sdist_files)
            outside = work / "outside"
            outside.mkdir()
            env = _clean_env(work)
            bare = _step("install the wheel with no extras", _venv, uv, work / "bare", wheel, "")
            _step("no extras: --help and lint work", _check_core, bare, outside, env)
            _step("no extras: one-line install hints", _check_hints, bare, outside, env)
            full = _step("install the wheel with [all]", _venv, uv, work / "all", wheel, "all")
            _step("[all]: the Airflow entry points load", _check_entry_points, full, outside, env)
            _step("[all]: the example DAGs and plan are found", _check_examples, full, outside, env)
            _step("[all]: eventschema demo outside the checkout", _check_demo, full, outside, env)
            _step("the checkout holds no build output", _check_checkout_clean, before)
        except CheckFailed as failure:
            print(f"\ncheck-package: FAILED: {failure}", file=sys.stderr)
            return 1
    print(f"check-package: all checks passed in {time.monotonic() - started:.0f}s")
    return 0


def _step(title: str, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    print(f"check-package: {title} ...", flush=True)
    started = time.monotonic()
    result = check(*args, **kwargs)
    print(f"check-package:   ok ({time.monotonic() - started:.1f}s)", flush=True)
    return result


# --- the checkout ------------------------------------------------------------------------------


def _check_no_links_in_checkout() -> None:
    links = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        if here == ROOT:
            dirs[:] = [name for name in dirs if name not in {".venv", ".git"}]
        links += [here / name for name in (*dirs, *files) if (here / name).is_symlink()]
    if links:
        raise CheckFailed(f"symbolic links in the checkout: {_listed(links)}")


def _build_output_in_checkout() -> set[Path]:
    found = {ROOT / name for name in ("dist", "build") if (ROOT / name).exists()}
    return found | set(ROOT.glob("*.egg-info")) | set(ROOT.glob("src/*.egg-info"))


def _check_checkout_clean(before: set[Path]) -> None:
    left = _build_output_in_checkout() - before
    if left:
        raise CheckFailed(f"the build left files in the checkout: {_listed(left)}")


# --- building ----------------------------------------------------------------------------------


def _find_uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise SystemExit("check-package: uv is needed (make install puts it in .venv/bin)")
    return found


def _build(uv: str, work: Path) -> tuple[Path, Path]:
    out = work / "dist"
    # Without --sdist/--wheel, uv builds the sdist and then the wheel from the unpacked sdist, as
    # pip does for `pip install <sdist>`: anything the sdist lacks is missing from the wheel.
    _run(
        [uv, "build", "--quiet", "--build-constraint", str(CONSTRAINTS), "--out-dir", str(out)],
        cwd=ROOT,
    )
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        found = _listed(path.name for path in out.iterdir())
        raise CheckFailed(f"expected one sdist and one wheel in {out}, found {found}")
    return sdists[0], wheels[0]


def _check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        members = archive.getmembers()
    top = sdist.name.removesuffix(".tar.gz") + "/"
    links = [member.name for member in members if member.issym() or member.islnk()]
    if links:
        raise CheckFailed(f"the sdist holds links: {_listed(links)}")
    outside = [member.name for member in members if not member.name.startswith(top)]
    if outside:
        raise CheckFailed(f"sdist entries outside {top}: {_listed(outside)}")
    files = sorted(member.name.removeprefix(top) for member in members if member.isfile())
    _require(files, SDIST_REQUIRED, "the sdist")
    if not any(PurePosixPath(name).match("airflow_plugin/example_dags/*.py") for name in files):
        raise CheckFailed("the sdist has no airflow_plugin/example_dags/*.py")
    _refuse_junk(files, "the sdist")
    print(f"check-package:   {len(files)} files, the build inputs present, no links, no caches")
    return files


def _check_wheel(wheel: Path, sdist_files: Sequence[str]) -> None:
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        dist_info = _dist_info(names)
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
        sources = {name: archive.read(name) for name in names if name.endswith(".py")}
    links = [info.filename for info in infos if stat.S_ISLNK(info.external_attr >> 16)]
    if links:
        raise CheckFailed(f"the wheel holds symbolic links: {_listed(links)}")
    _require(names, WHEEL_REQUIRED, "the wheel")
    dags = [name for name in names if name.startswith(f"{PACKAGE}/airflow_plugin/example_dags/")]
    if not any(name.endswith(".py") and not name.endswith("__init__.py") for name in dags):
        raise CheckFailed("the wheel has no example DAG under airflow_plugin/example_dags/")
    expected = [
        target + name.removeprefix(source)
        for name in sdist_files
        for source, target in WHEEL_MAPPING.items()
        if name.startswith(source)
    ]
    _require(names, expected, "the wheel (files of the sdist it was built from)")
    stray = [n for n in names if not n.startswith((f"{PACKAGE}/", f"{dist_info}/"))]
    if stray:
        raise CheckFailed(f"the wheel holds files outside {PACKAGE}/: {_listed(stray)}")
    _refuse_junk(names, "the wheel")
    resolved = _check_entry_points_in(entry_points, sources)
    print(f"check-package:   {len(names)} files, no links; entry points: {', '.join(resolved)}")


def _check_entry_points_in(text: str, sources: dict[str, bytes]) -> list[str]:
    """Each ``name = module:attr`` names a module in the wheel that defines ``attr``."""
    resolved = []
    for line in text.splitlines():
        if "=" not in line or line.lstrip().startswith(("[", "#")):
            continue
        name, _, target = (part.strip() for part in line.partition("="))
        module, _, attr = target.partition(":")
        path = module.replace(".", "/")
        source = sources.get(f"{path}.py") or sources.get(f"{path}/__init__.py")
        if source is None:
            raise CheckFailed(f"entry point {name} = {target}: no module {module} in the wheel")
        attribute = attr.split(".")[0].strip()
        if attribute and attribute not in _top_level_names(source):
            raise CheckFailed(f"entry point {name} = {target}: {module} defines no {attribute}")
        resolved.append(f"{name} → {target}")
    if not resolved:
        raise CheckFailed("the wheel declares no entry points")
    return resolved


def _top_level_names(source: bytes) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def _dist_info(names: Iterable[str]) -> str:
    folders = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
    if len(folders) != 1:
        raise CheckFailed(f"expected one .dist-info folder in the wheel, found {sorted(folders)}")
    return folders.pop()


def _require(names: Sequence[str], required: Iterable[str], where: str) -> None:
    present = set(names)
    missing = [name for name in required if name not in present]
    if missing:
        raise CheckFailed(f"{where} lacks {_listed(missing)}")


def _refuse_junk(names: Iterable[str], where: str) -> None:
    junk = [
        name
        for name in names
        if JUNK & set(PurePosixPath(name).parts) or name.endswith((".pyc", ".pyo"))
    ]
    if junk:
        raise CheckFailed(f"{where} holds caches or build output: {_listed(junk)}")


# --- installing and running --------------------------------------------------------------------


def _venv(uv: str, folder: Path, wheel: Path, extras: str) -> Path:
    """A fresh virtualenv with ``wheel`` (and its ``extras``) installed; returns its bin folder."""
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], cwd=folder.parent)
    requirement = f"{DISTRIBUTION}[{extras}] @ {wheel.as_uri()}" if extras else str(wheel)
    python = folder / "bin" / "python"
    install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    _run([*install, "-c", str(CONSTRAINTS), requirement], cwd=folder.parent)
    return folder / "bin"


def _check_core(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    probe = (
        "import importlib.util, sys\n"
        "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is not None))\n"
    )
    present = _run([str(bin_dir / "python"), "-c", probe, *OPTIONAL_MODULES], outside, env)
    if present.stdout.strip():
        raise CheckFailed(f"the no-extras venv has optional modules: {present.stdout.strip()}")
    helped = _run([str(bin_dir / "eventschema"), "--help"], outside, env)
    for command in ("lint", "audit", "schemas", "sandbox", "demo"):
        if command not in helped.stdout:
            raise CheckFailed(f"eventschema --help does not list {command!r}:\n{helped.stdout}")
    _run([str(bin_dir / "eventschema"), "sandbox", "--help"], outside, env)
    plan = ROOT / "examples" / "tracking-plan.yaml"
    linted = _run([str(bin_dir / "eventschema"), "lint", "--plan", str(plan)], outside, env)
    if f"{plan}: ok" not in linted.stdout:
        raise CheckFailed(f"eventschema lint {plan} did not say ok:\n{linted.stdout}")
    provider = (
        "from eventschema_tools.airflow_plugin.provider_info import get_provider_info\n"
        "print(get_provider_info()['package-name'])\n"
    )
    _run([str(bin_dir / "python"), "-c", provider], outside, env)
    print("check-package:   --help, sandbox --help, lint and the Airflow provider info work")


def _check_hints(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    airflow = "import eventschema_tools.airflow_plugin.operators"
    cases = [
        ([str(bin_dir / "eventschema"), "sandbox"], SANDBOX_HINT, True),
        ([str(bin_dir / "eventschema"), "demo"], SANDBOX_HINT, True),
        ([str(bin_dir / "eventschema-mcp")], MCP_HINT, True),
        # A Python import, not a command: the hint is in the ImportError's message.
        ([str(bin_dir / "python"), "-c", airflow], AIRFLOW_HINT, False),
    ]
    for argv, hint, one_line in cases:
        result = _run(argv, outside, env, expect=1)
        lines = result.stderr.strip().splitlines()
        shown = " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))
        if hint not in result.stderr:
            raise CheckFailed(f"{shown}: no {hint!r} in stderr:\n{result.stderr}")
        if one_line and (len(lines) != 1 or "Traceback" in result.stderr):
            raise CheckFailed(f"{shown}: expected one stderr line, got:\n{result.stderr}")
        print(f"check-package:   {shown}: exit 1, {lines[-1].strip()}")


def _check_entry_points(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    probe = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "for group in ('apache_airflow_provider', 'airflow.plugins', 'console_scripts'):\n"
        "    for ep in entry_points(group=group):\n"
        "        ours = ep.dist is not None and ep.dist.name.replace('_', '-') == sys.argv[1]\n"
        "        if ours:\n"
        "            print(group, ep.name, ep.load().__name__)\n"
    )
    argv = [str(bin_dir / "python"), "-c", probe, DISTRIBUTION]
    loaded = _run(argv, outside, env, timeout=300)
    found = loaded.stdout.strip().splitlines()
    for group in ("apache_airflow_provider", "airflow.plugins", "console_scripts"):
        if not any(line.startswith(f"{group} ") for line in found):
            raise CheckFailed(f"no {group} entry point of {DISTRIBUTION} loaded:\n{loaded.stdout}")
    print(f"check-package:   loaded {len(found)} entry points")


def _check_examples(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    """What docs/airflow.md points AIRFLOW__CORE__DAGS_FOLDER at: the package's copies."""
    for what, inside in (
        ("dags", "airflow_plugin/example_dags"),
        ("plan", "examples/tracking-plan.yaml"),
    ):
        argv = [str(bin_dir / "python"), "-m", f"{PACKAGE}.airflow_plugin.examples", what]
        shown = _run(argv, outside, env).stdout.strip()
        if not shown.endswith(f"site-packages/{PACKAGE}/{inside}"):
            raise CheckFailed(f"examples {what} printed {shown!r}, not the package's copy")
        print(f"check-package:   examples {what}: {shown}")


def _check_demo(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    result = _run([str(bin_dir / "eventschema"), "demo"], outside, env, timeout=600)
    shipped = f"site-packages/{PACKAGE}/examples/tracking-plan.yaml"
    for text in ("Sending 3000 events", shipped, "Auditing", "HogQL queries", "Try next"):
        if text not in result.stdout:
            raise CheckFailed(f"eventschema demo printed no {text!r}:\n{result.stdout}")
    if "Traceback" in result.stdout + result.stderr:
        raise CheckFailed(f"eventschema demo printed a traceback:\n{result.stderr}")
    for line in result.stdout.splitlines():
        if line.startswith(("→ Applying", "The audit ")):
            print(f"check-package:   {line.strip()}")


def _clean_env(work: Path) -> dict[str, str]:
    """The caller's environment without anything that would reach the checkout or a PostHog."""
    dropped = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "CONDA_PREFIX"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith(("POSTHOG_", "AIRFLOW"))
    }
    env["AIRFLOW_HOME"] = str(work / "airflow-home")  # Airflow writes its config there on import
    env["COLUMNS"] = "200"
    return env


def _run(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    expect: int = 0,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(  # noqa: S603 - argv is built by this script
            list(argv),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"{' '.join(argv)} did not finish in {timeout:.0f}s") from exc
    if result.returncode != expect:
        raise CheckFailed(
            f"{' '.join(argv)} (in {cwd}) exited {result.returncode}, expected {expect}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def _listed(items: Iterable[object], limit: int = 10) -> str:
    shown = [str(item) for item in items]
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


if __name__ == "__main__":
    sys.exit(main())
