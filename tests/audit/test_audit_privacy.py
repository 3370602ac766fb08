"""The privacy audit on the demo day: every planted piece of personal data found, nothing on the
demo's clean properties, values masked everywhere, and the plan's privacy policy applied."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_helpers import counting_client

from eventschema_tools.audit.model import AuditKind, parse_kinds
from eventschema_tools.audit.privacy import (
    EVENTS_PER_QUERY,
    PropertyValues,
    luhn_valid,
    mask,
    personal_kind,
    privacy_findings,
)
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.sandbox.storage.simulated_day import PLANTED_PII
from eventschema_tools.tracking_plan.file import PlanFileError, parse_plan
from eventschema_tools.tracking_plan.personal_data import pii_name_term

BIN = Path(sys.executable).parent
RAW = ("jane.doe", "li.wei", "omar.haddad", "ana.silva", "4242 4242 4242 4242", "7946 0")


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningSandbox]:
    with run_sandbox(seed="demo", rate_limiting=False) as running:
        yield running


def _found(url: str, **settings: object) -> tuple[set[tuple[str, str, str]], list[str], str]:
    with counting_client(url) as (client, queries):
        options = audit_options(kinds="privacy", **settings)  # type: ignore[arg-type]
        report = run_audit(client, options)
        definitions = len(list(client.event_definitions.list()))
    found = {(f.event or "", f.property or "", f.code) for f in report.findings}
    assert all(f.severity.value == "error" for f in report.findings)
    assert report.queries == len(queries) == math.ceil(definitions / EVENTS_PER_QUERY)
    return found, queries, report.model_dump_json()


def test_every_planted_case_and_nothing_else(demo: RunningSandbox) -> None:
    found, _, text = _found(demo.url)
    assert found == PLANTED_PII
    for raw in RAW:
        assert raw not in text
    assert "**** **** **** 4242" in text
    assert "***@***.com" in text


def test_sampled_it_still_finds_them(demo: RunningSandbox) -> None:
    found, queries, _ = _found(demo.url, sample="0.5")
    assert found == PLANTED_PII
    assert all(" SAMPLE 1/2" in query for query in queries)


def test_the_plan_decides_what_may_be_sent(demo: RunningSandbox) -> None:
    plan = parse_plan(
        """
version: 1
forbidden_properties: [tip]
property_groups:
  support:
    properties:
      feedback: {type: String, pii: allow, pii_reason: users ask to be written to}
      callback_phone: {type: String, pii: hash}
      payment_reference: {type: String, pii: drop}
events:
  legacy_export_clicked:
    forbidden_properties: [order_reference]
""",
        "<policy>",
    )
    with counting_client(demo.url) as (client, _):
        report = run_audit(client, audit_options(plan=plan, kinds="privacy"))
    found = {(f.event, f.property, f.code): f for f in report.findings}
    assert set(found) == {
        ("onboarding_tip_dismissed", "tip", "forbidden_property"),
        ("legacy_export_clicked", "order_reference", "forbidden_property"),
        ("legacy_export_clicked", "payment_reference", "forbidden_property"),
        ("legacy_export_clicked", "callback_phone", "pii_phone"),
    }
    phone = found[("legacy_export_clicked", "callback_phone", "pii_phone")]
    assert "although the plan declares it pii: hash" in phone.message
    dropped = found[("legacy_export_clicked", "payment_reference", "forbidden_property")]
    assert "(pii: drop)" in dropped.message


def test_privacy_runs_only_when_asked() -> None:
    assert AuditKind.PRIVACY not in parse_kinds(None)
    assert parse_kinds("privacy") == [AuditKind.PRIVACY]


def test_the_cli_reports_masked_values_and_fails(demo: RunningSandbox) -> None:
    result = subprocess.run(
        [str(BIN / "eventschema"), "audit", "--kinds", "privacy", "--format", "json"],
        env={"POSTHOG_HOST": demo.url, "POSTHOG_PROJECT_ID": "1",
             "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert '"pii_email"' in result.stdout
    for raw in RAW:
        assert raw not in result.stdout


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("write to jane.doe@example.com today", "email"),
        ("+44 20 7946 0958", "phone"),
        ("(415) 555-0132", "phone"),
        ("020 7946 0958", "phone"),
        ("DE89 3704 0044 0532 0130 00", "iban"),
        ("GB82WEST12345698765432", "iban"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "jwt",
        ),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "api_key"),
        ("AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("4242 4242 4242 4242", "card"),
        ("4111111111111111", "card"),
    ],
)
def test_detectors_find_personal_values(value: str, kind: str) -> None:
    assert personal_kind(value) == kind


@pytest.mark.parametrize(
    "value",
    [
        "4242 4242 4242 4241",  # card-like, fails the Luhn check
        "0191b8e4-7f3a-7000-8000-000000000000",
        "01234567-8901-2345-6789-012345678901",  # all-digit UUID segments
        "1733400000000",  # epoch milliseconds
        "2026-12-05T10:00:00.123Z",
        "https://app.example.com/dashboards?tab=2",
        "4.12.0",
        "ws_058",
        "AB12CD34",
        "phc_sandbox_demo",  # a project token is public
        "49.00 USD",
        "86400000",
    ],
)
def test_detectors_leave_clean_values_alone(value: str) -> None:
    assert personal_kind(value) is None


def test_luhn_and_masks() -> None:
    assert luhn_valid("4242-4242-4242-4242")
    assert not luhn_valid("4242 4242 4242 4241")
    assert not luhn_valid("4242")
    assert mask("email", '"write to jane.doe@example.com"') == "j***@***.com"
    assert mask("card", "4242 4242 4242 4242") == "**** **** **** 4242"
    assert mask("phone", "+44 20 7946 0958") == "+** ** **** **58"
    assert mask("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijkl") == "eyJh***"


@pytest.mark.parametrize(
    ("name", "term"),
    [
        ("email", "email"),
        ("userEmail", "email"),
        ("billing_e_mail", "e mail"),
        ("client_ip", "ip"),
        ("date_of_birth", "date of birth"),
        ("cardNumber", "card number"),
        ("emailed_count", None),
        ("dashboard_card_id", None),
        ("tip", None),
        ("zip", None),
        ("referrer_domain", None),
    ],
)
def test_personal_names_match_whole_words(name: str, term: str | None) -> None:
    assert pii_name_term(name) == term


def test_lint_refuses_a_personal_name_without_a_decision(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nproperty_groups:\n  contact:\n    properties:\n"
        "      email: {type: String}\n      phone: {type: String, pii: hash}\n"
        "events:\n  signed_up: {groups: [contact]}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(BIN / "eventschema"), "lint", "--plan", str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "plan.yaml:5:7: error [pii-undecided] property 'email' looks like personal data" in (
        result.stdout
    )
    assert "hint: add pii: hash (send a hash), drop (never send it) or allow" in result.stdout
    assert "'phone'" not in result.stdout


def test_allow_needs_a_reason() -> None:
    with pytest.raises(PlanFileError, match="pii: allow needs pii_reason"):
        parse_plan(
            "version: 1\nproperty_groups:\n"
            "  a: {properties: {email: {type: String, pii: allow}}}\n",
            "<allow>",
        )


def test_values_of_posthog_properties_are_checked_but_not_their_names() -> None:
    leaked = PropertyValues(
        event="$pageview",
        name="$current_url",
        events=10,
        matches={"email": 2},
        samples={"email": ("https://app.example.com/invite?to=jane.doe@example.com",)},
    )
    named = PropertyValues(event="$pageview", name="$ip", events=10, matches={}, samples={})
    findings = privacy_findings([leaked, named], None, "24h")
    assert [(f.property, f.code) for f in findings] == [("$current_url", "pii_email")]
    assert "j***@***.com" in findings[0].message
    assert "jane.doe" not in findings[0].message
