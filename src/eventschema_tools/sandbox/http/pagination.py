"""Limit/offset pagination exactly like DRF's `LimitOffsetPagination` (PostHog's default).

Bodies are `{count, next, previous, results}`; `next`/`previous` are absolute URLs built from the
request's own URL, with the query parameters re-encoded in sorted order as DRF does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib import parse

from starlette.requests import Request

from eventschema_tools.sandbox.http.errors import ErrorDetail, ErrorTree, validation_failed

DEFAULT_LIMIT: Final = 100
_BIGINT_MAX: Final = 2**63 - 1
_TRAILING_DECIMAL: Final = re.compile(r"\.0*\s*$")


@dataclass(frozen=True)
class PageRequest:
    """The page a request asks for."""

    limit: int
    offset: int


def lenient_page(request: Request) -> PageRequest:
    """DRF's reading: a bad or non-positive `limit` means the default, a bad `offset` means 0."""
    return PageRequest(
        limit=_positive_int(request.query_params.get("limit"), strict=True, fallback=DEFAULT_LIMIT),
        offset=_positive_int(request.query_params.get("offset"), strict=False, fallback=0),
    )


def strict_page(request: Request) -> PageRequest:
    """The event-definition endpoint's reading: bad values are a 400 on `limit`/`offset`."""
    errors: dict[str | int, ErrorTree] = {}
    values = {"limit": DEFAULT_LIMIT, "offset": 0}
    for name, minimum in (("limit", 1), ("offset", 0)):
        raw = request.query_params.get(name)
        if raw is None:
            continue
        try:
            value = int(_TRAILING_DECIMAL.sub("", raw))
        except ValueError:
            errors[name] = [ErrorDetail("A valid integer is required.", "invalid")]
            continue
        if value < minimum:
            message = f"Ensure this value is greater than or equal to {minimum}."
            errors[name] = [ErrorDetail(message, "min_value")]
            continue
        values[name] = min(value, _BIGINT_MAX)
    if errors:
        raise validation_failed(errors)
    return PageRequest(limit=values["limit"], offset=values["offset"])


def paginated(
    request: Request, page: PageRequest, count: int, results: Sequence[Any]
) -> dict[str, Any]:
    """The paginated body for one page of `count` items."""
    return {
        "count": count,
        "next": _next_link(request, page, count),
        "previous": _previous_link(request, page),
        "results": list(results),
    }


def _next_link(request: Request, page: PageRequest, count: int) -> str | None:
    if page.offset + page.limit >= count:
        return None
    url = _replace_query_param(str(request.url), "limit", page.limit)
    return _replace_query_param(url, "offset", page.offset + page.limit)


def _previous_link(request: Request, page: PageRequest) -> str | None:
    if page.offset <= 0:
        return None
    url = _replace_query_param(str(request.url), "limit", page.limit)
    if page.offset - page.limit <= 0:
        return _remove_query_param(url, "offset")
    return _replace_query_param(url, "offset", page.offset - page.limit)


def _positive_int(raw: str | None, *, strict: bool, fallback: int) -> int:
    if raw is None:
        return fallback
    try:
        value = int(raw)
    except ValueError:
        return fallback
    if value < 0 or (value == 0 and strict):
        return fallback
    # Beyond a 64-bit integer the database cannot take the value; no page is that large anyway.
    return min(value, _BIGINT_MAX)


def _replace_query_param(url: str, key: str, value: int) -> str:
    scheme, netloc, path, query, fragment = parse.urlsplit(url)
    query_dict = parse.parse_qs(query, keep_blank_values=True)
    query_dict[key] = [str(value)]
    return parse.urlunsplit(
        (scheme, netloc, path, parse.urlencode(sorted(query_dict.items()), doseq=True), fragment)
    )


def _remove_query_param(url: str, key: str) -> str:
    scheme, netloc, path, query, fragment = parse.urlsplit(url)
    query_dict = parse.parse_qs(query, keep_blank_values=True)
    query_dict.pop(key, None)
    return parse.urlunsplit(
        (scheme, netloc, path, parse.urlencode(sorted(query_dict.items()), doseq=True), fragment)
    )
