"""Deeply nested JSON over real HTTP: a 400 in PostHog's shape on every route that reads JSON."""

from __future__ import annotations

import uuid

import httpx
import pytest

from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox
from eventschema_tools.sandbox.http.json_text import MAX_JSON_DEPTH

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}", "Content-Type": "application/json"}
GROUPS = "/api/projects/1/schema_property_groups/"
# Far beyond what Python's parser can recurse through, yet well under the 1 MiB body limit.
VERY_DEEP = 100_000


def nested(levels: int) -> str:
    """`levels` arrays, one inside the other."""
    return "[" * levels + "]" * levels


def group_body(extra_levels: int) -> str:
    """A valid property group with an unknown field nesting the whole body `extra_levels + 1`."""
    name = f"nested-{uuid.uuid4().hex[:8]}"
    return f'{{"name": "{name}", "properties": [], "extra": {nested(extra_levels)}}}'


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", GROUPS),
        ("POST", "/api/projects/1/event_definitions/"),
        ("POST", "/api/projects/1/event_schemas/"),
        ("POST", "/api/projects/1/query/"),
        ("PUT", "/_sandbox/faults"),
    ],
)
def test_a_deeply_nested_body_is_a_parse_error_not_a_500(
    sandbox_server: RunningSandbox, method: str, path: str
):
    response = httpx.request(
        method, f"{sandbox_server.url}{path}", content=nested(VERY_DEEP), headers=AUTH
    )

    assert response.status_code == 400, response.text
    assert response.json() == {
        "type": "invalid_request",
        "code": "parse_error",
        "detail": f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels: "
        f"line 1 column {MAX_JSON_DEPTH + 1} (char {MAX_JSON_DEPTH})",
        "attr": None,
    }


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not(
    sandbox_server: RunningSandbox,
):
    url = f"{sandbox_server.url}{GROUPS}"
    at_limit = httpx.post(url, content=group_body(MAX_JSON_DEPTH - 1), headers=AUTH)
    beyond = httpx.post(url, content=group_body(MAX_JSON_DEPTH), headers=AUTH)

    assert at_limit.status_code == 201, at_limit.text
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "parse_error"


def test_brackets_inside_strings_do_not_count_as_nesting(sandbox_server: RunningSandbox):
    brackets = "[{" * 5_000 + '\\"' + "]}" * 5_000
    body = f'{{"name": "brackets-{uuid.uuid4().hex[:8]}", "description": "{brackets}"}}'

    response = httpx.post(f"{sandbox_server.url}{GROUPS}", content=body, headers=AUTH)

    assert response.status_code == 201, response.text
    assert response.json()["description"] == brackets.replace('\\"', '"')


def test_a_deeply_nested_capture_payload_is_capture_s_400(sandbox_server: RunningSandbox):
    event = f'{{"event": "deep", "distinct_id": "u1", "properties": {{"x": {nested(VERY_DEEP)}}}}}'
    body = f'{{"api_key": "{DEMO_PROJECT_TOKEN}", "batch": [{event}]}}'

    response = httpx.post(
        f"{sandbox_server.url}/batch/", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "request_parsing_error"
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in response.json()["error"]


def test_a_deeply_nested_tags_filter_is_ignored_as_other_bad_json_is(
    sandbox_server: RunningSandbox,
):
    response = httpx.get(
        f"{sandbox_server.url}/api/projects/1/event_definitions/",
        params={"tags": nested(1_500)},
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
