"""``eventschema demo`` (``make demo``): the whole job, end to end, against a throwaway sandbox.

1. Start a PostHog-compatible sandbox on a free loopback port (in memory, stopped at the end).
2. Send a simulated day of product events through the official ``posthog`` SDK, with deliberate
   mistakes: missing required properties, wrong types, values outside the plan's rules,
   unplanned events and unexpected properties.
3. Apply ``examples/tracking-plan.yaml``, then make the kind of edit a teammate makes in the
   PostHog UI (a property's type changed, a group bound by hand), so the plan has drifted.
4. Run every audit and print the report, then what to try next.

Nothing keeps running afterwards: the SDK is shut down and the sandbox thread joined.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from eventschema_tools.audit.report import render_table
from eventschema_tools.audit.run import AuditReport, audit_options, run_audit
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import EventSchemaError, InvalidInputError
from eventschema_tools.models import PropertyInput, PropertyType
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import load_plan

__all__ = [
    "DEFAULT_EVENTS",
    "DemoEvent",
    "demo_events",
    "find_example_plan",
    "run_demo",
    "send_events",
]

DEFAULT_EVENTS: Final = 3000
EXAMPLE_PLAN: Final = Path("examples") / "tracking-plan.yaml"

# Event mix of a B2B SaaS day: (event, weight).
_MIX: Final = (
    ("feature_used", 38),
    ("user_logged_in", 18),
    ("report_exported", 8),
    ("project_created", 5),
    ("project_archived", 2),
    ("member_invited", 4),
    ("invite_accepted", 3),
    ("user_signed_up", 4),
    ("workspace_created", 2),
    ("trial_started", 2),
    ("subscription_started", 1.5),
    ("subscription_changed", 2),
    ("subscription_cancelled", 0.5),
    ("onboarding_tip_dismissed", 3),
    ("legacy_export_clicked", 1),
    ("$pageview", 6),
)
_PLANS: Final = ("free", "team", "business", "enterprise")
_FEATURES: Final = ("dashboards", "sql_editor", "alerts", "exports", "sharing", "comments")


@dataclass(frozen=True)
class DemoEvent:
    """One simulated event: what the SDK's ``capture`` receives."""

    event: str
    distinct_id: str
    properties: dict[str, Any]
    timestamp: datetime


def find_example_plan(start: Path | None = None) -> Path:
    """Find ``examples/tracking-plan.yaml`` from ``start`` (default: here) or the package.

    Raises:
        InvalidInputError: no example plan was found; the message says where it was looked for.
    """
    candidates = _shipped_file_candidates(EXAMPLE_PLAN, start)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(path) for path in candidates)
    raise InvalidInputError(
        f"the demo needs {EXAMPLE_PLAN} (looked in {looked}); run it from the repository, "
        "or give a plan with --plan",
        [("plan", "not found")],
    )


def _shipped_file_candidates(relative: Path, start: Path | None = None) -> list[Path]:
    """Where a file of the repository root that the wheel also ships may be, in order."""
    return [
        (start or Path.cwd()) / relative,
        # An installed wheel carries the repository's examples and example DAGs in the package.
        Path(str(resources.files("eventschema_tools"))) / relative,
        # A source checkout (editable install): the repository root, above src/.
        Path(__file__).resolve().parents[3] / relative,
    ]


def demo_events(
    count: int = DEFAULT_EVENTS, *, seed: int = 7, now: datetime | None = None
) -> list[DemoEvent]:
    """A simulated day of events with deliberate mistakes (deterministic for a seed).

    The mistakes, each made by one part of the product on a few percent of its events: an old
    mobile build sends ``user_logged_in`` without ``workspace_plan`` or with the retired "pro"
    plan; the invite flow sends ``seats`` as "twelve" and ``is_invited`` as "yes"; an old desktop
    build forgets ``surface`` on ``feature_used`` and times ``duration_ms`` as "1.2s"; archived
    projects carry ``created_at`` "yesterday"; a new billing service sends ``currency`` in lower
    case and ``amount`` as "49.00 USD"; exports carry a ``format`` the plan forgot, feature usage
    carries debug properties, and two events nobody planned arrive. Numeric strings such as
    "12" are sent too: PostHog accepts them as Numeric.
    """
    rng = random.Random(seed)
    moment = now or datetime.now(UTC)
    names = [name for name, _ in _MIX]
    weights = [weight for _, weight in _MIX]
    workspaces = [f"ws_{index:03d}" for index in range(60)]
    plans = {workspace: rng.choice(_PLANS) for workspace in workspaces}
    events = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        workspace = rng.choice(workspaces)
        user = f"user_{workspace}_{rng.randint(1, 12)}"
        age = timedelta(seconds=rng.randint(60, 23 * 3600 + 1800))
        properties = _properties(rng, name, workspace, plans[workspace])
        events.append(DemoEvent(name, user, properties, moment - age))
    return sorted(events, key=lambda item: item.timestamp)


def _chance(rng: random.Random, share: float) -> bool:
    return rng.random() < share


def _properties(rng: random.Random, name: str, workspace: str, plan: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if name not in ("user_signed_up", "$pageview", "onboarding_tip_dismissed"):
        props.update(_workspace(rng, name, workspace, plan))
    if name in ("user_signed_up", "workspace_created"):
        props.update(_signup(rng))
    elif name == "invite_accepted":
        props.update(_invite(rng))
    elif name in ("project_created", "project_archived"):
        props.update(_project(rng, name))
    elif name == "report_exported":
        props.update({**_project(rng, name), **_feature(rng, name), "feature": "exports"})
        props["format"] = rng.choice(("csv", "pdf", "link"))  # not in the plan yet
    elif name == "feature_used":
        props.update(_feature(rng, name))
    elif name.startswith(("trial_", "subscription_")):
        props.update(_checkout(rng, name))
    elif name == "onboarding_tip_dismissed":
        props["tip"] = rng.choice(("welcome", "shortcuts"))
    elif name == "legacy_export_clicked":
        props["button"] = "old_export"
    elif name == "$pageview":
        props["$current_url"] = f"https://app.example.com/{rng.choice(_FEATURES)}"
    return props


def _workspace(rng: random.Random, name: str, workspace: str, plan: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "workspace_id": workspace,
        "workspace_plan": plan,
        "user_role": rng.choice(("owner", "admin", "member", "member", "guest")),
        "seats": rng.randint(1, 80),
    }
    if name == "user_logged_in" and _chance(rng, 0.08):
        if _chance(rng, 0.5):
            del props["workspace_plan"]
        else:
            props["workspace_plan"] = "pro"
    if _chance(rng, 0.1):
        props["seats"] = str(props["seats"])
    elif name == "member_invited" and _chance(rng, 0.05):
        props["seats"] = "twelve"
    return props


def _signup(rng: random.Random) -> dict[str, Any]:
    return {
        "signup_method": rng.choice(("email", "google", "github")),
        "is_invited": False,
        "referrer_domain": rng.choice(("google.com", "news.ycombinator.com", "")),
    }


def _invite(rng: random.Random) -> dict[str, Any]:
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    return {
        "signup_method": "email",
        "is_invited": "yes" if _chance(rng, 0.05) else True,
        "invite_code": code,
    }


def _project(rng: random.Random, name: str) -> dict[str, Any]:
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 300))
    props: dict[str, Any] = {
        "project_id": f"prj_{rng.randint(1000, 9999)}",
        "member_count": rng.randint(1, 15),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if _chance(rng, 0.3):
        props["template"] = rng.choice(("blank", "okr", "roadmap"))
    if name == "project_archived" and _chance(rng, 0.05):
        props["created_at"] = "yesterday"
    return props


def _feature(rng: random.Random, name: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "feature": rng.choice(_FEATURES),
        "surface": rng.choice(("web", "web", "desktop", "ios")),
        "duration_ms": rng.randint(200, 600_000),
    }
    if name == "feature_used":
        if _chance(rng, 0.04):
            del props["surface"]
        if _chance(rng, 0.02):
            props["duration_ms"] = "1.2s"
        if _chance(rng, 0.06):
            props["debug_mode"] = True
        if _chance(rng, 0.1):
            props["ab_variant"] = rng.choice(("control", "test"))
    return props


def _checkout(rng: random.Random, name: str) -> dict[str, Any]:
    period = rng.choice(("monthly", "annual"))
    plan = rng.choice(("team", "business", "enterprise"))
    amount = {"team": 49, "business": 199, "enterprise": 999}[plan]
    props: dict[str, Any] = {
        "plan": plan,
        "billing_period": period,
        "amount": amount * (10 if period == "annual" else 1),
        "currency": rng.choice(("USD", "EUR")),
        "line_items": [{"sku": plan, "qty": 1}],
    }
    if _chance(rng, 0.2):
        props["coupon_code"] = "LAUNCH20"
    if name == "subscription_changed":
        if _chance(rng, 0.15):
            props["currency"] = str(props["currency"]).lower()
        if _chance(rng, 0.05):
            props["amount"] = f"{props['amount']}.00 USD"
    return props


# --- the run -----------------------------------------------------------------------------------


def run_demo(
    console: Console | None = None,
    *,
    events: int = DEFAULT_EVENTS,
    seed: int = 7,
    plan_path: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AuditReport:
    """Run the demo and print its story; return the audit report.

    Args:
        console: Where to print (default: the terminal).
        events: How many events to simulate.
        seed: Seed of the simulation.
        plan_path: The tracking plan (default: ``examples/tracking-plan.yaml``).
        host: Loopback interface for the sandbox.
        port: Port for the sandbox (0 picks a free one).

    Raises:
        InvalidInputError: no plan was found, or ``events`` is not positive.
        PlanFileError: the plan is invalid.
    """
    # The sandbox and the SDK are optional extras: load them only when the demo runs.
    from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, run_sandbox

    if events < 1:
        raise InvalidInputError("--events must be at least 1", [("events", "not positive")])
    out = console or Console()
    path = plan_path or find_example_plan()
    plan = load_plan(path)
    started = time.monotonic()
    with run_sandbox(host=host, port=port) as sandbox:
        out.print(Rule("eventschema demo"))
        out.print(f"PostHog-compatible sandbox on {sandbox.url} (in memory, stopped at the end)")
        stream = demo_events(events, seed=seed)
        with _Step(out, f"Sending {len(stream)} events of a simulated day through the posthog SDK"):
            send_events(stream, sandbox.url, DEMO_PROJECT_TOKEN)
        with EventSchemaClient(api_key=DEMO_API_KEY, project_id=1, host=sandbox.url) as client:
            with _Step(out, f"Applying {_shown(path)}"):
                outcome = apply(client, compute_plan(client, plan, create_events=True))
                out.print(Text(f"  {outcome.summary()}", style="dim"))
            with _Step(out, "A teammate edits PostHog by hand (the plan has drifted)"):
                _teammate_edits(client)
            with _Step(out, "Auditing: drift, hygiene, conformance, enforcement"):
                report = run_audit(client, audit_options(plan=plan, window="24h"))
        out.print()
        render_table(report, out)
    _next_steps(out, path, report, time.monotonic() - started)
    return report


class _Step:
    """Print a step when it starts, and how long it took when it ends."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self._started = 0.0

    def __enter__(self) -> None:
        self._console.print(Text(f"→ {self._label}…"))
        self._started = time.monotonic()

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            took = time.monotonic() - self._started
            self._console.print(Text(f"  done in {took:.1f}s", style="dim"))


def send_events(stream: list[DemoEvent], url: str, token: str) -> None:
    """Send ``stream`` to ``url`` through the official ``posthog`` SDK with project ``token``.

    Raises:
        EventSchemaError: the server refused a batch.
    """
    import posthog

    errors: list[str] = []
    sdk = posthog.Posthog(
        project_api_key=token,
        host=url,
        flush_at=250,
        flush_interval=0.2,
        on_error=lambda error, _batch: errors.append(str(error)),
    )
    try:
        for item in stream:
            sdk.capture(
                item.event,
                distinct_id=item.distinct_id,
                properties=item.properties,
                timestamp=item.timestamp,
            )
    finally:
        sdk.shutdown()
    if errors:
        raise EventSchemaError(f"the sandbox refused events from the SDK: {errors[0]}")


def _teammate_edits(client: EventSchemaClient) -> None:
    checkout = client.property_groups.find_by_name("checkout")
    if checkout is not None:
        properties = [
            PropertyInput(
                name=prop.name,
                property_type=PropertyType.STRING if prop.name == "amount" else prop.property_type,
                is_required=prop.is_required,
                is_optional_in_types=prop.is_optional_in_types,
                description=prop.description,
            )
            for prop in checkout.properties
        ]
        client.property_groups.update(checkout.id, properties=properties)
    extra = client.property_groups.create(
        name="marketing_attribution",
        description="utm parameters, added by hand",
        properties=[PropertyInput(name="utm_source", property_type=PropertyType.STRING)],
    )
    signup = client.event_definitions.get_by_name("user_signed_up")
    client.event_schemas.create(event_definition=signup.id, property_group_id=extra.id)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _next_steps(out: Console, plan: Path, report: AuditReport, took: float) -> None:
    verdict = "failed" if not report.passed else "passed"
    out.print()
    out.print(
        Text(
            f"The audit {verdict} with {len(report.findings)} findings in {report.queries} HogQL "
            f"queries; the demo took {took:.0f}s and the sandbox has stopped. The event stream "
            "carries deliberate mistakes, so the findings above are the point.",
        )
    )
    out.print(Rule("Try next"))
    for line in _hints(_shown(plan)):
        out.print(Text(line))


def _hints(plan: Path) -> Iterator[str]:
    yield "Keep a sandbox running and audit it yourself:"
    yield "  eventschema sandbox                      # serves http://127.0.0.1:8010 until Ctrl+C"
    yield (
        "  export POSTHOG_HOST=http://127.0.0.1:8010 POSTHOG_PROJECT_ID=1 "
        "POSTHOG_PERSONAL_API_KEY=phx_sandbox_demo_key"
    )
    yield f"  eventschema apply -f {plan} --create-events"
    yield f"  eventschema audit --plan {plan} --format markdown   # for Slack or a pull request"
    yield f"  eventschema audit --plan {plan} --fail-on warning --history-dir .audits   # for CI"
    yield "Let an AI assistant read and propose schema changes (MCP, same environment):"
    yield "  eventschema-mcp"
    yield "Schedule audits and conformance gates in Airflow:"
    yield f"  {_shown(_example_dag('eventschema_nightly_audit.py'))}"


def _example_dag(name: str) -> Path:
    """An example DAG: the repository's copy in a checkout, else the one inside the package."""
    candidates = _shipped_file_candidates(Path("airflow_plugin") / "example_dags" / name)
    return next((path for path in candidates if path.is_file()), candidates[1])
