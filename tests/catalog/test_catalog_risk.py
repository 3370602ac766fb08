"""`assess` and `assess_async` measure the same risk of every write, on one demo sandbox.

They are the one source of the questions the CLI and the MCP server ask; the library's own
writes never ask. The demo project has `checkout_completed` in reject mode, bound to
`Checkout` and `User identity`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.catalog import Catalog
from eventschema_tools.catalog.risk import (
    BindPairs,
    DeleteGroup,
    DeleteSchema,
    MoveSchema,
    Rejection,
    ReplaceProperties,
    Risk,
    UnbindPairs,
    Write,
    assess,
    assess_async,
)
from eventschema_tools.errors import UnknownNameError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan.bulk import Pair, pairs_for_group
from eventschema_tools.tracking_plan.ownership import marker

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        yield running


def _settings(served: RunningSandbox) -> dict[str, Any]:
    return {"api_key": DEMO_API_KEY, "project_id": 1, "host": served.url, "rate_limit": "off"}


@pytest.fixture
def client(served: RunningSandbox) -> Iterator[EventSchemaClient]:
    with EventSchemaClient(**_settings(served)) as made:
        yield made


async def both(served: RunningSandbox, client: EventSchemaClient, write: Write) -> Risk:
    """The risk from the sync and the async driver, which must agree."""
    sync = assess(client, write)
    async with AsyncEventSchemaClient(**_settings(served)) as async_client:
        assert await assess_async(async_client, write) == sync
    return sync


def test_the_twins_take_the_same_parameters() -> None:
    sync, async_ = inspect.signature(assess), inspect.signature(assess_async)
    assert list(sync.parameters) == list(async_.parameters) == ["client", "write"]
    assert inspect.iscoroutinefunction(assess_async)


async def test_binding_to_the_reject_mode_event_names_the_newly_required_properties(
    served: RunningSandbox, client: EventSchemaClient
) -> None:
    # `plan` is required by Subscription; checkout_completed does not require it yet.
    risk = await both(served, client, BindPairs([Pair("checkout_completed", "Subscription")]))
    already = await both(served, client, BindPairs([Pair("checkout_completed", "Checkout")]))
    allow = await both(served, client, BindPairs([Pair("cart_viewed", "Subscription")]))

    assert risk.rejections == [
        Rejection(event="checkout_completed", lacking=["billing_period", "plan"])
    ]
    assert risk.needs_confirmation
    assert not already.needs_confirmation  # bound already: nothing is written
    assert allow.added_bindings
    assert not allow.needs_confirmation


async def test_replacing_properties_lists_the_removed_ones_and_the_new_drops(
    served: RunningSandbox, client: EventSchemaClient
) -> None:
    stricter = [
        {"name": "cart_id", "property_type": "String", "is_required": True},
        {"name": "revenue", "property_type": "String", "is_required": True},
        {"name": "currency", "property_type": "String", "is_required": True},
        {"name": "item_count", "property_type": "Numeric", "is_required": True},
        {"name": "coupon_code", "property_type": "String", "is_required": True},
    ]
    risk = await both(served, client, ReplaceProperties("Checkout", stricter))

    assert risk.removed_properties == ["items"]
    # coupon_code is newly required, revenue now only accepts String.
    assert risk.rejections == [
        Rejection(event="checkout_completed", lacking=["coupon_code", "revenue"])
    ]


async def test_removals_are_named_and_unknown_targets_fail_before_any_question(
    served: RunningSandbox, client: EventSchemaClient
) -> None:
    unbind = await both(
        served, client, UnbindPairs(pairs_for_group("Product", ["product_viewed", "cart_viewed"]))
    )
    delete = await both(served, client, DeleteGroup("Product"))
    pair = await both(served, client, DeleteSchema(event="product_viewed", group="Product"))

    assert [(b.event, b.group) for b in unbind.removed_bindings] == [("product_viewed", "Product")]
    assert {b.event for b in delete.removed_bindings} == {
        "product_viewed",
        "product_added_to_cart",
    }
    assert pair.question == "Unbind 'Product' from 'product_viewed'? The group and the event stay."
    with pytest.raises(UnknownNameError, match="no event schema 'Product on cart_viewed'"):
        assess(client, DeleteSchema(event="cart_viewed", group="Product"))
    with pytest.raises(UnknownNameError):
        assess(client, MoveSchema(str(uuid4()), group="Product"))


async def test_the_library_writes_without_asking_and_keeps_markers(
    served: RunningSandbox, client: EventSchemaClient
) -> None:
    name = f"owned_{uuid4().hex[:8]}"
    catalog = Catalog(client)
    catalog.create_group(name=name, description=f"Words\n\n{marker('web')}")
    catalog.bind(event="cart_viewed", group=name)

    risk = await both(served, client, UnbindPairs([Pair("cart_viewed", name)]))
    updated = catalog.update_group(name, description="Other words")
    catalog.unbind(event="cart_viewed", group=name)  # no question: the library does as told

    assert risk.question.endswith(f"Property group '{name}' is managed by plan web.")
    assert updated.description == f"Other words\n\n{marker('web')}"
    assert catalog.group(name).events == []
