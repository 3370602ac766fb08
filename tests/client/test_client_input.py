"""Bad input is rejected before the network, with a message naming the field and the fix."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from eventschema_tools import (
    AsyncEventSchemaClient,
    EventSchemaClient,
    InvalidInputError,
    PropertyInput,
    PropertyType,
)
from eventschema_tools.sandbox import RunningSandbox, SandboxApp

GROUP = "0190a8e4-7c1b-7d2e-9f00-0123456789ab"
EVENT = "0190a8e4-7c1b-7d2e-9f00-0123456789ac"
LONG_NAME = "p" * 201


def _prop(**fields: Any) -> dict[str, Any]:
    return {"name": "plan", "property_type": "String", **fields}


async def _drain(rows: Any) -> list[Any]:
    return [row async for row in rows]


# (call on a client, words its message must contain), one row per kind of bad input.
BAD_INPUT = [
    pytest.param(
        lambda c: c.property_groups.get("12345"), ["id", "UUID", "'12345'"], id="group-id"
    ),
    pytest.param(lambda c: c.property_groups.update("", name="x"), ["UUID"], id="empty-id"),
    pytest.param(
        lambda c: c.property_groups.delete("../../users/@me"), ["UUID"], id="path-traversal"
    ),
    pytest.param(lambda c: c.event_definitions.get("checkout"), ["UUID"], id="event-id"),
    pytest.param(lambda c: c.event_schemas.delete("not-a-uuid"), ["UUID"], id="schema-id"),
    pytest.param(
        lambda c: c.event_schemas.create(event_definition="checkout", property_group_id=GROUP),
        ["event_definition", "UUID"],
        id="create-event-not-uuid",
    ),
    pytest.param(
        lambda c: c.event_schemas.create(event_definition=EVENT, property_group_id="billing"),
        ["property_group_id", "UUID"],
        id="create-group-not-uuid",
    ),
    pytest.param(
        lambda c: c.event_schemas.update(GROUP, property_group_id="billing"),
        ["property_group_id"],
        id="update-group-not-uuid",
    ),
    pytest.param(
        lambda c: _drain(c.event_schemas.list(event_definition="checkout")),
        ["event_definition", "UUID"],
        id="list-filter-not-uuid",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=[_prop(property_type="Integer")]),
        [
            "property_type of property 'plan': 'Integer' is not one of",
            "DateTime, String, Numeric, Boolean, Object",
            "did you mean 'Numeric'?",
        ],
        id="unknown-type",
    ),
    pytest.param(
        lambda c: c.property_groups.create(
            name="g", properties=[{"name": "amount", "type": "Number"}]
        ),
        ["type of property 'amount': 'Number' is not one of", "did you mean 'Numeric'?"],
        id="unknown-type-short-name",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=["amount"]),
        ["properties[0]: expected a mapping with name, type, required", "got 'amount'"],
        id="bare-name-entry",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=[1]),
        ["properties[0]: expected a mapping", "got 1"],
        id="number-entry",
    ),
    pytest.param(
        lambda c: c.property_groups.update(GROUP, properties=[("name", "amount")]),
        ["properties[0]: expected a mapping", "got a tuple"],
        id="pair-entry",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties="amount"),
        ["properties: expected a list, got 'amount'"],
        id="string-as-properties",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=[_prop(name="   ")]),
        ["name of properties[0]: property name must not be blank"],
        id="blank-property-name",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=[_prop(name=LONG_NAME)]),
        ["name of properties[0]:", "200 characters", "201"],
        id="201-char-property-name",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=[_prop(), _prop(name=" plan ")]),
        ["'plan'", "more than once"],
        id="duplicate-property-names",
    ),
    pytest.param(
        lambda c: c.property_groups.create(name="g", properties=[_prop(requierd=True)]),
        ["property 'plan': unknown field 'requierd'; did you mean 'required'?"],
        id="misspelt-field",
    ),
    pytest.param(lambda c: c.property_groups.create(name="  "), ["name"], id="blank-group-name"),
    pytest.param(
        lambda c: c.property_groups.create(name="g" * 401), ["name", "400"], id="long-group-name"
    ),
    pytest.param(
        lambda c: c.property_groups.update(GROUP, properties=[_prop(), _prop()]),
        ["more than once"],
        id="update-duplicate-properties",
    ),
    pytest.param(lambda c: c.event_definitions.create(name=""), ["name"], id="blank-event-name"),
    pytest.param(lambda c: c.event_definitions.get_by_name("  "), ["blank"], id="blank-lookup"),
    pytest.param(
        lambda c: c.event_definitions.update(EVENT), ["nothing to update"], id="empty-update"
    ),
    pytest.param(
        lambda c: c.event_definitions.update(EVENT, hidden=True, verified=True),
        ["hidden and verified"],
        id="hidden-and-verified",
    ),
    pytest.param(
        lambda c: c.event_definitions.update(EVENT, enforcement_mode="block"),
        ["enforcement_mode", "allow", "reject"],
        id="unknown-enforcement",
    ),
    pytest.param(
        lambda c: _drain(c.event_definitions.list(names="checkout")),  # type: ignore[arg-type]
        ["names must be a list"],
        id="names-as-one-string",
    ),
    pytest.param(lambda c: c.query.hogql("   "), ["query", "blank"], id="blank-query"),
]


async def _requests_seen(app: SandboxApp) -> int:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        return int((await http.get("http://sandbox.test/_sandbox/stats")).json()["requests"])


@pytest.mark.parametrize(("call", "words"), BAD_INPUT)
@pytest.mark.anyio
async def test_bad_input_is_rejected_before_any_request(
    app: SandboxApp,
    aclient: AsyncEventSchemaClient,
    call: Callable[[AsyncEventSchemaClient], Awaitable[Any]],
    words: list[str],
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await call(aclient)

    for word in words:
        assert word in str(caught.value), f"{word!r} missing from: {caught.value}"
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert await _requests_seen(app) == 0


def test_invalid_input_lists_every_problem_with_its_field(client: EventSchemaClient) -> None:
    with pytest.raises(InvalidInputError) as caught:
        client.property_groups.create(
            name="g",
            properties=[
                {"name": "", "property_type": "String"},
                {"name": "ok", "property_type": "Date"},
            ],
        )

    fields = [field for field, _ in caught.value.problems]
    assert fields == ["properties.0.name", "properties.1.property_type"]
    assert str(caught.value) == (
        "name of properties[0]: property name must not be blank "
        "(and 1 more problem: property_type of property 'ok')"
    )
    assert "did you mean 'DateTime'?" in caught.value.problems[1][1]


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"name": "plan", "type": "string", "required": True}, id="short-names"),
        pytest.param(
            {"name": "plan", "property_type": "String", "is_required": True}, id="posthog-names"
        ),
        pytest.param(
            PropertyInput(name="plan", type=PropertyType.STRING, required=True), id="model"
        ),
    ],
)
def test_a_property_is_read_in_either_spelling_and_sent_in_posthogs(
    client: EventSchemaClient, entry: Any
) -> None:
    created = client.property_groups.create(
        name=f"spelled_{uuid.uuid4().hex[:8]}", properties=[entry]
    )

    assert [(p.name, p.property_type, p.is_required) for p in created.properties] == [
        ("plan", PropertyType.STRING, True)
    ]
    prop = PropertyInput.model_validate(entry) if isinstance(entry, dict) else entry
    assert (prop.type, prop.required) == (prop.property_type, prop.is_required)
    assert prop.model_dump(mode="json") == {
        "name": "plan",
        "type": "String",
        "required": True,
        "optional_in_types": False,
        "description": "",
    }


def test_sync_client_rejects_bad_ids_without_sending(
    sandbox_server: RunningSandbox, client: EventSchemaClient
) -> None:
    before = httpx.get(f"{sandbox_server.url}/_sandbox/stats").json()["requests"]

    for call in (
        lambda: client.event_schemas.delete("nope"),
        lambda: client.property_groups.get("nope"),
        lambda: client.event_definitions.update("nope", description="x"),
        lambda: client.event_schemas.find(event_definition="x", property_group_id=GROUP),
    ):
        with pytest.raises(InvalidInputError, match="UUID"):
            call()

    assert httpx.get(f"{sandbox_server.url}/_sandbox/stats").json()["requests"] == before


def test_a_200_character_property_name_is_accepted(client: EventSchemaClient) -> None:
    name = "p" * 200
    group = client.property_groups.create(
        name=f"long-names-{id(name)}", properties=[{"name": name, "property_type": "String"}]
    )

    assert [p.name for p in group.properties] == [name]
