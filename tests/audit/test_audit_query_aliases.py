"""The slot queries define each alias once, before any column reads it, as PostHog requires.

PostHog's resolver refuses an alias defined twice and resolves a name only after its alias
is defined; the sandbox's translator knows every alias up front, so these tests check the
order on the parse tree itself. Covered: the audit's conformance query, the soak's (one set of
slots) and the backtest's (two sets of slots in one query).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eventschema_tools.audit import soak
from eventschema_tools.audit.expectations import EventExpectation, PropertyExpectation, ValueRules
from eventschema_tools.audit.queries import conformance_queries
from eventschema_tools.review.backtest import backtest_queries
from eventschema_tools.sandbox.events.hogql import parse_hogql


def _expected(names: tuple[str, ...]) -> list[EventExpectation]:
    def prop(name: str, types: set[str], required: bool, **rules: Any) -> PropertyExpectation:
        return PropertyExpectation(name, frozenset(types), required, ValueRules(**rules))

    return [
        EventExpectation("a", (prop(names[0], {"Numeric"}, True, minimum=0),)),
        EventExpectation(
            "b",
            (
                prop(names[0], {"Boolean"}, False),
                prop(names[1], {"String"}, True, enum=("x", "y")),
            ),
        ),
        EventExpectation("c", (prop(names[2], {"DateTime", "Object"}, True, regex="^q"),)),
        EventExpectation("d", ()),
    ]


def _walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in ("start", "end"):
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _assert_aliases_defined_once_before_use(text: str) -> None:
    nodes = list(_walk(parse_hogql(text)))
    defined: dict[str, int] = {}
    for node in nodes:
        if node.get("node") == "Alias":
            assert node["alias"] not in defined, f"alias {node['alias']} defined twice"
            defined[node["alias"]] = node["start"]["offset"]
    for node in nodes:
        chain = node.get("chain") if node.get("node") == "Field" else None
        if chain and len(chain) == 1 and chain[0] in defined:
            assert defined[chain[0]] < node["start"]["offset"], f"{chain[0]} read before defined"


@pytest.mark.parametrize("names", [("p", "q", "r"), ("p", "p", "p")])
def test_conformance_query(names: tuple[str, ...]) -> None:
    for query, _ in conformance_queries(_expected(names), 3600):
        _assert_aliases_defined_once_before_use(query.query)


def test_soak_query() -> None:
    query = soak._conformance_query(_expected(("p", "q", "r")), 0, 3600, 600)
    _assert_aliases_defined_once_before_use(query.query)


def test_backtest_query_with_two_sets_of_slots() -> None:
    current = _expected(("p", "q", "r"))
    proposed = _expected(("q", "p", "s"))[1:]
    for query, _ in backtest_queries(current, proposed, 7):
        _assert_aliases_defined_once_before_use(query.query)
