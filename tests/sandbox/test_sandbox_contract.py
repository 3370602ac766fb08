"""Contract: every response of the schema endpoints validates against PostHog's OpenAPI excerpt.

`posthog_openapi_excerpt.json` (beside this file) is a hand-made excerpt of PostHog's generated
spec. It is OpenAPI 3.0, so it is converted to JSON Schema here (`nullable`, `readOnly`,
`writeOnly`), and its known gaps are patched in `KNOWN_GAPS`, each with the reason. Error
responses are checked against the excerpt's `x-error-shape`, PostHog's error body.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest

from eventschema_tools.sandbox import Project, SandboxApp

pytestmark = pytest.mark.anyio

SPEC: dict[str, Any] = json.loads(
    (Path(__file__).with_name("posthog_openapi_excerpt.json")).read_text(encoding="utf-8")
)
COVERED_PATHS = [path for path in SPEC["paths"] if "/query/" not in path]

USER_OR_NULL: dict[str, Any] = {
    "anyOf": [{"$ref": "#/components/schemas/UserBasic"}, {"type": "null"}]
}


def _patch(schema: str, field: str, replacement: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return (schema, field, replacement)


KNOWN_GAPS = [
    # The stored spec types `events` as a string (a SerializerMethodField without a schema hint);
    # PostHog returns, and newer specs declare, a list of {id, name}.
    _patch(
        "SchemaPropertyGroup",
        "events",
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                },
            },
        },
    ),
    # UserBasic-typed read-only fields render null when no user is set; drf-spectacular does not
    # mark nested read-only serializers nullable.
    _patch("SchemaPropertyGroup", "created_by", USER_OR_NULL),
    _patch("EnterpriseEventDefinition", "created_by", USER_OR_NULL),
    _patch("EnterpriseEventDefinition", "updated_by", USER_OR_NULL),
    _patch("EnterpriseEventDefinition", "verified_by", USER_OR_NULL),
    # `owner` is written as a user id but rendered as a UserBasic or null (see the excerpt's note).
    _patch("EnterpriseEventDefinition", "owner", USER_OR_NULL),
    # Action-only read-only fields are null for plain events.
    _patch("EnterpriseEventDefinition", "action_id", {"type": ["integer", "null"]}),
    _patch(
        "EnterpriseEventDefinition",
        "last_calculated_at",
        {"type": ["string", "null"], "format": "date-time"},
    ),
]

# The by_name 200 response refers to a query-schema `EventDefinition` through a naming collision;
# the body is the event-definition serializer (see the excerpt's note on that path).
RESPONSE_OVERRIDES = {
    ("/api/projects/{project_id}/event_definitions/by_name/", "get", "200"): {
        "$ref": "#/components/schemas/EnterpriseEventDefinition"
    },
}
# by_name answers its own 400/404 with plain {"detail": ...} bodies, not the handler's shape.
PLAIN_DETAIL = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema (2020-12), for responses."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _to_json_schema(value)
        for key, value in node.items()
        if key not in ("nullable", "readOnly", "writeOnly", "example") and not key.startswith("x-")
    }
    properties = node.get("properties")
    if isinstance(properties, dict) and "required" in node:
        # Write-only fields are never in responses, even when listed as required.
        write_only = {name for name, prop in properties.items() if prop.get("writeOnly")}
        converted["required"] = [name for name in node["required"] if name not in write_only]
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _components() -> dict[str, Any]:
    schemas = copy.deepcopy(SPEC["components"]["schemas"])
    for schema, field, replacement in KNOWN_GAPS:
        schemas[schema]["properties"][field] = replacement
    converted: dict[str, Any] = _to_json_schema(schemas)
    return converted


COMPONENTS = _components()
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    return (
        not isinstance(value, str)
        or datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
    )


@FORMATS.checks("uri", raises=ValueError)
def _is_absolute_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    root = {"$defs": {}, "components": {"schemas": COMPONENTS}, **_to_json_schema(schema)}
    jsonschema.Draft202012Validator(root, format_checker=FORMATS).validate(instance)


class ContractClient:
    """Sends requests by (method, path template) and validates each response against the spec."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.succeeded: set[tuple[str, str]] = set()

    async def call(self, method: str, template: str, expect: int, **kwargs: Any) -> Any:
        params = {key: kwargs.pop(key) for key in ("project_id", "id") if key in kwargs}
        response = await self.client.request(method.upper(), template.format(**params), **kwargs)
        assert response.status_code == expect, response.text
        self._check(method, template, response)
        return None if response.status_code == 204 else response.json()

    def _check(self, method: str, template: str, response: httpx.Response) -> None:
        status = str(response.status_code)
        operation = SPEC["paths"][template][method]
        if response.is_success:
            self.succeeded.add((template, method))
            if status == "204":
                assert response.content == b""
                return
            schema = (
                RESPONSE_OVERRIDES.get((template, method, status))
                or operation["responses"][status]["content"]["application/json"]["schema"]
            )
        elif template.endswith("by_name/") and response.status_code in (400, 404):
            schema = PLAIN_DETAIL
        else:
            schema = SPEC["x-error-shape"]
        validate(response.json(), schema)


@pytest.fixture
def contract(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
) -> ContractClient:
    app = sandbox_app(projects=(Project(1), Project(2)), seed="demo")
    return ContractClient(asgi_client_for(app))


async def test_every_operation_validates_against_the_spec(contract: ContractClient):
    definitions = "/api/projects/{project_id}/event_definitions/"
    definition = "/api/projects/{project_id}/event_definitions/{id}/"
    by_name = "/api/projects/{project_id}/event_definitions/by_name/"
    groups = "/api/projects/{project_id}/schema_property_groups/"
    group = "/api/projects/{project_id}/schema_property_groups/{id}/"
    schemas = "/api/projects/{project_id}/event_schemas/"
    schema = "/api/projects/{project_id}/event_schemas/{id}/"
    missing = "00000000-0000-4000-8000-000000000000"
    c = contract.call

    # Event definitions
    await c("get", definitions, 200, project_id=1)
    await c("get", definitions, 200, project_id=1, params={"search": "checkout", "limit": 1})
    created = await c("post", definitions, 201, project_id=1, json={"name": "contract_event"})
    await c("get", definition, 200, project_id=1, id=created["id"])
    await c("put", definition, 200, project_id=1, id=created["id"], json={"description": "d"})
    await c("patch", definition, 200, project_id=1, id=created["id"], json={"verified": True})
    await c("patch", definition, 200, project_id=1, id=created["id"], json={"owner": 1})
    await c("get", by_name, 200, project_id=1, params={"name": "contract_event"})
    await c("get", by_name, 404, project_id=1, params={"name": "nope"})
    await c("get", by_name, 400, project_id=1)
    await c("post", definitions, 400, project_id=1, json={"name": "contract_event"})
    await c("get", definition, 404, project_id=1, id=missing)

    # Property groups
    await c("get", groups, 200, project_id=1)
    made = await c(
        "post",
        groups,
        201,
        project_id=1,
        json={
            "name": "Contract group",
            "properties": [{"name": "p", "property_type": "Boolean", "is_required": True}],
        },
    )
    await c("get", group, 200, project_id=1, id=made["id"])
    await c("put", group, 200, project_id=1, id=made["id"], json={"name": "Contract group 2"})
    await c("patch", group, 200, project_id=1, id=made["id"], json={"properties": []})
    await c("post", groups, 400, project_id=1, json={"name": "Contract group 2"})
    await c("post", groups, 400, project_id=1, json={"name": "x", "properties": [{"name": ""}]})
    await c("get", group, 404, project_id=2, id=made["id"])

    # Event schemas
    await c("get", schemas, 200, project_id=1)
    bound = await c(
        "post",
        schemas,
        201,
        project_id=1,
        json={"event_definition": created["id"], "property_group_id": made["id"]},
    )
    await c("get", schemas, 200, project_id=1, params={"event_definition": created["id"]})
    other = await c("post", groups, 201, project_id=1, json={"name": "Other contract group"})
    await c(
        "patch", schema, 200, project_id=1, id=bound["id"], json={"property_group_id": other["id"]}
    )
    await c(
        "put",
        schema,
        200,
        project_id=1,
        id=bound["id"],
        json={"event_definition": created["id"], "property_group_id": made["id"]},
    )
    await c(
        "post",
        schemas,
        400,
        project_id=1,
        json={"event_definition": created["id"], "property_group_id": made["id"]},
    )
    await c("delete", schema, 204, project_id=1, id=bound["id"])
    await c("delete", schema, 404, project_id=1, id=bound["id"])

    # Deletes and auth errors
    await c("delete", group, 204, project_id=1, id=other["id"])
    await c("delete", definition, 204, project_id=1, id=created["id"])
    await c("get", groups, 401, project_id=1, headers={"Authorization": "Bearer phx_wrong"})

    expected = {(path, method) for path in COVERED_PATHS for method in SPEC["paths"][path]}
    expected = {(path, method) for path, method in expected if not method.startswith("x-")}
    assert contract.succeeded == expected


async def test_a_response_breaking_the_spec_is_caught():
    broken = {"count": 1, "next": None, "previous": None, "results": [{"id": "not-a-uuid"}]}

    with pytest.raises(jsonschema.ValidationError):
        validate(broken, {"$ref": "#/components/schemas/PaginatedEventSchemaList"})


async def test_every_seeded_list_item_validates(contract: ContractClient):
    for template, ref in [
        ("/api/projects/{project_id}/event_definitions/", "PaginatedEnterpriseEventDefinitionList"),
        ("/api/projects/{project_id}/schema_property_groups/", "PaginatedSchemaPropertyGroupList"),
        ("/api/projects/{project_id}/event_schemas/", "PaginatedEventSchemaList"),
    ]:
        body = await contract.call("get", template, 200, project_id=1, params={"limit": 2})

        assert body["next"] is not None
        validate(body, {"$ref": f"#/components/schemas/{ref}"})
