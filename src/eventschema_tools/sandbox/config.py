"""What a sandbox serves: projects, personal API keys and their scopes, limits, faults, storage.

The CLI strings have parsers here so the command line and Python share one set of rules:
`ApiKey.parse("TOKEN:SCOPE,SCOPE")`, `parse_rate_limits("480/minute,4800/hour")` and
`faults.parse_fault_spec("seed=7,drop=0.1")`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from eventschema_tools.sandbox.http.faults import FaultConfig
from eventschema_tools.sandbox.storage.seed import SEED_NAMES

DEMO_API_KEY: Final = "phx_sandbox_demo_key"
DEMO_PROJECT_ID: Final = 1
# Public demo credentials, documented and printed on purpose.
DEMO_PROJECT_TOKEN: Final = "phc_sandbox_demo"  # noqa: S105
ALL_SCOPES: Final = "*"
SCOPE_OBJECTS: Final = ("event_definition", "project", "query", "user")
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
DEFAULT_KEEP_ALIVE_SECONDS: Final = 5
DEFAULT_MAX_CONNECTIONS: Final = 256
DEFAULT_MAX_HEADER_BYTES: Final = 16 * 1024

_PERIODS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PERIOD_NAMES: Final = {1.0: "second", 60.0: "minute", 3600.0: "hour", 86400.0: "day"}
_TOKEN = re.compile(r"^\S+$")


class ConfigError(ValueError):
    """A sandbox setting that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` per `period_seconds`, over a sliding window (DRF's throttle model)."""

    requests: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period_seconds <= 0:
            raise ConfigError(f"rate limit {self} must allow at least 1 request per period")

    def __str__(self) -> str:
        name = _PERIOD_NAMES.get(self.period_seconds)
        return f"{self.requests}/{name}" if name else f"{self.requests}/{self.period_seconds:g}s"

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse `N/second|minute|hour|day` (DRF reads only the first letter of the period)."""
        count, separator, period = text.strip().partition("/")
        period = period.strip().lower()
        if not separator or not count.strip().isdigit() or period[:1] not in _PERIODS:
            raise ConfigError(
                f"rate limit {text.strip()!r} is not N/PERIOD (PERIOD: second, minute, hour or "
                "day), e.g. 480/minute"
            )
        return cls(int(count), _PERIODS[period[0]])


def parse_rate_limits(text: str) -> tuple[RateLimit, ...]:
    """Parse a comma-separated list such as `480/minute,4800/hour`."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ConfigError("rate limit is empty; give e.g. 480/minute,4800/hour or --no-rate-limit")
    return tuple(RateLimit.parse(part) for part in parts)


DEFAULT_RATE_LIMITS: Final = (RateLimit(480, 60.0), RateLimit(4800, 3600.0))
DEFAULT_QUERY_RATE_LIMITS: Final = (RateLimit(120, 3600.0),)


@dataclass(frozen=True)
class ApiKey:
    """A personal API key: its secret token, its scopes and, optionally, the projects it may use.

    Scopes are `*`, or `OBJECT:read` / `OBJECT:write` where OBJECT is one of `SCOPE_OBJECTS`;
    `:write` also grants `:read`. No scopes (the default) makes an unscoped key, which PostHog
    allows everything. The two differ in one place, as in PostHog: a method a route does not
    support answers 405 to an unscoped key but 403 ("This action does not support Personal API
    Key access") to a scoped one, `*` included. `projects=None` gives access to every project.
    """

    token: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    projects: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.token):
            raise ConfigError("an API key token must be non-empty and contain no whitespace")
        for scope in self.scopes:
            _check_scope(scope)

    def __repr__(self) -> str:
        return f"ApiKey(token={self.masked!r}, scopes={self.scopes!r}, projects={self.projects!r})"

    @property
    def scoped(self) -> bool:
        """Whether the key carries scopes (an unscoped key is allowed everything)."""
        return bool(self.scopes)

    @property
    def masked(self) -> str:
        """The token as it may be shown: a short prefix and the length, e.g. `phx_ab…(36 chars)`."""
        visible = min(6, len(self.token) // 3)
        return f"{self.token[:visible]}…({len(self.token)} chars)"

    def allows(self, required_scope: str) -> bool:
        """Whether the key grants `required_scope` (PostHog's APIScopePermission rules)."""
        if not self.scopes or ALL_SCOPES in self.scopes:
            return True
        if required_scope in self.scopes:
            return True
        return required_scope.endswith(":read") and (
            required_scope.removesuffix(":read") + ":write" in self.scopes
        )

    @classmethod
    def parse(cls, text: str) -> ApiKey:
        """Parse the CLI form `TOKEN[:SCOPE,SCOPE...]`; a bare token is an unscoped key."""
        token, separator, scope_list = text.strip().partition(":")
        if not separator:
            return cls(token)
        scopes = tuple(scope.strip() for scope in scope_list.split(",") if scope.strip())
        if not scopes:
            raise ConfigError("API key has ':' but no scopes; write TOKEN or TOKEN:SCOPE,SCOPE")
        return cls(token, scopes)


def _check_scope(scope: str) -> None:
    if scope == ALL_SCOPES:
        return
    scope_object, separator, access = scope.partition(":")
    if separator and scope_object in SCOPE_OBJECTS and access in ("read", "write"):
        return
    raise ConfigError(
        f"unknown scope {scope!r}; use '*' or OBJECT:read / OBJECT:write with OBJECT one of "
        f"{', '.join(SCOPE_OBJECTS)}"
    )


@dataclass(frozen=True)
class Project:
    """A PostHog project (team) the sandbox serves, with its public `phc_` project token."""

    id: int
    name: str = ""
    api_token: str = ""

    def __post_init__(self) -> None:
        if self.id < 1:
            raise ConfigError(f"project id must be a positive integer, got {self.id}")
        if not self.name:
            default = "Default project" if self.id == DEMO_PROJECT_ID else f"Project {self.id}"
            object.__setattr__(self, "name", default)
        if not self.api_token:
            default = DEMO_PROJECT_TOKEN if self.id == DEMO_PROJECT_ID else f"phc_sandbox_{self.id}"
            object.__setattr__(self, "api_token", default)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox instance serves and how it behaves.

    Attributes:
        projects: projects served; the first is `@current` for keys without a project list.
        api_keys: personal API keys accepted.
        rate_limits: per-key windows for the schema endpoints (PostHog: 480/minute, 4800/hour).
        query_rate_limits: per-key windows for the `query` bucket (PostHog: 120/hour for HogQL).
        rate_limiting: False switches every limit off.
        faults: faults injected from the start (changeable at `/_sandbox/faults`).
        data_dir: directory of the SQLite file; None keeps everything in memory.
        seed: data to load into an empty store (`demo`), or None.
        max_body_bytes: request bodies above this get a 413.
        reject_mode_allowed: whether `enforcement_mode="reject"` may be set, as if PostHog's
            `schema-enforcement-reject` flag were on; False answers the flag's 400.
        allow_remote: serve addresses other than loopback; every `/_sandbox/` route then needs
            a personal API key (without it, binding another address is refused).
        keep_alive_seconds: a connection with no request under way is closed after this long:
            idle after a response, or before its first request's headers are complete.
        max_connections: connections served at once; a request beyond them gets a 503.
        max_header_bytes: how much of a request line and headers is held while they arrive;
            past it the request gets a 400 and the connection is closed.
    """

    projects: tuple[Project, ...] = (Project(DEMO_PROJECT_ID),)
    api_keys: tuple[ApiKey, ...] = (ApiKey(DEMO_API_KEY),)
    rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS
    query_rate_limits: tuple[RateLimit, ...] = DEFAULT_QUERY_RATE_LIMITS
    rate_limiting: bool = True
    faults: FaultConfig = field(default_factory=FaultConfig)
    data_dir: Path | None = None
    seed: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    reject_mode_allowed: bool = True
    allow_remote: bool = False
    keep_alive_seconds: int = DEFAULT_KEEP_ALIVE_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES

    def __post_init__(self) -> None:
        if not self.projects:
            raise ConfigError("the sandbox needs at least one project")
        if not self.api_keys:
            raise ConfigError("the sandbox needs at least one API key")
        project_ids = [project.id for project in self.projects]
        _reject_duplicates("project id", [str(project_id) for project_id in project_ids])
        _reject_duplicates(
            "API key", [key.masked for key in self.api_keys], [k.token for k in self.api_keys]
        )
        tokens = {project.api_token for project in self.projects}
        _reject_duplicates("project token", [project.api_token for project in self.projects])
        for key in self.api_keys:
            if key.token in tokens:
                raise ConfigError(f"API key {key.masked} is also a project token; use another")
            unknown = sorted(set(key.projects or ()) - set(project_ids))
            if unknown:
                raise ConfigError(
                    f"API key {key.masked} names project(s) {unknown} that the sandbox does not "
                    f"serve; served: {project_ids}"
                )
        if self.seed is not None and self.seed not in SEED_NAMES:
            raise ConfigError(f"unknown seed {self.seed!r}; available: {', '.join(SEED_NAMES)}")
        for name in ("max_body_bytes", "keep_alive_seconds", "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive")
        if self.max_header_bytes < 1024:
            raise ConfigError("max_header_bytes must be at least 1024")

    def project(self, project_id: int) -> Project | None:
        """The served project with this id, if any."""
        return next((project for project in self.projects if project.id == project_id), None)


def _reject_duplicates(what: str, shown: list[str], compared: list[str] | None = None) -> None:
    values = compared if compared is not None else shown
    seen: set[str] = set()
    for label, value in zip(shown, values, strict=True):
        if value in seen:
            raise ConfigError(f"{what} {label} is configured twice")
        seen.add(value)
