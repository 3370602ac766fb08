"""lint: every rule reports file:line with a hint; errors and warnings are told apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.lint import (
    NamingConvention,
    has_errors,
    lint_file,
    parse_convention,
    to_convention,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"

SMELLY = """\
version: 1
property_groups:
  Checkout:
    properties:
      orderId: {type: String, required: true}
      $current_url: {type: String}
      has space: {type: String, optional_in_types: true}
      amount: {type: Numeric}
  checkout:
    properties:
      amount: {type: String}
      Amount: {type: Numeric}
  unused: {}
  quiet: {properties: {note: {type: String}}}
events:
  Order Completed:
    groups: [Checkout, checkout]
  order completed: {groups: [Checkout]}
  "signed_up ": {groups: [quiet], enforcement: reject}
"""


def lint_text(tmp_path: Path, text: str, **options: NamingConvention) -> list[tuple[int, str, str]]:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return [(p.line or 0, p.severity, p.code) for p in lint_file(path, **options)]


def test_the_example_plan_is_clean_under_snake_case() -> None:
    assert lint_file(EXAMPLE, naming=NamingConvention.SNAKE_CASE) == []


def test_each_rule_is_reported_on_its_line(tmp_path: Path) -> None:
    found = lint_text(tmp_path, SMELLY)

    assert found == [
        (6, "warning", "reserved-prefix"),
        (7, "warning", "portable-name"),
        (7, "warning", "optional-in-types"),
        (9, "error", "case-collision"),
        (12, "error", "case-collision"),
        (13, "warning", "unused-group"),
        (17, "warning", "type-conflict"),
        (18, "error", "case-collision"),
        (19, "warning", "name-whitespace"),
        (19, "warning", "reject-without-required"),
    ]


def test_naming_conventions_add_errors_with_the_renamed_name_as_hint(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(SMELLY)

    problems = lint_file(
        path, event_naming=NamingConvention.SNAKE_CASE, property_naming=NamingConvention.CAMEL_CASE
    )

    naming = [(p.line, p.message, p.hint) for p in problems if p.code == "naming"]
    assert (5, "property 'orderId' is not camelCase", "") not in naming
    assert (7, "property 'has space' is not camelCase", "rename it to 'hasSpace'") in naming
    assert (16, "event 'Order Completed' is not snake_case", "rename it to 'order_completed'") in (
        naming
    )
    assert all(
        "$current_url" not in message for _, message, _ in naming
    )  # PostHog's own names are exempt


def test_hard_errors_and_style_problems_are_reported_together(tmp_path: Path) -> None:
    text = SMELLY.replace(
        "amount: {type: Numeric}\n  checkout", "amount: {type: numeric}\n  checkout"
    )

    found = lint_text(tmp_path, text)

    assert (8, "error", "unknown-type") in found
    assert (9, "error", "case-collision") in found


def test_a_file_that_does_not_parse_gives_its_syntax_error(tmp_path: Path) -> None:
    found = lint_text(tmp_path, "version: 1\nevents: {e: [}\n")

    assert found == [(2, "error", "syntax")]
    assert has_errors(lint_file(tmp_path / "plan.yaml"))


def test_warnings_alone_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("version: 1\nproperty_groups:\n  unused: {description: see iac:docs}\n")

    problems = lint_file(path)

    assert [(p.line, p.code) for p in problems] == [(3, "unused-group"), (3, "foreign-token")]
    assert not has_errors(problems)


@pytest.mark.parametrize(
    ("name", "convention", "expected"),
    [
        ("Order Completed", NamingConvention.SNAKE_CASE, "order_completed"),
        ("orderCompleted", NamingConvention.SNAKE_CASE, "order_completed"),
        ("order_completed", NamingConvention.CAMEL_CASE, "orderCompleted"),
        ("HTTPRequestSent", NamingConvention.KEBAB_CASE, "http-request-sent"),
        ("order-completed", NamingConvention.PASCAL_CASE, "OrderCompleted"),
        ("order_completed_v2", NamingConvention.TITLE_CASE, "Order Completed V2"),
    ],
)
def test_to_convention(name: str, convention: NamingConvention, expected: str) -> None:
    assert to_convention(name, convention) == expected


def test_convention_names_are_read_leniently() -> None:
    assert [parse_convention(text) for text in ("snake", "camelCase", "title case", "KEBAB")] == [
        NamingConvention.SNAKE_CASE,
        NamingConvention.CAMEL_CASE,
        NamingConvention.TITLE_CASE,
        NamingConvention.KEBAB_CASE,
    ]
    with pytest.raises(InvalidInputError, match="use one of 'snake_case'"):
        parse_convention("screaming")


ACKNOWLEDGING = """\
version: 1
property_groups:
  checkout:
    allow_breaking:
      - {change: property_required, property: amount, reason: every client sends it}
      - {change: type_changed, property: gone, reason: renamed}
      - {change: enforcement_reject, reason: on the wrong owner}
      - {change: property_removed, property: coupon, reason: nobody reads it}
    properties:
      amount: {type: Numeric, required: true}
events:
  order_paid:
    groups: [checkout]
    enforcement: reject
    allow_breaking:
      - {change: enforcement_reject, reason: audited for a week}
      - {change: type_changed, reason: on the wrong owner}
"""


def test_acknowledgements_that_can_never_match_are_reported(tmp_path: Path) -> None:
    found = lint_text(tmp_path, ACKNOWLEDGING)

    assert found == [
        (6, "warning", "ack-unknown-property"),
        (7, "warning", "ack-misplaced"),
        (17, "warning", "ack-misplaced"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{change: description_changed, reason: x}", "is safe and needs no acknowledgement"),
        ("{change: property_required}", "reason"),
        ("{change: property_required, reason: '  '}", "reason must not be blank"),
        ("{change: made_up, reason: x}", "change"),
    ],
)
def test_a_bad_acknowledgement_is_an_error_with_its_line(
    tmp_path: Path, entry: str, message: str
) -> None:
    text = ACKNOWLEDGING.replace("{change: enforcement_reject, reason: audited for a week}", entry)
    path = tmp_path / "plan.yaml"
    path.write_text(text)

    problems = [p for p in lint_file(path) if p.severity == "error"]

    assert [p.line for p in problems] == [16]
    assert message in problems[0].message
