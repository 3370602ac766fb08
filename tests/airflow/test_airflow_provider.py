"""Provider registration, connection form and plugin, as Airflow itself discovers them."""

from __future__ import annotations

import importlib
import json
from importlib import resources

import jsonschema
import pytest
from airflow import plugins_manager
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
from airflow.providers_manager import ProvidersManager
from airflow.sdk import BaseHook

from eventschema_tools._version import __version__
from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
from eventschema_tools.airflow_plugin.links import EventSchemaPageLink
from eventschema_tools.airflow_plugin.provider_info import get_provider_info

PACKAGE = "eventschema_tools.airflow_plugin"


def test_provider_info_is_valid_against_airflows_schema() -> None:
    schema_file = resources.files("airflow").joinpath("provider_info.schema.json")
    schema = json.loads(schema_file.read_text())
    info = get_provider_info()

    jsonschema.validate(info, schema)
    assert info["versions"] == [__version__]


def test_provider_info_names_modules_and_classes_that_exist() -> None:
    info = get_provider_info()
    [connection] = info["connection-types"]

    assert connection["hook-class-name"] == f"{PACKAGE}.hooks.EventSchemaHook"
    assert info["extra-links"] == [f"{PACKAGE}.links.EventSchemaPageLink"]
    expected = {
        "hooks": ["hooks"],
        "operators": ["operators", "rollout"],
        "sensors": ["sensors", "rollout"],
    }
    for role, modules in expected.items():
        assert info[role] == [
            {
                "integration-name": "PostHog",
                "python-modules": [f"{PACKAGE}.{module}" for module in modules],
            }
        ]
        for module in modules:
            importlib.import_module(f"{PACKAGE}.{module}")


def test_providers_manager_discovers_the_provider_through_its_entry_point() -> None:
    manager = ProvidersManager()

    provider = manager.providers["eventschema-tools"]
    assert provider.version == __version__
    assert f"{PACKAGE}.links.EventSchemaPageLink" in manager.extra_links_class_names


def test_connection_form_is_what_the_ui_receives() -> None:
    [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "posthog"]

    assert meta.hook_name == "PostHog"
    assert meta.hook_class_name == f"{PACKAGE}.hooks.EventSchemaHook"
    fields = meta.standard_fields
    assert fields is not None
    assert fields.host is not None
    assert fields.host.title == "PostHog host"
    assert fields.password is not None
    assert fields.password.title == "Personal API key"
    hidden = {
        name for name in ("url_schema", "port", "login") if getattr(fields, name).hidden is True
    }
    assert hidden == {"url_schema", "port", "login"}
    extra = meta.extra_fields or {}
    assert sorted(extra) == [
        "max_retries",
        "project_id",
        "query_rate_limit",
        "rate_limit",
        "timeout",
    ]
    assert extra["project_id"]["schema"]["title"] == "Project ID"
    assert extra["timeout"]["value"] == 30
    assert extra["max_retries"]["schema"]["type"] == ["integer", "null"]


@pytest.mark.usefixtures("posthog_conn")
def test_connection_type_resolves_to_the_hook() -> None:
    hook = BaseHook.get_hook("posthog_default")

    assert isinstance(hook, EventSchemaHook)
    assert hook.posthog_conn_id == "posthog_default"


def test_plugin_is_loaded_through_its_entry_point_with_the_extra_link() -> None:
    plugins_manager.ensure_plugins_loaded()

    [info] = [p for p in plugins_manager.get_plugin_info() if p["name"] == "eventschema"]
    assert str(info["source"]).startswith("eventschema-tools==")
    links = plugins_manager.get_operator_extra_links()
    assert any(isinstance(link, EventSchemaPageLink) for link in links)
    assert plugins_manager.get_import_errors() == {}
