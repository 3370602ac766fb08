"""Exceptions raised by eventschema-tools.

The tree::

    EventSchemaError                  base of everything this package raises
    ├── InvalidInputError             bad input, rejected before any request (also a ValueError)
    ├── ConfigurationError            missing or malformed settings (key, project, host)
    ├── UnsafeURLError                a pagination link points away from the configured host
    ├── UnknownNameError              no event, group or binding by that name or id
    ├── UnexpectedResponseError       a 2xx answer this version cannot read (newer PostHog?)
    ├── MissingExtraError             a feature needs an optional extra that is not installed
    ├── NoEventsError                 no events (or none that match) in the time window
    ├── APIConnectionError            no HTTP response: DNS, refused, reset, dropped connection
    │   └── APITimeoutError           the request timed out
    └── APIStatusError                PostHog answered with a non-2xx status
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403 (``missing_scope`` names the scope to add)
        ├── NotFoundError             404
        │   └── ProjectNotFoundError  404 on the project or its lists (also a ConfigurationError)
        ├── RateLimitError            429 (``retry_after`` in seconds)
        └── InternalServerError       5xx

Every ``APIStatusError`` carries ``status_code``, PostHog's ``type``/``code``/``detail``/``attr``,
and the request's ``method`` and ``path``. None of them ever holds the API key: the request
headers are not kept.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Final, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

__all__ = [
    "EXTRA_MODULES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "EventSchemaError",
    "InternalServerError",
    "InvalidInputError",
    "MissingExtraError",
    "NoEventsError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProjectNotFoundError",
    "RateLimitError",
    "UnexpectedResponseError",
    "UnknownNameError",
    "UnsafeURLError",
    "closest_choice",
    "make_status_error",
    "redact",
    "requires_extra",
]

_MISSING_SCOPE = re.compile(r"missing required scope '([^']+)'")
# The project itself or one of its lists: no object id in the path, so a 404 can only mean
# that the project is not there (for this key's user).
_PROJECT_LEVEL_PATH = re.compile(r"/api/projects/(?P<project>[^/]+)/(?:[a-z_]+/)?$")
_CHECK_PROJECT = "check the project id (POSTHOG_PROJECT_ID or --project)"


class EventSchemaError(Exception):
    """Base class of every error this package raises."""


class InvalidInputError(EventSchemaError, ValueError):
    """Input was rejected before any request was sent.

    The message is one sentence: the field as the caller spelled it, the wrong value, and a fix.

    Attributes:
        problems: ``(field, message)`` pairs, one per problem found; ``field`` is the dotted
            path (``properties.0.type``).
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)

    @classmethod
    def from_validation_error(
        cls,
        exc: ValidationError,
        model: type[BaseModel] | None = None,
        data: Any = None,
        *,
        field_word: str = "field",
    ) -> InvalidInputError:
        """The error for what pydantic found, in one sentence; the one formatter every face uses.

        The sentence is about the first problem: where it is, in the caller's spelling (``type
        of property 'amount'``), the wrong value, and a fix: the allowed value or field closest
        to what was given (``did you mean 'Numeric'?``), or the ones allowed. Further problems
        are counted at the end; each is in ``problems``.

        Args:
            exc: pydantic's report.
            model: the model that was validated: it knows the fields and values allowed.
            data: the input that was validated: it names list items (``property 'amount'``).
            field_word: what the caller calls a top-level field (``argument`` for a tool).
        """
        errors = exc.errors(include_url=False)
        sentences = [_explain(error, model, data, field_word) for error in errors]
        problems = [
            (_dotted(error["loc"]), text) for error, text in zip(errors, sentences, strict=True)
        ]
        message = sentences[0]
        if len(errors) > 1:
            others = [_where(tuple(error["loc"]), data) or "input" for error in errors[1:]]
            more = ", ".join(dict.fromkeys(others))
            message += f" (and {len(others)} more problem{'s' if len(others) > 1 else ''}: {more})"
        return cls(message, problems)


class NoEventsError(EventSchemaError):
    """There is nothing to work from: no events (or none that match) in the time window."""


class ConfigurationError(EventSchemaError):
    """Settings are missing or malformed (API key, project id, host)."""


class UnsafeURLError(EventSchemaError):
    """A URL from a response points to another origin; it is never requested with the key."""


class UnexpectedResponseError(EventSchemaError):
    """PostHog answered 2xx with data this version cannot read, e.g. a property type added by a
    newer PostHog. Upgrading eventschema-tools usually fixes it."""


class MissingExtraError(EventSchemaError, ImportError):
    """A feature needs an optional extra (``sandbox``, ``mcp``, ``airflow``) that is not installed.

    Attributes:
        extra: the extra to install.
        module: the top-level module that is missing (e.g. ``starlette``).
        install: the command that installs the extra.
    """

    def __init__(self, extra: str, feature: str, module: str) -> None:
        self.extra = extra
        self.module = module
        self.install = f"pip install 'eventschema-tools[{extra}]'"
        super().__init__(
            f"{feature} needs the {extra} extra ({module} is not installed): {self.install}",
            name=module,
        )


class UnknownNameError(EventSchemaError, LookupError):
    """No object of that name or id exists in the project.

    Attributes:
        kind: what was looked up (``event``, ``property group`` or ``event schema``).
        name: the name or id that was given.
        suggestions: existing names close to ``name``, best first (may be empty).
    """

    def __init__(self, kind: str, name: str, suggestions: Sequence[str] = ()) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        hint = (
            "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
            if self.suggestions
            else ""
        )
        super().__init__(f"no {kind} {name!r} in this project{hint}")


class APIConnectionError(EventSchemaError):
    """No HTTP response was received (connection refused, reset or dropped).

    Attributes:
        method: HTTP method of the failed request.
        path: URL path of the failed request.
        request_sent: False when the connection failed before the request left (nothing can
            have been applied); True when a write may have landed without an answer.
        host: the scheme, host and port that did not answer (no credentials), when known.
        hint: what to check, as said at the end of the message ("" when none).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        request_sent: bool = True,
        host: str | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(f"{message} ({method} {path})" + (f" — {hint}" if hint else ""))
        self.method = method
        self.path = path
        self.request_sent = request_sent
        self.host = host
        self.hint = hint


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool timeout)."""


class APIStatusError(EventSchemaError):
    """PostHog answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        method: HTTP method of the request.
        path: URL path of the request.
        type: PostHog's error ``type`` (e.g. ``validation_error``), if any.
        code: PostHog's error ``code`` (e.g. ``unique``, ``permission_denied``), if any.
        detail: PostHog's human-readable ``detail``.
        attr: the field the error is about, if any.
        body: the decoded response body (JSON value or text).
    """

    def __init__(
        self,
        *,
        status_code: int,
        method: str,
        path: str,
        body: Any,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        self.body = body
        self.retry_after = retry_after
        fields = body if isinstance(body, Mapping) else {}
        self.type: str | None = _as_text(fields.get("type"))
        self.code: str | None = _as_text(fields.get("code"))
        self.attr: str | None = _as_text(fields.get("attr"))
        detail = fields.get("detail")
        if detail is None and fields and not {"type", "code"} & fields.keys():
            detail = "; ".join(f"{key}: {value}" for key, value in fields.items())
        if detail is None and isinstance(body, str):
            detail = body[:500]
        self.detail: str = _as_text(detail) or ""
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method} {self.path}"
        what = f"{self.attr}: {self.detail}" if self.attr else self.detail
        code = f" [{self.code}]" if self.code else ""
        return f"HTTP {self.status_code} on {where}: {what or 'no details'}{code}{self._hint()}"

    def _hint(self) -> str:
        return ""


class BadRequestError(APIStatusError):
    """400: PostHog rejected the request body or parameters."""

    @property
    def is_duplicate(self) -> bool:
        """True when the error says the object (name or event/group pair) already exists."""
        text = f"{self.code} {self.detail}".lower()
        return self.code == "unique" or "already exists" in text or "already added" in text


class AuthenticationError(APIStatusError):
    """401: the personal API key is missing or invalid."""

    def _hint(self) -> str:
        return (
            " — check POSTHOG_PERSONAL_API_KEY (a personal API key, phx_..., not a project token)"
        )


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope or access to the project.

    Attributes:
        missing_scope: the scope to add to the key (e.g. ``event_definition:write``), if that
            is the reason.
    """

    @property
    def missing_scope(self) -> str | None:
        """The scope the personal API key needs, when PostHog named one."""
        match = _MISSING_SCOPE.search(self.detail)
        return match.group(1) if match else None

    def _hint(self) -> str:
        if self.missing_scope:
            return f" — add the scope '{self.missing_scope}' to the personal API key"
        if "project" in self.detail.lower():
            return f" — {_CHECK_PROJECT} and the projects the key may use"
        return ""


class NotFoundError(APIStatusError):
    """404: no such object in this project (or a malformed id in the path)."""


class ProjectNotFoundError(NotFoundError, ConfigurationError):
    """404 on the project itself or on one of its lists: the configured project does not exist
    on this host, or the key's user cannot see it. Also a :class:`ConfigurationError`, since the
    fix is the project id (or the host), not the request.

    Attributes:
        project_id: the project id of the request path.
    """

    @property
    def project_id(self) -> str:
        """The project id the request named."""
        match = _PROJECT_LEVEL_PATH.search(self.path)
        return match.group("project") if match else "?"

    def _message(self) -> str:
        return (
            f"project {self.project_id} not found (HTTP 404 on {self.method} {self.path})"
            f" — {_CHECK_PROJECT} and the host"
        )


class RateLimitError(APIStatusError):
    """429: the key's rate budget is spent; ``retry_after`` says for how many seconds."""


class InternalServerError(APIStatusError):
    """5xx: PostHog failed; safe requests are retried automatically."""


_STATUS_TO_ERROR: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def make_status_error(
    *,
    status_code: int,
    method: str,
    path: str,
    body: Any,
    retry_after: float | None = None,
    secrets: Sequence[str] = (),
) -> APIStatusError:
    """Build the exception for a non-2xx response: the one status→class table.

    Args:
        status_code: the HTTP status of the response.
        method: the request's HTTP method.
        path: the request's URL path (no query string, never the key).
        body: the decoded response body.
        retry_after: the parsed ``Retry-After`` header, in seconds.
        secrets: texts replaced by ``[redacted]`` anywhere in the body (the API key: a proxy or
            server that echoes the request's headers in an error page would show it).
    """
    body = redact(body, secrets)
    cls = _STATUS_TO_ERROR.get(status_code)
    if status_code == 404 and _PROJECT_LEVEL_PATH.search(path):
        cls = ProjectNotFoundError
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(
        status_code=status_code, method=method, path=path, body=body, retry_after=retry_after
    )


REDACTED: Final = "[redacted]"


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` with every occurrence of each secret replaced by ``[redacted]``, in text and in
    the keys and values of nested mappings and lists (a decoded response body)."""
    secrets = [secret for secret in secrets if secret]
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {redact(key, secrets): redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, secrets) for item in value]
    return value


# The top-level modules each optional extra of pyproject.toml brings (import names, not
# distribution names).
EXTRA_MODULES: Final[Mapping[str, tuple[str, ...]]] = {
    "sandbox": ("starlette", "uvicorn", "chdb", "hogql_parser", "posthog"),
    "mcp": ("mcp",),
    "airflow": ("airflow",),
}


@contextmanager
def requires_extra(extra: str, feature: str) -> Iterator[None]:
    """Run the block only if the ``extra`` is installed; otherwise raise :class:`MissingExtraError`.

    On entry every module of the extra is located (not imported), so a missing one is reported
    before any work starts. A ``ModuleNotFoundError`` of one of them raised inside the block
    becomes a :class:`MissingExtraError` as well; any other import error propagates unchanged.

    Args:
        extra: a key of :data:`EXTRA_MODULES` (``sandbox``, ``mcp`` or ``airflow``).
        feature: what needs the extra, for the message (``eventschema demo``).

    Raises:
        MissingExtraError: a module of the extra is not installed.
    """
    modules = EXTRA_MODULES[extra]
    for module in modules:
        if not _installed(module):
            raise MissingExtraError(extra, feature, module)
    try:
        yield
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top not in modules:
            raise
        raise MissingExtraError(extra, feature, top) from exc


def _installed(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # an import hook that refuses the name
        return False


# --- describing invalid input ------------------------------------------------------------------

_LONGEST_SHOWN: Final = 40
_UUID_EXAMPLE: Final = "0190a8e4-7c1b-7d2e-9f00-0123456789ab"
_QUOTED: Final = re.compile(r"'([^']*)'")


def closest_choice(
    word: str, choices: Sequence[str], synonyms: Mapping[str, str] | None = None
) -> str | None:
    """The choice ``word`` most likely meant, or ``None`` when none is close.

    The same word in another case wins, then a known synonym (``synonyms`` maps lower-case
    words to choices), then the most similar choice.
    """
    folded = word.strip().casefold()
    by_folded = {choice.casefold(): choice for choice in choices}
    if folded in by_folded:
        return by_folded[folded]
    meant = (synonyms or {}).get(folded)
    if meant in choices:
        return meant
    close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


def _explain(
    error: Mapping[str, Any], model: type[BaseModel] | None, data: Any, field_word: str
) -> str:
    """One pydantic error as ``where: what is wrong, with the value and a fix``."""
    loc = tuple(error["loc"])
    kind = str(error["type"])
    value = error.get("input")
    if kind in ("extra_forbidden", "missing"):
        parent, key = loc[:-1], str(loc[-1]) if loc else ""
        word = "field" if parent else field_word
        if kind == "missing":
            text = f"{word} {key!r} is required"
            allowed = _choices(_annotation_at(model, loc), {})[0]
            text += f" (one of {', '.join(allowed)})" if allowed else ""
        else:
            text = _unknown_field(word, key, _annotation_at(model, parent), data, parent)
        return _located(_where(parent, data), text)
    return _located(_where(loc, data), _what(kind, error, value, _annotation_at(model, loc)))


def _what(kind: str, error: Mapping[str, Any], value: Any, annotation: Any) -> str:
    """What is wrong with ``value``, and how to fix it."""
    ctx = error.get("ctx") or {}
    shown = _shown(value)
    if kind in ("enum", "literal_error"):
        allowed, synonyms = _choices(annotation, ctx)
        meant = closest_choice(value, allowed, synonyms) if isinstance(value, str) else None
        hint = f"; did you mean {meant!r}?" if meant else ""
        return f"{shown} is not one of {', '.join(allowed)}{hint}"
    if kind in ("uuid_parsing", "uuid_type"):
        return f"{shown} is not a UUID (like {_UUID_EXAMPLE})"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be blank"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        fields = _field_names(annotation)
        return f"expected a mapping{' with ' + ', '.join(fields) if fields else ''}, got {shown}"
    if kind == "list_type":
        return f"expected a list, got {shown}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {shown}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":  # our own validators' messages already say what is wrong
        return message
    message = message.removeprefix("Input ")
    return f"{message[:1].lower()}{message[1:]}, got {shown}"


def _unknown_field(word: str, key: str, annotation: Any, data: Any, parent: tuple[Any, ...]) -> str:
    spellings = _spellings(annotation)
    canonical = spellings.get(key)
    if canonical is not None:  # a second spelling of a field that was also given
        return f"{key!r} and {canonical!r} are the same {word}; give only one of them"
    meant = closest_choice(key, list(spellings))
    if meant:
        return f"unknown {word} {key!r}; did you mean {meant!r}?"
    fields = _field_names(annotation)
    return f"unknown {word} {key!r}" + (f"; use {', '.join(fields)}" if fields else "")


def _located(where: str, text: str) -> str:
    return f"{where}: {text}" if where else text


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """A location in the caller's terms: ``type of property 'amount'``, ``properties[2]``."""
    labels: list[str] = []
    node = data
    for index, part in enumerate(loc):
        item = _child(node, part)
        if isinstance(part, int) and labels:
            # An item is named by its name, unless the name is what is wrong with it.
            name = item.get("name") if isinstance(item, Mapping) else None
            if isinstance(name, str) and name.strip() and loc[index + 1 :] != ("name",):
                labels[-1] = f"{_singular(str(loc[index - 1]))} {_shown(name.strip())}"
            else:
                labels[-1] += f"[{part}]"
        else:
            labels.append(f"[{part}]" if isinstance(part, int) else str(part))
        node = item
    if len(labels) > 2:  # "a of b of c of d" reads worse than the path itself
        return ".".join(labels)
    return " of ".join(reversed(labels))


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _dotted(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "input"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        if len(value) <= _LONGEST_SHOWN:
            return repr(value)
        return f"{value[:_LONGEST_SHOWN]!r}… ({len(value)} characters)"
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return "a mapping" if isinstance(value, Mapping) else f"a {type(value).__name__}"


def _choices(annotation: Any, ctx: Mapping[str, Any]) -> tuple[list[str], Mapping[str, str]]:
    """The allowed values (and their synonyms) of an enumeration, from the model or pydantic."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        synonyms = getattr(annotation, "synonyms", None)
        return (
            [str(member.value) for member in annotation],
            synonyms() if callable(synonyms) else {},
        )
    return _QUOTED.findall(str(ctx.get("expected", ""))), {}


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and hasattr(annotation, "model_fields")


def _spellings(annotation: Any) -> dict[str, str]:
    """Every key a model reads (names, aliases, alias choices) mapped to the field's name."""
    if not _is_model(annotation):
        return {}
    spelled: dict[str, str] = {}
    for name, info in annotation.model_fields.items():
        for key in _spellings_of(name, info):
            spelled.setdefault(key, info.alias or name)
    return spelled


def _spellings_of(name: str, info: Any) -> list[str]:
    """The keys one field is read from: its alias (or name) first."""
    alias = info.validation_alias
    choices = getattr(alias, "choices", [alias] if isinstance(alias, str) else [])
    keys = [info.alias or name, name, *choices]
    return list(dict.fromkeys(key for key in keys if isinstance(key, str)))


def _field_names(annotation: Any) -> list[str]:
    return list(dict.fromkeys(_spellings(annotation).values()))


def _annotation_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The type that validates the value at ``loc`` of ``model`` (``None`` when unknown)."""
    node = model
    for part in loc:
        node = _unwrapped(node)
        args = get_args(node)
        if isinstance(part, int):
            node = args[0] if get_origin(node) in (list, tuple, set, frozenset) and args else None
        elif _is_model(node):
            node = next(
                (
                    info.annotation
                    for name, info in node.model_fields.items()
                    if part in (name, *_spellings_of(name, info))
                ),
                None,
            )
        elif get_origin(node) is dict and len(args) == 2:
            node = args[1]
        else:
            node = None
        if node is None:
            return None
    return _unwrapped(node)


def _unwrapped(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[...]`` and ``| None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is UnionType:
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
