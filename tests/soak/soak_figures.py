"""Counting what a soak run went through, and showing it at the end of the pytest run.

`RequestLog` reads the client's own log lines (``METHOD path -> status (attempt N, ...)``, one
per attempt) so retries and reconciliations are counted without touching the client's
internals. `FIGURES` collects report lines that ``conftest.py`` prints in the terminal summary,
so the figures show even when pytest captures output.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FIGURES: list[str] = []

_LINE = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>\S+) -> (?P<status>\S+) \(attempt (?P<attempt>\d+),"
)
_CLIENT_LOGGER = "eventschema_tools"


class RequestLog(logging.Handler):
    """Counts attempts, retries and ambiguous create failures from the client's log lines.

    Attributes:
        attempts: requests sent (every attempt of every call).
        retries: attempts after the first of a call.
        reconciliations: creates that failed without a trustworthy answer (5xx or no response);
            the client looks the object up before its next attempt.
        dropped: attempts that got no response at all (of which creates are a part).
    """

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lock_counts = threading.Lock()
        self.attempts = 0
        self.retries = 0
        self.reconciliations = 0
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        match = _LINE.match(record.getMessage())
        if match is None:
            return
        status = match["status"]
        answered = status.isdigit()
        ambiguous = not answered or int(status) >= 500
        is_create = match["method"] == "POST" and not match["path"].rstrip("/").endswith("/query")
        with self._lock_counts:
            self.attempts += 1
            self.retries += int(match["attempt"]) > 1
            self.dropped += not answered
            self.reconciliations += is_create and ambiguous


@contextmanager
def counting_requests() -> Iterator[RequestLog]:
    """Attach a `RequestLog` to the client's logger at DEBUG for the duration of the block.

    Propagation is switched off meanwhile, so tens of thousands of debug lines are counted
    rather than kept by pytest's log capture.
    """
    logger = logging.getLogger(_CLIENT_LOGGER)
    handler = RequestLog()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
