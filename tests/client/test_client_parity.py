"""The sync and async twins expose the same public methods with the same parameters."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
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

TWINS = [
    pytest.param(EventSchemaClient, AsyncEventSchemaClient, id="client"),
    pytest.param(EventSchemas, AsyncEventSchemas, id="event_schemas"),
    pytest.param(PropertyGroups, AsyncPropertyGroups, id="property_groups"),
    pytest.param(EventDefinitions, AsyncEventDefinitions, id="event_definitions"),
    pytest.param(QueryResource, AsyncQuery, id="query"),
]

# The only names that differ by design: Python's sync and async context-manager protocols.
_PROTOCOL_NAMES = {"__aenter__": "__enter__", "__aexit__": "__exit__"}


def _public(cls: type) -> dict[str, Any]:
    """Public members plus the constructor and context-manager protocol, under sync names."""
    return {
        _PROTOCOL_NAMES.get(name, name): value
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_")
        or name in {"__init__", *_PROTOCOL_NAMES}
        or name in _PROTOCOL_NAMES.values()
    }


def _unwrap_awaitable(text: str) -> str:
    """``Callable[[], Awaitable[X]]`` -> ``Callable[[], X]``: the one shape async adds."""
    while (start := text.find("Awaitable[")) != -1:
        inner = start + len("Awaitable[")
        depth, close = 0, inner
        while depth >= 0:
            depth += {"[": 1, "]": -1}.get(text[close], 0)
            close += 1
        text = text[:start] + text[inner : close - 1] + text[close:]
    return text


def _sync_spelling(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    text = _unwrap_awaitable(text).replace("AsyncQuery", "QueryResource")
    return re.sub(r"\bAsync(?=[A-Z])", "", text)


def _shape(fn: Callable[..., Any]) -> list[tuple[str, Any, Any, str]]:
    signature = inspect.signature(fn)
    return [
        (p.name, p.kind, p.default, _sync_spelling(p.annotation))
        for p in signature.parameters.values()
    ]


@pytest.mark.parametrize(("sync_cls", "async_cls"), TWINS)
def test_twins_have_the_same_public_names(sync_cls: type, async_cls: type) -> None:
    assert sorted(_public(sync_cls)) == sorted(_public(async_cls))


@pytest.mark.parametrize(("sync_cls", "async_cls"), TWINS)
def test_twin_methods_take_the_same_parameters(sync_cls: type, async_cls: type) -> None:
    sync_members, async_members = _public(sync_cls), _public(async_cls)
    for name, sync_member in sync_members.items():
        async_member = async_members[name]
        if callable(sync_member) and not isinstance(sync_member, type):
            assert _shape(sync_member) == _shape(async_member), name


@pytest.mark.parametrize(("sync_cls", "async_cls"), TWINS)
def test_twin_methods_return_the_same_types(sync_cls: type, async_cls: type) -> None:
    sync_members, async_members = _public(sync_cls), _public(async_cls)
    for name, sync_member in sync_members.items():
        if name in {"__enter__", "__exit__"} or not inspect.isfunction(sync_member):
            continue
        sync_return = inspect.signature(sync_member).return_annotation
        async_return = inspect.signature(async_members[name]).return_annotation
        assert _sync_spelling(sync_return) == _sync_spelling(async_return), name


@pytest.mark.parametrize(("sync_cls", "async_cls"), TWINS)
def test_async_twin_awaits_where_the_sync_twin_blocks(sync_cls: type, async_cls: type) -> None:
    sync_members, async_members = _public(sync_cls), _public(async_cls)
    for name, sync_member in sync_members.items():
        if name == "__init__" or not inspect.isfunction(sync_member):
            continue
        async_member = async_members[name]
        if async_member is sync_member:  # shared, I/O-free code from BaseClient
            continue
        if inspect.isgeneratorfunction(sync_member):
            assert inspect.isasyncgenfunction(async_member), name
        else:
            assert inspect.iscoroutinefunction(async_member), name


@pytest.mark.parametrize(
    ("namespace", "sync_cls", "async_cls"),
    [
        ("event_schemas", EventSchemas, AsyncEventSchemas),
        ("property_groups", PropertyGroups, AsyncPropertyGroups),
        ("event_definitions", EventDefinitions, AsyncEventDefinitions),
        ("query", QueryResource, AsyncQuery),
    ],
)
def test_clients_expose_twin_namespaces(namespace: str, sync_cls: type, async_cls: type) -> None:
    sync_hint = inspect.signature(getattr(EventSchemaClient, namespace).func).return_annotation
    async_hint = inspect.signature(
        getattr(AsyncEventSchemaClient, namespace).func
    ).return_annotation
    assert (sync_hint, async_hint) == (sync_cls.__name__, async_cls.__name__)
