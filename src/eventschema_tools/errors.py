"""Exceptions raised by eventschema-tools.

The tree::

    EventSchemaError                  base of everything this package raises
    ├── InvalidInputError             bad input, rejected before any request (also a ValueError)
    ├── ConfigurationError            missing or malformed settings (key, project, host)
    ├── UnsafeURLError                a pagination link points away from the configured host
    ├── UnknownNameError              no event, group or binding by that name or id
    ├── UnexpectedResponseError       a 2xx answer this version cannot read (newer PostHog?)
    ├── MissingExtraError             a feature needs an optional extra that is not installed
    ├── APIConnectionError            no HTTP response: DNS, refused, reset, dropped connection
    │   └── APITimeoutError           the request timed out
    └── APIStatusError                PostHog answered with a non-2xx status
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403 (``missing_scope`` names the scope to add)
        ├── NotFoundError             404
        ├── RateLimitError            429 (``retry_after`` in seconds)
        └── InternalServerError       5xx

Every ``APIStatusError`` carries ``status_code``, PostHog's ``type``/``code``/``detail``/``attr``,
and the request's ``method`` and ``path``. None of them ever holds the API key: the request
headers are not kept.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

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
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnexpectedResponseError",
    "UnknownNameError",
    "UnsafeURLError",
    "make_status_error",
    "requires_extra",
]

_MISSING_SCOPE = re.compile(r"missing required scope '([^']+)'")


class EventSchemaError(Exception):
    """Base class of every error this package raises."""


class InvalidInputError(EventSchemaError, ValueError):
    """Input was rejected before any request was sent.

    Attributes:
        problems: ``(field, message)`` pairs, one per problem found.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


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
    """

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool = True) -> None:
        super().__init__(f"{message} ({method} {path})")
        self.method = method
        self.path = path
        self.request_sent = request_sent


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
        return ""


class NotFoundError(APIStatusError):
    """404: no such object in this project (or a malformed id in the path)."""


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
) -> APIStatusError:
    """Build the exception for a non-2xx response: the one status→class table.

    Args:
        status_code: the HTTP status of the response.
        method: the request's HTTP method.
        path: the request's URL path (no query string, never the key).
        body: the decoded response body.
        retry_after: the parsed ``Retry-After`` header, in seconds.
    """
    cls = _STATUS_TO_ERROR.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(
        status_code=status_code, method=method, path=path, body=body, retry_after=retry_after
    )


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


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
