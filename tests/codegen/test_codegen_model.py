"""Names and merged properties: what both generators build on."""

from __future__ import annotations

from pathlib import Path

import pytest
from codegen_helpers import awkward_plan, example_plan

from eventschema_tools.codegen import generate_code
from eventschema_tools.codegen.model import code_spec, rules_sentence
from eventschema_tools.codegen.names import PYTHON_RESERVED, Namer, camel, pascal, snake
from eventschema_tools.tracking_plan.file import parse_plan


@pytest.mark.parametrize(
    ("name", "python", "typescript"),
    [
        # posthog-cli's own examples (posthog/api/event_definition_generators tests)
        ("$pageview", "pageview", "Pageview"),
        ("dashboard mode toggled", "dashboard_mode_toggled", "DashboardModeToggled"),
        ("API-Request", "api_request", "ApiRequest"),
        # where we split further: camelCase words
        ("checkoutCompleted", "checkout_completed", "CheckoutCompleted"),
        ("123 go", "event_123_go", "Event123Go"),
        ("😀", "event", "Event"),
        ("événement", "v_nement", "VNement"),
    ],
)
def test_names_follow_posthog_cli(name: str, python: str, typescript: str) -> None:
    assert snake(name) == python
    assert pascal(name) == typescript
    assert camel(name) == typescript[0].lower() + typescript[1:]


def test_namer_numbers_repeats_and_escapes_reserved_words() -> None:
    names = Namer({"capture"}, reserved=PYTHON_RESERVED)
    assert [names.claim(n) for n in ("capture", "capture", "class", "class", "x")] == [
        "capture_2",
        "capture_3",
        "class_",
        "class__2",
        "x",
    ]
    assert [Namer(joiner="").claim(n) for n in ("A",)] == ["A"]


def test_properties_merge_over_groups_as_ingestion_does() -> None:
    checkout = next(e for e in code_spec(awkward_plan()).events if e.name == "Checkout Completed")
    props = {prop.name: prop for prop in checkout.properties}
    # Two groups declare a-b: its types are the union, required because one group requires it.
    assert props["a-b"].types == ("String", "Numeric")
    assert props["a-b"].required
    # tenant is required at run time but optional in types (a super property).
    assert (props["tenant"].required, props["tenant"].sent_by_sdk) == (False, True)
    assert props["tenant"].expects() == {"types": ["String"], "required": True}
    assert props["9lives"].enum == (1, 2.5, 3)
    assert props["Plan Type"].enum == ("it's", "plain", 'say "hi"')


def test_events_without_groups_are_kept() -> None:
    spec = code_spec(awkward_plan())
    assert [e.name for e in spec.events if not e.properties] == ["123 go", "class", "événement 😀"]
    assert [g.name for g in spec.groups] == ["Group with spaces", "class"]


def test_rules_in_words() -> None:
    props = {
        prop.name: prop for event in code_spec(example_plan()).events for prop in event.properties
    }
    assert rules_sentence(props["duration_ms"]) == "Must be at least 0 and at most 86400000."
    assert rules_sentence(props["currency"]) == "Must match ^[A-Z]{3}$."
    assert rules_sentence(props["feature"]) == ""


def test_the_schema_hash_moves_only_with_what_the_code_expects() -> None:
    plan = example_plan()
    described = plan.model_copy(
        update={
            "events": {
                **plan.events,
                "user_logged_in": plan.events["user_logged_in"].model_copy(
                    update={"description": "new words"}
                ),
            }
        }
    )
    assert code_spec(described).schema_hash == code_spec(plan).schema_hash
    fewer = plan.model_copy(
        update={"events": {k: v for k, v in plan.events.items() if k != "user_logged_in"}}
    )
    assert code_spec(fewer).schema_hash != code_spec(plan).schema_hash


def test_a_plan_without_events_still_generates_a_module(tmp_path: Path) -> None:
    plan = parse_plan("version: 1\n", "<empty>")
    for language in ("typescript", "python"):
        code = generate_code(plan, language=language)
        assert code.event_count == 0
        assert code.manifest.events == {}
    generate_code(plan, language="python").write(tmp_path)
    assert "_RULES: Final[Mapping[str, Mapping[str, _Rule]]] = {\n}" in (
        tmp_path / "posthog_typed.py"
    ).read_text(encoding="utf-8")
