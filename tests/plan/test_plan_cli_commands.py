"""`eventschema plan|apply|pull|bind|unbind|lint` end to end: CliRunner against a loopback
sandbox, with the root --host/--project/--api-key options as the real CLI stores them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner, Result

from eventschema_tools.cli import plan as plan_commands
from eventschema_tools.cli.common import Connection
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tracking-plan.yaml"

PLAN = """\
version: 1
plan_id: web
property_groups:
  checkout:
    description: Checkout properties
    properties:
      order_id: {type: String, required: true}
      amount: {type: Numeric, required: true, rules: {min: 0}}
events:
  order_paid: {groups: [checkout], enforcement: reject}
  order_refunded: {groups: [checkout]}
"""


def make_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def root(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option("--host")] = None,
        project: Annotated[str | None, typer.Option("--project")] = None,
        api_key: Annotated[str | None, typer.Option("--api-key")] = None,
    ) -> None:
        ctx.obj = Connection(host=host, project=project, api_key=api_key)

    plan_commands.register(app)
    return app


APP = make_app()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    overrides = getattr(request, "param", {})
    with run_sandbox(rate_limiting=False, **overrides) as running:
        yield running


@pytest.fixture
def run(server: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("EVENTSCHEMA_RATE_LIMIT", "off")
    monkeypatch.setenv("EVENTSCHEMA_MAX_RETRIES", "0")
    runner = CliRunner()

    def invoke(*args: str, key: str = DEMO_API_KEY, input: str | None = None) -> Result:
        root = ["--host", server.url, "--project", "1", "--api-key", key]
        result = runner.invoke(APP, [*root, *args], input=input)
        assert "Traceback" not in result.output + result.stderr
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), repr(result.exception)
        return result

    return invoke


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    return path


def test_lint_passes_the_example_and_fails_a_bad_file(run: Any, tmp_path: Path) -> None:
    good = run("lint", "--plan", str(EXAMPLE), "--naming", "snake_case")
    bad_path = tmp_path / "bad.yaml"
    bad_path.write_text("version: 1\nevents:\n  OrderPaid: {groups: [nope]}\n")
    bad = run("lint", "--plan", str(bad_path), "--naming", "snake")
    as_json = run("lint", "--plan", str(bad_path), "--json")

    assert good.exit_code == 0
    assert "ok" in good.stdout
    assert bad.exit_code == 1
    assert f"{bad_path}:3:24: error [undefined-group]" in bad.stdout
    assert f"{bad_path}:3:3: error [naming] event 'OrderPaid' is not snake_case" in bad.stdout
    assert "rename it to 'order_paid'" in bad.stdout
    report = json.loads(as_json.stdout)
    assert (report["errors"], report["problems"][0]["line"]) == (1, 3)


def test_lint_rejects_an_unknown_convention(run: Any) -> None:
    result = run("lint", "--plan", str(EXAMPLE), "--naming", "shouting")

    assert result.exit_code == 2
    assert "unknown naming convention 'shouting'" in result.stderr


def test_plan_then_apply_then_nothing_to_do(run: Any, plan_file: Path) -> None:
    planned = run("plan", "--plan", str(plan_file), "--create-events")
    applied = run("apply", "--plan", str(plan_file), "--create-events", "--yes")
    again = run("apply", "--plan", str(plan_file), "--yes")

    assert planned.exit_code == 0, planned.stderr
    assert '+ group "checkout"' in planned.stdout
    assert "+ order_id  String required" in planned.stdout
    assert "enforcement: allow → reject" in planned.stdout
    assert "Plan: 5 to add, 1 to change, 0 to destroy." in planned.stdout
    assert applied.exit_code == 0, applied.stderr
    assert "Apply: 6 done, 0 failed." in applied.stdout
    assert again.exit_code == 0
    assert "No changes. PostHog matches the plan." in again.stdout


def test_apply_needs_yes_when_not_interactive_and_dry_run_writes_nothing(
    run: Any, plan_file: Path
) -> None:
    refused = run("apply", "--plan", str(plan_file), "--create-events")
    dry = run("apply", "--plan", str(plan_file), "--create-events", "--dry-run")
    still = run("plan", "--plan", str(plan_file), "--create-events", "--json")

    assert refused.exit_code == 2  # usage: the same as every other confirmation
    assert "pass --yes" in refused.stderr
    assert dry.exit_code == 0
    assert len(json.loads(still.stdout)["plan"]["changes"]) == 6


def test_apply_json_reports_the_plan_and_each_item(run: Any, plan_file: Path) -> None:
    result = run("apply", "--plan", str(plan_file), "--create-events", "--yes", "--json")

    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert [item["status"] for item in data["report"]["items"]] == ["done"] * 6
    assert data["plan"]["changes"][0]["action"] == "create_group"


def test_pull_then_plan_shows_no_changes(run: Any, plan_file: Path, tmp_path: Path) -> None:
    run("apply", "--plan", str(plan_file), "--create-events", "--yes")
    pulled = tmp_path / "pulled.yaml"

    written = run("pull", "--plan", str(pulled))
    planned = run("plan", "--plan", str(pulled), "--prune")
    over_existing = run("pull", "--plan", str(plan_file))

    assert written.exit_code == 0, written.stderr
    assert "Wrote 1 groups and 2 events" in written.stderr
    assert pulled.read_text().startswith("# Pulled by eventschema from http://127.0.0.1:")
    assert "No changes. PostHog matches the plan." in planned.stdout
    assert over_existing.exit_code == 0
    assert "rules: {min: 0}" in plan_file.read_text()  # local-only rules survive a pull
    as_json = run("pull", "--plan", "-")
    assert "plan_id: web" in as_json.stdout


@pytest.mark.parametrize("server", [{"reject_mode_allowed": False}], indirect=True)
def test_items_that_fail_give_exit_code_2_with_reasons(run: Any, plan_file: Path) -> None:

    result = run("apply", "--plan", str(plan_file), "--create-events", "--yes")

    assert result.exit_code == 2
    assert 'event "order_paid": failed: HTTP 400' in result.stdout
    assert "schema-enforcement-reject" in result.stdout
    assert "Apply: 5 done, 1 failed." in result.stdout


def test_blocked_events_give_exit_code_2(run: Any, plan_file: Path) -> None:
    result = run("apply", "--plan", str(plan_file), "--yes")

    assert result.exit_code == 2
    assert 'event "order_paid": no event definition with this name' in result.stdout
    assert "--create-events" in result.stdout


def test_bad_key_gives_exit_code_3(run: Any, plan_file: Path) -> None:
    result = run("plan", "--plan", str(plan_file), key="phx_wrong")

    assert result.exit_code == 3
    assert "HTTP 401" in result.stderr
    assert "phx_wrong" not in result.stderr + result.stdout


def test_bad_plan_file_gives_exit_code_1_with_its_line(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nproperty_groups:\n  g: {properties: {a: {type: Text}}}\n")

    result = run("apply", "--plan", str(bad), "--yes")

    assert result.exit_code == 1
    assert f"{bad}:3:30: error [unknown-type] unknown property type 'Text'" in result.stderr


def test_bind_and_unbind_from_options_and_csv(run: Any, plan_file: Path, tmp_path: Path) -> None:
    run("apply", "--plan", str(plan_file), "--create-events", "--yes")
    bound = run("bind", "--group", "checkout", "--events", "order_paid,order_refunded")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("event,group\norder_paid,checkout\norder_lost,checkout\n")
    from_csv = run("unbind", "--file", str(pairs), "--yes", "--json")
    missing_mode = run("bind", "--group", "checkout")

    assert bound.exit_code == 0
    assert "bind: 0 created, 2 exists, 0 failed." in bound.stdout
    report = json.loads(from_csv.stdout)
    assert from_csv.exit_code == 2  # one pair names an unknown event
    assert [r["status"] for r in report["results"]] == ["deleted", "unresolved"]
    assert missing_mode.exit_code == 1
    assert "--events" in missing_mode.stderr


def test_plan_shows_which_property_fields_change(run: Any, plan_file: Path) -> None:
    run("apply", "--plan", str(plan_file), "--create-events", "--yes")
    plan_file.write_text(
        PLAN.replace(
            "amount: {type: Numeric, required: true, rules: {min: 0}}", "amount: {type: String}"
        )
    )

    result = run("plan", "--plan", str(plan_file))

    assert '  ~ group "checkout"' in result.stdout
    assert "      ~ amount  type: Numeric → String; required: yes → no" in result.stdout
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in result.stdout
