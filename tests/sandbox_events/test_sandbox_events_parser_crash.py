"""Queries that crash or overwhelm the HogQL parser, over real HTTP: a 400, then a working query.

PostHog's parser recurses on the C stack once per level of a left-nested expression; some ten
thousand levels overflow the worker's fixed stack and kill the worker process.
"""

from __future__ import annotations

import httpx

from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox
from eventschema_tools.sandbox.events import parser_worker

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
# About twice the levels that overflow the parser's 8 MiB stack (~150 KB of query text).
CRASHING_QUERY = "SELECT event" + "::String" * 15_000 + " FROM events"


def post_query(running: RunningSandbox, query: str) -> httpx.Response:
    return httpx.post(
        f"{running.url}/api/projects/1/query/",
        json={"query": {"kind": "HogQLQuery", "query": query}},
        headers=AUTH,
        timeout=120,
    )


def worker_pid() -> int | None:
    process = parser_worker._WORKER._process
    return process.pid if process is not None and process.poll() is None else None


def test_a_query_that_kills_the_parser_gets_a_400_and_a_new_worker_serves_the_next(
    sandbox_server: RunningSandbox,
):
    warm = post_query(sandbox_server, "SELECT 1")
    first_worker = worker_pid()

    crashed = post_query(sandbox_server, CRASHING_QUERY)
    after_crash = worker_pid()
    later = post_query(sandbox_server, "SELECT count() FROM events")

    assert warm.status_code == 200
    assert first_worker is not None
    assert crashed.status_code == 400, crashed.text
    body = crashed.json()
    assert (body["type"], body["code"], body["attr"]) == ("validation_error", "invalid_input", None)
    assert body["detail"].startswith("The HogQL parser stopped on this query")
    assert after_crash is None
    assert later.status_code == 200, later.text
    assert worker_pid() not in (None, first_worker)


def test_a_tree_too_deep_to_translate_gets_a_400(sandbox_server: RunningSandbox):
    deep = "SELECT " + " + ".join(["1"] * 1_000)

    response = post_query(sandbox_server, deep)

    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("The query's expressions nest too deeply")
    assert post_query(sandbox_server, "SELECT 1").status_code == 200
