"""Capture endpoints: the body formats the SDKs send, tokens, refusals, and what gets stored."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sandbox_events_helpers import AUTH, rows, send_batch

from eventschema_tools.sandbox import DEMO_PROJECT_TOKEN, Project, SandboxConfig, create_app

pytestmark = pytest.mark.anyio


def event(name: str, distinct_id: str = "user-1", **properties: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "properties": properties}


def json_bytes(payload: object) -> bytes:
    return json.dumps(payload).encode()


async def stored(client: httpx.AsyncClient) -> list[list[Any]]:
    return await rows(
        client, "SELECT event, distinct_id, properties FROM events ORDER BY event, distinct_id"
    )


async def test_a_batch_lands_in_events_with_its_properties_as_json_text(
    client: httpx.AsyncClient,
) -> None:
    response = await send_batch(
        client,
        [event("signed_up", plan="pro", seats=3), event("logged_in", "user-2", remember=True)],
    )

    assert response.status_code == 200
    assert response.json() == {"status": 1}
    found = await stored(client)
    assert [(name, who) for name, who, _ in found] == [
        ("logged_in", "user-2"),
        ("signed_up", "user-1"),
    ]
    assert json.loads(found[0][2]) == {"remember": True}
    assert json.loads(found[1][2]) == {"plan": "pro", "seats": 3}


@pytest.mark.parametrize(
    ("path", "headers", "params", "encode"),
    [
        ("/batch/", {"Content-Encoding": "gzip"}, {}, gzip.compress),
        ("/i/v0/e/", {"Content-Type": "text/plain"}, {"compression": "gzip-js"}, gzip.compress),
        ("/e/", {}, {}, gzip.compress),  # recognised by the gzip magic bytes alone
        ("/capture/", {}, {}, lambda body: body),
    ],
)
async def test_every_capture_path_takes_plain_and_gzipped_bodies(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    params: dict[str, str],
    encode: Any,
) -> None:
    payload = [{**event("viewed", "user-9", page="/"), "token": DEMO_PROJECT_TOKEN}]

    response = await client.post(
        path, content=encode(json_bytes(payload)), headers=headers, params=params
    )

    assert response.status_code == 200, response.text
    assert await rows(client, "SELECT event, distinct_id FROM events") == [["viewed", "user-9"]]


@pytest.mark.parametrize("path", ["/batch", "/e", "/capture", "/i/v0/e"])
async def test_every_capture_path_is_served_without_its_trailing_slash(
    client: httpx.AsyncClient, path: str
) -> None:
    # PostHog's capture service routes both forms (rust/capture/src/router.rs); none redirects.
    payload = {"api_key": DEMO_PROJECT_TOKEN, "batch": [event("viewed", "user-3")]}

    accepted = await client.post(path, json=payload)
    refused = await client.post(path, json={"batch": [event("dropped")]})
    fetched = await client.get(
        path, params={"data": json.dumps({**event("fetched"), "token": DEMO_PROJECT_TOKEN})}
    )

    assert (accepted.status_code, accepted.json()) == (200, {"status": 1})
    assert (refused.status_code, refused.json()["code"]) == (401, "ingest_key_required")
    assert fetched.status_code == 200
    assert "location" not in accepted.headers
    assert await rows(client, "SELECT event FROM events ORDER BY event") == [
        ["fetched"],
        ["viewed"],
    ]


async def test_form_encoded_base64_data_and_get_data_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    first = {**event("form_event"), "api_key": DEMO_PROJECT_TOKEN}
    second = {**event("get_event"), "$token": DEMO_PROJECT_TOKEN}
    form = urlencode({"data": base64.b64encode(json_bytes(first)).decode()})

    posted = await client.post(
        "/e/", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    fetched = await client.get("/e/", params={"data": json.dumps(second)})

    assert (posted.status_code, fetched.status_code) == (200, 200)
    assert await rows(client, "SELECT event FROM events ORDER BY event") == [
        ["form_event"],
        ["get_event"],
    ]


async def test_the_token_picks_the_project() -> None:
    app = create_app(SandboxConfig(projects=(Project(1), Project(2))))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            await send_batch(client, [event("in_one")])
            await send_batch(client, [event("in_two")], token="phc_sandbox_2")
            one = await client.post(
                "/api/projects/1/query/",
                headers=AUTH,
                json={"query": {"kind": "HogQLQuery", "query": "SELECT event FROM events"}},
            )
            two = await client.post(
                "/api/projects/2/query/",
                headers=AUTH,
                json={"query": {"kind": "HogQLQuery", "query": "SELECT event FROM events"}},
            )
    finally:
        app.sandbox.close()
    assert one.json()["results"] == [["in_one"]]
    assert two.json()["results"] == [["in_two"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"api_key": "phc_unknown", "batch": [event("x")]}, "ingest_key_unknown"),
        ({"batch": [event("x")]}, "ingest_key_required"),
        ({"api_key": "", "batch": [event("x")]}, "ingest_key_required"),
        ({"api_key": "phx_sandbox_demo_key", "batch": [event("x")]}, "ingest_key_unknown"),
        (
            [{**event("x"), "token": DEMO_PROJECT_TOKEN}, {**event("y"), "token": "phc_other"}],
            "unroutable_events",
        ),
    ],
)
async def test_a_missing_or_unknown_token_is_refused_with_401(
    client: httpx.AsyncClient, body: object, code: str
) -> None:
    response = await client.post("/batch/", json=body)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.json()["status"] == 401
    assert await rows(client, "SELECT count() FROM events") == [[0]]


@pytest.mark.parametrize(
    ("content", "headers", "code", "message"),
    [
        (b"{not json", {}, "request_parsing_error", "failed to parse request"),
        (b"not gzip at all", {"Content-Encoding": "gzip"}, "request_decoding_error", "GZIP"),
        (b"N4Igzg", {}, "request_parsing_error", "failed to parse request"),
        (json_bytes({"api_key": DEMO_PROJECT_TOKEN, "batch": []}), {}, "empty_batch", "no event"),
        (
            json_bytes({"api_key": DEMO_PROJECT_TOKEN, "batch": [{"distinct_id": "u"}]}),
            {},
            "missing_event_name",
            "empty event name",
        ),
        (
            json_bytes({"api_key": DEMO_PROJECT_TOKEN, "batch": [{"event": "e"}]}),
            {},
            "missing_distinct_id",
            "without a distinct_id",
        ),
        (
            json_bytes(
                {"api_key": DEMO_PROJECT_TOKEN, "batch": [{**event("e"), "uuid": "not-a-uuid"}]}
            ),
            {},
            "request_parsing_error",
            "invalid uuid",
        ),
        (
            json_bytes({"api_key": DEMO_PROJECT_TOKEN, "batch": [{**event("e"), "properties": 3}]}),
            {},
            "request_parsing_error",
            "properties must be an object",
        ),
        (
            b'{"api_key": "phc_sandbox_demo", "batch": [{"event": NaN}]}',
            {},
            "request_parsing_error",
            "NaN",
        ),
    ],
)
async def test_malformed_requests_get_a_400_that_says_what_is_wrong(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], code: str, message: str
) -> None:
    response = await client.post("/batch/", content=content, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert message in response.json()["error"]


async def test_lz64_is_refused_with_the_formats_that_work(client: httpx.AsyncClient) -> None:
    response = await client.post("/e/", content=b"N4Ig", params={"compression": "lz64"})

    assert response.status_code == 400
    assert "gzip" in response.json()["error"]


async def test_a_gzip_bomb_is_refused_without_inflating_it(client: httpx.AsyncClient) -> None:
    bomb = gzip.compress(b" " * (21 * 1024 * 1024))

    response = await client.post("/batch/", content=bomb, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_ingestion_creates_definitions_and_moves_last_seen_at(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/api/projects/1/event_definitions/", headers=AUTH, json={"name": "planned"}
    )
    assert created.json()["last_seen_at"] is None

    await send_batch(client, [event("planned"), event("unplanned")])
    definitions = await client.get("/api/projects/1/event_definitions/", headers=AUTH)

    seen = {d["name"]: d for d in definitions.json()["results"]}
    assert set(seen) == {"planned", "unplanned"}
    assert seen["planned"]["id"] == created.json()["id"]
    for definition in seen.values():
        last_seen = datetime.fromisoformat(definition["last_seen_at"])
        assert datetime.now(UTC) - last_seen < timedelta(minutes=1)
        assert definition["created_at"] is not None


async def test_timestamps_are_kept_and_corrected_for_clock_skew(client: httpx.AsyncClient) -> None:
    day_ago = datetime.now(UTC) - timedelta(days=1)
    skewed_clock = datetime.now(UTC) + timedelta(hours=5)
    await send_batch(
        client,
        [
            {**event("no_skew"), "timestamp": day_ago.isoformat()},
            {
                **event("skewed"),
                "timestamp": (skewed_clock - timedelta(hours=2)).isoformat(),
                "sent_at": skewed_clock.isoformat(),
            },
            {**event("offset"), "offset": 60_000},
            {**event("unreadable"), "timestamp": "yesterday-ish"},
        ],
    )

    found = {
        name: datetime.fromisoformat(moment)
        for name, moment in await rows(client, "SELECT event, timestamp FROM events")
    }
    now = datetime.now(UTC)
    assert found["no_skew"] == day_ago
    assert abs(found["skewed"] - (now - timedelta(hours=2))) < timedelta(seconds=30)
    assert abs(found["offset"] - (now - timedelta(minutes=1))) < timedelta(seconds=30)
    assert abs(found["unreadable"] - now) < timedelta(seconds=30)
    warnings = (await client.get("/_sandbox/ingestion_warnings")).json()
    assert warnings["counts"] == {"ignored_invalid_timestamp": 1}
    assert warnings["results"][0]["details"]["value"] == "yesterday-ish"


async def test_distinct_ids_are_taken_and_stringified_like_posthog(
    client: httpx.AsyncClient,
) -> None:
    await send_batch(
        client,
        [
            {"event": "a", "distinct_id": 42},
            {"event": "b", "$distinct_id": "dollar"},
            {"event": "c", "properties": {"distinct_id": "in-properties"}},
            {"event": "d", "distinct_id": "x" * 250},
        ],
    )

    found = dict(await rows(client, "SELECT event, distinct_id FROM events"))
    assert found == {"a": "42", "b": "dollar", "c": "in-properties", "d": "x" * 200}
