"""Event capture: ``/batch/``, ``/capture/``, ``/e/`` and ``/i/v0/e/``, as PostHog ingests events.

Each path is served with and without its trailing slash, as PostHog's capture service routes both.

What a request may carry (the official SDKs' formats):

* a JSON body: ``{"api_key": "phc_...", "batch": [event, ...]}`` (the Python SDK's ``/batch/``),
  a list of events, or one event;
* compressed with gzip, announced by ``Content-Encoding: gzip`` or ``?compression=gzip`` /
  ``gzip-js`` (posthog-js), or just recognised by the gzip magic bytes;
* form-encoded as ``data=<JSON or base64 of JSON>`` (older posthog-js), or as ``?data=`` on GET.

The project token (``api_key`` or ``token`` of the batch, else ``token``/``$token``/``api_key`` or
``properties.token`` of the events) picks the project. A missing token or one that belongs to no
project is refused with 401, so a misconfigured sender learns about it at once. Refusals have the
body of PostHog's capture service, ``{"status": 401, "code": "...", "error": "..."}``.

Accepted events are stored in the event store, and their event definitions are created or get a
new ``last_seen_at``. For events whose definition has ``enforcement_mode: reject``, each required
property of the bound property groups is checked with PostHog's coercion rules (see
``coercion``); an event that fails is dropped and recorded as a ``schema_validation_failed``
ingestion warning, readable at ``GET /_sandbox/ingestion_warnings``. Unlike PostHog, which caches
enforced schemas for about two minutes, a schema change applies to the very next event.

Timestamps follow PostHog: ``timestamp`` corrected for the sender's clock skew with ``sent_at``
(unless the event sets ``$ignore_sent_at``), else ``now - offset`` (milliseconds), else now; an
unreadable ``timestamp`` becomes now with an ``ignored_invalid_timestamp`` warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid as uuid_module
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from eventschema_tools.sandbox.events.coercion import validate_event
from eventschema_tools.sandbox.events.store import (
    EventRow,
    EventStore,
    EventStoreUnavailableError,
    IngestionWarning,
)
from eventschema_tools.sandbox.http.errors import validation_error
from eventschema_tools.sandbox.http.json_text import loads_json
from eventschema_tools.sandbox.http.routing import SlashOptionalRoute, json_response
from eventschema_tools.sandbox.state import Sandbox, sandbox_of
from eventschema_tools.sandbox.storage.store import Store

__all__ = [
    "CAPTURE_PATHS",
    "MAX_PAYLOAD_BYTES",
    "WARNINGS_PATH",
    "CaptureError",
    "CapturedEvent",
    "IngestOutcome",
    "decode_payload",
    "ingest",
    "normalize_event",
    "parse_events",
    "routes",
]

CAPTURE_PATHS: Final = ("/batch/", "/capture/", "/e/", "/i/v0/e/")
WARNINGS_PATH: Final = "/_sandbox/ingestion_warnings"
MAX_PAYLOAD_BYTES: Final = 20 * 1024 * 1024
"""Largest request body, compressed or not, that capture reads."""

MAX_DISTINCT_ID_LENGTH: Final = 200
WARNING_SOURCE: Final = "plugin-server"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_GZIP_HINTS: Final = frozenset({"gzip", "gzip-js"})
_TOKEN_KEYS: Final = ("token", "$token", "api_key")


class CaptureError(Exception):
    """A refused capture request, answered with the capture service's error body."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message

    def response(self) -> Response:
        """The JSON answer: ``{"status": ..., "code": ..., "error": ...}``."""
        body = {"status": self.status_code, "code": self.code, "error": self.message}
        return JSONResponse(body, status_code=self.status_code)


@dataclass(frozen=True)
class CapturedEvent:
    """One event of a capture request, normalised."""

    uuid: str
    event: str
    distinct_id: str
    properties: dict[str, Any]
    timestamp: datetime


@dataclass
class IngestOutcome:
    """What ingestion did with a request's events."""

    stored: int = 0
    dropped: int = 0
    warnings: list[IngestionWarning] = field(default_factory=list)


def decode_payload(
    body: bytes,
    *,
    content_type: str = "",
    content_encoding: str = "",
    query: Mapping[str, str] | None = None,
) -> str:
    """Turn a capture request body into the JSON text it carries.

    Args:
        body: The raw request body.
        content_type: The ``Content-Type`` header.
        content_encoding: The ``Content-Encoding`` header.
        query: The query-string parameters (``compression``, and ``data`` on GET).

    Raises:
        CaptureError: 400 when the body cannot be decoded, 413 when it is too large.
    """
    params = dict(query or {})
    hint = params.get("compression", "").strip().lower()
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        # Latin-1 maps every byte to one character and back, so the data keeps its bytes.
        form = parse_qs(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        hint = (form.get("compression") or [hint])[0].strip().lower()
        body = (form.get("data") or [""])[0].encode("latin-1")
    elif not body and "data" in params:
        body = params["data"].encode("utf-8")
    if hint == "lz64":
        raise CaptureError(
            400,
            "request_decoding_error",
            "failed to decode request: lz64 compression is not supported by the sandbox; send "
            "plain JSON or gzip (Content-Encoding: gzip or ?compression=gzip-js)",
        )
    if "gzip" in content_encoding.lower() or hint in _GZIP_HINTS or body[:2] == _GZIP_MAGIC:
        body = _gunzip(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CaptureError(
            400, "request_decoding_error", "failed to decode request: invalid UTF-8 in payload"
        ) from None
    stripped = text.strip()
    if stripped and stripped[0] not in "{[":
        text = _unwrap_base64(stripped)
    return text


def parse_events(payload_text: str) -> tuple[str, list[dict[str, Any]], datetime | None]:
    """Read the token, the raw events and the batch's ``sent_at`` from a payload's JSON.

    Raises:
        CaptureError: 400 for malformed JSON or an empty batch, 401 without a usable token.
    """
    try:
        payload = loads_json(payload_text)
    except ValueError as error:
        raise CaptureError(
            400, "request_parsing_error", f"failed to parse request: {error}"
        ) from None
    batch_token: object = None
    sent_at: datetime | None = None
    if isinstance(payload, dict) and "batch" in payload:
        raw_events = payload["batch"]
        batch_token = payload.get("api_key", payload.get("token"))
        sent_at = _parse_time(payload.get("sent_at"))
    elif isinstance(payload, list):
        raw_events = payload
    else:
        raw_events = [payload]
    if not isinstance(raw_events, list) or not all(isinstance(e, dict) for e in raw_events):
        raise CaptureError(
            400,
            "request_parsing_error",
            "failed to parse request: expected an event object, a list of events or "
            '{"api_key": ..., "batch": [...]}',
        )
    if not raw_events:
        raise CaptureError(400, "empty_batch", "request holds no event")
    return _token(batch_token, raw_events), raw_events, sent_at


def normalize_event(
    raw: Mapping[str, Any], *, now: datetime, sent_at: datetime | None
) -> tuple[CapturedEvent, IngestionWarning | None]:
    """Check one raw event and give it its uuid, distinct id and timestamp.

    Returns:
        The event, and an ``ignored_invalid_timestamp`` warning when its timestamp was unreadable.

    Raises:
        CaptureError: 400 for a missing event name or distinct id, an invalid uuid, or
            properties that are not an object.
    """
    name = raw.get("event")
    if not isinstance(name, str) or not name:
        raise CaptureError(400, "missing_event_name", "event submitted with an empty event name")
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise CaptureError(
            400, "request_parsing_error", "failed to parse request: properties must be an object"
        )
    properties = dict(properties)
    for top_level, key in (("$set", "$set"), ("$set_once", "$set_once")):
        if isinstance(raw.get(top_level), dict) and key not in properties:
            properties[key] = raw[top_level]
    event_uuid = _event_uuid(raw.get("uuid"))
    distinct_id = _distinct_id(raw, properties)
    timestamp = _timestamp(raw, properties, now=now, sent_at=sent_at)
    warning = None
    if timestamp is None:
        timestamp = now
        details = {"eventUuid": event_uuid, "field": "timestamp", "value": str(raw["timestamp"])}
        warning = IngestionWarning("ignored_invalid_timestamp", WARNING_SOURCE, details, now)
    event = CapturedEvent(event_uuid, name, distinct_id, properties, timestamp)
    return event, warning


def ingest(
    store: Store,
    events_store: EventStore,
    project_id: int,
    events: Sequence[CapturedEvent],
    *,
    now: datetime,
) -> IngestOutcome:
    """Enforce ``reject`` schemas, store the surviving events and touch their definitions.

    Args:
        store: The sandbox's schema store (event definitions, groups, schemas).
        events_store: Where events and ingestion warnings are kept.
        project_id: The project the events belong to.
        events: The normalised events.
        now: The ingestion time (``last_seen_at`` of the definitions).
    """
    required: defaultdict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for enforced in store.enforced_required_properties(project_id):
        required[enforced.event][enforced.property] = enforced.property_types
    outcome = IngestOutcome()
    accepted: list[CapturedEvent] = []
    for event in events:
        schema = required.get(event.event)
        violations = validate_event(event.properties, schema) if schema else []
        if violations:
            outcome.dropped += 1
            details = {
                "eventUuid": event.uuid,
                "eventName": event.event,
                "distinctId": event.distinct_id,
                "errors": [violation.to_warning_error() for violation in violations],
            }
            outcome.warnings.append(
                IngestionWarning("schema_validation_failed", WARNING_SOURCE, details, now)
            )
        else:
            accepted.append(event)
    if accepted:
        outcome.stored = events_store.insert_many(
            project_id,
            (
                EventRow(
                    event.uuid,
                    event.event,
                    event.distinct_id,
                    json.dumps(event.properties, ensure_ascii=False),
                    event.timestamp,
                )
                for event in accepted
            ),
        )
        store.touch_event_definitions(project_id, [event.event for event in accepted], now)
    return outcome


def routes() -> list[BaseRoute]:
    """The capture routes and ``GET /_sandbox/ingestion_warnings``.

    Capture takes no personal API key: the body's project token is the credential. The warnings
    route is a sandbox-only admin route: ``?project_id=`` (default: the first project) and
    ``?limit=`` (default 100) select what it lists, newest first, with counts per type.
    """
    capture = [
        SlashOptionalRoute(path, _capture_endpoint, methods=["GET", "POST"], name=f"capture{path}")
        for path in CAPTURE_PATHS
    ]
    return [*capture, SlashOptionalRoute(WARNINGS_PATH, _warnings_endpoint, methods=["GET"])]


# --- the endpoint --------------------------------------------------------------------------------


async def _capture_endpoint(request: Request) -> Response:
    sandbox = sandbox_of(request)
    try:
        body = await _read_body(request)
        text = decode_payload(
            body,
            content_type=request.headers.get("content-type", ""),
            content_encoding=request.headers.get("content-encoding", ""),
            query=dict(request.query_params),
        )
        token, raw_events, sent_at = parse_events(text)
        project = sandbox.project_for_token(token)
        if project is None:
            raise CaptureError(
                401, "ingest_key_unknown", "api_key does not resolve to a known project"
            )
        now = datetime.now(UTC)
        normalized = [normalize_event(raw, now=now, sent_at=sent_at) for raw in raw_events]
    except CaptureError as error:
        return error.response()
    events = [event for event, _ in normalized]
    warnings = [warning for _, warning in normalized if warning is not None]
    try:
        await run_in_threadpool(_ingest_and_record, sandbox, project.id, events, warnings, now)
    except EventStoreUnavailableError as error:
        return CaptureError(503, "service_unavailable", f"service unavailable: {error}").response()
    return JSONResponse({"status": 1})


async def _warnings_endpoint(request: Request) -> Response:
    sandbox = sandbox_of(request)
    raw_project = request.query_params.get("project_id", str(sandbox.config.projects[0].id))
    raw_limit = request.query_params.get("limit", "100")
    if not raw_project.isdigit() or sandbox.config.project(int(raw_project)) is None:
        raise validation_error(
            f"project_id {raw_project!r} is not a project of this sandbox", attr="project_id"
        )
    if not raw_limit.isdigit():
        raise validation_error("limit must be a non-negative integer", attr="limit")
    project_id, limit = int(raw_project), int(raw_limit)
    counts, warnings = await run_in_threadpool(_read_warnings, sandbox.events, project_id, limit)
    return json_response(
        {
            "project_id": project_id,
            "counts": counts,
            "results": [
                {
                    "type": warning.type,
                    "source": warning.source,
                    "details": warning.details,
                    "timestamp": warning.timestamp.isoformat().replace("+00:00", "Z"),
                }
                for warning in warnings
            ],
        }
    )


def _read_warnings(
    events: EventStore, project_id: int, limit: int
) -> tuple[dict[str, int], list[IngestionWarning]]:
    return events.warning_counts(project_id), events.warnings(project_id, limit=limit)


def _ingest_and_record(
    sandbox: Sandbox,
    project_id: int,
    events: list[CapturedEvent],
    warnings: list[IngestionWarning],
    now: datetime,
) -> None:
    outcome = ingest(sandbox.store, sandbox.events, project_id, events, now=now)
    sandbox.events.add_warnings(project_id, [*warnings, *outcome.warnings])


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PAYLOAD_BYTES:
            raise _too_large()
    return bytes(body)


# --- helpers ---------------------------------------------------------------------------------


def _too_large() -> CaptureError:
    return CaptureError(
        413, "payload_too_large", f"maximum event size exceeded: over {MAX_PAYLOAD_BYTES} bytes"
    )


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_PAYLOAD_BYTES + 1)
    except zlib.error:
        raise CaptureError(
            400, "request_decoding_error", "failed to decode request: invalid GZIP data"
        ) from None
    if len(data) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise _too_large()
    return data


def _unwrap_base64(text: str) -> str:
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text
    return decoded if decoded.lstrip()[:1] in ("{", "[") else text


def _token(batch_token: object, raw_events: Sequence[Mapping[str, Any]]) -> str:
    if batch_token is not None:
        candidates = {batch_token}
    else:
        candidates = {token for event in raw_events if (token := _event_token(event)) is not None}
    if len(candidates) > 1:
        raise CaptureError(
            401, "unroutable_events", "batch submitted with inconsistent api_key values"
        )
    token = next(iter(candidates), None)
    if token is None or token == "":
        raise CaptureError(401, "ingest_key_required", "event submitted without an api_key")
    if not isinstance(token, str):
        raise CaptureError(401, "ingest_key_unknown", "API key is not valid: not a string")
    if token.startswith("phx_"):
        raise CaptureError(
            401,
            "ingest_key_unknown",
            "API key is not valid: a personal API key (phx_...) was sent; capture takes the "
            "project token (phc_...)",
        )
    return token


def _event_token(event: Mapping[str, Any]) -> object:
    for key in _TOKEN_KEYS:
        if event.get(key) is not None:
            return event[key]
    properties = event.get("properties")
    return properties.get("token") if isinstance(properties, dict) else None


def _event_uuid(value: object) -> str:
    if value is None or value == "":
        return str(uuid_module.uuid4())
    try:
        return str(uuid_module.UUID(str(value)))
    except ValueError:
        raise CaptureError(
            400, "request_parsing_error", f"failed to parse request: invalid uuid {value!r}"
        ) from None


def _distinct_id(raw: Mapping[str, Any], properties: Mapping[str, Any]) -> str:
    value = raw.get("distinct_id")
    if value is None:
        value = raw.get("$distinct_id")
    if value is None:
        value = properties.get("distinct_id")
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), sort_keys=True)
    elif value is not None and not isinstance(value, str):
        value = json.dumps(value)
    if not value:
        raise CaptureError(400, "missing_distinct_id", "event submitted without a distinct_id")
    return str(value)[:MAX_DISTINCT_ID_LENGTH]


def _timestamp(
    raw: Mapping[str, Any],
    properties: Mapping[str, Any],
    *,
    now: datetime,
    sent_at: datetime | None,
) -> datetime | None:
    """The event's time; None when it has a ``timestamp`` that cannot be read."""
    given = raw.get("timestamp")
    if given is not None:
        timestamp = _parse_time(given)
        if timestamp is None:
            return None
        event_sent_at = _parse_time(raw.get("sent_at")) or sent_at
        if event_sent_at is not None and properties.get("$ignore_sent_at") is not True:
            return now + (timestamp - event_sent_at)
        return timestamp
    offset = raw.get("offset")
    if isinstance(offset, int | float) and not isinstance(offset, bool):
        return now - timedelta(milliseconds=offset)
    return now


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
