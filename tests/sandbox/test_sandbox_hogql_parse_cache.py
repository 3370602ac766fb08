"""The sandbox parses a long HogQL text once: same tree, values never carried over, bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox
from eventschema_tools.sandbox.events import parser_worker
from eventschema_tools.sandbox.events.hogql import parse_hogql
from eventschema_tools.sandbox.events.store import EventRow

# Long enough to be cached; the padding is a column list, not a comment, so it parses.
LONG_QUERY = (
    "SELECT event, count() AS total, "
    + ", ".join(
        f"countIf(JSONType(properties, {{name}}) = 'Null') AS missing_{k}" for k in range(12)
    )
    + " FROM events WHERE event = {event} GROUP BY event ORDER BY event"
)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts that reach the parser worker during a test, starting from an empty cache."""
    parser_worker.clear_parse_cache()
    seen: list[str] = []
    real = parser_worker._WORKER.parse

    def counting(query: str, timeout: float) -> str:
        seen.append(query)
        return real(query, timeout)

    monkeypatch.setattr(parser_worker._WORKER, "parse", counting)
    return seen


def test_a_long_text_reaches_the_parser_once_and_gives_the_same_tree(parses: list[str]) -> None:
    assert len(LONG_QUERY) >= parser_worker.PARSE_CACHE_MIN_CHARS
    first = parse_hogql(LONG_QUERY)
    second = parse_hogql(LONG_QUERY)
    assert first == second
    assert first is not second  # each caller gets a tree of its own
    assert parses == [LONG_QUERY]


def test_short_texts_and_failures_are_not_cached(parses: list[str]) -> None:
    parse_hogql("SELECT 1")
    parse_hogql("SELECT 1")
    assert parses == ["SELECT 1", "SELECT 1"]


def test_a_syntax_error_is_answered_the_same_from_the_cache(parses: list[str]) -> None:
    broken = LONG_QUERY.replace("GROUP BY event", "GROUP BY (event")
    messages = []
    for _ in range(2):
        with pytest.raises(ValueError, match="line 1") as raised:
            parse_hogql(broken)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert parses == [broken]


def test_values_are_read_per_request_not_from_the_cached_parse(
    sandbox_server: RunningSandbox, parses: list[str]
) -> None:
    now = datetime.now(UTC)
    sandbox_server.sandbox.events.insert_many(
        1,
        [
            EventRow(f"00000000-0000-4000-8000-{index:012d}", name, "u", json.dumps(props), now)
            for index, (name, props) in enumerate(
                [("cache_a", {"x": 1}), ("cache_a", {}), ("cache_b", {})]
            )
        ],
    )

    def ask(event: str, name: str) -> list[object]:
        response = httpx.post(
            f"{sandbox_server.url}/api/projects/1/query/",
            json={
                "query": {
                    "kind": "HogQLQuery",
                    "query": LONG_QUERY,
                    "values": {"event": event, "name": name},
                }
            },
            headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        results: list[object] = response.json()["results"]
        return results

    assert ask("cache_a", "x")[0][:3] == ["cache_a", 2, 1]  # type: ignore[index]
    assert ask("cache_b", "x")[0][:3] == ["cache_b", 1, 1]  # type: ignore[index]
    assert ask("cache_a", "y")[0][:3] == ["cache_a", 2, 2]  # type: ignore[index]
    assert parses == [LONG_QUERY]


def test_the_cache_keeps_the_most_recently_used_within_its_size() -> None:
    cache = parser_worker._ParseCache(max_chars=30)
    cache.put("a" * 5, "1" * 5)
    cache.put("b" * 5, "2" * 5)
    assert cache.get("a" * 5) == "1" * 5  # now the most recently used
    cache.put("c" * 5, "3" * 5)  # 30 characters: all fit
    cache.put("d" * 5, "4" * 5)  # over: the least recently used ("b") goes
    assert cache.get("b" * 5) is None
    assert [cache.get(key * 5) for key in "acd"] == ["1" * 5, "3" * 5, "4" * 5]
    cache.put("e" * 20, "5" * 20)  # larger than the whole cache: not kept, nothing dropped
    assert cache.get("e" * 20) is None
    assert cache.get("a" * 5) == "1" * 5
