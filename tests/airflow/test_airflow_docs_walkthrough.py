"""The "Run the example DAGs" walkthrough of docs/airflow.md, pasted into bash as a new user would.

The block that names this file runs with the runner of tests/docs: one command at a time in
bash, each must exit 0 (`airflow dags test` exits 1 when its run fails), the `eventschema
sandbox` it starts in the background gets a free port that replaces 127.0.0.1:8010 everywhere,
and the block's own lines make the Airflow home (`cd`, `export`, `cp`, `curl` and `kill` run as
written). None of this process's AIRFLOW_*, POSTHOG_* or EVENTSCHEMA_* variables reach it, and
`mktemp` makes its scratch directory under the test's tmp_path. Afterwards the metadata DB the
block created must hold one successful run of every example DAG, with every task successful.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "docs"))

import docs_runner  # noqa: E402  (tests/docs is not a package)
from docs_blocks import Block, blocks_of  # noqa: E402

GUIDE = REPO / "docs" / "airflow.md"
THIS_FILE = Path(__file__).relative_to(REPO).as_posix()
# Waits for a person's approval, which `airflow dags test` cannot give: run with an answer
# through Airflow's HITL API by tests/airflow/test_airflow_rollout.py.
NEEDS_A_PERSON = "eventschema_promote_staging_to_prod"
EXAMPLE_DAG_IDS = sorted(
    path.stem
    for path in (REPO / "airflow_plugin" / "example_dags").glob("eventschema_*.py")
    if path.stem != NEEDS_A_PERSON
)
# The walkthrough takes about a minute on a quiet machine; leave room for a busy one.
WALKTHROUGH_TIMEOUT = 240


def _walkthrough() -> Block:
    [block] = [
        block
        for block in blocks_of(GUIDE)
        if block.directive is not None and THIS_FILE in block.directive.paths
    ]
    return block


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POSTHOG_", "EVENTSCHEMA_", "AIRFLOW", "PYTEST", "COV_"))
    }
    env.update(
        PATH=f"{docs_runner.BIN}{os.pathsep}{env.get('PATH', '')}",
        TMPDIR=str(tmp_path),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _runs(db: Path) -> tuple[dict[str, list[tuple[str, float]]], dict[str, dict[str, str]]]:
    """Each DAG's runs as (state, seconds), and each DAG's task states."""
    with sqlite3.connect(db) as connection:
        runs: dict[str, list[tuple[str, float]]] = {}
        for dag_id, state, start, end in connection.execute(
            "SELECT dag_id, state, start_date, end_date FROM dag_run"
        ):
            took = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            runs.setdefault(dag_id, []).append((state, took))
        tasks: dict[str, dict[str, str]] = {}
        for dag_id, task_id, map_index, state in connection.execute(
            "SELECT dag_id, task_id, map_index, state FROM task_instance"
        ):
            name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            tasks.setdefault(dag_id, {})[name] = state
    return runs, tasks


def test_the_dag_left_out_of_the_walkthrough_waits_for_a_person() -> None:
    text = (REPO / "airflow_plugin" / "example_dags" / f"{NEEDS_A_PERSON}.py").read_text(
        encoding="utf-8"
    )
    assert "ApprovalOperator(" in text
    assert "tests/airflow/test_airflow_rollout.py" in GUIDE.read_text(encoding="utf-8")


def test_the_walkthrough_starts_its_own_sandbox_and_airflow_home_and_tests_every_dag() -> None:
    commands = _walkthrough().commands()

    assert commands[0].background
    assert commands[0].words == ["eventschema", "sandbox", "&"]
    assert any(c.words[:2] == ["export", "AIRFLOW_HOME=$PWD/airflow"] for c in commands)
    tested = [c.words[3] for c in commands if c.words[:3] == ["airflow", "dags", "test"]]
    assert sorted(tested) == EXAMPLE_DAG_IDS, "a new example DAG needs its line in the docs"


def test_the_walkthrough_runs_every_example_dag_to_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(docs_runner, "BLOCK_TIMEOUT", WALKTHROUGH_TIMEOUT)
    outcome = docs_runner.Outcome()
    work = tmp_path / "work"
    work.mkdir()

    docs_runner.run_bash(
        _walkthrough(), _environment(tmp_path), work, docs_runner._free_port(), outcome
    )

    assert not outcome.failures, "\n\n".join(outcome.failures)
    [scratch] = [path.parent for path in tmp_path.glob("tmp.*/airflow")]
    runs, tasks = _runs(scratch / "airflow" / "airflow.db")
    assert sorted(runs) == EXAMPLE_DAG_IDS
    assert {dag_id: [state for state, _ in dag_runs] for dag_id, dag_runs in runs.items()} == {
        dag_id: ["success"] for dag_id in EXAMPLE_DAG_IDS
    }
    assert tasks == {
        "eventschema_apply_tracking_plan": dict.fromkeys(
            ["plan", "apply", "shared_group_pairs", "bind_workspace_context"], "success"
        ),
        "eventschema_nightly_audit": dict.fromkeys(
            ["audit", "subscriptions_healthy", "refresh_revenue_dashboard"], "success"
        ),
        "eventschema_multi_project_audit": dict.fromkeys(
            ["projects", "audit[0]", "summary"], "success"
        ),
        "eventschema_enforcement_ratchet": {"ratchet": "success"},
    }
    assert list((scratch / "reports").glob("schema-audit-*.md"))
    with capsys.disabled():
        took = ", ".join(f"{dag_id} {dag_runs[0][1]:.1f}s" for dag_id, dag_runs in runs.items())
        print(f"\nexample DAG runs: {took}")
