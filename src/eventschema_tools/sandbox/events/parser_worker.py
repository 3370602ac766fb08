"""PostHog's HogQL parser in a worker process, so a slow parse cannot stall the caller.

The ``hogql-parser`` package holds Python's global interpreter lock while it parses, and its time
grows steeply with how deeply function calls nest: a query of a few hundred nested calls keeps it
busy for seconds, a pathological one (``not(not(not(...)))``, eight deep) for minutes. Parsed in
the sandbox's own process, such a query would freeze every request the sandbox is serving. Here
one worker process per Python process does the parsing; the caller waits at most
``timeout`` seconds, and a worker that overruns is killed and replaced on the next parse.

The parser also recurses once per level of a left-nested expression (``a::String::String...``,
``a[1][1]...``) on the C stack, so a query of some ten thousand such levels overflows the stack and
kills the process. The worker parses on a thread with a stack of its own fixed size
(``PARSER_STACK_BYTES``), so where that happens does not depend on the shell's ``ulimit -s``;
when the worker dies during a parse, the caller gets ``ParserCrashedError`` for that query (the
query's fault, not the server's) and the next parse starts a new worker.

Parsing a query depends on its text alone (placeholders stay placeholders in the tree; their
values are applied later), so the parser's answers are kept in a bounded least-recently-used
cache keyed by the text (``PARSE_CACHE_CHARS``): an audit that sends the same query again, with
other values, skips a parse that can take seconds. Only answers are cached, never a timeout or a
crash, and only for texts of ``PARSE_CACHE_MIN_CHARS`` or more (a short query parses in
milliseconds; caching it would only push out the long ones).

This file is also the worker's program: it is run by path, in isolated mode, and imports nothing
but the standard library and ``hogql_parser``.

The parser imports ``posthog.hogql.errors`` when it loads, a module of PostHog's server code base.
In this environment ``posthog`` is the official SDK, which has no ``hogql`` subpackage, so the
worker registers a minimal stand-in in ``sys.modules`` (nothing is added to or replaced in the SDK
package); a real ``posthog.hogql`` on the path is always preferred.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import queue
import struct
import subprocess
import sys
import threading
import types
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any, Final

__all__ = [
    "DEFAULT_PARSE_TIMEOUT",
    "PARSER_STACK_BYTES",
    "PARSE_CACHE_CHARS",
    "PARSE_CACHE_MIN_CHARS",
    "ParseTimeoutError",
    "ParserCrashedError",
    "ParserUnavailableError",
    "clear_parse_cache",
    "parse_select",
    "provide_parser_error_module",
]

DEFAULT_PARSE_TIMEOUT: Final = 30.0
"""Seconds a parse may take before it is abandoned."""
PARSER_STACK_BYTES: Final = 8 * 1024 * 1024
"""Stack of the worker's parsing thread (the usual default of a Linux main thread)."""

PARSE_CACHE_CHARS: Final = 32 * 1024 * 1024
"""Characters of query text and parser answers the parse cache keeps, at most."""
PARSE_CACHE_MIN_CHARS: Final = 512
"""Queries shorter than this are parsed every time."""

_FRAME_HEADER: Final = struct.Struct(">I")
_STARTUP_TIMEOUT: Final = 30.0


class ParseTimeoutError(Exception):
    """The parser did not finish in time; the worker was stopped."""


class ParserUnavailableError(Exception):
    """The parser worker could not be started or stopped answering."""


class ParserCrashedError(Exception):
    """The worker died while parsing this query (too large or too deeply nested for the parser)."""


def parse_select(query: str, *, timeout: float = DEFAULT_PARSE_TIMEOUT) -> str:
    """Parse a HogQL SELECT with ``hogql_parser.parse_select_json`` in the worker process.

    Args:
        query: The HogQL text.
        timeout: Seconds to wait for the parser.

    Returns:
        The parser's JSON text (a syntax error is a JSON object with ``"error": true``).

    Raises:
        ParseTimeoutError: The parse took longer than ``timeout``.
        ParserCrashedError: The worker died while parsing the query; the next parse starts a new
            one.
        ParserUnavailableError: The worker could not run.
        UnicodeEncodeError: The query is not valid Unicode (lone surrogates).
    """
    query.encode("utf-8")
    if len(query) < PARSE_CACHE_MIN_CHARS:
        return _WORKER.parse(query, timeout)
    cached = _CACHE.get(query)
    if cached is not None:
        return cached
    answer = _WORKER.parse(query, timeout)
    _CACHE.put(query, answer)
    return answer


def clear_parse_cache() -> None:
    """Forget every cached parse (the next parse of any text runs the parser)."""
    _CACHE.clear()


class _ParseCache:
    """The parser's answers by query text, least recently used first out, within a size."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._answers: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> str | None:
        with self._lock:
            answer = self._answers.get(query)
            if answer is not None:
                self._answers.move_to_end(query)
            return answer

    def put(self, query: str, answer: str) -> None:
        size = len(query) + len(answer)
        if size > self._max_chars:
            return
        with self._lock:
            if query in self._answers:
                return
            self._answers[query] = answer
            self._chars += size
            while self._chars > self._max_chars:
                oldest, dropped = self._answers.popitem(last=False)
                self._chars -= len(oldest) + len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._chars = 0


class _Worker:
    """One parser process, started on first use and replaced after a failure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: queue.Queue[dict[str, str] | None] = queue.Queue()

    def parse(self, query: str, timeout: float) -> str:
        with self._lock:
            process = self._running()
            try:
                _write_frame(process.stdin, {"query": query})
            except OSError:
                self._stop()
                raise ParserUnavailableError("the HogQL parser worker stopped") from None
            try:
                answer = self._answers.get(timeout=timeout)
            except queue.Empty:
                self._stop()
                raise ParseTimeoutError(
                    f"the HogQL parser did not finish within {timeout:g} seconds"
                ) from None
            if answer is None:
                status = self._stop()
                raise ParserCrashedError(
                    f"the HogQL parser worker stopped while parsing this query ({status})"
                )
            if "error" in answer:
                raise ParserUnavailableError(answer["error"])
            return answer["json"]

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        try:
            process = subprocess.Popen(  # noqa: S603 (our interpreter, our own file)
                [sys.executable, "-I", str(Path(__file__).resolve())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as error:
            raise ParserUnavailableError(f"cannot start the HogQL parser worker: {error}") from None
        self._answers = queue.Queue()
        threading.Thread(
            target=_read_answers,
            args=(process.stdout, self._answers),
            name="hogql-parser-answers",
            daemon=True,
        ).start()
        self._process = process
        try:
            ready = self._answers.get(timeout=_STARTUP_TIMEOUT)
        except queue.Empty:
            ready = None
        if ready is None or "ready" not in ready:
            detail = (ready or {}).get("error", "no answer")
            self._stop()
            raise ParserUnavailableError(f"the HogQL parser worker did not start: {detail}")
        return process

    def _stop(self) -> str:
        """Stop and reap the worker; says how it ended (e.g. ``killed by signal 11``)."""
        process, self._process = self._process, None
        if process is None:
            return "not running"
        if process.stdin is not None:
            # The pipe's other end may be gone with the worker.
            with contextlib.suppress(OSError):
                process.stdin.close()
        if process.poll() is None:
            process.kill()
        code = process.wait()
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def close(self) -> None:
        with self._lock:
            self._stop()


def _read_answers(stream: IO[bytes] | None, answers: queue.Queue[dict[str, str] | None]) -> None:
    while stream is not None:
        frame = _read_frame(stream)
        answers.put(frame)
        if frame is None:
            return


def _write_frame(stream: IO[bytes] | None, message: dict[str, str]) -> None:
    if stream is None:
        raise OSError("no pipe to the worker")
    payload = json.dumps(message).encode("utf-8")
    stream.write(_FRAME_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> dict[str, str] | None:
    header = stream.read(_FRAME_HEADER.size)
    if len(header) < _FRAME_HEADER.size:
        return None
    (size,) = _FRAME_HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    message: dict[str, str] = json.loads(payload)
    return message


# --- the worker's side ------------------------------------------------------------------------


def provide_parser_error_module() -> None:
    """Register the ``posthog.hogql.errors`` module the parser imports, when it is missing."""
    if "posthog.hogql.errors" in sys.modules:
        return
    sdk = importlib.util.find_spec("posthog")
    locations = sdk.submodule_search_locations if sdk is not None else None
    if locations and any((Path(location) / "hogql").is_dir() for location in locations):
        return
    package = sys.modules.get("posthog.hogql")
    if package is None:
        package = types.ModuleType("posthog.hogql", "Stand-in for the HogQL parser's imports.")
        package.__path__ = []
        sys.modules["posthog.hogql"] = package
    errors = types.ModuleType("posthog.hogql.errors", "Stand-in error classes for the parser.")
    base: Any = type("BaseHogQLError", (Exception,), {"__doc__": "Base of the parser's errors."})
    errors.BaseHogQLError = base  # type: ignore[attr-defined]
    for name in ("ExposedHogQLError", "SyntaxError", "NotImplementedError", "ParsingError"):
        setattr(errors, name, type(name, (base,), {}))
    sys.modules["posthog.hogql.errors"] = errors


def _main() -> None:
    threading.stack_size(PARSER_STACK_BYTES)
    parser = threading.Thread(target=_serve, name="hogql-parser")
    parser.start()
    parser.join()


def _serve() -> None:
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    try:
        provide_parser_error_module()
        import hogql_parser

        hogql_parser.parse_select_json("SELECT 1")
    except Exception as error:  # the caller reports why the worker could not start
        _write_frame(answers, {"error": f"{type(error).__name__}: {error}"})
        return
    _write_frame(answers, {"ready": "1"})
    while (request := _read_frame(requests)) is not None:
        try:
            _write_frame(answers, {"json": hogql_parser.parse_select_json(request["query"])})
        except Exception as error:  # an unexpected parser failure is reported, not fatal
            _write_frame(answers, {"error": f"{type(error).__name__}: {error}"})


_WORKER: Final = _Worker()
_CACHE: Final = _ParseCache(PARSE_CACHE_CHARS)
atexit.register(_WORKER.close)

if __name__ == "__main__":
    _main()
