"""``EventSchemaClient`` and ``AsyncEventSchemaClient``: PostHog's schema API, typed.

Both clients share one policy (``BaseClient``, ``RetryPolicy``, ``RateBudget``):

* every request waits for a slot in the key's rate budget (480/minute and 4,800/hour by default,
  HogQL queries 120/hour), shared by all threads or tasks using the client;
* connection errors, 408, 429 (after ``Retry-After``) and 5xx are retried with capped
  exponential backoff and jitter, ``max_retries`` times (per client, or per call);
* a create whose outcome is unknown (dropped connection, timeout, 5xx) is *reconciled*: the
  client looks for the object before trying again, so exactly one exists;
* lists iterate lazily over all pages (``page_size`` rows per request, 1000 by default), drop
  rows seen twice, and follow ``next`` links only on the configured host.

Example::

    from eventschema_tools import EventSchemaClient

    with EventSchemaClient.from_env() as client:
        for schema in client.event_schemas.list():
            print(schema.event_definition, schema.property_group.name)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import cached_property
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from tenacity import AsyncRetrying, Retrying, retry_if_exception

from eventschema_tools._base_client import BaseClient, BodyDecoder, Query, certificate_check
from eventschema_tools._retry import is_ambiguous
from eventschema_tools.config import ClientSettings
from eventschema_tools.errors import (
    BadRequestError,
    ConfigurationError,
    EventSchemaError,
    NotFoundError,
)
from eventschema_tools.identity import WhoAmI, whoami, whoami_async
from eventschema_tools.models import Project, User, parse_response
from eventschema_tools.rate_budget import RateBudget
from eventschema_tools.resources import (
    AsyncEventDefinitions,
    AsyncEventSchemas,
    AsyncPropertyGroups,
    AsyncQuery,
    EventDefinitions,
    EventSchemas,
    PropertyGroups,
    QueryResource,
)

__all__ = ["AsyncEventSchemaClient", "EventSchemaClient"]

T = TypeVar("T")
_GONE = object()


class _Attempts:
    """Bookkeeping of one logical call: did an attempt fail in a way that may hide a write?"""

    def __init__(self) -> None:
        self.ambiguous = False

    def note(self, exc: EventSchemaError, *, method: str) -> object | None:
        """Record ``exc``; return ``_GONE`` when a retried DELETE finds the object gone."""
        if method == "DELETE" and self.ambiguous and isinstance(exc, NotFoundError):
            return _GONE
        if is_ambiguous(exc):
            self.ambiguous = True
        return None

    def duplicate_after_retry(self, exc: EventSchemaError) -> bool:
        """A "already exists" 400 after an ambiguous attempt means our own write landed."""
        return self.ambiguous and isinstance(exc, BadRequestError) and exc.is_duplicate


def _settings(**overrides: Any) -> ClientSettings:
    return ClientSettings.load(**overrides)


def _one_http_source(transport: object, http_client: object) -> None:
    if transport is not None and http_client is not None:
        raise ConfigurationError(
            "give transport= or http_client=, not both: a ready HTTP client keeps its own transport"
        )


class EventSchemaClient(BaseClient):
    """Synchronous client for one PostHog project.

    Args:
        api_key: personal API key (``phx_...``); default ``POSTHOG_PERSONAL_API_KEY``.
        project_id: project id or ``@current``; default ``POSTHOG_PROJECT_ID``.
        host: ``us``, ``eu`` or a URL; default ``POSTHOG_HOST``, else US cloud.
        timeout: seconds per request.
        max_retries: retries after the first attempt (0 disables retries).
        rate_limit: client pacing such as ``"480/minute,4800/hour"``, or ``"off"``.
        query_rate_limit: HogQL pacing such as ``"120/hour"``, or ``"off"``.
        page_size: rows per list request (1000; every list reads all its pages either way).
        rate_budget: share one budget between several clients using the same key.
        transport: an httpx transport (tests pass the sandbox's).
        http_client: a ready ``httpx.Client`` to use instead of creating one (its timeout and
            transport apply, and closing it stays with the caller).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        project_id: str | int | None = None,
        host: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        rate_limit: str | None = None,
        query_rate_limit: str | None = None,
        page_size: int | None = None,
        rate_budget: RateBudget | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        settings = _settings(
            api_key=api_key,
            project_id=project_id,
            host=host,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            query_rate_limit=query_rate_limit,
            page_size=page_size,
        )
        _one_http_source(transport, http_client)
        super().__init__(settings, rate_budget=rate_budget)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=settings.timeout, transport=transport, verify=certificate_check(settings.host)
        )

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Build a client from ``POSTHOG_*`` environment variables (keywords override them)."""
        return cls(**overrides)

    @cached_property
    def event_schemas(self) -> EventSchemas:
        """Bindings of property groups to event definitions."""
        return EventSchemas(self)

    @cached_property
    def property_groups(self) -> PropertyGroups:
        """Reusable sets of typed properties."""
        return PropertyGroups(self)

    @cached_property
    def event_definitions(self) -> EventDefinitions:
        """The project's event definitions."""
        return EventDefinitions(self)

    @cached_property
    def query(self) -> QueryResource:
        """HogQL queries."""
        return QueryResource(self)

    def current_user(self) -> User:
        """Return the user the API key belongs to (a cheap connection check)."""
        return parse_response(User, self.request("GET", "/api/users/@me/"))

    def project(self) -> Project:
        """Return the configured project."""
        return parse_response(Project, self.request("GET", self.project_path()))

    def whoami(self) -> WhoAmI:
        """Who the key is: its user, scopes and projects, and the configured project (three or
        four GETs; what the key may not read is listed in ``unavailable``)."""
        return whoami(self)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Any = None,
        max_retries: int | None = None,
        safe_to_repeat: bool | None = None,
        reconcile: Callable[[], T | None] | None = None,
        decode: BodyDecoder | None = None,
    ) -> Any:
        """Send one logical request with pacing, retries and, for creates, reconciliation.

        Args:
            method: HTTP method.
            path: a path under the host, or a link already checked by ``follow_link``.
            params: query parameters.
            json: the JSON body.
            max_retries: overrides the client's retry count for this call.
            safe_to_repeat: whether repeating the request is harmless; defaults to True for
                every method but POST.
            reconcile: for creates: finds the object if an earlier attempt landed.
            decode: reads a 2xx body instead of plain JSON decoding (error bodies stay plain).

        Returns:
            The decoded JSON body (``None`` for 204), or what ``reconcile`` found.
        """
        repeatable = method != "POST" if safe_to_repeat is None else safe_to_repeat
        attempts = _Attempts()
        retrying = Retrying(
            stop=self.retry_policy.stop(max_retries),
            wait=self.retry_policy.wait(),
            retry=retry_if_exception(
                lambda exc: self.should_retry(exc, safe_to_repeat=repeatable or bool(reconcile))
            ),
            before_sleep=self.log_retry,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                if attempts.ambiguous and reconcile is not None:
                    found = reconcile()
                    if found is not None:
                        return found
                try:
                    return self._send(
                        method, path, params, json, attempt.retry_state.attempt_number, decode
                    )
                except EventSchemaError as exc:
                    if attempts.note(exc, method=method) is _GONE:
                        return None
                    if reconcile is not None and attempts.duplicate_after_retry(exc):
                        found = reconcile()
                        if found is not None:
                            return found
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        params: Query | None,
        json: Any,
        attempt: int,
        decode: BodyDecoder | None,
    ) -> Any:
        url = self._url(path)
        self.budget_for(path).acquire()
        started = time.monotonic()
        try:
            response = self._http.request(
                method, url, params=params, json=json, headers=self._headers
            )
        except UnicodeEncodeError:
            raise self.unencodable(method, path, params) from None
        except httpx.TransportError as exc:
            self.log_response(method, url, type(exc).__name__, attempt, time.monotonic() - started)
            raise self.transport_error(exc, method, url) from None
        self.log_response(method, url, response.status_code, attempt, time.monotonic() - started)
        return self.check(response, method, decode)

    def paginate(
        self, path: str, params: Query | None = None, *, max_rows: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield the rows of a list endpoint, page by page (``page_size`` rows each), each row
        once; stop after ``max_rows`` rows when given."""
        for rows in self.paginate_pages(path, params, max_rows=max_rows):
            yield from rows

    def paginate_pages(
        self,
        path: str,
        params: Query | None = None,
        *,
        max_rows: int | None = None,
        decode: BodyDecoder | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the rows of :meth:`paginate` one page at a time, each page's body read by
        ``decode`` when given (which must return a page: ``results`` and ``next``)."""
        query: dict[str, Any] | None = self.first_page_query(params, max_rows)
        seen: set[str] = set()
        read = 0
        link: str | None = path
        while link is not None:
            page = self.request("GET", link, params=query, decode=decode)
            rows = self.unique_rows(self.page_rows(page, link), seen)
            rows = rows if max_rows is None else rows[: max_rows - read]
            read += len(rows)
            yield rows
            link = self.next_link(page, read, max_rows)
            # `next` carries every parameter; httpx would drop its query string given `{}`.
            query = None

    def close(self) -> None:
        """Close the HTTP connection pool and rate budgets the client created."""
        self.close_budgets()
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncEventSchemaClient(BaseClient):
    """Asynchronous twin of :class:`EventSchemaClient`: same names, same policy.

    Args:
        api_key: personal API key (``phx_...``); default ``POSTHOG_PERSONAL_API_KEY``.
        project_id: project id or ``@current``; default ``POSTHOG_PROJECT_ID``.
        host: ``us``, ``eu`` or a URL; default ``POSTHOG_HOST``, else US cloud.
        timeout: seconds per request.
        max_retries: retries after the first attempt (0 disables retries).
        rate_limit: client pacing such as ``"480/minute,4800/hour"``, or ``"off"``.
        query_rate_limit: HogQL pacing such as ``"120/hour"``, or ``"off"``.
        page_size: rows per list request (1000; every list reads all its pages either way).
        rate_budget: share one budget between several clients using the same key.
        transport: an httpx async transport (tests pass ``httpx.ASGITransport``).
        http_client: a ready ``httpx.AsyncClient`` to use instead of creating one (its timeout
            and transport apply, and closing it stays with the caller).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        project_id: str | int | None = None,
        host: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        rate_limit: str | None = None,
        query_rate_limit: str | None = None,
        page_size: int | None = None,
        rate_budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        settings = _settings(
            api_key=api_key,
            project_id=project_id,
            host=host,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            query_rate_limit=query_rate_limit,
            page_size=page_size,
        )
        _one_http_source(transport, http_client)
        super().__init__(settings, rate_budget=rate_budget)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=settings.timeout, transport=transport, verify=certificate_check(settings.host)
        )

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Build a client from ``POSTHOG_*`` environment variables (keywords override them)."""
        return cls(**overrides)

    @cached_property
    def event_schemas(self) -> AsyncEventSchemas:
        """Bindings of property groups to event definitions."""
        return AsyncEventSchemas(self)

    @cached_property
    def property_groups(self) -> AsyncPropertyGroups:
        """Reusable sets of typed properties."""
        return AsyncPropertyGroups(self)

    @cached_property
    def event_definitions(self) -> AsyncEventDefinitions:
        """The project's event definitions."""
        return AsyncEventDefinitions(self)

    @cached_property
    def query(self) -> AsyncQuery:
        """HogQL queries."""
        return AsyncQuery(self)

    async def current_user(self) -> User:
        """Return the user the API key belongs to (a cheap connection check)."""
        return parse_response(User, await self.request("GET", "/api/users/@me/"))

    async def project(self) -> Project:
        """Return the configured project."""
        return parse_response(Project, await self.request("GET", self.project_path()))

    async def whoami(self) -> WhoAmI:
        """Async twin of :meth:`EventSchemaClient.whoami`."""
        return await whoami_async(self)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Any = None,
        max_retries: int | None = None,
        safe_to_repeat: bool | None = None,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
        decode: BodyDecoder | None = None,
    ) -> Any:
        """Send one logical request with pacing, retries and, for creates, reconciliation.

        See :meth:`EventSchemaClient.request`; ``reconcile`` is awaited here.
        """
        repeatable = method != "POST" if safe_to_repeat is None else safe_to_repeat
        attempts = _Attempts()
        retrying = AsyncRetrying(
            stop=self.retry_policy.stop(max_retries),
            wait=self.retry_policy.wait(),
            retry=retry_if_exception(
                lambda exc: self.should_retry(exc, safe_to_repeat=repeatable or bool(reconcile))
            ),
            before_sleep=self.log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if attempts.ambiguous and reconcile is not None:
                    found = await reconcile()
                    if found is not None:
                        return found
                try:
                    return await self._send(
                        method, path, params, json, attempt.retry_state.attempt_number, decode
                    )
                except EventSchemaError as exc:
                    if attempts.note(exc, method=method) is _GONE:
                        return None
                    if reconcile is not None and attempts.duplicate_after_retry(exc):
                        found = await reconcile()
                        if found is not None:
                            return found
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _send(
        self,
        method: str,
        path: str,
        params: Query | None,
        json: Any,
        attempt: int,
        decode: BodyDecoder | None,
    ) -> Any:
        url = self._url(path)
        await self.budget_for(path).acquire_async()
        started = time.monotonic()
        try:
            response = await self._http.request(
                method, url, params=params, json=json, headers=self._headers
            )
        except UnicodeEncodeError:
            raise self.unencodable(method, path, params) from None
        except httpx.TransportError as exc:
            self.log_response(method, url, type(exc).__name__, attempt, time.monotonic() - started)
            raise self.transport_error(exc, method, url) from None
        self.log_response(method, url, response.status_code, attempt, time.monotonic() - started)
        return self.check(response, method, decode)

    async def paginate(
        self, path: str, params: Query | None = None, *, max_rows: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the rows of a list endpoint, page by page (``page_size`` rows each), each row
        once; stop after ``max_rows`` rows when given."""
        async for rows in self.paginate_pages(path, params, max_rows=max_rows):
            for row in rows:
                yield row

    async def paginate_pages(
        self,
        path: str,
        params: Query | None = None,
        *,
        max_rows: int | None = None,
        decode: BodyDecoder | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Async twin of :meth:`EventSchemaClient.paginate_pages`."""
        query: dict[str, Any] | None = self.first_page_query(params, max_rows)
        seen: set[str] = set()
        read = 0
        link: str | None = path
        while link is not None:
            page = await self.request("GET", link, params=query, decode=decode)
            rows = self.unique_rows(self.page_rows(page, link), seen)
            rows = rows if max_rows is None else rows[: max_rows - read]
            read += len(rows)
            yield rows
            link = self.next_link(page, read, max_rows)
            # `next` carries every parameter; httpx would drop its query string given `{}`.
            query = None

    async def close(self) -> None:
        """Close the HTTP connection pool and rate budgets the client created."""
        self.close_budgets()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
