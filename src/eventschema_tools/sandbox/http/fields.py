"""Request-body parsing with DRF's rules and messages, as PostHog's serializers apply them.

A `Serializer` is an ordered mapping of `Field`s. Parsing walks the fields in declaration order,
collects every field's errors into a DRF-shaped tree, then runs serializer-level checks, so
`errors.validation_failed` can report the same first error PostHog reports. Fields that PostHog
marks read-only are simply not declared, which makes the sandbox ignore them (and any unknown
key) like DRF does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Final, NoReturn

from eventschema_tools.sandbox.http.errors import (
    NON_FIELD_ERRORS,
    ErrorDetail,
    ErrorTree,
    validation_failed,
)


class _Empty:
    """Marks a field absent from the request (as opposed to sent as null)."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Final = _Empty()

# `1`/`0` also match True/False (equal hashes), as in DRF's sets.
_TRUE: Final[frozenset[object]] = frozenset(
    {
        "t",
        "T",
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "true",
        "True",
        "TRUE",
        "on",
        "On",
        "ON",
        "1",
        1,
    }
)
_FALSE: Final[frozenset[object]] = frozenset(
    {
        "f",
        "F",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "false",
        "False",
        "FALSE",
        "off",
        "Off",
        "OFF",
        "0",
        0,
    }
)
_NULL: Final[frozenset[object]] = frozenset({"null", "Null", "NULL", "", None})


class FieldError(Exception):
    """Validation failed; `errors` is the DRF-shaped error tree for the field or serializer."""

    def __init__(self, errors: ErrorTree) -> None:
        super().__init__(repr(errors))
        self.errors = errors


def fail(message: str, code: str) -> NoReturn:
    """Raise a single-message field error."""
    raise FieldError([ErrorDetail(message, code)])


def non_field_error(message: str, code: str = "invalid") -> FieldError:
    """A serializer-level error (DRF files it under `non_field_errors`, so `attr` is null)."""
    return FieldError({NON_FIELD_ERRORS: [ErrorDetail(message, code)]})


class Field:
    """A writable serializer field: presence rules here, type rules in `parse`."""

    def __init__(self, *, required: bool = True, default: object = EMPTY, allow_null: bool = False):
        self.required = required and default is EMPTY
        self.default = default
        self.allow_null = allow_null

    def run(self, value: object, partial: bool) -> object:
        """Validate a value that was sent (null handling first, as DRF does)."""
        if value is None:
            if self.allow_null:
                return None
            fail("This field may not be null.", "null")
        return self.parse(value, partial)

    def parse(self, value: object, partial: bool) -> object:
        """Convert a non-null value or raise `FieldError`."""
        raise NotImplementedError


class CharField(Field):
    """DRF `CharField`: trims, rejects blank unless allowed, then length and custom validators."""

    def __init__(
        self,
        *,
        max_length: int | None = None,
        allow_blank: bool = False,
        validators: Sequence[Callable[[str], str]] = (),
        required: bool = True,
        default: object = EMPTY,
        allow_null: bool = False,
    ) -> None:
        super().__init__(required=required, default=default, allow_null=allow_null)
        self.max_length = max_length
        self.allow_blank = allow_blank
        self.validators = tuple(validators)

    def parse(self, value: object, partial: bool) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            fail("Not a valid string.", "invalid")
        text = str(value).strip()
        if not text:
            if not self.allow_blank:
                fail("This field may not be blank.", "blank")
            return ""
        if self.max_length is not None and len(text) > self.max_length:
            fail(f"Ensure this field has no more than {self.max_length} characters.", "max_length")
        if "\x00" in text:
            fail("Null characters are not allowed.", "null_characters_not_allowed")
        surrogate = next((char for char in text if 0xD800 <= ord(char) <= 0xDFFF), None)
        if surrogate is not None:
            fail(
                f"Surrogate characters are not allowed: U+{ord(surrogate):X}.",
                "surrogate_characters_not_allowed",
            )
        for validator in self.validators:
            text = validator(text)
        return text


class BooleanField(Field):
    """DRF `BooleanField`: JSON booleans and DRF's accepted strings and numbers."""

    def parse(self, value: object, partial: bool) -> bool | None:
        try:
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
            if self.allow_null and value in _NULL:
                return None
        except TypeError:  # unhashable input such as a list
            pass
        fail("Must be a valid boolean.", "invalid")


class ChoiceField(Field):
    """DRF `ChoiceField` over string choices."""

    def __init__(self, choices: Sequence[str], *, required: bool = True, default: object = EMPTY):
        super().__init__(required=required, default=default)
        self.choices = tuple(choices)

    def parse(self, value: object, partial: bool) -> str:
        if str(value) in self.choices:
            return str(value)
        fail(f'"{value}" is not a valid choice.', "invalid_choice")


class UUIDRelatedField(Field):
    """DRF `PrimaryKeyRelatedField` over a UUID primary key, scoped by `exists`.

    A malformed value fails inside Django's UUID field, so it gets Django's message and code;
    a well-formed id that `exists` rejects (unknown, or in another project) gets DRF's.
    """

    def __init__(self, exists: Callable[[str], bool], *, required: bool = True) -> None:
        super().__init__(required=required)
        self.exists = exists

    def parse(self, value: object, partial: bool) -> str:
        if isinstance(value, bool):
            fail("Incorrect type. Expected pk value, received bool.", "incorrect_type")
        try:
            parsed = uuid.UUID(int=value) if isinstance(value, int) else uuid.UUID(hex=value)  # type: ignore[arg-type]
        except (AttributeError, TypeError, ValueError):
            fail(f"“{value}” is not a valid UUID.", "invalid")
        if not self.exists(str(parsed)):
            fail(f'Invalid pk "{value}" - object does not exist.', "does_not_exist")
        return str(parsed)


class IntegerRelatedField(Field):
    """DRF `PrimaryKeyRelatedField` over an integer primary key (e.g. a user)."""

    def __init__(
        self, exists: Callable[[int], bool], *, required: bool = True, allow_null: bool = False
    ):
        super().__init__(required=required, allow_null=allow_null)
        self.exists = exists

    def parse(self, value: object, partial: bool) -> int:
        if isinstance(value, bool):
            fail("Incorrect type. Expected pk value, received bool.", "incorrect_type")
        try:
            primary_key: int = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            fail(
                f"Incorrect type. Expected pk value, received {type(value).__name__}.",
                "incorrect_type",
            )
        if not self.exists(primary_key):
            fail(f'Invalid pk "{value}" - object does not exist.', "does_not_exist")
        return primary_key


class ListField(Field):
    """DRF `ListField`: a list whose items each pass `child`; errors are keyed by index."""

    def __init__(self, child: Field, *, required: bool = True) -> None:
        super().__init__(required=required)
        self.child = child

    def parse(self, value: object, partial: bool) -> list[object]:
        if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
            fail(f'Expected a list of items but got type "{type(value).__name__}".', "not_a_list")
        items: list[object] = []
        errors: dict[str | int, ErrorTree] = {}
        for index, item in enumerate(value):
            try:
                items.append(self.child.run(item, partial))
            except FieldError as error:
                errors[index] = error.errors
        if errors:
            raise FieldError(errors)
        return items


class Serializer:
    """An ordered set of writable fields plus serializer-level checks.

    Checks run only when every field passed, and receive the validated values.
    """

    def __init__(
        self,
        fields: Mapping[str, Field],
        checks: Sequence[Callable[[dict[str, object]], None]] = (),
    ) -> None:
        self.fields = dict(fields)
        self.checks = tuple(checks)

    def parse(self, data: object, *, partial: bool = False) -> dict[str, object]:
        """Validate a request body; raises the 400 `ApiError` PostHog would send."""
        try:
            return self.validate(data, partial=partial)
        except FieldError as error:
            raise validation_failed(error.errors) from None

    def validate(self, data: object, *, partial: bool = False) -> dict[str, object]:
        """Validate and return the fields that were sent or defaulted; raises `FieldError`.

        Under `partial` (PATCH) absent fields are skipped, defaults included, and this reaches
        nested serializers too, as DRF's `root.partial` does.
        """
        if not isinstance(data, Mapping):
            raise non_field_error(
                f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
            )
        values: dict[str, object] = {}
        errors: dict[str | int, ErrorTree] = {}
        for name, field in self.fields.items():
            if name not in data:
                if partial:
                    continue
                if field.required:
                    errors[name] = [ErrorDetail("This field is required.", "required")]
                elif field.default is not EMPTY:
                    values[name] = field.default
                continue
            try:
                values[name] = field.run(data[name], partial)
            except FieldError as error:
                errors[name] = error.errors
        if errors:
            raise FieldError(errors)
        for check in self.checks:
            check(values)
        return values


class NestedListField(Field):
    """A many=True nested serializer (DRF `ListSerializer`): one error entry per item."""

    def __init__(self, serializer: Serializer, *, required: bool = True) -> None:
        super().__init__(required=required)
        self.serializer = serializer

    def parse(self, value: object, partial: bool) -> list[dict[str, object]]:
        if not isinstance(value, list):
            raise non_field_error(
                f'Expected a list of items but got type "{type(value).__name__}".', "not_a_list"
            )
        items: list[dict[str, object]] = []
        errors: list[ErrorTree] = []
        for item in value:
            try:
                items.append(self.serializer.validate(item, partial=partial))
                errors.append({})
            except FieldError as error:
                errors.append(error.errors)
        if any(errors):
            raise FieldError(errors)
        return items
