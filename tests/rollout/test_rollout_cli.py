"""``eventschema diff`` and ``eventschema promote`` as a user runs them: the console script, keys
in ``POSTHOG_PERSONAL_API_KEY_<ENV>``, two projects of one sandbox.

The schemas were applied to staging three hours ago (the sandbox's clock, shifted); events are
sent with timestamps in the last two hours.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rollout_helpers import (
    PLAN_AFTER,
    PLAN_BEFORE,
    STAGING,
    apply_to,
    checkout,
    event,
    hours,
    load,
    plan_text,
    run_cli,
    send,
    spread,
    two_projects,
    written_ago,
)

from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox


def _run(
    *args: str, cwd: Path, key_variable: str = "POSTHOG_PERSONAL_API_KEY_STAGING"
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, **{key_variable: DEMO_API_KEY})


def _staging(sandbox: RunningSandbox, good_share: float) -> None:
    """Staging holds the new plan (applied three hours ago) and two hours of events."""
    with written_ago(sandbox, hours(3)):
        apply_to(load(PLAN_BEFORE, sandbox.url), "prod")
        apply_to(load(PLAN_AFTER, sandbox.url), "staging")
    now = datetime.now(UTC)
    moments = spread(now - hours(1.9), now - hours(0.05), 200)
    cutoff = round(good_share * 10)
    send(
        sandbox.url,
        STAGING,
        [
            *(checkout(index % 10 < cutoff, moment, index) for index, moment in enumerate(moments)),
            *(event("signed_up", {"method": "email"}, m, i) for i, m in enumerate(moments)),
        ],
    )


@pytest.fixture
def work(tmp_path: Path) -> Iterator[tuple[RunningSandbox, Path]]:
    with two_projects() as sandbox:
        (tmp_path / "plan.yaml").write_text(plan_text(PLAN_AFTER, sandbox.url), encoding="utf-8")
        yield sandbox, tmp_path


def test_promote_refuses_a_regression_and_names_the_event(
    work: tuple[RunningSandbox, Path],
) -> None:
    sandbox, cwd = work
    _staging(sandbox, good_share=0.7)
    refused = _run(
        "promote", "staging", "prod", "--plan", "plan.yaml", "--soak", "2h", "--yes", cwd=cwd
    )
    assert refused.returncode == 4, refused.stderr
    assert "refusing to promote staging → prod" in refused.stderr
    assert '"checkout_completed": 70% of 200 conform over the last 2h' in refused.stderr
    assert "✗" in refused.stdout
    assert "✓" in refused.stdout  # signed_up held
    still = _run(
        "diff", "--env", "staging", "--env", "prod", "--plan", "plan.yaml", "--exit-code", cwd=cwd
    )
    assert still.returncode == 4, still.stderr
    assert "+ group account" in still.stdout or "account" in still.stdout


def test_promote_applies_and_leaves_no_drift(work: tuple[RunningSandbox, Path]) -> None:
    sandbox, cwd = work
    _staging(sandbox, good_share=1.0)
    dry = _run(
        "promote", "staging", "prod", "--plan", "plan.yaml", "--soak", "2h", "--dry-run", cwd=cwd
    )
    assert dry.returncode == 0, dry.stderr
    assert "promoting staging → prod will make these changes" in dry.stdout
    done = _run(
        "promote",
        "staging",
        "prod",
        "--plan",
        "plan.yaml",
        "--soak",
        "2h",
        "--yes",
        "--json",
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["soak"]["passed"] is True
    assert {item["status"] for item in result["report"]["items"]} == {"done"}
    clean = _run(
        "diff", "--env", "staging", "--env", "prod", "--plan", "plan.yaml", "--exit-code", cwd=cwd
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No changes" in clean.stdout


def test_env_selects_the_project_for_plan_and_audit(work: tuple[RunningSandbox, Path]) -> None:
    sandbox, cwd = work
    _staging(sandbox, good_share=1.0)
    staged = _run("plan", "--plan", "plan.yaml", "--env", "staging", cwd=cwd)
    assert staged.returncode == 0, staged.stderr
    assert "No changes" in staged.stdout
    prod = _run("plan", "--plan", "plan.yaml", "--env", "prod", cwd=cwd)
    assert prod.returncode == 0, prod.stderr
    assert "account" in prod.stdout
    audit = _run(
        "audit",
        "--plan",
        "plan.yaml",
        "--env",
        "staging",
        "--kinds",
        "conformance",
        "--format",
        "json",
        cwd=cwd,
    )
    assert audit.returncode in (0, 4), audit.stderr
    assert json.loads(audit.stdout)["project_id"] == "1"
    inferred = _run("infer", "--plan", "plan.yaml", "--env", "staging", "--days", "1", cwd=cwd)
    assert inferred.returncode == 0, inferred.stderr
    code = _run(
        "codegen",
        "--lang",
        "python",
        "--from-live",
        "--plan",
        "plan.yaml",
        "--env",
        "prod",
        "--out",
        "-",
        cwd=cwd,
    )
    assert code.returncode == 0, code.stderr
    assert "def capture_checkout_completed" in code.stdout
    assert "signed_up" not in code.stdout  # prod has no signed_up schema yet
    applied = _run(
        "apply", "--plan", "plan.yaml", "--env", "prod", "--create-events", "--yes", cwd=cwd
    )
    assert applied.returncode == 0, applied.stderr
    assert "Apply: 4 done, 0 failed." in applied.stdout
    after = _run("plan", "--plan", "plan.yaml", "--env", "prod", cwd=cwd)
    assert "No changes" in after.stdout


def test_env_mistakes_get_one_clear_line(work: tuple[RunningSandbox, Path]) -> None:
    _, cwd = work
    unknown = _run("plan", "--plan", "plan.yaml", "--env", "prd", cwd=cwd)
    assert unknown.returncode == 2
    assert "did you mean 'prod'" in unknown.stderr
    no_key = _run("plan", "--plan", "plan.yaml", "--env", "staging", cwd=cwd, key_variable="OTHER")
    assert no_key.returncode == 3
    assert "POSTHOG_PERSONAL_API_KEY_STAGING" in no_key.stderr
    assert "Traceback" not in unknown.stderr + no_key.stderr
    mixed = _run("--project", "2", "plan", "--plan", "plan.yaml", "--env", "staging", cwd=cwd)
    assert mixed.returncode == 2
    assert "leave out --host and --project" in mixed.stderr
    one = _run("diff", "--env", "staging", "--plan", "plan.yaml", cwd=cwd)
    assert one.returncode == 2
    assert "exactly two environments" in one.stderr
