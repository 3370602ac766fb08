"""Running the installed console scripts as a reader does: a sandbox in another terminal, the
``POSTHOG_*`` variables exported, commands typed at a terminal."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE_PLAN = ROOT / "examples" / "tracking-plan.yaml"
BANNER_TIMEOUT = 60


def workdir(base: Path) -> Path:
    """A reader's working directory: the checkout's example plan and example DAGs."""
    work = base / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(
        ROOT / "airflow_plugin" / "example_dags",
        work / "airflow_plugin" / "example_dags",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return work


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without any ``POSTHOG_*``/``EVENTSCHEMA_*`` setting, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POSTHOG_", "EVENTSCHEMA_"))
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@contextmanager
def running_sandbox(argv: Sequence[str], cwd: Path) -> Iterator[str]:
    """Start an ``eventschema sandbox ...`` command line, wait for its banner, yield its URL."""
    process = subprocess.Popen(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=cwd,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first.startswith("PostHog-compatible sandbox serving on "):
            process.kill()
            _, stderr = process.communicate(timeout=BANNER_TIMEOUT)
            raise AssertionError(f"{' '.join(argv)} did not start: {first}{stderr}")
        yield first.rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        process.communicate(timeout=BANNER_TIMEOUT)


def run_at_terminal(
    argv: Sequence[str], env: dict[str, str], cwd: Path, answer: str = "y\n"
) -> subprocess.CompletedProcess[str]:
    """Run a console script with a terminal as standard input, ``answer`` typed in advance
    (what a confirmation prompt reads); output is captured."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        return subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
