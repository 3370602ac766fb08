"""Fuzz the tracking-plan reader and lint: any input gives a plan, problems, or PlanFileError.

Inputs come in four kinds: arbitrary text, arbitrary bytes written to a file, random YAML
structures (dumped, so they are well-formed), and a valid plan with one random edit at a random
place. Whatever comes in, the reader returns a plan or raises `PlanFileError` with at least one
positioned problem, and lint returns problems; nothing else may escape.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzz_settings import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from eventschema_tools.tracking_plan.file import (
    PlanFileError,
    Problem,
    TrackingPlan,
    dump_plan,
    parse_document,
    parse_plan,
)
from eventschema_tools.tracking_plan.lint import NamingConvention, lint_document, lint_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"

# Scalars YAML and plans care about: type names, booleans in YAML 1.1 spellings, numbers.
_WORDS = st.sampled_from(
    ["String", "Numeric", "Boolean", "DateTime", "Object", "yes", "no", "on", "null", "~", "1e3"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    _WORDS,
)
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "version",
            "plan_id",
            "property_groups",
            "events",
            "properties",
            "type",
            "required",
            "rules",
            "enum",
            "pattern",
            "regex",
            "min",
            "max",
            "groups",
            "enforcement",
            "description",
            "optional_in_types",
            "$schema",
        ]
    ),
    st.integers(),
    st.booleans(),
)
structures = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)
naming = st.sampled_from([None, *NamingConvention])


def check_reading(text: str) -> TrackingPlan | None:
    """Read `text` as a plan: a plan, or PlanFileError with positioned problems."""
    try:
        plan = parse_plan(text, "fuzz.yaml")
    except PlanFileError as exc:
        error = exc
    else:
        assert isinstance(plan, TrackingPlan)
        return plan
    assert error.problems, "PlanFileError without problems"
    assert all(isinstance(problem, Problem) and problem.message for problem in error.problems)
    assert "fuzz.yaml" in str(error)
    return None


def check_lint(text: str, convention: NamingConvention | None) -> list[Problem]:
    """Lint `text`: problems, or the parse problems PlanFileError carries."""
    try:
        doc = parse_document(text, "fuzz.yaml")
    except PlanFileError as exc:
        return exc.problems
    problems = lint_document(doc, naming=convention)
    assert all(isinstance(problem, Problem) for problem in problems)
    return problems


def check_round_trip(plan: TrackingPlan) -> None:
    """A plan that was read writes back to text that reads as the same plan."""
    assert parse_plan(dump_plan(plan), "again.yaml") == plan


@fuzz_settings()
@given(text=st.text(max_size=400), convention=naming)
def test_any_text_reads_as_a_plan_or_a_clear_error(
    text: str, convention: NamingConvention | None
) -> None:
    plan = check_reading(text)
    check_lint(text, convention)
    if plan is not None:
        check_round_trip(plan)


@fuzz_settings(0.5)
@given(data=st.binary(max_size=400))
def test_any_file_content_reads_as_a_plan_or_a_clear_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "plan.yaml"
        path.write_bytes(data)
        problems = lint_file(path)
    assert all(isinstance(problem, Problem) for problem in problems)


@fuzz_settings()
@given(structure=structures, convention=naming)
def test_any_yaml_structure_reads_as_a_plan_or_a_clear_error(
    structure: Any, convention: NamingConvention | None
) -> None:
    text = yaml.safe_dump(structure, allow_unicode=True)
    plan = check_reading(text)
    check_lint(text, convention)
    if plan is not None:
        check_round_trip(plan)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {**node, head: _replace(node[head], rest, value)}
    copy = list(node)
    copy[head] = _replace(node[head], rest, value)
    return copy


@fuzz_settings()
@given(data=st.data(), convention=naming)
def test_a_valid_plan_with_one_random_edit_reads_or_fails_clearly(
    data: st.DataObject, convention: NamingConvention | None
) -> None:
    base = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(_paths(base)), label="path")
    edited = _replace(base, path, data.draw(structures, label="new value"))
    text = yaml.safe_dump(edited, allow_unicode=True, sort_keys=False)
    plan = check_reading(text)
    check_lint(text, convention)
    if plan is not None:
        check_round_trip(plan)


@fuzz_settings(0.5)
@given(
    tag=st.sampled_from(
        [
            "!!python/object/apply:os.system",
            "!!python/object:builtins.dict",
            "!!python/name:os.system",
            "!!python/tuple",
            "!custom",
            "!!binary",
            "!!set",
            "!!timestamp",
            "!!int",
            "!!float",
            "!!bool",
            "!!null",
            "!!str",
            "!!map",
            "!!seq",
        ]
    ),
    payload=st.sampled_from(["['echo hi']", "{}", "aGVsbG8=", "x", "2024-01-01", "12", "yes"]),
    where=st.sampled_from(["root", "version", "plan_id", "description", "property", "merge"]),
)
def test_any_yaml_tag_reads_as_plain_data_or_a_clear_error(
    tag: str, payload: str, where: str
) -> None:
    value = f"{tag} {payload}"
    documents = {
        "root": value,
        "version": f"version: {value}\n",
        "plan_id": f"version: 1\nplan_id: {value}\n",
        "description": f"version: 1\nproperty_groups:\n  g:\n    description: {value}\n",
        "property": f"version: 1\nproperty_groups:\n  g:\n    properties:\n      p: {value}\n",
        "merge": f"version: 1\nproperty_groups:\n  g:\n    <<: {value}\n",
    }
    text = documents[where]
    plan = check_reading(text)
    if plan is not None:
        assert not tag.startswith(("!!python/", "!custom")), tag
        check_round_trip(plan)
    check_lint(text, None)


@pytest.mark.parametrize("tag", ["!!int", "!!float", "!!bool", "!!timestamp"])
@pytest.mark.parametrize("where", ["root", "version", "description", "enum value", "merge"])
def test_a_core_tag_on_a_value_it_cannot_read_is_a_clear_error(tag: str, where: str) -> None:
    """PyYAML's own constructors raise ValueError, KeyError or AttributeError for these."""
    value = f"{tag} not-a-value"
    text = {
        "root": value,
        "version": f"version: {value}\n",
        "description": f"version: 1\nproperty_groups:\n  g:\n    description: {value}\n",
        "enum value": (
            "version: 1\nproperty_groups:\n  g:\n    properties:\n"
            f"      p: {{type: String, rules: {{enum: [{value}]}}}}\n"
        ),
        "merge": f"version: 1\nproperty_groups:\n  g:\n    <<: {{description: {value}}}\n",
    }[where]
    with pytest.raises(PlanFileError, match="cannot be read as"):
        parse_plan(text, "fuzz.yaml")
