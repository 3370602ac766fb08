"""Identifiers for generated code: event and property names turned into names a language accepts.

The rules follow PostHog's own generators (``posthog-cli exp schema pull``) so a team can move
between the two: split the name on every run of characters that are not ASCII letters or
digits, join the words (``snake_case`` for Python, ``PascalCase``/``camelCase`` for
TypeScript), put ``event``/``prop`` in front of a name that would start with a digit or be
empty, and number the second and later of names that come out the same (``_2``, ``_3``).
``$pageview`` becomes ``capture_pageview`` and ``capturePageview``; ``API-Request`` becomes
``capture_api_request`` and ``captureApiRequest``.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from eventschema_tools._text import name_words as words

__all__ = ["PYTHON_RESERVED", "TYPESCRIPT_RESERVED", "Namer", "camel", "pascal", "snake", "words"]


PYTHON_RESERVED: Final = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
TYPESCRIPT_RESERVED: Final = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "as",
        "implements",
        "interface",
        "let",
        "package",
        "private",
        "protected",
        "public",
        "static",
        "yield",
        "any",
        "boolean",
        "number",
        "string",
        "symbol",
        "type",
        "from",
        "of",
        "await",
    ]
)


@lru_cache(maxsize=8192)
def snake(name: str, *, empty: str = "event") -> str:
    """``name`` in snake_case; ``empty`` stands in for a name with no letters or digits."""
    joined = "_".join(words(name)) or empty
    return f"{empty}_{joined}" if joined[0].isdigit() else joined


def pascal(name: str, *, empty: str = "Event") -> str:
    """``name`` in PascalCase; ``empty`` stands in for a name with no letters or digits."""
    joined = "".join(word[:1].upper() + word[1:] for word in words(name)) or empty
    return f"{empty}{joined}" if joined[0].isdigit() else joined


def camel(name: str, *, empty: str = "event") -> str:
    """``name`` in camelCase; ``empty`` stands in for a name with no letters or digits."""
    joined = pascal(name, empty=empty.capitalize())
    return joined[:1].lower() + joined[1:]


class Namer:
    """Hands out unique identifiers: the second ``foo`` becomes ``foo_2`` (``Foo2`` in
    PascalCase), and names a language reserves get a trailing underscore.

    Args:
        taken: Identifiers already in use (imports, helpers of the generated module).
        reserved: Words the language does not allow as names.
        joiner: What goes between a name and its number (``_`` or ``""``).
    """

    def __init__(
        self, taken: Iterable[str] = (), *, reserved: Iterable[str] = (), joiner: str = "_"
    ) -> None:
        self._taken = set(taken)
        self._reserved = frozenset(reserved)
        self._joiner = joiner

    def claim(self, candidate: str) -> str:
        """A unique identifier close to ``candidate``, now taken."""
        if candidate in self._reserved:
            candidate = f"{candidate}_"
        name, number = candidate, 2
        while name in self._taken:
            name = f"{candidate}{self._joiner}{number}"
            number += 1
        self._taken.add(name)
        return name
