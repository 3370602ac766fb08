"""`Catalog` and `AsyncCatalog` are twins: the same methods, parameters, results and errors.

Signatures are compared by inspection. Results are compared over HTTP: reads on one seeded
loopback sandbox (equal to the letter), and a script of every method, writes and refusals
included, on two sandboxes seeded alike (equal once the ids and timestamps each sandbox made up
are replaced by the order in which they first appear).
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.catalog import AsyncCatalog, Catalog
from eventschema_tools.catalog.resolve import AsyncResolver, Resolver
from eventschema_tools.errors import EventSchemaError
from eventschema_tools.sandbox import RunningSandbox, run_sandbox

pytestmark = pytest.mark.anyio


def _public(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name == "__init__"
    }


def _sync_spelling(annotation: Any) -> str:
    return re.sub(r"\bAsync(?=[A-Z])", "", str(annotation))


def _parameters(fn: Callable[..., Any]) -> list[tuple[str, Any, Any, str]]:
    return [
        (p.name, p.kind, p.default, _sync_spelling(p.annotation))
        for p in inspect.signature(fn).parameters.values()
    ]


TWINS = [
    pytest.param(Catalog, AsyncCatalog, id="catalog"),
    pytest.param(Resolver, AsyncResolver, id="resolver"),
]


@pytest.mark.parametrize(("sync_cls", "async_cls"), TWINS)
def test_every_async_method_has_a_sync_twin_with_the_same_signature(
    sync_cls: type, async_cls: type
) -> None:
    sync_methods, async_methods = _public(sync_cls), _public(async_cls)

    assert sorted(sync_methods) == sorted(async_methods)
    assert len(async_methods) > 1
    for name, async_method in async_methods.items():
        sync_method = sync_methods[name]
        assert _parameters(sync_method) == _parameters(async_method), name
        assert _sync_spelling(inspect.signature(sync_method).return_annotation) == (
            _sync_spelling(inspect.signature(async_method).return_annotation)
        ), name
        if name != "__init__":
            assert inspect.iscoroutinefunction(async_method), name
            assert not inspect.iscoroutinefunction(sync_method), name
            assert inspect.getdoc(sync_method), name
            assert inspect.getdoc(async_method), name


# --- results over HTTP ---------------------------------------------------------------------------


@dataclass
class Pair:
    """A sync and an async catalog of the same project state."""

    sync: Catalog
    async_: AsyncCatalog


@pytest.fixture(scope="module")
def demo_sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", rate_limiting=False) as running:
        yield running


@pytest.fixture
async def same_sandbox(
    demo_sandbox: RunningSandbox, client_settings: Callable[[str], dict[str, Any]]
) -> AsyncIterator[Pair]:
    """Both catalogs on one sandbox (tests that use it leave its state as they found it)."""
    settings = client_settings(demo_sandbox.url)
    with EventSchemaClient(**settings) as sync_client:
        async with AsyncEventSchemaClient(**settings) as async_client:
            yield Pair(Catalog(sync_client), AsyncCatalog(async_client))


@pytest.fixture
async def twin_sandboxes(
    client_settings: Callable[[str], dict[str, Any]],
) -> AsyncIterator[Pair]:
    """Two fresh sandboxes from the same seed: one for each catalog, for the writes."""
    with (
        run_sandbox(seed="demo", rate_limiting=False) as first,
        run_sandbox(seed="demo", rate_limiting=False) as second,
        EventSchemaClient(**client_settings(first.url)) as sync_client,
    ):
        async with AsyncEventSchemaClient(**client_settings(second.url)) as async_client:
            yield Pair(Catalog(sync_client), AsyncCatalog(async_client))


Outcome = tuple[str, Any]
"""("ok", result) or ("error", the EventSchemaError raised)."""


async def _call_sync(catalog: Catalog, method: str, args: Any, kwargs: Any) -> Outcome:
    try:
        return "ok", getattr(catalog, method)(*args, **kwargs)
    except EventSchemaError as exc:
        return "error", exc


async def _call_async(catalog: AsyncCatalog, method: str, args: Any, kwargs: Any) -> Outcome:
    try:
        return "ok", await getattr(catalog, method)(*args, **kwargs)
    except EventSchemaError as exc:
        return "error", exc


def _error_facts(exc: EventSchemaError) -> tuple[str, str, list[str]]:
    return type(exc).__name__, str(exc), getattr(exc, "suggestions", [])


def _kind(outcome: Outcome) -> str | None:
    """None for a result, else the error's class name."""
    return None if outcome[0] == "ok" else type(outcome[1]).__name__


# (method, args, kwargs, the error expected or None)
READS: list[tuple[str, tuple[Any, ...], dict[str, Any], str | None]] = [
    ("bindings", (), {}, None),
    ("bindings", (), {"limit": 3}, None),
    ("bindings", (), {"limit": None}, None),
    ("bindings", (), {"event": "checkout_completed"}, None),
    ("bindings", (), {"event": "checkout_complete"}, "UnknownNameError"),
    ("bindings", (), {"cursor": "not a cursor"}, "InvalidInputError"),
    ("binding", (), {"event": "checkout_completed", "group": "Checkout"}, None),
    ("binding", (), {"event": "checkout_completed", "group": "Product"}, "UnknownNameError"),
    ("groups", (), {}, None),
    ("groups", (), {"search": "PRO", "limit": 1}, None),
    ("groups", (), {"limit": 0}, "InvalidInputError"),
    ("group", ("Checkout",), {}, None),
    ("group", ("Chekout",), {}, "UnknownNameError"),
    ("group", (str(uuid.uuid4()),), {}, "UnknownNameError"),
    ("events", (), {}, None),
    ("events", (), {"search": "checkout", "limit": 1}, None),
    ("event", ("checkout_completed",), {}, None),
    ("event", ("chekout_completed",), {}, "UnknownNameError"),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "error"), READS, ids=[f"{r[0]}-{i}" for i, r in enumerate(READS)]
)
async def test_reads_give_equal_results_on_the_same_sandbox(
    same_sandbox: Pair, method: str, args: Any, kwargs: Any, error: str | None
) -> None:
    sync_outcome = await _call_sync(same_sandbox.sync, method, args, kwargs)
    async_outcome = await _call_async(same_sandbox.async_, method, args, kwargs)

    assert _kind(sync_outcome) == _kind(async_outcome) == error, (sync_outcome, async_outcome)
    if error is None:
        assert sync_outcome[1] == async_outcome[1]
    else:
        assert _error_facts(sync_outcome[1]) == _error_facts(async_outcome[1])


async def test_both_catalogs_expose_the_client_and_a_resolver_of_its_colour(
    same_sandbox: Pair,
) -> None:
    assert set(vars(same_sandbox.sync)) == set(vars(same_sandbox.async_)) == {"client", "resolve"}
    assert isinstance(same_sandbox.sync.resolve, Resolver)
    assert isinstance(same_sandbox.async_.resolve, AsyncResolver)


async def test_pages_follow_their_cursors_alike(same_sandbox: Pair) -> None:
    seen = [
        [name async for name in _pages_sync(same_sandbox.sync)],
        [name async for name in _pages_async(same_sandbox.async_)],
    ]

    everything = same_sandbox.sync.events(limit=None)
    assert len(everything.items) > 8  # so that a page of 4 is not the last one
    assert seen[0] == seen[1] == [event.name for event in everything.items]
    assert everything.next_cursor is None


async def _pages_sync(catalog: Catalog) -> AsyncIterator[str]:
    cursor = None
    while True:
        page = catalog.events(cursor=cursor, limit=4)
        for item in page.items:
            yield item.name
        if (cursor := page.next_cursor) is None:
            return


async def _pages_async(catalog: AsyncCatalog) -> AsyncIterator[str]:
    cursor = None
    while True:
        page = await catalog.events(cursor=cursor, limit=4)
        for item in page.items:
            yield item.name
        if (cursor := page.next_cursor) is None:
            return


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMES = {"created_at", "updated_at", "last_seen_at"}


class _Labels:
    """Ids in order of first appearance: each sandbox makes up its own."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def text(self, value: str) -> str:
        return _UUID.sub(lambda m: self.seen.setdefault(m.group(), f"id#{len(self.seen)}"), value)

    def plain(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: ("<time>" if key in _TIMES and item else self.plain(item))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.plain(item) for item in value]
        return self.text(value) if isinstance(value, str) else value

    def outcome(self, outcome: Outcome) -> Any:
        kind, value = outcome
        if kind == "error":
            name, message, suggestions = _error_facts(value)
            return kind, name, self.text(message), suggestions
        assert isinstance(value, BaseModel), value
        return kind, self.plain(value.model_dump(mode="json"))


Args = tuple[tuple[Any, ...], dict[str, Any]]
Script = list[tuple[str, Callable[[dict[str, Any]], Args], str | None]]


def _id_of(results: dict[str, Any], key: str) -> str:
    """The id in the last result of ``key`` (a binding's id for a bind outcome)."""
    value = results[key]
    return str(getattr(value, "binding", value).id)


INVALID, UNKNOWN, REFUSED = "InvalidInputError", "UnknownNameError", "BadRequestError"
PROPERTY = {"name": "plan", "property_type": "String"}

# Every method, in an order where later steps use what earlier ones made (`r` holds each
# method's last result on that side).
SCRIPT: Script = [
    ("create_group", lambda r: ((), {"name": "parity", "description": "twins"}), None),
    ("create_group", lambda r: ((), {"name": "parity"}), REFUSED),  # the name is taken
    ("update_group", lambda r: (("parity",), {"properties": [PROPERTY]}), None),
    ("update_group", lambda r: (("parity",), {}), INVALID),  # nothing to change
    ("update_group", lambda r: (("parity",), {"properties": [{"name": "x"}]}), INVALID),
    ("update_group", lambda r: (("no such group",), {"name": "x"}), UNKNOWN),
    ("bind", lambda r: ((), {"event": "checkout_started", "group": "parity"}), None),
    ("bind", lambda r: ((), {"event": "checkout_started", "group": "parity"}), None),  # exists
    ("bind", lambda r: ((), {"event": "checkout_startd", "group": "parity"}), UNKNOWN),
    ("binding", lambda r: ((), {"event": "checkout_started", "group": "parity"}), None),
    ("move", lambda r: ((_id_of(r, "bind"),), {"event": "product_viewed"}), None),
    ("move", lambda r: ((_id_of(r, "bind"),), {}), INVALID),  # nothing to change
    ("move", lambda r: (("not-an-id",), {"group": "parity"}), INVALID),
    ("move", lambda r: ((str(uuid.UUID(int=7)),), {"group": "parity"}), UNKNOWN),
    ("bindings", lambda r: ((), {"event": "product_viewed"}), None),
    ("unbind", lambda r: ((), {"event": "product_viewed", "group": "parity"}), None),
    ("unbind", lambda r: ((), {"event": "product_viewed", "group": "parity"}), UNKNOWN),
    ("unbind", lambda r: ((), {"event": "product_viewed"}), INVALID),  # half a pair
    ("bind", lambda r: ((), {"event": "user_signed_up", "group": "parity"}), None),
    ("unbind", lambda r: ((), {"schema_id": _id_of(r, "bind")}), None),
    ("unbind", lambda r: ((), {"schema_id": _id_of(r, "bind")}), UNKNOWN),  # gone
    ("unbind", lambda r: ((), {"schema_id": "nope"}), INVALID),
    ("bind", lambda r: ((), {"event": "checkout_started", "group": "parity"}), None),
    ("group", lambda r: (("parity",), {}), None),
    ("groups", lambda r: ((), {"search": "par"}), None),
    ("events", lambda r: ((), {"search": "checkout"}), None),
    ("event", lambda r: (("checkout_started",), {}), None),
    ("delete_group", lambda r: (("parity",), {}), None),
    ("delete_group", lambda r: (("parity",), {}), UNKNOWN),  # gone
    ("bindings", lambda r: ((), {"event": "checkout_started"}), None),
]


async def test_every_method_gives_equal_results_and_errors_on_twin_sandboxes(
    twin_sandboxes: Pair,
) -> None:
    results: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    labels = (_Labels(), _Labels())
    for step, (method, arguments, error) in enumerate(SCRIPT):
        sync_args, sync_kwargs = arguments(results[0])
        async_args, async_kwargs = arguments(results[1])
        outcomes = (
            await _call_sync(twin_sandboxes.sync, method, sync_args, sync_kwargs),
            await _call_async(twin_sandboxes.async_, method, async_args, async_kwargs),
        )

        assert _kind(outcomes[0]) == _kind(outcomes[1]) == error, (step, method, outcomes)
        assert labels[0].outcome(outcomes[0]) == labels[1].outcome(outcomes[1]), (step, method)
        if error is None:
            results[0][method], results[1][method] = outcomes[0][1], outcomes[1][1]

    assert {method for method, _, _ in SCRIPT} == set(_public(AsyncCatalog)) - {"__init__"}
    # Equal up to ids, and the ids are each sandbox's own: the runs did not share state.
    assert _id_of(results[0], "bind") != _id_of(results[1], "bind")
    for side in results:
        assert side["delete_group"].events == ["checkout_started"]
        assert side["bindings"].items[0].group_name == "Checkout"


async def test_binding_an_existing_pair_is_the_same_outcome_in_both_colours(
    same_sandbox: Pair,
) -> None:
    sync_outcome = same_sandbox.sync.bind(event="checkout_completed", group="Checkout")
    async_outcome = await same_sandbox.async_.bind(event="checkout_completed", group="Checkout")

    assert sync_outcome == async_outcome
    assert sync_outcome.created is False
    assert sync_outcome.summary().endswith(": exists, nothing changed.")
