"""PostHog ingestion's property type coercion rules, as pure functions.

When an event's definition has ``enforcement_mode: reject``, PostHog's ingestion pipeline checks
every *required* property of the property groups bound to it and drops the event when one is
missing or cannot be coerced to its declared type. The rules, as the ingestion validator applies
them to the JSON value of the property:

========== ===================================================================================
Type       Accepted values
========== ===================================================================================
String     anything that is not ``null``
Numeric    a finite JSON number, or a string whose trimmed text is a finite JavaScript number
           (``"42"``, ``" 1.5e3 "``, ``"0x1A"``); booleans, ``""``, ``"Infinity"`` are rejected
Boolean    ``true``/``false``, or exactly the strings ``"true"``/``"false"`` (case-sensitive)
DateTime   any JSON number (read as a unix timestamp), or a string ClickHouse's
           ``parseDateTime64BestEffortOrNull`` accepts: ISO-8601 and ``YYYY-MM-DD hh:mm:ss[.f]``
           variants, RFC 2822 dates, ``DD.MM.YYYY``, compact ``YYYYMMDD[hhmmss]``, unix timestamps
           written as 9, 10 (optionally with a fraction) or 13 digits, ...
Object     any JSON object or array
========== ===================================================================================

A required property whose value is ``null`` or absent is ``missing_required``; a value none of the
property's types accepts is ``type_mismatch``. When several groups bound to one event define the
same property, the value only has to satisfy one of their types. A type name this module does not
know accepts everything, as in PostHog.

The DateTime check follows ClickHouse's best-effort parser (non-US day/month order, the whole
input must be consumed, the day must exist in its month) as PostHog's ingestion re-implements it;
it answers *whether* a string parses, not which instant it names. Newer ClickHouse releases
(chDB 4.4 embeds 26.9) differ on two exotic inputs, where this module sides with PostHog's
ingestion: 16-digit unix timestamps (microseconds; ClickHouse accepts them) and month or weekday
names followed by extra letters, as in ``Janua`` or ``Mondayx`` (ClickHouse refuses them).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum, auto
from typing import Final, Literal

from eventschema_tools.models import PropertyType

__all__ = [
    "Violation",
    "ViolationReason",
    "can_coerce",
    "is_boolean",
    "is_clickhouse_datetime",
    "is_numeric",
    "is_object",
    "validate_event",
]

ViolationReason = Literal["missing_required", "type_mismatch"]

# JavaScript's String.prototype.trim() whitespace: WhiteSpace and LineTerminator code points.
# Python's str.strip() uses a different set (it strips \x1c-\x1f and \x85, keeps \ufeff).
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# The decimal and radix forms JavaScript's Number(string) accepts (no numeric separators).
_JS_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JS_RADIX: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")


@dataclass(frozen=True)
class Violation:
    """One required property of an event that breaks its schema.

    Attributes:
        property: The property name.
        reason: ``missing_required`` (``null`` or absent) or ``type_mismatch``.
        expected_types: The types the value could have had, sorted (empty when missing).
        actual_value: The offending value rendered as PostHog's warning does (JSON text for
            objects and arrays, ``true``/``false`` for booleans), or ``None`` when missing.
    """

    property: str
    reason: ViolationReason
    expected_types: tuple[str, ...] = ()
    actual_value: str | None = None

    def to_warning_error(self) -> dict[str, object]:
        """Return this violation in the shape of a ``schema_validation_failed`` warning entry."""
        entry: dict[str, object] = {"property": self.property, "reason": self.reason}
        if self.reason == "type_mismatch":
            entry["expectedTypes"] = list(self.expected_types)
            entry["actualValue"] = self.actual_value
        return entry


def validate_event(
    properties: Mapping[str, object] | None,
    required: Mapping[str, Collection[str]],
) -> list[Violation]:
    """Check an event's properties against the required properties of its enforced schema.

    Args:
        properties: The event's ``properties`` object (``None`` when the event has none).
        required: Each required property name mapped to the types it may have (the union of
            the types every bound group declares for it).

    Returns:
        One ``Violation`` per failing property, in the order of ``required``; empty when the
        event passes.
    """
    found = properties or {}
    violations: list[Violation] = []
    for name, types in required.items():
        value = found.get(name)
        if value is None:
            violations.append(Violation(name, "missing_required"))
        elif not any(can_coerce(value, property_type) for property_type in types):
            violations.append(
                Violation(name, "type_mismatch", tuple(sorted(types)), _render_value(value))
            )
    return violations


def can_coerce(value: object, property_type: str) -> bool:
    """Tell whether PostHog ingestion accepts a JSON value for a property type.

    Args:
        value: A value decoded from JSON (``None`` for ``null``).
        property_type: ``String``, ``Numeric``, ``Boolean``, ``DateTime`` or ``Object``.

    Returns:
        ``False`` for ``None``; otherwise the rule of the type (see the module docstring).
        A type this module does not know accepts every non-null value.
    """
    if value is None:
        return False
    if property_type == PropertyType.STRING:
        return True
    if property_type == PropertyType.NUMERIC:
        return is_numeric(value)
    if property_type == PropertyType.BOOLEAN:
        return is_boolean(value)
    if property_type == PropertyType.DATETIME:
        return _is_json_number(value) or (isinstance(value, str) and is_clickhouse_datetime(value))
    if property_type == PropertyType.OBJECT:
        return is_object(value)
    return True


def is_numeric(value: object) -> bool:
    """Tell whether a value passes the ``Numeric`` rule (finite number or numeric string)."""
    if _is_json_number(value):
        return math.isfinite(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        return _js_number_is_finite(value.strip(_JS_WHITESPACE))
    return False


def is_boolean(value: object) -> bool:
    """Tell whether a value passes the ``Boolean`` rule (a bool, ``"true"`` or ``"false"``)."""
    return isinstance(value, bool) or value in ("true", "false")


def is_object(value: object) -> bool:
    """Tell whether a value passes the ``Object`` rule (a JSON object or array)."""
    return isinstance(value, dict | list)


def is_clickhouse_datetime(text: str) -> bool:
    """Tell whether ClickHouse's ``parseDateTime64BestEffortOrNull`` accepts a string.

    Args:
        text: The string value; surrounding whitespace is ignored.

    Returns:
        ``True`` when the whole string parses as a date-time that exists.
    """
    return _BestEffortDateTime(text.strip(_JS_WHITESPACE)).parses()


def _is_json_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _js_number_is_finite(text: str) -> bool:
    if _JS_DECIMAL.fullmatch(text):
        return math.isfinite(float(text))
    if _JS_RADIX.fullmatch(text):
        try:
            return math.isfinite(float(int(text, 0)))
        except OverflowError:
            return False
    return False


def _render_value(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- ClickHouse best-effort date-time parsing ----------------------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS: Final = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
_ZONE_NAMES: Final = frozenset({"utc", "gmt", "msk", "msd"})
_DATE_SEPARATORS: Final = "/.-"
_DIGITS: Final = "0123456789"
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MAX_DIGITS: Final = 19


def _month_number(word: str) -> int:
    prefix = word[:3].lower()
    return _MONTHS.index(prefix) + 1 if prefix in _MONTHS else 0


def _day_exists(year: int, month: int, day: int) -> bool:
    if month in (1, 3, 5, 7, 8, 10, 12):
        return 1 <= day <= 31
    if month in (4, 6, 9, 11):
        return 1 <= day <= 30
    if month == 2:
        leap = year % 400 == 0 or (year % 100 != 0 and year % 4 == 0)
        return 1 <= day <= (29 if leap else 28)
    return False


class _Invalid(Exception):
    """The string cannot be a ClickHouse date-time."""


class _Step(Enum):
    NEXT_ROUND = auto()  # go back to the top of the scan loop
    STOP = auto()  # leave the scan loop; whatever is left makes the string invalid


class _BestEffortDateTime:
    """One pass of ClickHouse's ``parseDateTimeBestEffort`` over a string (validity only).

    The scanner reads the string left to right and fills the date and time parts in whatever
    order they come; runs of digits are told apart by their length and by what follows them.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.year = self.month = self.day = 0
        self.has_time = False
        self.comma_between_date_and_time = False

    def parses(self) -> bool:
        if not self.text:
            return False
        try:
            complete = self._scan()
        except _Invalid:
            return False
        return complete and self.pos >= len(self.text)

    # cursor helpers

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _skip(self, char: str) -> bool:
        if not self._at_end() and self.text[self.pos] == char:
            self.pos += 1
            return True
        return False

    def _skip_date_separator(self) -> bool:
        return any(self._skip(char) for char in _DATE_SEPARATORS)

    def _take(self, accept: str, limit: int) -> str:
        start = self.pos
        while not self._at_end() and self.pos - start < limit and self.text[self.pos] in accept:
            self.pos += 1
        return self.text[start : self.pos]

    def _digits(self) -> str:
        return self._take(_DIGITS, _MAX_DIGITS)

    def _letters(self, limit: int) -> str:
        return self._take(_LETTERS, limit)

    def _one_or_two_digits(self) -> int:
        read = self._digits()
        if len(read) not in (1, 2):
            raise _Invalid
        return int(read)

    # the scan

    def _scan(self) -> bool:
        """Read the whole string; return whether the parts read make a date-time."""
        while not self._at_end():
            # A comma may separate the date from the time once exactly one of them is read.
            if bool(self.year) != self.has_time and self._skip(","):
                self.comma_between_date_and_time = True
                if self._at_end():
                    break
            last_digits = ""
            if not self.year or not self.has_time:
                read = self._digits()
                if not self.year and not self.has_time and len(read) in (9, 10, 13):
                    if len(read) != 13 and self._skip("."):
                        self._digits()
                    return True  # a unix timestamp, which nothing may follow
                step = self._digit_run(read)
                if step is _Step.STOP:
                    break
                if step is _Step.NEXT_ROUND:
                    continue
                last_digits = step
            if not last_digits and self._non_digit() is _Step.STOP:
                break
        return self._parts_make_a_date()

    def _digit_run(self, read: str) -> str | _Step:
        """Interpret a run of digits; return the last digits read or how the loop goes on."""
        count = len(read)
        if count == 14 and not self.year and not self.has_time:
            self.year, self.month, self.day = int(read[:4]), int(read[4:6]), int(read[6:8])
            self.has_time = True
        elif count == 8 and not self.year:
            self.year, self.month, self.day = int(read[:4]), int(read[4:6]), int(read[6:8])
        elif count == 6:
            if not self.year and not self.month:
                self.year, self.month = int(read[:4]), int(read[4:6])
            elif not self.has_time:
                self.has_time = True
            else:
                raise _Invalid
        elif count == 4 and not self.year:
            return self._after_year(int(read), read)
        elif count in (1, 2):
            return self._after_short_number(int(read), read)
        elif count != 0:
            raise _Invalid
        return read

    def _after_year(self, year: int, read: str) -> str | _Step:
        self.year = year
        if self._at_end():
            return read
        delimiter = self.text[self.pos]
        if ord(delimiter) < 0x20 or delimiter in ",;'\"":
            return _Step.STOP
        if self.month:
            return _Step.NEXT_ROUND
        self.pos += 1
        read = self._digits()
        if len(read) in (1, 2):
            self.month = int(read)
        elif delimiter == " ":
            return _Step.NEXT_ROUND
        else:
            raise _Invalid
        if not self.day and self._skip(delimiter):
            read = self._digits()
            if len(read) in (1, 2):
                self.day = int(read)
            elif delimiter == " ":
                return _Step.NEXT_ROUND
            else:
                raise _Invalid
        return read

    def _after_short_number(self, number: int, read: str) -> str:
        if self._skip(":"):
            if self.has_time:
                raise _Invalid
            self.has_time = True
            self._one_or_two_digits()  # minutes
            if self._skip(":"):
                self._one_or_two_digits()  # seconds
            return read
        if self._skip(","):
            if self.month and not self.day:
                self.day = number
            return read
        if self._skip_date_separator():
            return self._day_month_year(number)
        if not self.day:
            self.day = number
        return read

    def _day_month_year(self, day: int) -> str:
        if self.day or self.month:
            raise _Invalid
        self.day = day
        read = self._digits()
        if len(read) in (1, 2):
            self.month = int(read)
        elif read:
            raise _Invalid
        else:
            word = self._letters(9)
            if len(word) < 3 or not _month_number(word):
                raise _Invalid
            self.month = _month_number(word)
        if self.month > 12:
            self.month, self.day = self.day, self.month
        if self._skip_date_separator():
            if self.year:
                raise _Invalid
            read = self._digits()
            if len(read) == 4:
                self.year = int(read)
            elif len(read) == 2:
                self.year = int(read) + (1900 if int(read) >= 70 else 2000)
            else:
                raise _Invalid
        return read

    def _non_digit(self) -> _Step | None:
        if self._at_end():
            return _Step.STOP
        char = self.text[self.pos]
        if char in " Z" or (char == "T" and self.year and not self.has_time):
            self.pos += 1
        elif char == ".":
            if not self.has_time:
                raise _Invalid
            self.pos += 1
            self._digits()  # fractional seconds
        elif char in "+-":
            self.pos += 1
            self._offset_or_time()
        else:
            return self._word()
        return None

    def _offset_or_time(self) -> None:
        read = self._digits()
        if len(read) == 6 and not self.has_time and self.year and self.month and self.day:
            self.has_time = True  # "2022-01-01-010203": a time after the date
        elif len(read) not in (1, 2, 3, 4):
            raise _Invalid
        elif len(read) < 3 and self._skip(":"):
            self._one_or_two_digits()  # offset minutes

    def _word(self) -> _Step | None:
        word = self._letters(3)
        if not word:
            return _Step.STOP
        lowered = word.lower()
        if len(word) == 2 and lowered in ("am", "pm"):
            return None
        if len(word) < 3:
            raise _Invalid
        if _month_number(lowered):
            self.month = _month_number(lowered)
        elif lowered not in _ZONE_NAMES and lowered not in _WEEKDAYS:
            raise _Invalid
        self._letters(len(self.text))  # the rest of the word ("September", "Monday")
        if lowered in _WEEKDAYS:
            self._skip(",")  # RFC 2822: "Sun, 11 Feb 2018 ..."
        return None

    def _parts_make_a_date(self) -> bool:
        if self.comma_between_date_and_time and not (
            self.has_time and self.year and self.month and self.day
        ):
            return False
        if not (self.year or self.month or self.day or self.has_time):
            return False
        day = self.day or 1
        month = self.month or 1
        year = self.year
        if not year:
            # A date without a year is this year's, unless that is still ahead (syslog style).
            today = date.today()
            year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
        return _day_exists(year, month, day)
