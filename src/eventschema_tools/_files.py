"""Reading the small text files users name on the command line, without trusting the path.

A path can name a FIFO (opening it waits for a writer forever), a device such as ``/dev/zero``
(reading it never ends) or a file far larger than any plan, thresholds or pairs file. Every
input file is read here: opened without blocking, checked to be a regular file on the open
descriptor (so the file checked is the file read), and read up to a cap. Small YAML settings
files (thresholds, alert routes) are read into their models here too, and the files the tools
write for users (plans) are written here, in one step.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from eventschema_tools.errors import InvalidInputError

__all__ = [
    "MAX_INPUT_BYTES",
    "RefusedFile",
    "read_capped",
    "read_input_text",
    "read_settings_file",
    "write_atomically",
]

MAX_INPUT_BYTES: Final = 10 * 1024 * 1024

_FILE_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


Settings = TypeVar("Settings", bound=BaseModel)


class RefusedFile(Exception):
    """A file that was not read: ``reason`` is ``unreadable``, ``not-a-file`` or ``too-large``.

    Attributes:
        reason: the kind of refusal, for callers that word it their own way.
        detail: what was found: the OS error, the kind of file, or its size.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def read_capped(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, when there are at most ``limit`` of them.

    Raises:
        RefusedFile: the file cannot be opened or read, is not a regular file, or is larger
            than ``limit`` (its size says so, or more than ``limit`` bytes could be read).
    """
    try:
        # Non-blocking, so that opening a FIFO does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise RefusedFile("unreadable", str(exc.strerror or exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), None)
            raise RefusedFile("not-a-file", kind or "not a regular file")
        if info.st_size > limit:
            raise RefusedFile("too-large", f"{info.st_size} bytes")
        # One byte over the cap tells a file that grew (or a /proc file that reports no size)
        # from one that fits, without reading the rest.
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise RefusedFile("unreadable", str(exc.strerror or exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise RefusedFile("too-large", f"more than {limit} bytes")
    return data


def read_input_text(path: str | Path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of an input file (``what`` names it in errors: ``thresholds file``).

    Raises:
        InvalidInputError: one sentence naming the file and why it was not read.
    """
    source = str(path)
    try:
        data = read_capped(path, limit)
    except RefusedFile as refused:
        message = {
            "unreadable": f"cannot read {what} {source}: {refused.detail}",
            "not-a-file": f"{what} {source} is {refused.detail}: only regular files are read",
            "too-large": f"{what} {source} is {refused.detail}; the limit is {limit} bytes",
        }[refused.reason]
        raise InvalidInputError(message, [(what, refused.reason)]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{what} {source} is not UTF-8 text ({exc.reason})", [(what, "encoding")]
        ) from None


def read_settings_file(
    path: str | Path, model: type[Settings], *, what: str, field: str, hint: str = ""
) -> Settings:
    """Read a small YAML (or JSON) settings file into ``model`` (an empty file is ``{}``).

    Args:
        path: The file.
        model: The settings' model.
        what: What the file is, for messages (``thresholds file``).
        field: The problem field named when the whole file is wrong (``thresholds``).
        hint: Added to the message of an invalid file (the choices, say).

    Raises:
        InvalidInputError: unreadable, not YAML, or invalid; the message names each problem.
    """
    import yaml  # only settings files are YAML here; the other readers start without it

    source = str(path)
    text = read_input_text(path, what)
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"{what} {source} is not valid YAML: {exc}", [(field, "not YAML")]
        ) from None
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        problems = [
            (".".join(str(part) for part in error["loc"]) or field, error["msg"])
            for error in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{where}: {message}" for where, message in problems)
        raise InvalidInputError(
            f"invalid {what} {source}: {summary}{f' ({hint})' if hint else ''}", problems
        ) from None


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step (UTF-8): a reader sees the old file or the new,
    never a part, and a failure (or Ctrl+C) leaves no file behind."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        # The error names the temporary file; the reader knows only the file they asked for.
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_at_most(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
