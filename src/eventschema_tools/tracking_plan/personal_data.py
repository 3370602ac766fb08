"""Property names that look like personal data: the one list the linter and the privacy audit
share (``docs/audits.md#privacy`` shows it)."""

from __future__ import annotations

from typing import Final

from eventschema_tools._text import name_words

__all__ = ["NAME_TERMS", "pii_name_term"]

NAME_TERMS: Final = (
    ("email",),
    ("e", "mail"),
    ("phone",),
    ("mobile",),
    ("msisdn",),
    ("ssn",),
    ("social", "security"),
    ("password",),
    ("passwd",),
    ("secret",),
    ("token",),
    ("api", "key"),
    ("apikey",),
    ("iban",),
    ("credit", "card"),
    ("card", "number"),
    ("cc", "number"),
    ("cvv",),
    ("cvc",),
    ("ip",),
    ("address",),
    ("street",),
    ("postcode",),
    ("zip", "code"),
    ("dob",),
    ("date", "of", "birth"),
    ("birthday",),
    ("birthdate",),
    ("passport",),
    ("tax", "id"),
    ("national", "id"),
    ("first", "name"),
    ("last", "name"),
    ("full", "name"),
    ("surname",),
)
"""Words (and runs of words) that make a property name look personal; matched on whole words
of the name (``user_email``, ``userEmail`` and ``email`` match; ``emailed_count`` does not)."""


def pii_name_term(name: str) -> str | None:
    """The word(s) of :data:`NAME_TERMS` in property ``name``, or ``None``."""
    parts = name_words(name)
    for term in NAME_TERMS:
        size = len(term)
        if any(tuple(parts[i : i + size]) == term for i in range(len(parts) - size + 1)):
            return " ".join(term)
    return None
