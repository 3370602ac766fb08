"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point.

Airflow calls :func:`get_provider_info` in every process while it discovers providers, and an
error here breaks discovery for all providers. So the module stays a literal: it imports neither
Airflow nor the hook. Since Airflow 3.2 the connection form is declared here (``conn-fields`` and
``ui-field-behaviour``, spelled exactly so) instead of in hook classmethods.
"""

from __future__ import annotations

from typing import Any

from eventschema_tools._version import __version__

__all__ = ["CONNECTION_TYPE", "get_provider_info"]

CONNECTION_TYPE = "posthog"
_PACKAGE = "eventschema_tools.airflow_plugin"
_INTEGRATION = "PostHog"


def _modules(*names: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.{n}" for n in names]}
    ]


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow validates against its provider-info schema."""
    return {
        "package-name": "eventschema-tools",
        "name": "PostHog event schemas",
        "description": "Audit, bind, plan and infer PostHog event schemas from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://posthog.com/docs/api",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks"),
        "operators": _modules("operators", "rollout"),
        "sensors": _modules("sensors", "rollout"),
        "extra-links": [f"{_PACKAGE}.links.EventSchemaPageLink"],
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": f"{_PACKAGE}.hooks.EventSchemaHook",
                "hook-name": "PostHog",
                "conn-fields": {
                    "project_id": {
                        "label": "Project ID",
                        "description": "Numeric project id, or @current for the key's project.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries of failed requests after the first attempt.",
                        "schema": {"type": ["integer", "null"], "default": 4},
                    },
                    "rate_limit": {
                        "label": "Rate limit",
                        "description": "Request pacing, e.g. 480/minute,4800/hour; off to disable.",
                        "schema": {"type": ["string", "null"], "default": "480/minute,4800/hour"},
                    },
                    "query_rate_limit": {
                        "label": "HogQL query rate limit",
                        "description": "HogQL query pacing, e.g. 120/hour; off to disable.",
                        "schema": {"type": ["string", "null"], "default": "120/hour"},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "PostHog host", "password": "Personal API key"},
                    "placeholders": {
                        "host": "https://us.posthog.com (or us, eu, or your instance URL)",
                        "password": "phx_...",
                    },
                },
            }
        ],
    }
