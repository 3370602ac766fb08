"""Text from a project made safe to show: control characters spelled out, never sent raw.

Anyone holding a project's public ``phc_`` token can capture events, and capturing creates
event definitions, so names (and whatever echoes them: findings, error messages) may carry
terminal escape sequences that clear the screen, rewrite earlier lines or set the clipboard
(OSC 52), or bidi overrides that make a name read differently from what it is. Every renderer
(the CLI's tables and lines, its error messages, the audit's table, Markdown and JSON) passes
such text through :func:`printable`; one function, so every face shows a name the same way.

The escapes are JSON's (``\\u001b``): a name reads alike in a table and in ``--json`` output,
and JSON text run through :func:`printable` stays valid JSON with the same values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Final

__all__ = ["listed", "markdown_text", "name_words", "percent", "printable"]

_BIDI: Final = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
# C0 controls, DEL, C1 controls (0x9B is a one-byte CSI), the bidi marks and overrides, and the
# Unicode line and paragraph separators (some terminals and editors break lines on them).
_UNSAFE: Final = (*range(0x20), *range(0x7F, 0xA0), *_BIDI, 0x2028, 0x2029)
_ESCAPES: Final[dict[int, str]] = {code: f"\\u{code:04x}" for code in _UNSAFE}
_LAYOUT: Final = frozenset({ord("\n"), ord("\t")})
_ESCAPES_MULTILINE: Final[dict[int, str]] = {
    code: escape for code, escape in _ESCAPES.items() if code not in _LAYOUT
}


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with control, bidi and line-separator characters as ``\\uXXXX`` escapes.

    ``"a\\x1b[2Jb"`` becomes ``a\\u001b[2Jb``: what a terminal would obey is shown instead.
    The result is for reading, not for parsing back (a literal backslash stays as it is).

    Args:
        text: the text to show.
        multiline: keep line feeds and tabs, for text laid out on purpose over several lines
            (a message, a whole JSON document); a name is never multiline.
    """
    return text.translate(_ESCAPES_MULTILINE if multiline else _ESCAPES)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def markdown_text(text: str) -> str:
    """``text`` on one line for Markdown: control characters spelled out, whitespace runs made
    one space, Markdown's special characters (pipes and HTML brackets included) escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(printable(text, multiline=True).split()))


def percent(share: float) -> str:
    """``0.99968`` → ``99.96 %``: never rounded up to 100 % unless it is 100 %."""
    if share >= 1:
        return "100 %"
    return f"{math.floor(share * 10_000) / 100:g} %"


def listed(names: Sequence[str], shown: int = 5) -> str:
    """The first ``shown`` names, comma-separated, then ``and N more``; ``none`` when empty."""
    if not names:
        return "none"
    head = ", ".join(names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


_SEPARATOR: Final = re.compile(r"[^0-9A-Za-z]+")
# A lower-case letter or digit followed by an upper-case one starts a new word (camelCase).
_CASE_BREAK: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def name_words(name: str) -> list[str]:
    """The words of an event or property name, lower case: runs of ASCII letters and digits,
    split again at camelCase (``userEmail_2`` → ``user``, ``email``, ``2``)."""
    return [
        word.lower() for part in _SEPARATOR.split(name) for word in _CASE_BREAK.split(part) if word
    ]
