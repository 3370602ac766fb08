"""The plan file: loading YAML and JSON, positioned errors with hints, safety, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eventschema_tools.models import PropertyType
from eventschema_tools.tracking_plan.file import (
    PlanFileError,
    TrackingPlan,
    dump_plan,
    json_schema,
    json_schema_text,
    load_plan,
    parse_plan,
    shipped_json_schema_text,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"

VALID = """\
version: 1
property_groups:
  checkout:
    properties:
      order_id: {type: String, required: true}
      plan: {type: String, rules: {enum: [free, pro]}}
      amount: {type: Numeric, rules: {min: 0, max: 100}}
      code: {type: String, rules: {regex: "^[A-Z]+$"}}
events:
  order_paid: {groups: [checkout], enforcement: reject}
"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlanFileError) as caught:
        parse_plan(text, "plan.yaml")
    return [(p.line, p.code, f"{p.message} | {p.hint}") for p in caught.value.problems]


def test_the_example_plan_loads() -> None:
    plan = load_plan(EXAMPLE)

    assert len(plan.property_groups) == 5
    assert len(plan.events) == 13
    amount = plan.property_groups["billing"].properties["amount"]
    assert (amount.type, amount.required, amount.rules and amount.rules.min) == (
        PropertyType.NUMERIC,
        True,
        0,
    )


def test_rules_are_read_with_regex_as_a_synonym_of_pattern() -> None:
    plan = parse_plan(VALID)

    props = plan.property_groups["checkout"].properties
    rules = {
        name: prop.rules.model_dump(exclude_none=True) for name, prop in props.items() if prop.rules
    }
    assert rules == {
        "plan": {"enum": ["free", "pro"]},
        "amount": {"min": 0, "max": 100},
        "code": {"pattern": "^[A-Z]+$"},
    }


def test_json_files_are_accepted_and_equal_to_yaml(tmp_path: Path) -> None:
    plan = load_plan(EXAMPLE)
    path = tmp_path / "plan.json"
    path.write_text(dump_plan(plan, fmt="json"))

    assert load_plan(path) == plan


def test_dump_then_parse_gives_the_same_plan() -> None:
    plan = load_plan(EXAMPLE)

    text = dump_plan(plan, header="first line\nsecond line")

    assert text.startswith("# first line\n# second line\n")
    assert "groups: [workspace_context, billing]" in text
    assert parse_plan(text) == plan


BAD_FILES = {
    "unknown property type": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n      a: {type: string}\n",
        5,
        "unknown-type",
        "did you mean 'String'",
    ),
    "typo in a key": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: String, requird: true}\n",
        5,
        "unknown-key",
        "did you mean 'required'",
    ),
    "comma inside flow mapping": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: String, description: one, two}\n",
        5,
        "unknown-key",
        "quote text that contains commas",
    ),
    "undefined group": (
        "version: 1\nproperty_groups:\n  checkout: {}\nevents:\n  e:\n    groups: [chekout]\n",
        6,
        "undefined-group",
        "did you mean 'checkout'",
    ),
    "bad enforcement": (
        "version: 1\nevents:\n  e: {enforcement: block}\n",
        3,
        "unknown-enforcement",
        "allow, reject",
    ),
    "missing version": ("events: {}\n", 1, "missing-key", "version: 1"),
    "newer version": ("version: 2\n", 1, "version", "version: 1"),
    "YAML boolean in a String enum": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: String, rules: {enum: [yes, no]}}\n",
        5,
        "invalid",
        "YAML boolean",
    ),
    "min above max": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: Numeric, rules: {min: 5, max: 1}}\n",
        5,
        "invalid",
        "greater than max",
    ),
    "regex that does not compile": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: String, rules: {pattern: '([a-z'}}\n",
        5,
        "invalid",
        "not a valid regular expression",
    ),
    "enum on a Boolean": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: Boolean, rules: {enum: ['x']}}\n",
        5,
        "invalid",
        "String or Numeric",
    ),
    "unquoted number as an event name": (
        "version: 1\nevents:\n  404: {}\n",
        3,
        "invalid-name",
        "quote it",
    ),
    "blank group name": (
        "version: 1\nproperty_groups:\n  '': {}\n",
        3,
        "invalid-name",
        "must not be blank",
    ),
    "property name too long": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        f"      {'p' * 201}: {{type: String}}\n",
        5,
        "invalid-name",
        "200 characters",
    ),
    "names equal once trimmed": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: String}\n      ' a': {type: String}\n",
        6,
        "duplicate-name",
        "trims",
    ),
    "duplicate key": (
        "version: 1\nevents:\n  e: {}\n  f: {}\n  e: {groups: []}\n",
        5,
        "duplicate-key",
        "first on line 3",
    ),
    "tab indentation": ("version: 1\nevents:\n\te: {}\n", 3, "syntax", "not tabs"),
    "unclosed bracket": ("version: 1\nevents: {e: {groups: [a}\n", 2, "syntax", "not valid YAML"),
    "list at the top": ("- version: 1\n", 1, "wrong-shape", "mapping"),
    "properties as a list": (
        "version: 1\nproperty_groups:\n  g:\n    properties: [a, b]\n",
        4,
        "wrong-shape",
        "mapping",
    ),
    "groups as a string": (
        "version: 1\nproperty_groups:\n  g: {}\nevents:\n  e: {groups: g}\n",
        5,
        "wrong-shape",
        "write it as [g]",
    ),
    "bad plan_id": ("version: 1\nplan_id: 'web app'\n", 2, "invalid-plan-id", "letters"),
    "empty file": ("", 1, "empty", "version: 1"),
    "ownership marker in a description": (
        "version: 1\nproperty_groups:\n  g:\n    description: 'x <!-- eventschema:plan=a -->'\n",
        4,
        "invalid",
        "ownership marker",
    ),
    "control character": ("version: 1\nevents: {e\x01: {}}\n", 2, "syntax", "not allowed in YAML"),
    "value its tag cannot read": ("version: !!int one\n", 1, "bad-tagged-value", "'!!int'"),
    "NaN as a bound": (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: Numeric, rules: {max: .nan}}\n",
        5,
        "invalid",
        "finite number",
    ),
}


@pytest.mark.parametrize(("text", "line", "code", "words"), BAD_FILES.values(), ids=list(BAD_FILES))
def test_bad_files_give_positioned_errors_with_hints(
    text: str, line: int, code: str, words: str
) -> None:
    found = problems_of(text)

    assert (line, code) in [(where, what) for where, what, _ in found], found
    assert any(words in message for where, what, message in found if what == code), found


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = (
        "version: 1\nproperty_groups:\n  g:\n    properties:\n"
        "      a: {type: strin}\n      b: {type: Numbr}\nevents:\n  e: {groups: [nope]}\n"
    )

    assert [(line, code) for line, code, _ in problems_of(text)] == [
        (5, "unknown-type"),
        (6, "unknown-type"),
        (8, "undefined-group"),
    ]


def test_error_message_names_file_line_and_column() -> None:
    with pytest.raises(PlanFileError) as caught:
        parse_plan("version: 1\nevents:\n  e: {enforcement: block}\n", "plans/web.yaml")

    assert "plans/web.yaml:3:20: error [unknown-enforcement]" in str(caught.value)


def test_object_building_tags_are_refused_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f'version: 1\nevents: !!python/object/apply:os.system ["touch {marker}"]\n'

    found = problems_of(text)

    assert found[0][:2] == (2, "unsafe-tag")
    assert not marker.exists()


def test_alias_expansion_is_capped() -> None:
    lines = ["version: 1", "x0: &a0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [
        f"x{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)
    ]

    found = problems_of("\n".join(lines) + "\n")

    assert found[0][1] == "too-large"


def test_runaway_nesting_is_refused() -> None:
    found = problems_of("version: " + "[" * 3000 + "]" * 3000 + "\n")

    assert found[0][1] == "too-deep"


def test_schema_reference_survives_a_round_trip() -> None:
    plan = parse_plan("$schema: ./tracking-plan.schema.json\nversion: 1\n")

    assert plan.schema_url == "./tracking-plan.schema.json"
    assert parse_plan(dump_plan(plan)) == plan
    assert json.loads(dump_plan(plan, fmt="json"))["$schema"] == plan.schema_url


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="cannot read the file"):
        load_plan(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("version: 1\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(PlanFileError, match="not UTF-8"):
        load_plan(latin)


def test_shipped_json_schema_is_the_generated_one() -> None:
    # Regenerate with:
    # python -c "from eventschema_tools.tracking_plan.file import write_json_schema as w; w()"
    assert shipped_json_schema_text() == json_schema_text()


def test_json_schema_accepts_the_example_and_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.validate(yaml.safe_load(EXAMPLE.read_text()), schema)
    with_regex = yaml.safe_load(VALID)
    jsonschema.validate(with_regex, schema)

    typo = yaml.safe_load(VALID.replace("required: true", "requird: true"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(typo, schema)
    assert json.loads(json_schema_text())["title"] == "eventschema tracking plan"


def test_plan_model_lists_bindings() -> None:
    plan = TrackingPlan.model_validate(
        {
            "version": 1,
            "property_groups": {"a": {}, "b": {}},
            "events": {"e": {"groups": ["a", "b", "a"]}},
        }
    )

    assert plan.events["e"].groups == ["a", "b"]
    assert plan.bindings() == {("e", "a"), ("e", "b")}
