"""Reading JSON text from a request: strict, like DRF, and with a bound on nesting.

Every JSON the sandbox reads from a client (API bodies, capture payloads, JSON query parameters)
goes through `loads_json`. It refuses `NaN` and `Infinity`, and it refuses documents nested
deeper than `MAX_JSON_DEPTH` before parsing them: Python's parser and everything that walks a
parsed document afterwards (storing it, rendering it) recurse once per level, and a document of
a few thousand brackets would otherwise end in a `RecursionError`, a 500 rather than a 400.
"""

from __future__ import annotations

import json
import re
from typing import Final

__all__ = ["MAX_JSON_DEPTH", "loads_json"]

MAX_JSON_DEPTH: Final = 128
"""Deepest nesting of arrays and objects accepted (the default limit of PostHog's capture)."""

# A complete string literal (skipped whole, so brackets inside it do not count), or a bracket.
_STRING_OR_BRACKET: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING: Final = frozenset("[{")
_CLOSING: Final = frozenset("]}")


def loads_json(text: str) -> object:
    """Parse JSON text strictly.

    Raises:
        ValueError: the text is not JSON, holds `NaN`/`Infinity`, or nests deeper than
            `MAX_JSON_DEPTH`; the message says where, as Python's parser does.
    """
    _check_depth(text)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        # Only a caller already deep in its own stack gets here; still a parse error, not a 500.
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None


def _check_depth(text: str) -> None:
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text):
        bracket = token.group()
        if bracket in _OPENING:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ValueError(_where(f"nested deeper than {MAX_JSON_DEPTH} levels", text, token))
        elif bracket in _CLOSING:
            depth -= 1


def _where(message: str, text: str, token: re.Match[str]) -> str:
    offset = token.start()
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f"{message}: line {line} column {column} (char {offset})"


def _reject_constant(name: str) -> object:
    # DRF parses JSON strictly: NaN and Infinity are refused.
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")
