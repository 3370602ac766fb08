"""What the sync and async clients share: every decision that needs no I/O.

Settings, URLs and headers, the origin check on pagination links, turning responses into
values or typed errors, wrapping transport failures, and the retry predicate. The clients in
``client.py`` only send, wait and loop.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic_core import from_json
from tenacity import RetryCallState

from eventschema_tools._retry import (
    RetryPolicy,
    is_ambiguous,
    is_retryable,
    parse_retry_after,
    retry_notice,
)
from eventschema_tools._version import __version__
from eventschema_tools.config import ClientSettings
from eventschema_tools.errors import (
    APIConnectionError,
    APITimeoutError,
    EventSchemaError,
    InvalidInputError,
    UnsafeURLError,
    make_status_error,
)
from eventschema_tools.rate_budget import RateBudget

__all__ = [
    "BaseClient",
    "BodyDecoder",
    "Query",
    "certificate_check",
    "describe_transport_failure",
]

logger = logging.getLogger("eventschema_tools")
# Its own logger, so a command line can show retries to a person without the per-attempt lines.
retry_logger = logging.getLogger("eventschema_tools.retry")


Query = Mapping[str, str | int | float | bool | list[str] | None]
# Reads a 2xx response's body when a caller knows better than plain JSON what it holds.
BodyDecoder = Callable[[httpx.Response], Any]

_PRE_SEND_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


_CHECK_HOST = "check the host (POSTHOG_HOST or --host: us, eu or your instance's URL)"


def describe_transport_failure(exc: httpx.TransportError) -> tuple[str, str]:
    """What went wrong without an HTTP answer, and what to check, in words (pure).

    The operating system's reason is found in the exception chain: a refused connection and a
    host name that does not resolve are configuration problems far more often than outages.
    """
    cause = _os_error(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out", f"{_CHECK_HOST}, your network, proxy and firewall"
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"timed out waiting ({type(exc).__name__})",
            "PostHog may be slow: try again, or raise EVENTSCHEMA_TIMEOUT",
        )
    if isinstance(exc, httpx.ConnectError):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", f"{_CHECK_HOST}, its port, and that the server is running"
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve", f"{_CHECK_HOST} and your DNS or network"
        if isinstance(cause, ssl.SSLError):
            return (
                f"TLS failed ({getattr(cause, 'reason', None) or cause})",
                f"{_CHECK_HOST}: https:// for TLS servers, http:// for plain ones",
            )
        detail = cause.strerror if cause is not None and cause.strerror else type(exc).__name__
        return f"cannot connect ({detail})", f"{_CHECK_HOST} and your network or proxy"
    return (
        f"the connection dropped before an answer ({type(exc).__name__})",
        "try again; if it keeps happening, check that the host is PostHog's API",
    )


def _os_error(exc: BaseException) -> OSError | None:
    """The operating system's error behind an httpx exception: the deepest in the chain (the
    async transport wraps the socket's error in a generic "All connection attempts failed")."""
    found = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            found = current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return found


def _encodes(value: object) -> bool:
    if isinstance(value, list | tuple):
        return all(_encodes(item) for item in value)
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def certificate_check(host: str) -> ssl.SSLContext | bool:
    """What a client's own HTTP connection pool checks the certificates of ``host`` against.

    ``True`` (the CA bundle) for an https host. A plain-http host never opens TLS: requests go to
    it and pagination links off its origin are refused. Its pool gets a context that trusts no
    certificate instead, so the bundle is not loaded (about 20 ms of every command that
    connects), and a TLS connection, were one ever attempted, would fail, not go unchecked.
    """
    if urlsplit(host).scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class BaseClient:
    """The I/O-free half of :class:`EventSchemaClient` and :class:`AsyncEventSchemaClient`."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        rate_budget: RateBudget | None = None,
        query_budget: RateBudget | None = None,
    ) -> None:
        self.settings = settings
        self.retry_policy = RetryPolicy(max_retries=settings.max_retries)
        self.rate_budget = rate_budget or RateBudget(settings.rate_limits)
        self.query_budget = query_budget or RateBudget(settings.query_rate_limits)
        pairs = ((self.rate_budget, rate_budget), (self.query_budget, query_budget))
        self._owned_budgets = [budget for budget, given in pairs if given is None]
        origin = urlsplit(settings.host)
        self._origin = (origin.scheme, origin.netloc)
        self._base_path = origin.path

    @property
    def project_id(self) -> str:
        """The project every call acts on."""
        return str(self.settings.project_id)

    @property
    def page_size(self) -> int:
        """Rows per list request (``page_size=`` or ``EVENTSCHEMA_PAGE_SIZE``; default 1000)."""
        return self.settings.page_size

    @property
    def host(self) -> str:
        """The PostHog base URL, e.g. ``https://us.posthog.com``."""
        return self.settings.host

    def project_path(self, *parts: object) -> str:
        """``/api/projects/{project_id}/<parts>/`` with a trailing slash, as DRF expects."""
        tail = "/".join(str(part).strip("/") for part in parts if str(part))
        return f"/api/projects/{self.project_id}/" + (f"{tail}/" if tail else "")

    @cached_property
    def _secrets(self) -> tuple[str, ...]:
        """What no error may show: the key (and so its ``Bearer`` form), should an answer echo
        the request's headers."""
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return (key,) if key else ()

    @cached_property
    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return {
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
            "User-Agent": f"eventschema-tools/{__version__}",
        }

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.host}{path}"

    def follow_link(self, url: str) -> str:
        """Check that a pagination link stays on the configured origin and return it.

        Raises:
            UnsafeURLError: the link points to another scheme, host or port.
        """
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin or not parts.path.startswith(
            self._base_path
        ):
            raise UnsafeURLError(
                f"refusing to follow a pagination link to {parts.scheme}://{parts.netloc}: "
                f"only {self.host} is trusted with the API key"
            )
        return url

    def budget_for(self, path: str) -> RateBudget:
        """The rate budget a request to ``path`` spends (HogQL queries have their own)."""
        return self.query_budget if path.rstrip("/").endswith("/query") else self.rate_budget

    @staticmethod
    def should_retry(exc: BaseException, *, safe_to_repeat: bool) -> bool:
        """Retry predicate: retryable, and either repeatable or certainly not applied."""
        return is_retryable(exc) and (safe_to_repeat or not is_ambiguous(exc))

    @staticmethod
    def decode(response: httpx.Response) -> Any:
        """Decode a response body: JSON when it parses, text otherwise, ``None`` when empty."""
        if not response.content:
            return None
        try:
            # pydantic-core's parser, caching only keys (values such as ids and timestamps are
            # unique): 30-40% faster than json.loads on a page of event schemas.
            return from_json(response.content, cache_strings="keys")
        except ValueError:
            return response.text

    def check(
        self, response: httpx.Response, method: str, decode: BodyDecoder | None = None
    ) -> Any:
        """Return the decoded body of a 2xx response (by ``decode`` when given); raise the
        mapped error otherwise."""
        if response.is_success:
            return (decode or self.decode)(response)
        body = self.decode(response)
        raise make_status_error(
            status_code=response.status_code,
            method=method,
            path=response.request.url.path,
            body=body,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            secrets=self._secrets,
        )

    @staticmethod
    def unencodable(method: str, path: str, params: Query | None) -> InvalidInputError:
        """The error for text that cannot be sent: it holds characters that stand for bytes
        which were not UTF-8 (a command-line argument or a file name in another encoding)."""
        names = [name for name, value in (params or {}).items() if not _encodes(value)]
        where = f"the {names[0]!r} parameter" if names else "the request body"
        return InvalidInputError(
            f"{where} of {method} {urlsplit(path).path} holds text that is not valid UTF-8 "
            "(bytes in another encoding); give names as UTF-8 text",
            [(names[0] if names else "body", "not valid UTF-8")],
        )

    @staticmethod
    def transport_error(exc: httpx.TransportError, method: str, url: str) -> EventSchemaError:
        """Wrap an httpx transport failure into our tree, naming the host that did not answer
        and what to check (never the key, nor credentials in the URL)."""
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        sent = not isinstance(exc, _PRE_SEND_ERRORS)
        reason, hint = describe_transport_failure(exc)
        where = f"cannot reach PostHog at {host}" if not sent else f"no answer from {host}"
        error = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        return error(
            f"{where}: {reason}",
            method=method,
            path=parts.path,
            request_sent=sent,
            host=host,
            hint=hint,
        )

    @staticmethod
    def log_response(
        method: str, url: str, status: int | str, attempt: int, elapsed: float
    ) -> None:
        """One log line per attempt: method, path, status, attempt number and elapsed time."""
        logger.debug(
            "%s %s -> %s (attempt %d, %.3fs)", method, urlsplit(url).path, status, attempt, elapsed
        )

    @staticmethod
    def log_retry(retry_state: RetryCallState) -> None:
        """One INFO line on ``eventschema_tools.retry`` before each retry: the wait and why."""
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
        retry_logger.info(retry_notice(exc, delay, retry_state.attempt_number))

    def page_rows(self, page: Any, link: str) -> list[dict[str, Any]]:
        """The ``results`` of a list response; anything else is a clear error, not a crash.

        Raises:
            EventSchemaError: the answer is not a page (the host is probably not PostHog's API).
        """
        rows = page.get("results") if isinstance(page, Mapping) else None
        if isinstance(rows, list):
            return rows
        raise EventSchemaError(
            f"expected a page of results from {urlsplit(self._url(link)).path}, got "
            f"{type(page).__name__}: check that the host is PostHog's API"
        )

    def first_page_query(self, params: Query | None, max_rows: int | None) -> dict[str, Any]:
        """The query of a list's first page: its filters and the client's page size, no
        larger than ``max_rows`` (later pages follow ``next``, which carries every parameter).

        Raises:
            InvalidInputError: ``max_rows`` is below 1.
        """
        if max_rows is not None and (isinstance(max_rows, bool) or max_rows < 1):
            raise InvalidInputError(
                f"max_rows must be at least 1, got {max_rows!r}", [("max_rows", "below 1")]
            )
        size = self.page_size if max_rows is None else min(self.page_size, max_rows)
        return {**(params or {}), "limit": size}

    def next_link(self, page: Any, rows_read: int, max_rows: int | None) -> str | None:
        """The next page's link, or ``None`` on the last page or once ``max_rows`` rows are read.

        Raises:
            UnsafeURLError: the link leaves the configured origin.
        """
        if max_rows is not None and rows_read >= max_rows:
            return None
        return self.follow_link(page["next"]) if page.get("next") else None

    @staticmethod
    def unique_rows(rows: Iterable[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
        """Drop rows whose ``id`` was already yielded (offset pages shift under inserts)."""
        fresh = []
        for row in rows:
            key = str(row.get("id"))
            if key not in seen:
                seen.add(key)
                fresh.append(row)
        return fresh

    def close_budgets(self) -> None:
        """Release the rate budgets this client created (shared ones stay open)."""
        for budget in self._owned_budgets:
            budget.close()
        self._owned_budgets = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, project_id={self.project_id!r})"
