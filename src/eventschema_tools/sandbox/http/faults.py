"""Seeded fault injection: the failures a client of PostHog must survive, on demand.

Kinds of fault, each a share of the requests to every route except the admin routes under
`/_sandbox/`, which are never faulted:

- `latency`: seconds added before every request is handled;
- `jitter`: up to this many seconds more, drawn per request from a generator of its own (seeded
  from `seed`), so turning jitter on does not move the other faults;
- `error_500`, `error_502`, `error_503`: answered at once with that status (500 in PostHog's JSON
  error shape, 502/503 as the HTML page a load balancer sends) without touching the store;
- `throttle`: starts a burst of `throttle_burst` consecutive 429s with `Retry-After: retry_after`;
- `drop` (writes only): the request is handled and committed, then the connection is closed
  without any response; in-process (`httpx.ASGITransport`) the app raises `DroppedConnection`,
  an `httpx.RemoteProtocolError`, which is what httpx raises over a socket in the same case;
- `slow`: the request is handled, then the response is held for `slow_delay` seconds, so a
  client timeout fires after the write happened.

One uniform draw per request from a `random.Random(seed)` picks at most one of the exclusive
kinds, so a sequential run with the same seed meets the same faults in the same places.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventschema_tools.sandbox.http.errors import gateway_error, server_error, throttled

WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_PREFIX: Final = "/_sandbox/"

_RATE_FIELDS: Final = ("error_500", "error_502", "error_503", "throttle", "drop", "slow")
_DURATION_FIELDS: Final = ("latency", "jitter", "slow_delay")
_INTEGER_FIELDS: Final = ("seed", "throttle_burst", "retry_after")
_DURATION = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)?\s*$")


class FaultSpecError(ValueError):
    """A fault specification that cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject, and how often.

    Rates are shares of requests in [0, 1]; the exclusive kinds together may not exceed 1.
    Durations are seconds.
    """

    seed: int = 0
    latency: float = 0.0
    jitter: float = 0.0
    error_500: float = 0.0
    error_502: float = 0.0
    error_503: float = 0.0
    throttle: float = 0.0
    throttle_burst: int = 1
    retry_after: int = 1
    drop: float = 0.0
    slow: float = 0.0
    slow_delay: float = 5.0

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise FaultSpecError(f"fault '{name}' must be a share between 0 and 1, got {value}")
        total = sum(getattr(self, name) for name in _RATE_FIELDS)
        if total > 1.0 + 1e-9:
            raise FaultSpecError(
                f"fault shares add up to {total:g}; error_*, throttle, drop and slow share the "
                "same requests, so together they may not exceed 1"
            )
        for name in _DURATION_FIELDS:
            if getattr(self, name) < 0:
                raise FaultSpecError(f"fault '{name}' must not be negative")
        if self.throttle_burst < 1:
            raise FaultSpecError("fault 'throttle_burst' must be at least 1")
        if self.retry_after < 0:
            raise FaultSpecError("fault 'retry_after' must not be negative")

    @property
    def active(self) -> bool:
        """Whether any fault can fire."""
        return (
            self.latency > 0
            or self.jitter > 0
            or any(getattr(self, name) > 0 for name in _RATE_FIELDS)
        )

    def as_dict(self) -> dict[str, Any]:
        """The configuration as JSON-ready data (the admin route's body)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> FaultConfig:
        """Build from JSON-like data; unknown keys and wrong types raise `FaultSpecError`."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FaultSpecError(
                f"unknown fault {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
            )
        converted: dict[str, Any] = {}
        for name, value in values.items():
            converted[name] = _coerce(name, value)
        return cls(**converted)


def parse_fault_spec(spec: str) -> FaultConfig:
    """Parse the CLI form `KEY=VALUE[,KEY=VALUE...]`.

    Rates accept `0.05` or `5%`; durations accept `250ms`, `1.5s` or plain seconds. Example:
    `seed=7,latency=20ms,error_503=5%,drop=0.1,slow=0.02,slow_delay=3s`.

    Raises:
        FaultSpecError: with the offending part and the accepted keys.
    """
    values: dict[str, object] = {}
    for part in (piece.strip() for piece in spec.split(",")):
        if not part:
            continue
        name, separator, raw = part.partition("=")
        if not separator or not raw.strip():
            raise FaultSpecError(f"fault spec part {part!r} is not KEY=VALUE")
        values[name.strip()] = raw.strip()
    return FaultConfig.from_mapping(values)


def _coerce(name: str, value: object) -> object:
    if isinstance(value, bool):
        raise FaultSpecError(f"fault '{name}' must be a number, got {value!r}")
    if name in _INTEGER_FIELDS:
        return _as_int(name, value)
    if name in _DURATION_FIELDS:
        return _as_seconds(name, value)
    return _as_rate(name, value)


def _as_int(name: str, value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise FaultSpecError(f"fault '{name}' must be a whole number, got {value!r}")


def _as_seconds(name: str, value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise FaultSpecError(f"fault '{name}' must be a duration like 250ms or 1.5s, got {value!r}")
    number = float(match["number"])
    return number / 1000 if match["unit"] == "ms" else number


def _as_rate(name: str, value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise FaultSpecError(
            f"fault '{name}' must be a share like 0.05 or 5%, got {value!r}"
        ) from None


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: an exclusive fault kind (or None), under which settings.

    `delay` is the latency to add before handling it: `latency` plus this request's jitter.
    """

    kind: str | None
    config: FaultConfig
    delay: float = 0.0


class DroppedConnection(httpx.RemoteProtocolError):
    """Raised in-process where a real server would close the connection without a response.

    It subclasses httpx's error so a client under `httpx.ASGITransport` sees the same exception
    family it sees over a socket (`httpx.RemoteProtocolError`, a `httpx.TransportError`).
    """


class FaultInjector:
    """Decides faults from a seeded generator and counts what happened; thread-safe."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._random = random.Random(config.seed)
        self._jitter_random = _jitter_generator(config.seed)
        self._burst_left = 0
        self._faults: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._requests = 0

    @property
    def config(self) -> FaultConfig:
        """The faults in force."""
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the faults in force and restart the generator from the new seed."""
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)
            self._jitter_random = _jitter_generator(config.seed)
            self._burst_left = 0

    def decide(self, *, is_write: bool) -> FaultDecision:
        """Draw the fault for the next request and count it."""
        with self._lock:
            self._requests += 1
            config = self._config
            kind = self._draw(config, is_write)
            if kind is not None:
                self._faults[kind] += 1
            delay = config.latency
            if config.jitter > 0:
                delay += self._jitter_random.uniform(0.0, config.jitter)
            if delay > 0:
                self._faults["latency"] += 1
            return FaultDecision(kind=kind, config=config, delay=delay)

    def record_status(self, status_code: int) -> None:
        """Count a response status sent to a client."""
        with self._lock:
            self._statuses[status_code] += 1

    def stats(self) -> dict[str, Any]:
        """Counters since start or the last reset: requests, faults per kind, statuses."""
        with self._lock:
            return {
                "requests": self._requests,
                "faults": {kind: self._faults[kind] for kind in ("latency", *_RATE_FIELDS)},
                "responses": {str(code): count for code, count in sorted(self._statuses.items())},
            }

    def reset_stats(self) -> None:
        """Zero every counter (the fault configuration and generator are kept)."""
        with self._lock:
            self._requests = 0
            self._faults.clear()
            self._statuses.clear()

    def _draw(self, config: FaultConfig, is_write: bool) -> str | None:
        if self._burst_left > 0:
            self._burst_left -= 1
            return "throttle"
        if not config.active:
            return None
        roll = self._random.random()
        threshold = 0.0
        for kind in _RATE_FIELDS:
            if kind == "drop" and not is_write:
                continue
            threshold += getattr(config, kind)
            if roll < threshold:
                if kind == "throttle":
                    self._burst_left = config.throttle_burst - 1
                return kind
        return None


def _jitter_generator(seed: int) -> random.Random:
    return random.Random(f"{seed}:jitter")


class FaultLayer:
    """ASGI wrapper, outside every other layer, that applies the injector's decisions.

    It sits outside Starlette's error middleware so that it still holds the server's own `send`
    (needed to abort the connection) and so a dropped connection never turns into a 500.
    """

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        counted_send = self._counting(send)
        decision = self.injector.decide(is_write=scope["method"] in WRITE_METHODS)
        if decision.delay > 0:
            await anyio.sleep(decision.delay)
        kind = decision.kind
        if kind in ("error_500", "error_502", "error_503", "throttle"):
            await self._answer_at_once(decision, scope, receive, counted_send)
        elif kind == "drop":
            await self.app(scope, receive, _discard)
            await _drop_connection(receive, send)
        elif kind == "slow":
            held: list[Message] = []
            await self.app(scope, receive, _collect_into(held))
            await anyio.sleep(decision.config.slow_delay)
            for message in held:
                await counted_send(message)
        else:
            await self.app(scope, receive, counted_send)

    async def _answer_at_once(
        self, decision: FaultDecision, scope: Scope, receive: Receive, send: Send
    ) -> None:
        kind = decision.kind or ""
        if kind == "throttle":
            response = throttled(decision.config.retry_after).response()
        elif kind == "error_500":
            response = server_error().response()
        else:
            response = gateway_error(int(kind.removeprefix("error_")))
        await response(scope, receive, send)

    def _counting(self, send: Send) -> Send:
        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.injector.record_status(int(message["status"]))
            await send(message)

        return counting_send


async def _discard(message: Message) -> None:
    """A `send` that throws the response away."""


def _collect_into(messages: list[Message]) -> Send:
    async def collect(message: Message) -> None:
        messages.append(message)

    return collect


async def _drop_connection(receive: Receive, send: Send) -> None:
    """Close the client's connection without an answer, or raise where there is no socket.

    uvicorn hands the app a bound method of its request cycle as `send`; the cycle holds the
    asyncio transport. Aborting it closes the socket before any byte of a response is written.
    Waiting for the disconnect message afterwards lets uvicorn see the closed connection, so it
    does not try to write a 500 of its own.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)
    if not callable(abort):
        raise DroppedConnection("Server disconnected without sending a response.")
    abort()
    with anyio.move_on_after(1.0):
        while (await receive())["type"] != "http.disconnect":
            pass
