"""Bad request bodies and unknown routes get PostHog's error shape and status codes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from eventschema_tools.sandbox import SandboxApp

pytestmark = pytest.mark.anyio

GROUPS = "/api/projects/1/schema_property_groups/"
JSON = {"Content-Type": "application/json"}


async def test_malformed_json_is_a_parse_error(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(GROUPS, content=b'{"name": ', headers=JSON)

    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid_request",
        "code": "parse_error",
        "detail": "JSON parse error - Expecting value: line 1 column 10 (char 9)",
        "attr": None,
    }


@pytest.mark.parametrize("body", [b'{"name": NaN}', b'{"name": Infinity}'])
async def test_non_finite_numbers_are_refused(asgi_client: httpx.AsyncClient, body: bytes):
    response = await asgi_client.post(GROUPS, content=body, headers=JSON)

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "Out of range float values are not JSON compliant" in response.json()["detail"]


async def test_invalid_utf8_is_a_parse_error(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(GROUPS, content=b'{"name": "\xff"}', headers=JSON)

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_other_media_types_are_415(asgi_client: httpx.AsyncClient, content_type: str):
    response = await asgi_client.post(
        GROUPS, content=b"name=x", headers={"Content-Type": content_type}
    )

    assert response.status_code == 415
    assert response.json() == {
        "type": "invalid_request",
        "code": "unsupported_media_type",
        "detail": f'Unsupported media type "{content_type}" in request.',
        "attr": None,
    }


async def test_json_with_charset_is_accepted(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS,
        content=b'{"name": "charset"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


async def test_body_over_one_mebibyte_is_413(asgi_client: httpx.AsyncClient):
    padding = "x" * (1024 * 1024)

    response = await asgi_client.post(GROUPS, json={"name": "big", "description": padding})

    assert response.status_code == 413
    assert response.json() == {
        "type": "invalid_request",
        "code": "request_too_large",
        "detail": "Request body exceeds the limit of 1048576 bytes.",
        "attr": None,
    }


async def test_streamed_body_without_length_is_also_limited(
    sandbox_app: Callable[..., SandboxApp], asgi_client_for: Callable[..., httpx.AsyncClient]
):
    client = asgi_client_for(sandbox_app(max_body_bytes=100))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b'{"pad": "' + b"y" * 20 + b'"}'

    response = await client.post(GROUPS, content=chunks(), headers=JSON)

    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize(("body", "kind"), [(b"[1, 2]", "list"), (b'"text"', "str"), (b"3", "int")])
async def test_json_that_is_not_an_object_is_rejected(
    asgi_client: httpx.AsyncClient, body: bytes, kind: str
):
    response = await asgi_client.post(GROUPS, content=body, headers=JSON)

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": f"Invalid data. Expected a dictionary, but got {kind}.",
        "attr": None,
    }


async def test_empty_body_is_an_empty_object(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(GROUPS, content=b"")

    assert response.status_code == 400
    assert (response.json()["attr"], response.json()["code"]) == ("name", "required")


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (None, "This field may not be null."),
        ("   ", "This field may not be blank."),
        (["x"], "Not a valid string."),
        ("n" * 401, "Ensure this field has no more than 400 characters."),
        ("a\x00b", "Null characters are not allowed."),
    ],
)
async def test_bad_group_names(asgi_client: httpx.AsyncClient, value: object, detail: str):
    response = await asgi_client.post(GROUPS, json={"name": value})

    assert response.status_code == 400
    assert (response.json()["attr"], response.json()["detail"]) == ("name", detail)


async def test_bad_boolean_is_reported_inside_properties(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS,
        json={
            "name": "bools",
            "properties": [{"name": "a", "property_type": "String", "is_required": "maybe"}],
        },
    )

    assert response.status_code == 400
    assert "Must be a valid boolean." in response.json()["detail"]


async def test_drf_boolean_strings_are_accepted(asgi_client: httpx.AsyncClient):
    response = await asgi_client.post(
        GROUPS,
        json={
            "name": "bool strings",
            "properties": [{"name": "a", "property_type": "String", "is_required": "yes"}],
        },
    )

    assert response.json()["properties"][0]["is_required"] is True


async def test_unknown_route_is_posthog_404(asgi_client: httpx.AsyncClient):
    response = await asgi_client.get("/api/projects/1/dashboards/")

    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
