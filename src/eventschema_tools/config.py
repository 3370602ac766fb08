"""Client settings from arguments and the environment.

Arguments win over environment variables, which win over defaults:

========================================  ==========================================
environment variable                      meaning (default)
========================================  ==========================================
``POSTHOG_PERSONAL_API_KEY``              personal API key ``phx_...`` (required)
``POSTHOG_PROJECT_ID``                    project id, or ``@current`` (required)
``POSTHOG_HOST``                          ``us``, ``eu`` or any URL (``us``)
``EVENTSCHEMA_TIMEOUT``                   seconds per request (30)
``EVENTSCHEMA_MAX_RETRIES``               retries after the first attempt (4)
``EVENTSCHEMA_RATE_LIMIT``                client pacing, e.g. ``480/minute,4800/hour``
``EVENTSCHEMA_QUERY_RATE_LIMIT``          HogQL query pacing (``120/hour``)
``EVENTSCHEMA_PAGE_SIZE``                 rows per list request (1000)
========================================  ==========================================

The key is a :class:`pydantic.SecretStr`: ``repr()`` and ``str()`` of the settings never show it.

The settings are a plain Pydantic model fed the variables its fields name. A settings library
(pydantic-settings) did the same reading, and loading it took 37 ms of the 0.32 s that
``eventschema schemas list`` needs; eight flat variables need none of its sources, files or
nesting.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from eventschema_tools._constants import DEFAULT_PAGE_SIZE
from eventschema_tools.errors import ConfigurationError

__all__ = [
    "HOST_SHORTHANDS",
    "ClientSettings",
    "RateLimit",
    "normalise_host",
    "parse_rate_limits",
]

HOST_SHORTHANDS = {
    "us": "https://us.posthog.com",
    "eu": "https://eu.posthog.com",
}

_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")
_PROJECT_ID = re.compile(r"^(\d+|@current)$")
# What an HTTP header value can carry as it is: visible ASCII characters.
_KEY = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class RateLimit:
    """A request budget: ``count`` requests per ``seconds`` (e.g. 480 per 60)."""

    count: int
    seconds: float


def parse_rate_limits(text: str) -> tuple[RateLimit, ...]:
    """Parse ``"480/minute,4800/hour"`` into budgets; ``""``, ``off`` or ``none`` mean no pacing.

    Raises:
        ValueError: a part is not ``<count>/<second|minute|hour|day>`` with a positive count.
    """
    if text.strip().lower() in {"", "off", "none"}:
        return ()
    limits = []
    for part in text.split(","):
        match = _RATE.match(part)
        if not match or int(match.group(1)) <= 0:
            raise ValueError(
                f"bad rate limit {part.strip()!r}: write <count>/<unit>, e.g. 480/minute,4800/hour"
            )
        limits.append(RateLimit(int(match.group(1)), _UNIT_SECONDS[match.group(2)]))
    return tuple(limits)


def normalise_host(value: object) -> str:
    """``us``, ``eu`` or an http(s) URL as the base URL requests go to (no trailing slash).

    Raises:
        ValueError: anything else, with the forms that are accepted.
    """
    text = str(value).strip()
    text = HOST_SHORTHANDS.get(text.lower(), text)
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(
            f"host must be 'us', 'eu' or an http(s) URL like https://posthog.example.com, "
            f"got {text!r}"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _rate_field(default: str, env: str) -> Any:
    return Field(default=default, validation_alias=env)


class ClientSettings(BaseModel):
    """Everything a client needs to reach one PostHog project.

    Build it with :meth:`load`, which reads the environment and applies keyword overrides:
    ``ClientSettings.load(api_key="phx_...", project_id=1, host="eu")``.
    """

    # Fields are filled by their aliases (the variables' names) only; keyword overrides go
    # through `load()`, which maps names to aliases. Defaults are validated too: "us" becomes
    # the US cloud's URL.
    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    api_key: SecretStr | None = Field(default=None, validation_alias="POSTHOG_PERSONAL_API_KEY")
    project_id: str | None = Field(default=None, validation_alias="POSTHOG_PROJECT_ID")
    host: str = Field(default="us", validation_alias="POSTHOG_HOST")
    timeout: float = Field(default=30.0, gt=0, validation_alias="EVENTSCHEMA_TIMEOUT")
    max_retries: int = Field(
        default=4,
        ge=0,
        le=20,
        validation_alias="EVENTSCHEMA_MAX_RETRIES",
    )
    rate_limit: str = _rate_field("480/minute,4800/hour", "EVENTSCHEMA_RATE_LIMIT")
    query_rate_limit: str = _rate_field("120/hour", "EVENTSCHEMA_QUERY_RATE_LIMIT")
    page_size: int = Field(
        default=DEFAULT_PAGE_SIZE, ge=1, validation_alias="EVENTSCHEMA_PAGE_SIZE"
    )

    def __init__(self, **values: Any) -> None:
        """The settings from the environment, with ``values`` (by variable name) over it."""
        super().__init__(**{**_environment(), **values})

    @field_validator("api_key", mode="before")
    @classmethod
    def _key_text(cls, value: Any) -> Any:
        # A key read from a file or `$(cat keyfile)` often ends in a newline; as it is, it would
        # make an invalid header and fail as a connection error after every retry.
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        text = text.strip()
        if not text:  # an empty POSTHOG_PERSONAL_API_KEY= means "not set"
            return None
        # The key is never part of the message: it may be a real key with one stray character.
        if not _KEY.match(text):
            raise ValueError(
                "the key holds a space, a control character or a non-ASCII character, which "
                "an API key never has; copy it again from PostHog (personal API keys look "
                "like phx_...)"
            )
        return text

    @field_validator("project_id", mode="before")
    @classmethod
    def _project_id_text(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        if not text:  # an empty POSTHOG_PROJECT_ID= means "not set", not a malformed id
            return None
        if not _PROJECT_ID.match(text):
            raise ValueError(f"project id must be a number or '@current', got {text!r}")
        return text

    @field_validator("host", mode="before")
    @classmethod
    def _normalise_host(cls, value: Any) -> str:
        return normalise_host(value)

    @field_validator("rate_limit", "query_rate_limit")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate_limits(value)
        return value

    @property
    def rate_limits(self) -> tuple[RateLimit, ...]:
        """The general request budgets the client paces itself under."""
        return parse_rate_limits(self.rate_limit)

    @property
    def query_rate_limits(self) -> tuple[RateLimit, ...]:
        """The HogQL query budgets the client paces itself under."""
        return parse_rate_limits(self.query_rate_limit)

    @classmethod
    def load(cls, **overrides: Any) -> ClientSettings:
        """Read the environment, apply non-``None`` overrides, and check what is required.

        Raises:
            ConfigurationError: the key or project id is missing, or a value is malformed.
        """
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
        given = {
            str(cls.model_fields[name].validation_alias or name): value
            for name, value in overrides.items()
            if value is not None
        }
        try:
            settings = cls(**given)
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from None
        missing = []
        if settings.api_key is None:
            missing.append("the personal API key (POSTHOG_PERSONAL_API_KEY or api_key=)")
        if settings.project_id is None:
            missing.append("the project id (POSTHOG_PROJECT_ID or project_id=)")
        if missing:
            raise ConfigurationError("missing " + " and ".join(missing))
        return settings


def _environment() -> dict[str, str]:
    """The environment variables the settings name, by the settings' spelling of each name."""
    # Matched regardless of case, as the settings have always read them.
    wanted = {
        str(field.validation_alias).lower(): str(field.validation_alias)
        for field in ClientSettings.model_fields.values()
    }
    return {
        wanted[name.lower()]: value for name, value in os.environ.items() if name.lower() in wanted
    }


def _describe(exc: ValidationError) -> str:
    # Errors are located by env-var alias; name the keyword argument too, since a bad value may
    # have come from either.
    names = {
        str(field.validation_alias): name for name, field in ClientSettings.model_fields.items()
    }
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "settings"
        if where in names:
            where = f"{names[where]} ({where})"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "invalid settings: " + "; ".join(parts)
