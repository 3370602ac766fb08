"""The canary keys and `LeakWatch`, which looks for them everywhere a secret could surface.

The canaries are recognisable personal API keys configured in the sandbox, so they do real
work; a leak of any part of them past the first few characters contains ``SECRETCANARY``.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import BaseModel

CANARY = "phx_SECRETCANARY_full_5f1c0e9ab27d4c3e8f60"
CANARY_READ_ONLY = "phx_SECRETCANARY_read_a94d2b7e61c08f35d1e2"
MARK = "SECRETCANARY"

# Loggers that switch propagation off (or may) get the capture handler attached directly.
_NAMED_LOGGERS = (
    "eventschema_tools",
    "httpx",
    "httpcore",
    "posthog",
    "mcp",
    "uvicorn",
    "uvicorn.error",
    "airflow",
    "airflow.task",
    "airflow.processor",
)
# Airflow's metadata-DB statements at DEBUG are thousands of lines a run; the values they carry
# (XComs) are scanned directly instead.
_QUIET_LOGGERS = ("sqlalchemy",)


def text_of(value: Any) -> str:
    """Everything a value could show: str, repr, JSON of models, and an exception's details."""
    if isinstance(value, BaseException):
        parts = [str(value), repr(value), repr(vars(value))]
        parts += traceback.format_exception(value)
        return "\n".join(parts)
    if isinstance(value, BaseModel):
        return value.model_dump_json() + repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=repr) + repr(value)
    except (TypeError, ValueError):
        return repr(value)


class LeakWatch:
    """Collects texts to scan: values added by the test, log records and captured output."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]):
        self._caplog = caplog
        self._capfd = capfd
        self._texts: list[tuple[str, str]] = []
        self._streams: list[str] = []
        self.records = 0

    @classmethod
    @contextmanager
    def attached(
        cls, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
    ) -> Iterator[LeakWatch]:
        """Capture every logger at DEBUG for the duration of the block."""
        caplog.set_level(logging.DEBUG)
        loggers = [logging.getLogger(name) for name in _NAMED_LOGGERS]
        quiet = [logging.getLogger(name) for name in _QUIET_LOGGERS]
        saved = [(logger, logger.level) for logger in loggers + quiet]
        for logger in loggers:
            logger.setLevel(logging.DEBUG)
            logger.addHandler(caplog.handler)
        for logger in quiet:
            logger.setLevel(logging.WARNING)
        try:
            yield cls(caplog, capfd)
        finally:
            for logger, level in saved:
                logger.removeHandler(caplog.handler)
                logger.setLevel(level)

    def add(self, where: str, value: Any) -> None:
        """Scan `value` (a string, bytes, model, exception or JSON-like data) too."""
        self._texts.append((where, text_of(value)))

    def hits(self) -> list[str]:
        """Where the canary showed up: in added values, log records or output."""
        captured = self._capfd.readouterr()
        self._streams += [captured.out, captured.err]
        found = [where for where, text in self._texts if MARK in text]
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        # A record reaches the capture handler twice when its logger also propagates to root.
        records = list({id(record): record for record in self._caplog.records}.values())
        self.records = len(records)
        for record in records:
            text = formatter.format(record) + repr(record.__dict__)
            if MARK in text:
                found.append(f"log record of {record.name}: {text[:300]}")
        for stream in self._streams:
            if MARK in stream:
                index = stream.index(MARK)
                found.append(f"output: ...{stream[max(0, index - 200) : index + 60]}...")
        return found

    def saw(self, fragment: str) -> bool:
        """Whether `fragment` is anywhere the watch looks (proves a source was really read)."""
        self.hits()
        texts = [text for _, text in self._texts] + self._streams
        texts += [record.getMessage() for record in self._caplog.records]
        return any(fragment in text for text in texts)

    def assert_clean(self) -> None:
        """Fail with every place the canary was seen."""
        found = self.hits()
        assert not found, "the API key leaked:\n" + "\n".join(found)
