"""PostHog's error bodies, and the DRF validation-error rendering behind them.

PostHog answers every raised API error through `exceptions_hog` with one shape::

    {"type": "<error type>", "code": "<code>", "detail": "<message>", "attr": "<field or null>"}

Validation errors are built like DRF builds them (a tree of `ErrorDetail` strings in dicts and
lists) and then reduced to that single body by `render_validation_errors`, which follows the
handler's rules: only the first error is reported, `invalid` is renamed `invalid_input`, nested
dict keys are joined with `__`, and a field whose errors are a list of per-item dicts (a nested
`properties` list) reports the stringified first item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from starlette.responses import HTMLResponse, JSONResponse, Response

NON_FIELD_ERRORS = "non_field_errors"


class ErrorDetail(str):
    """A DRF error message with its machine-readable code (a `str` subclass, as in DRF)."""

    code: str

    def __new__(cls, message: str, code: str) -> ErrorDetail:
        detail = super().__new__(cls, message)
        detail.code = code
        return detail

    def __repr__(self) -> str:
        # The stringified-nested-error quirk embeds this repr in response bodies.
        return f"ErrorDetail(string={str(self)!r}, code={self.code!r})"


ErrorTree = ErrorDetail | list["ErrorTree"] | dict[str | int, "ErrorTree"]


class ApiError(Exception):
    """An HTTP error answer; routes raise it and the app renders it."""

    def __init__(
        self,
        status_code: int,
        body: Mapping[str, object],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code}: {body.get('detail')}")
        self.status_code = status_code
        self.body = dict(body)
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """The JSON response PostHog would send for this error."""
        return JSONResponse(self.body, status_code=self.status_code, headers=self.headers)


def error_body(
    error_type: str, code: str, detail: str, attr: str | None = None
) -> dict[str, object]:
    """Build PostHog's standard error body."""
    return {"type": error_type, "code": code, "detail": detail, "attr": attr}


def not_found() -> ApiError:
    """404 for an unknown route, project or object (also for malformed ids in a URL)."""
    return ApiError(404, error_body("invalid_request", "not_found", "Not found."))


def method_not_allowed(method: str) -> ApiError:
    """405, e.g. GET on a single event schema, which PostHog does not route."""
    return ApiError(
        405, error_body("invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')
    )


def not_authenticated() -> ApiError:
    """401 when no personal API key was sent."""
    return ApiError(
        401,
        error_body(
            "authentication_error",
            "not_authenticated",
            "Authentication credentials were not provided.",
        ),
    )


def invalid_personal_api_key() -> ApiError:
    """401 when the bearer token is not a known personal API key (a `phc_` token included)."""
    return ApiError(
        401,
        error_body(
            "authentication_error",
            "authentication_failed",
            "Personal API key found in request Authorization header is invalid.",
        ),
    )


def permission_denied(detail: str) -> ApiError:
    """403 for a missing scope or a project the key may not access."""
    return ApiError(403, error_body("authentication_error", "permission_denied", detail))


def throttled(wait_seconds: float) -> ApiError:
    """429 with `Retry-After`, worded like DRF's `Throttled` (the wait is rounded up)."""
    wait = max(1, math.ceil(wait_seconds))
    unit = "second" if wait == 1 else "seconds"
    detail = f"Request was throttled. Expected available in {wait} {unit}."
    return ApiError(
        429,
        error_body("throttled_error", "throttled", detail),
        headers={"Retry-After": str(wait)},
    )


def parse_error(reason: str) -> ApiError:
    """400 for a body that is not valid JSON (DRF's `ParseError`)."""
    return ApiError(
        400, error_body("invalid_request", "parse_error", f"JSON parse error - {reason}")
    )


def unsupported_media_type(content_type: str) -> ApiError:
    """415 for a body in a media type the sandbox does not parse."""
    detail = f'Unsupported media type "{content_type}" in request.'
    return ApiError(415, error_body("invalid_request", "unsupported_media_type", detail))


def body_too_large(limit_bytes: int) -> ApiError:
    """413 for a request body over the configured limit."""
    detail = f"Request body exceeds the limit of {limit_bytes} bytes."
    return ApiError(413, error_body("invalid_request", "request_too_large", detail))


def server_error() -> ApiError:
    """500 as exceptions_hog renders any non-API exception."""
    return ApiError(500, error_body("server_error", "error", "A server error occurred."))


def plain_detail(status_code: int, detail: str) -> ApiError:
    """A bare `{"detail": ...}` body, which some actions return without the handler."""
    return ApiError(status_code, {"detail": detail})


def gateway_error(status_code: int) -> Response:
    """A 502/503 page as a load balancer in front of PostHog sends it: HTML, not JSON."""
    reason = {502: "Bad Gateway", 503: "Service Unavailable"}[status_code]
    title = f"{status_code} {reason}"
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return HTMLResponse(page, status_code=status_code)


def validation_failed(errors: ErrorTree) -> ApiError:
    """400 for a DRF-style error tree, rendered as exceptions_hog renders it."""
    code, detail, attr = render_validation_errors(errors)
    return ApiError(400, error_body("validation_error", code, detail, attr))


def validation_error(message: str, *, attr: str | None = None, code: str = "invalid") -> ApiError:
    """400 for a single validation message on one field, or a non-field one when `attr` is None."""
    detail = ErrorDetail(message, code)
    tree: ErrorTree = [detail] if attr is None else {attr: [detail]}
    return validation_failed(tree)


def render_validation_errors(errors: ErrorTree) -> tuple[str, str, str | None]:
    """Reduce an error tree to exceptions_hog's `(code, detail, attr)` for the first error."""
    if isinstance(errors, ErrorDetail):
        return _public_code(errors.code), str(errors), None
    if isinstance(errors, list):
        first = errors[0]
        return _public_code(str(_codes(first))), str(first), None
    found = _first_leaf(errors)
    if found is None:
        raise ValueError("an empty error tree has no first error")
    keys, leaf = found
    first_code = _codes(leaf[0] if isinstance(leaf, list) else leaf)
    detail_value: ErrorTree = leaf[0] if isinstance(leaf, list) else leaf
    attr = "__".join(str(key) for key in keys)
    return (
        _public_code(str(first_code)),
        str(detail_value),
        None if attr in (NON_FIELD_ERRORS, "__all__") else attr or None,
    )


def _first_leaf(errors: dict[str | int, ErrorTree]) -> tuple[list[str | int], ErrorTree] | None:
    """The first error in field order; dicts are descended into, lists are leaves."""
    for key, value in errors.items():
        if not isinstance(value, dict):
            return [key], value
        nested = _first_leaf(value)
        if nested is not None:
            return [key, *nested[0]], nested[1]
    return None


def _codes(errors: ErrorTree) -> object:
    """The codes of an error tree, shaped like DRF's `get_codes()`."""
    if isinstance(errors, ErrorDetail):
        return errors.code
    if isinstance(errors, list):
        return [_codes(item) for item in errors]
    return {key: _codes(value) for key, value in errors.items()}


def _public_code(code: str) -> str:
    return "invalid_input" if code == "invalid" else code
