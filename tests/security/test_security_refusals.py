"""What SECURITY.md says is refused, tried and refused.

* `next` links to another origin: `UnsafeURLError`, and no request reaches that origin.
* Ids with path tricks (`../`, `%2F`, `?`, `#`, ...): `InvalidInputError`, no request at all.
* YAML tags that build Python objects: the plan loader refuses them and never runs them (the
  same text *does* run under PyYAML's unsafe loader, which shows the payloads are live).
* Oversized requests: the sandbox's 413 surfaces as one clear error, not retried.
* HogQL injection through event and property names: the names are data, the counts are exact
  and the events table is intact.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.errors import APIStatusError, InvalidInputError, UnsafeURLError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, create_app, run_sandbox
from eventschema_tools.tracking_plan.file import PlanFileError, TrackingPlan, load_plan, parse_plan
from eventschema_tools.tracking_plan.lint import lint_file

# --- pagination links ---------------------------------------------------------------------------

POISONED = "/api/projects/{project_id}/poisoned/"


def poisoned_route(next_link: Callable[[Request], str | None]) -> Route:
    """A list route whose first page links to `next_link(request)` (the second page ends)."""

    async def page(request: Request) -> JSONResponse:
        first = "page" not in request.query_params
        return JSONResponse(
            {
                "count": 2,
                "next": next_link(request) if first else None,
                "previous": None,
                "results": [{"id": "first" if first else "second"}],
            }
        )

    return Route(POISONED, page)


@pytest.fixture(scope="module")
def foreign() -> Iterator[RunningSandbox]:
    """Another server on loopback: what a poisoned link points at."""
    with run_sandbox(rate_limiting=False) as running:
        yield running


def foreign_links(foreign_url: str) -> dict[str, Callable[[Request], str]]:
    port = foreign_url.rsplit(":", 1)[1]
    return {
        "another port": lambda r: f"{foreign_url}/api/projects/1/poisoned/?page=2",
        "another scheme": lambda r: f"https://{r.url.netloc}/api/projects/1/poisoned/?page=2",
        "another host": lambda r: "http://evil.invalid/api/projects/1/poisoned/?page=2",
        "user-info trick": lambda r: f"http://{r.url.netloc}@127.0.0.1:{port}/api/?page=2",
        "scheme-relative": lambda r: f"//127.0.0.1:{port}/api/projects/1/poisoned/?page=2",
        "backslash": lambda r: f"http://127.0.0.1:{port}\\@{r.url.netloc}/api/?page=2",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "another port",
        "another scheme",
        "another host",
        "user-info trick",
        "scheme-relative",
        "backslash",
    ],
)
def test_a_next_link_to_another_origin_is_refused_before_any_request(
    foreign: RunningSandbox, kind: str
) -> None:
    link = foreign_links(foreign.url)[kind]
    foreign.sandbox.faults.reset_stats()
    with run_sandbox(rate_limiting=False, extra_routes=[poisoned_route(link)]) as served:
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=served.url) as client:
            rows = client.paginate("/api/projects/1/poisoned/")
            assert next(rows)["id"] == "first"
            with pytest.raises(UnsafeURLError, match="refusing to follow"):
                next(rows)

        async def follow_async() -> None:
            async with AsyncEventSchemaClient(
                api_key=DEMO_API_KEY, project_id=1, host=served.url
            ) as client:
                rows = client.paginate("/api/projects/1/poisoned/")
                assert (await anext(rows))["id"] == "first"
                with pytest.raises(UnsafeURLError):
                    await anext(rows)

        anyio.run(follow_async)
    assert foreign.sandbox.faults.stats()["requests"] == 0


def test_a_next_link_on_the_same_origin_is_followed() -> None:
    """Control: the same route with an honest link pages through."""
    route = poisoned_route(lambda r: f"{r.url.scheme}://{r.url.netloc}{r.url.path}?page=2")
    with (
        run_sandbox(rate_limiting=False, extra_routes=[route]) as served,
        EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=served.url) as client,
    ):
        rows = [row["id"] for row in client.paginate("/api/projects/1/poisoned/")]
    assert rows == ["first", "second"]


# --- ids in paths -------------------------------------------------------------------------------

BAD_IDS = [
    "../",
    "../../api/users/@me",
    "..%2F..%2Fusers",
    "%2F",
    "a/b",
    "x?limit=1",
    "x#fragment",
    "",
    " ",
    "\n",
    "{id}",
    "1 OR 1=1",
    "00000000-0000-0000-0000-00000000000g",
    "00000000-0000-0000-0000-000000000000/../../",
]
ID_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("property_groups", "get", {}),
    ("property_groups", "update", {"description": "x"}),
    ("property_groups", "delete", {}),
    ("event_definitions", "get", {}),
    ("event_definitions", "update", {"description": "x"}),
    ("event_definitions", "delete", {}),
    ("event_schemas", "update", {"property_group_id": "00000000-0000-0000-0000-000000000000"}),
    ("event_schemas", "delete", {}),
]


@pytest.fixture(scope="module")
def peer() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False) as running:
        yield running


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_ids_with_path_tricks_are_refused_before_the_network(
    peer: RunningSandbox, bad_id: str
) -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [sent.append]})
    with EventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host=peer.url, http_client=http
    ) as client:
        for resource, method, extra in ID_CALLS:
            with pytest.raises(InvalidInputError, match="UUID"):
                getattr(getattr(client, resource), method)(bad_id, **extra)
        with pytest.raises(InvalidInputError):
            list(client.event_schemas.list(event_definition=bad_id))
        with pytest.raises(InvalidInputError):
            client.event_schemas.create(event_definition=bad_id, property_group_id=bad_id)
    http.close()
    assert sent == []


def test_ids_with_path_tricks_are_refused_by_the_async_client_too() -> None:
    app = create_app(rate_limiting=False)

    async def calls() -> list[httpx.Request]:
        sent: list[httpx.Request] = []

        async def record(request: httpx.Request) -> None:
            sent.append(request)

        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), event_hooks={"request": [record]}
        )
        async with AsyncEventSchemaClient(
            api_key=DEMO_API_KEY, project_id=1, host="http://sandbox.test", http_client=http
        ) as client:
            for bad_id in BAD_IDS:
                for resource, method, extra in ID_CALLS:
                    with pytest.raises(InvalidInputError):
                        await getattr(getattr(client, resource), method)(bad_id, **extra)
        await http.aclose()
        return sent

    try:
        assert anyio.run(calls) == []
    finally:
        app.sandbox.close()


# --- YAML tags ----------------------------------------------------------------------------------

CANARY_MODULE = textwrap.dedent(
    """
    HITS = []


    def hit(*args):
        HITS.append(args)
        return "built"


    class Hit:
        def __init__(self, *args, **kwargs):
            HITS.append(args)

        def __setstate__(self, state):
            HITS.append(state)
    """
)
OBJECT_TAGS = [
    "!!python/object/apply:yaml_canary_target.hit [1]",
    "!!python/object/new:yaml_canary_target.Hit [1]",
    "!!python/object:yaml_canary_target.Hit {a: 1}",
    "!!python/name:yaml_canary_target.hit",
    "!!python/module:yaml_canary_target",
]


@pytest.fixture
def canary_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    (tmp_path / "yaml_canary_target.py").write_text(CANARY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda: sys.modules.get("yaml_canary_target")
    sys.modules.pop("yaml_canary_target", None)


@pytest.mark.parametrize("tag", OBJECT_TAGS)
@pytest.mark.parametrize("where", ["description", "property", "root", "merge"])
def test_yaml_tags_that_build_objects_are_refused_and_never_run(
    canary_target: Callable[[], Any], tmp_path: Path, tag: str, where: str
) -> None:
    text = {
        "root": tag,
        "description": f"version: 1\nproperty_groups:\n  g:\n    description: {tag}\n",
        "property": f"version: 1\nproperty_groups:\n  g:\n    properties:\n      p: {tag}\n",
        "merge": f"version: 1\nproperty_groups:\n  g:\n    <<: {tag}\n",
    }[where]
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlanFileError) as refused:
        load_plan(path)
    with pytest.raises(PlanFileError):
        parse_plan(text)
    problems = lint_file(path)
    assert canary_target() is None, "the loader imported the module a tag named"
    assert "tag" in str(refused.value).lower()
    assert any(problem.severity == "error" for problem in problems)

    if where != "merge":  # YAML merges a `<<:` mapping without building its tag, unsafe or not
        yaml.unsafe_load(text)  # the control: PyYAML's unsafe loader does import and run it
        assert canary_target() is not None


def test_the_mcp_plan_tool_refuses_object_tags_too(canary_target: Callable[[], Any]) -> None:
    pytest.importorskip("mcp")
    from mcp import Client

    from eventschema_tools.mcp_server.server import ServerOptions, create_server

    app = create_app(rate_limiting=False)

    def factory() -> AsyncEventSchemaClient:
        return AsyncEventSchemaClient(
            api_key=DEMO_API_KEY,
            project_id=1,
            host="http://sandbox.test",
            transport=httpx.ASGITransport(app=app),
        )

    async def call() -> Any:
        async with Client(create_server(ServerOptions(), client_factory=factory)) as client:
            return await client.call_tool("plan_tracking_plan", {"plan_yaml": OBJECT_TAGS[0]})

    try:
        result = anyio.run(call)
    finally:
        app.sandbox.close()
    assert result.is_error
    assert canary_target() is None


# --- oversized requests -------------------------------------------------------------------------


def test_an_oversized_request_gets_one_clear_error_and_no_retry() -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [sent.append]})
    with (
        run_sandbox(rate_limiting=False, max_body_bytes=4096) as served,
        EventSchemaClient(
            api_key=DEMO_API_KEY, project_id=1, host=served.url, http_client=http
        ) as client,
    ):
        with pytest.raises(APIStatusError) as refused:
            client.property_groups.create(name="big", description="x" * 10_000)
        assert list(client.property_groups.list()) == []
    http.close()
    assert refused.value.status_code == 413
    assert "413" in str(refused.value)
    assert "4096 bytes" in str(refused.value)
    assert [request.method for request in sent] == ["POST", "GET"]


def test_an_oversized_request_from_the_cli_is_one_line_and_exit_1() -> None:
    from typer.testing import CliRunner

    from eventschema_tools.cli.main import app

    with run_sandbox(rate_limiting=False, max_body_bytes=4096) as served:
        env = {
            "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
            "POSTHOG_PROJECT_ID": "1",
            "POSTHOG_HOST": served.url,
            "EVENTSCHEMA_RATE_LIMIT": "off",
        }
        argv = ["groups", "create", "big", "--description", "x" * 10_000]
        result = CliRunner().invoke(app, argv, env=env)
    assert result.exit_code == 1
    assert "413" in result.stderr
    assert "Traceback" not in result.output + result.stderr


# --- HogQL injection through names ---------------------------------------------------------------

HOSTILE_EVENTS = [
    "login' OR '1'='1",
    "x'); DROP TABLE events; --",
    "{events}",
    "back\\slash' OR 1=1 --",
    "login",
]
HOSTILE_PROPERTY = "p' OR 1=1) --"


def test_names_that_look_like_hogql_are_data_not_code() -> None:
    rows = [(name, index + 1) for index, name in enumerate(HOSTILE_EVENTS)]
    batch = [
        {"event": name, "distinct_id": f"u{n}", "properties": {HOSTILE_PROPERTY: n}}
        for name, count in rows
        for n in range(count)
    ]
    plan = TrackingPlan.model_validate(
        {
            "version": 1,
            "property_groups": {
                "g": {"properties": {HOSTILE_PROPERTY: {"type": "Numeric", "required": True}}}
            },
            "events": {name: {"groups": ["g"]} for name in HOSTILE_EVENTS},
        }
    )
    with run_sandbox(rate_limiting=False) as served:
        httpx.post(f"{served.url}/batch/", json={"api_key": "phc_sandbox_demo", "batch": batch})
        with EventSchemaClient(
            api_key=DEMO_API_KEY, project_id=1, host=served.url, query_rate_limit="off"
        ) as client:
            report = run_audit(client, audit_options(plan=plan, kinds="conformance", window="1h"))
            counted = client.query.hogql(
                "SELECT count() FROM events WHERE event = {name}",
                values={"name": HOSTILE_EVENTS[0]},
            )
            total = client.query.hogql("SELECT count() FROM events")
    expected = dict(rows)
    assert {event.event: event.events for event in report.events} == expected
    for event in report.events:
        (prop,) = event.properties
        assert (prop.present, prop.missing, prop.wrong_type) == (expected[event.event], 0, 0)
    assert counted.results == [[1]]
    assert total.results == [[sum(expected.values())]]
