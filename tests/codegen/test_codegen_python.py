"""Generated Python passes ``mypy --strict``, its types refuse what the plan refuses, and its
development-mode checks raise, log or capture what the types cannot say."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from codegen_helpers import awkward_plan, example_plan

from eventschema_tools.codegen import generate_code
from eventschema_tools.tracking_plan.file import TrackingPlan, parse_plan

# Each line marked `# type: ignore[...]` must be an error (mypy --strict warns about unused
# ignores), so the types are shown to refuse these calls.
USAGE = """\
from datetime import datetime, timezone

from posthog import Posthog

from posthog_typed import (
    WorkspaceContextGroup,
    capture_project_created,
    capture_subscription_started,
    capture_user_logged_in,
    configure_checks,
    log_violation,
)

client = Posthog("phc_token", host="http://127.0.0.1:1", sync_mode=True, disabled=True)
uuid: str | None = capture_subscription_started(
    client, plan="team", billing_period="annual", amount=49, currency="EUR", distinct_id="u1"
)
capture_user_logged_in(client, distinct_id="u1", workspace_plan="free", seats=3.5)
capture_project_created(
    client, project_id="p1", created_at=datetime.now(timezone.utc), extra_properties={"x": 1}
)
group: WorkspaceContextGroup = {"seats": 3, "workspace_id": "w1"}
configure_checks(enabled=True, on_violation=log_violation)

capture_subscription_started(
    client,
    plan="team",
    billing_period="weekly",  # type: ignore[arg-type]
    amount=49,
    currency="EUR",
)
capture_subscription_started(  # type: ignore[call-arg]
    client, plan="team", billing_period="annual", currency="EUR"
)
capture_subscription_started(
    client,
    plan="team",
    billing_period="annual",
    amount="49",  # type: ignore[arg-type]
    currency="EUR",
)
capture_user_logged_in(client, workspace_plann="free")  # type: ignore[call-arg]
capture_user_logged_in(client, disable_geoip="no")  # type: ignore[arg-type]
bad_group: WorkspaceContextGroup = {"seats": "3"}  # type: ignore[typeddict-item]
"""


def _mypy(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(folder / ".mypy_cache"),
            *sorted(str(path) for path in folder.glob("*.py")),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_generated_python_passes_mypy_strict_and_refuses_what_the_plan_refuses(
    tmp_path: Path,
) -> None:
    generate_code(example_plan(), language="python").write(tmp_path)
    (tmp_path / "usage.py").write_text(USAGE, encoding="utf-8")
    result = _mypy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_awkward_names_pass_mypy_strict(tmp_path: Path) -> None:
    generate_code(awkward_plan(), language="python").write(tmp_path)
    result = _mypy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (tmp_path / "posthog_typed.py").read_text(encoding="utf-8")
    for helper in ("capture_pageview", "capture_checkout_completed", "capture_api_request_2"):
        assert f"def {helper}(" in text
    assert "def capture_class(" in text
    # A property named like the SDK's own argument gets a parameter name of its own.
    assert 'properties["distinct_id"] = distinct_id_' in text


def test_a_type_error_in_use_is_reported(tmp_path: Path) -> None:
    generate_code(example_plan(), language="python").write(tmp_path)
    (tmp_path / "usage.py").write_text(
        "from posthog import Posthog\nfrom posthog_typed import capture_user_logged_in\n"
        "capture_user_logged_in(Posthog('k'), seats='three')\n",
        encoding="utf-8",
    )
    result = _mypy(tmp_path)
    assert result.returncode == 1
    assert 'usage.py:3: error: Argument "seats"' in result.stdout


def load_module(folder: Path, plan: TrackingPlan, name: str) -> ModuleType:
    """Generate the Python helpers of ``plan`` into ``folder`` and import them as ``name``."""
    generate_code(plan, language="python").write(folder)
    spec = importlib.util.spec_from_file_location(name, folder / "posthog_typed.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class RecordingClient:
    """Stands in for ``posthog.Posthog`` where only the call matters (no network)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def capture(self, event: str, **kwargs: Any) -> str:
        self.calls.append((event, kwargs))
        return "0191b8e4-0000-7000-8000-000000000000"


@pytest.fixture
def typed(tmp_path: Path) -> Iterator[ModuleType]:
    module = load_module(tmp_path, example_plan(), "posthog_typed_under_test")
    yield module
    del sys.modules["posthog_typed_under_test"]


def test_helpers_send_the_properties_under_their_names(typed: ModuleType) -> None:
    client = RecordingClient()
    uuid = typed.capture_subscription_started(
        client,
        plan="team",
        billing_period="annual",
        amount=49,
        currency="EUR",
        coupon_code=None,
        extra_properties={"$set": {"plan": "team"}},
        distinct_id="u1",
    )
    assert uuid == "0191b8e4-0000-7000-8000-000000000000"
    assert client.calls == [
        (
            "subscription_started",
            {
                "properties": {
                    "$set": {"plan": "team"},
                    "plan": "team",
                    "billing_period": "annual",
                    "amount": 49,
                    "currency": "EUR",
                },
                "distinct_id": "u1",
            },
        )
    ]
    with pytest.raises(TypeError, match="extra_properties"):
        typed.capture_user_logged_in(client, properties={"seats": 1})


def test_checks_are_off_unless_asked(typed: ModuleType) -> None:
    client = RecordingClient()
    typed.capture_user_logged_in(client, seats=-5)
    assert len(client.calls) == 1


@pytest.mark.parametrize(
    ("arguments", "rule", "message"),
    [
        ({"seats": -5}, "min", "user_logged_in.seats -5 is below the minimum 0"),
        ({"seats": True}, "type", "user_logged_in.seats must be Numeric, got bool"),
        ({"user_role": "root"}, "enum", "user_logged_in.user_role 'root' is not one of admin"),
        ({"workspace_plan": "gold"}, "enum", "'gold' is not one of business, enterprise, free"),
    ],
)
def test_checks_raise_on_a_violation_and_send_nothing(
    typed: ModuleType, arguments: dict[str, Any], rule: str, message: str
) -> None:
    client = RecordingClient()
    typed.configure_checks(enabled=True, on_violation=typed.raise_violation)
    with pytest.raises(typed.SchemaViolationError, match=message) as raised:
        typed.capture_user_logged_in(client, **arguments)
    assert raised.value.violation.rule == rule
    assert client.calls == []


def test_a_union_with_object_is_checked_without_hashing_the_value(tmp_path: Path) -> None:
    plan = parse_plan(
        "version: 1\nproperty_groups:\n"
        "  a: {properties: {tier: {type: String, rules: {enum: [gold]}}}}\n"
        "  b: {properties: {tier: {type: Object}}}\n"
        "events: {upgraded: {groups: [a, b]}}\n",
        "<union>",
    )
    module = load_module(tmp_path, plan, "posthog_typed_union")
    try:
        module.configure_checks(enabled=True)
        client = RecordingClient()
        module.capture_upgraded(client, tier={"level": 1})
        with pytest.raises(module.SchemaViolationError, match="'silver' is not one of gold"):
            module.capture_upgraded(client, tier="silver")
        assert len(client.calls) == 1
    finally:
        del sys.modules["posthog_typed_union"]


def test_pattern_and_required_checks(typed: ModuleType) -> None:
    typed.configure_checks(enabled=True)
    client = RecordingClient()
    with pytest.raises(typed.SchemaViolationError, match=r"does not match \^\[A-Z\]\{3\}\$"):
        typed.capture_trial_started(
            client, plan="team", billing_period="annual", amount=0, currency="eur"
        )
    with pytest.raises(typed.SchemaViolationError, match=r"trial_started\.amount is required"):
        typed.capture_trial_started(
            client, plan="team", billing_period="annual", amount=None, currency="EUR"
        )
    typed.capture_trial_started(
        client, plan="team", billing_period="annual", amount=0, currency="EUR"
    )
    assert len(client.calls) == 1


def test_log_and_capture_handlers_send_the_event(
    typed: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    client = RecordingClient()
    typed.configure_checks(enabled=True, on_violation=typed.log_violation)
    with caplog.at_level(logging.WARNING, logger="posthog_typed"):
        typed.capture_user_logged_in(client, seats=-5)
    assert "user_logged_in.seats -5 is below the minimum 0" in caplog.text
    assert [event for event, _ in client.calls] == ["user_logged_in"]

    monitor = RecordingClient()
    typed.configure_checks(on_violation=typed.capture_violation(monitor, distinct_id="ci"))
    typed.capture_user_logged_in(client, user_role="root", distinct_id="u1")
    assert monitor.calls == [
        (
            "$eventschema_violation",
            {
                "distinct_id": "ci",
                "properties": {
                    "audit": "runtime_check",
                    "code": "enum",
                    "violating_event": "user_logged_in",
                    "violating_property": "user_role",
                    "$process_person_profile": False,
                },
            },
        )
    ]
    # The violation event never carries the value.
    assert "root" not in repr(monitor.calls)
    assert client.calls[-1][0] == "user_logged_in"


def test_development_mode_turns_the_checks_on(tmp_path: Path) -> None:
    generate_code(example_plan(), language="python").write(tmp_path)
    script = (
        "from posthog_typed import capture_user_logged_in, SchemaViolationError\n"
        "class C:\n    def capture(self, event, **kw): return None\n"
        "try:\n    capture_user_logged_in(C(), seats=-1)\nexcept SchemaViolationError as e:\n"
        "    print('raised', e.violation.rule)\nelse:\n    print('sent')\n"
    )
    outputs = [
        subprocess.run(
            [sys.executable, *flags, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for flags in ([], ["-X", "dev"])
    ]
    assert outputs == ["sent", "raised min"]
