"""Running the blocks of a Markdown file: bash one command at a time, Python as a script.

See ``test_docs_commands`` for what is run and how; this module holds the machinery, which
``test_docs_runner`` checks on its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from docs_blocks import ROOT, Block, Command, blocks_of

from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox

BIN = Path(sys.executable).parent
SANDBOX_PORT_IN_DOCS = 8010
BLOCK_TIMEOUT = 120
SERVER_START_TIMEOUT = 30


def doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Outcome:
    """What went wrong in one file's blocks."""

    failures: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def fail(self, where: str, message: str, output: str = "") -> None:
        tail = "\n".join(output.strip().splitlines()[-25:])
        self.failures.append(
            f"{where}: {message}" + ("\n    | " + tail.replace("\n", "\n    | ") if tail else "")
        )


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


def _environment(sandbox_url: str, home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POSTHOG_", "EVENTSCHEMA_", "AIRFLOW", "PYTEST", "COV_"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        POSTHOG_HOST=sandbox_url,
        POSTHOG_PERSONAL_API_KEY=DEMO_API_KEY,
        POSTHOG_PROJECT_ID="1",
        COLUMNS="160",
        AIRFLOW_HOME=str(home / "airflow-home"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


# --- bash ------------------------------------------------------------------------------------

_WAIT_FOR_PORT = """
__docs_wait() {  # port pid: wait until the port accepts connections, while the server lives
  for __n in $(seq 1 %(tries)d); do
    (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 97
    sleep 0.1
  done
  return 98
}
"""


def _server_port(command: Command) -> int | None:
    """The port a background command listens on, as the block writes it."""
    given = re.search(r"--port[ =](\d+)", command.text)
    if given:
        return int(given.group(1))
    words = command.words
    if command.program == "eventschema" and "sandbox" in words:
        return SANDBOX_PORT_IN_DOCS
    return None


def rewrite_ports(commands: list[Command], sandbox_port: int) -> tuple[list[str], list[int | None]]:
    """The commands with the documented ports replaced by free ones, and each server's port."""
    mapping: dict[int, int] = {}
    texts = [command.text for command in commands]
    for index, command in enumerate(commands):
        if not command.background:
            continue
        port = _server_port(command)
        if port is None:
            continue
        mapping.setdefault(port, _free_port())
        if "--port" not in command.text:
            texts[index] = command.text.replace(
                "eventschema sandbox", f"eventschema sandbox --port {mapping[port]}", 1
            )
    mapping.setdefault(SANDBOX_PORT_IN_DOCS, sandbox_port)
    rewritten = []
    for text in texts:
        for old, new in mapping.items():
            text = re.sub(rf"(?<![\d.]){old}(?!\d)", str(new), text)
        rewritten.append(text)
    ports = [
        mapping.get(port) if command.background and (port := _server_port(command)) else None
        for command in commands
    ]
    return rewritten, ports


def run_bash(
    block: Block, env: dict[str, str], cwd: Path, sandbox_port: int, outcome: Outcome
) -> None:
    commands = block.commands()
    if not commands:
        outcome.fail(block.where, "bash block without a command")
        return
    texts, ports = rewrite_ports(commands, sandbox_port)
    rc_file = cwd.parent / f"rc-{block.path.stem}-{block.line}"
    lines = [
        "exec 2>&1",
        f"exec 7>'{rc_file}'",
        "__bg=()",
        _WAIT_FOR_PORT % {"tries": SERVER_START_TIMEOUT * 10},
    ]
    for index, (command, text) in enumerate(zip(commands, texts, strict=True)):
        lines.append(f"printf '\\n@@docs-test {index}\\n'")
        lines.append(text)
        if command.background:
            lines.append("__bg+=($!)")
            if ports[index] is None:
                lines.append(f'echo "{index} 96" >&7')  # a background command that serves no port
            else:
                lines.append(f'__docs_wait {ports[index]} $!; echo "{index} $?" >&7')
        else:
            lines.append(f'echo "{index} $?" >&7')
    lines.append('for __p in "${__bg[@]}"; do kill "$__p" 2>/dev/null; done')
    lines.append("wait")
    script = cwd.parent / f"block-{block.path.stem}-{block.line}.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    process = subprocess.Popen(
        ["bash", str(script)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        outcome.fail(block.where, f"the block did not finish within {BLOCK_TIMEOUT}s", output)
        return
    finally:
        with contextlib.suppress(ProcessLookupError):  # what the block left running
            os.killpg(process.pid, signal.SIGKILL)
    pieces = _outputs(output)
    codes = {
        int(index): int(code)
        for index, code in (
            line.split() for line in rc_file.read_text().splitlines() if line.strip()
        )
    }
    for index, command in enumerate(commands):
        where = f"{doc_id(block.path)}:{command.line}"
        got = codes.get(index)
        shown = command.text.splitlines()[0]
        if got is None and (index == 0 or index - 1 in codes):
            outcome.fail(where, f"`{shown}` ended the block before its exit code was seen", output)
        elif got is None:
            outcome.fail(where, f"`{shown}` never ran (an earlier command ended the block)")
        elif command.background and got != 0:
            why = {96: "names no port to wait for", 97: "exited", 98: "never listened"}.get(
                got, got
            )
            outcome.fail(where, f"background server `{shown}` {why}", pieces.get(index, output))
        elif got != command.expected_exit:
            outcome.fail(
                where,
                f"`{shown}` exited {got}, the docs say {command.expected_exit}",
                pieces.get(index, ""),
            )


def _outputs(output: str) -> dict[int, str]:
    pieces: dict[int, str] = {}
    current: int | None = None
    for line in output.splitlines():
        marker = re.fullmatch(r"@@docs-test (\d+)", line)
        if marker:
            current = int(marker.group(1))
            pieces[current] = ""
        elif current is not None:
            pieces[current] += line + "\n"
    return pieces


# --- python ----------------------------------------------------------------------------------


def run_python(
    block: Block, env: dict[str, str], cwd: Path, sandbox_port: int, outcome: Outcome
) -> None:
    code = re.sub(rf"(?<![\d.]){SANDBOX_PORT_IN_DOCS}(?!\d)", str(sandbox_port), block.text)
    try:
        finished = subprocess.run(
            [sys.executable, "-"],
            input=code,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        outcome.fail(block.where, f"the Python block did not finish within {BLOCK_TIMEOUT}s")
        return
    if finished.returncode != 0:
        outcome.fail(
            block.where,
            f"the Python block exited {finished.returncode}",
            finished.stdout + finished.stderr,
        )


# --- a whole file ----------------------------------------------------------------------------


def run_doc(doc: Path, base: Path) -> Outcome:
    """Run every bash and Python block of one file against its own sandbox."""
    outcome = Outcome()
    work = workdir(base)
    # What `eventschema sandbox --seed demo` serves: the demo project, PostHog's rate limits.
    with run_sandbox(seed="demo") as sandbox:
        env = _environment(sandbox.url, base)
        port = int(sandbox.url.rsplit(":", 1)[1])
        for block in blocks_of(doc):
            started = time.monotonic()
            if block.lang == "bash" and block.directive is None:
                run_bash(block, env, work, port, outcome)
            elif block.lang == "python":
                run_python(block, env, work, port, outcome)
            else:
                continue
            outcome.timings.append((block.where, time.monotonic() - started))
    return outcome
