"""The fenced blocks of README.md and docs/*.md, and the shell commands inside them.

A block may carry one directive, an HTML comment on the line just above its opening fence:

- ``<!-- docs-test: covered-by PATH [PATH ...] -->``: the block's commands cannot run inside a
  test as written (``make test`` is the test suite itself, ``pip install`` builds a new
  environment); PATH names the test or CI script that runs them.
- ``<!-- docs-test: external PROGRAM covered-by PATH [PATH ...] -->``: every command is run by
  PROGRAM, a third-party program that is not installed here (an MCP client's own CLI); PATH
  names the test that runs the eventschema command the block registers with it.

Every other ``bash`` block is run for real.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

SHELL_LANGUAGES = frozenset({"sh", "shell", "console", "zsh", "shell-session", "bash"})

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?P<body>.*?)\s*-->$")
_EXPECTED_EXIT = re.compile(r"#\s*exit\s+(?P<code>\d+)\b")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HERE_DOCUMENT = re.compile(r"<<-?\s*(?P<quote>['\"]?)(?P<word>\w+)(?P=quote)")


def doc_files() -> list[Path]:
    """README.md and every guide under docs/, in a stable order."""
    return [README, *sorted(DOCS.glob("*.md"))]


@dataclass(frozen=True)
class Directive:
    """A ``<!-- docs-test: ... -->`` comment: how a block that is not run is exercised."""

    kind: str  # "covered-by" or "external"
    paths: tuple[str, ...]
    program: str | None = None

    @classmethod
    def parse(cls, body: str, where: str) -> Directive:
        words = body.split()
        if len(words) >= 2 and words[0] == "covered-by":
            return cls("covered-by", tuple(words[1:]))
        if len(words) >= 4 and words[0] == "external" and words[2] == "covered-by":
            return cls("external", tuple(words[3:]), program=words[1])
        raise ValueError(
            f"{where}: unknown docs-test directive {body!r}; use 'covered-by PATH...' or "
            "'external PROGRAM covered-by PATH...'"
        )


@dataclass(frozen=True)
class Command:
    """One shell command of a block (continuation lines joined)."""

    line: int  # line of the command's first line in its file (1-based)
    text: str
    expected_exit: int
    background: bool

    @property
    def program(self) -> str:
        """The program the command runs, after any ``NAME=value`` prefixes (basename)."""
        for word in _words(self.text):
            if not _ENV_ASSIGNMENT.match(word):
                return Path(word).name
        return ""

    @property
    def words(self) -> list[str]:
        """The command's words (shell quoting removed, comments dropped)."""
        return _words(self.text)


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown file."""

    path: Path
    line: int  # line of the opening fence (1-based)
    lang: str
    text: str
    directive: Directive | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[Command]:
        """The shell commands of a ``bash`` block, in order (a here-document stays with its
        command)."""
        commands: list[Command] = []
        pending: list[str] = []
        here_end: str | None = None
        start = 0
        for offset, raw in enumerate(self.text.splitlines(), start=self.line + 1):
            if here_end is not None:
                pending.append(raw)
                if raw.strip() == here_end:
                    here_end = None
                    commands.append(self._command(start, pending))
                    pending = []
                continue
            if not pending:
                if not raw.strip() or raw.lstrip().startswith("#"):
                    continue
                start = offset
            pending.append(raw)
            if raw.rstrip().endswith("\\"):
                continue
            here = _HERE_DOCUMENT.search(strip_comment(raw))
            if here:
                here_end = here.group("word")
                continue
            commands.append(self._command(start, pending))
            pending = []
        if pending:
            raise ValueError(f"{self.where}: the last command is unfinished")
        return commands

    @staticmethod
    def _command(start: int, lines: list[str]) -> Command:
        # The expected exit code and the trailing "&" are read from the line that ends the
        # command's own text (the first line of a here-document command).
        ends = next(
            (line for line in lines if _HERE_DOCUMENT.search(strip_comment(line))), lines[-1]
        )
        code = strip_comment(ends)
        expected = _EXPECTED_EXIT.search(ends[len(code) :])
        return Command(
            line=start,
            text="\n".join(lines),
            expected_exit=int(expected.group("code")) if expected else 0,
            background=code.rstrip().endswith("&") and not code.rstrip().endswith("&&"),
        )


def strip_comment(line: str) -> str:
    """``line`` without a trailing shell comment (a ``#`` outside quotes after a blank)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _words(text: str) -> list[str]:
    lines = [strip_comment(line) for line in text.replace("\\\n", " ").splitlines()]
    try:
        return shlex.split(" ".join(lines))
    except ValueError:
        return " ".join(lines).split()


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the directive just above it, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening.group("fence")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            body.append(lines[end])
            end += 1
        if end == len(lines):
            raise ValueError(f"{path.relative_to(ROOT)}:{index + 1}: unclosed code fence")
        above = index - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        match = _DIRECTIVE.match(lines[above].strip()) if above >= 0 else None
        where = f"{path.relative_to(ROOT)}:{index + 1}"
        blocks.append(
            Block(
                path=path,
                line=index + 1,
                lang=opening.group("lang").lower(),
                text="\n".join(body),
                directive=Directive.parse(match.group("body"), where) if match else None,
            )
        )
        index = end + 1
    return blocks


def directives_without_block(path: Path) -> list[int]:
    """Lines of ``docs-test`` comments that are not just above a code block (typos, leftovers)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    attached = {block.line for block in blocks_of(path)}
    orphans = []
    for number, line in enumerate(lines, start=1):
        if not _DIRECTIVE.match(line.strip()):
            continue
        following = number  # 0-based index of the next line
        while following < len(lines) and not lines[following].strip():
            following += 1
        if following + 1 not in attached:
            orphans.append(number)
    return orphans
