"""The drift audit against generated code: silent while PostHog matches what the code expects,
and naming every event the code would now get dropped or flagged once the live schemas move."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from codegen_helpers import EXAMPLE_PLAN, example_plan
from sandbox_clients import demo_client

from eventschema_tools.audit import audit_options, run_audit
from eventschema_tools.codegen import generate_code
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import parse_plan

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with run_sandbox() as running:
        with demo_client(running.url) as client:
            plan = compute_plan(client, example_plan(), create_events=True)
            assert apply(client, plan).ok
        yield running


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    generate_code(example_plan(), language="typescript").write(folder)
    return folder


def drift(served: RunningSandbox, generated: Path) -> list[tuple[str, str, str, str | None]]:
    with demo_client(served.url) as client:
        report = run_audit(client, audit_options(kinds="drift", generated=generated))
    return sorted(
        (finding.severity.value, finding.code, finding.event or "", finding.property)
        for finding in report.findings
    )


def test_no_findings_while_posthog_matches_the_code(
    served: RunningSandbox, generated: Path
) -> None:
    assert drift(served, generated) == []


def test_schema_changes_the_code_does_not_follow_are_named(
    served: RunningSandbox, generated: Path, tmp_path: Path
) -> None:
    text = EXAMPLE_PLAN.read_text(encoding="utf-8")
    edited = (
        text.replace(
            'currency: {type: String, required: true, rules: {pattern: "^[A-Z]{3}$"}}',
            "currency: {type: Numeric, required: true}",
        )
        .replace("coupon_code: {type: String}", "coupon_code: {type: String, required: true}")
        .replace(
            "      is_invited: {type: Boolean, required: true}",
            "      is_invited: {type: Boolean, required: true}\n"
            "      utm_source: {type: String, required: true}",
        )
        .replace(
            "  feature_used:\n    groups: [workspace_context, feature_usage]",
            "  feature_used:\n    groups: []",
        )
        .replace(
            "  subscription_cancelled:",
            "  page_closed:\n    groups: [project]\n  subscription_cancelled:",
        )
    )
    changed = parse_plan(edited, "<edited>")
    with demo_client(served.url) as client:
        assert apply(client, compute_plan(client, changed, prune=True, create_events=True)).ok
    found = drift(served, generated)
    module = "posthog-typed.ts"
    billing = [
        "subscription_cancelled",
        "subscription_changed",
        "subscription_started",
        "trial_started",
    ]
    rejecting = {"subscription_started", "user_signed_up"}

    def level(event: str) -> str:
        return "error" if event in rejecting else "warning"

    expected = sorted(
        [(level(e), "generated_type_mismatch", e, "currency") for e in billing]
        + [(level(e), "generated_required_optional", e, "coupon_code") for e in billing]
        + [
            (level(e), "generated_required_unknown", e, "utm_source")
            for e in ("invite_accepted", "user_signed_up", "workspace_created")
        ]
        + [
            ("warning", "generated_schema_missing", "feature_used", None),
            ("info", "generated_event_missing", "page_closed", None),
        ]
    )
    assert found == expected

    with demo_client(served.url) as client:
        report = run_audit(client, audit_options(kinds="drift", generated=generated / module))
    mismatch = next(
        finding
        for finding in report.findings
        if finding.code == "generated_type_mismatch" and finding.event == "subscription_started"
    )
    assert mismatch.message == (
        f'{module} sends "currency" on "subscription_started" as String; PostHog expects '
        "Numeric. PostHog drops those events (reject)."
    )

    result = subprocess.run(
        [str(BIN / "eventschema"), "audit", "--kinds", "drift", "--generated", str(generated)],
        env={"POSTHOG_HOST": served.url, "POSTHOG_PROJECT_ID": "1",
             "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "generated_required_unknown" in result.stdout or "never sends" in result.stdout


def test_drift_needs_a_plan_or_generated_code(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="--generated DIR"):
        audit_options(kinds="drift")
    with pytest.raises(InvalidInputError, match=r"holds no codegen manifests \(\*\.schema\.json\)"):
        audit_options(kinds="drift", generated=tmp_path)
    (tmp_path / "posthog-typed.schema.json").write_text('{"language": "cobol"}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"invalid codegen manifest .*regenerate the code"):
        audit_options(kinds="drift", generated=tmp_path / "posthog-typed.ts")
