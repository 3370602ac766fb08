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

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from eventschema_tools._shipped import shipped_file_candidates as _shipped_file_candidates
from eventschema_tools.audit.report import render_table
from eventschema_tools.audit.run import AuditReport, audit_options, run_audit
from eventschema_tools.cli.common import console as cli_console
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import EventSchemaError, InvalidInputError
from eventschema_tools.models import PropertyInput, PropertyType
from eventschema_tools.sandbox.storage.simulated_day import (
    DEFAULT_EVENTS,
    DemoEvent,
    demo_events,
)
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

EXAMPLE_PLAN: Final = Path("examples") / "tracking-plan.yaml"
# A rule spans its console, which off a terminal has no width (cli/common.py): cap it.
_RULE_WIDTH: Final = 100


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
        console: Where to print (default: the CLI's stdout console).
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
    out = console or cli_console
    path = plan_path or find_example_plan()
    plan = load_plan(path)
    started = time.monotonic()
    with run_sandbox(host=host, port=port) as sandbox:
        out.print(Rule("eventschema demo"), width=_RULE_WIDTH)
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
    billing = client.property_groups.find_by_name("billing")
    if billing is not None:
        properties = [
            PropertyInput(
                name=prop.name,
                type=PropertyType.STRING if prop.name == "amount" else prop.property_type,
                required=prop.is_required,
                optional_in_types=prop.is_optional_in_types,
                description=prop.description,
            )
            for prop in billing.properties
        ]
        client.property_groups.update(billing.id, properties=properties)
    extra = client.property_groups.create(
        name="marketing_attribution",
        description="utm parameters, added by hand",
        properties=[PropertyInput(name="utm_source", type=PropertyType.STRING)],
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
    out.print(Rule("Try next"), width=_RULE_WIDTH)
    for line in _hints(_shown(plan)):
        # One line each even on a narrow terminal, so every command can be pasted as shown.
        out.print(Text(line), soft_wrap=True)


def _hints(plan: Path) -> Iterator[str]:
    """What to try next, one command a line; ``tests/cli/test_cli_hints.py`` runs every one."""
    yield (
        "Keep a sandbox running with the same product (its PostHog project before the plan, "
        "and a day of its events):"
    )
    yield (
        "  eventschema sandbox --seed demo   # in another terminal: serves "
        "http://127.0.0.1:8010 until Ctrl+C"
    )
    yield (
        "  export POSTHOG_HOST=http://127.0.0.1:8010 POSTHOG_PROJECT_ID=1 "
        "POSTHOG_PERSONAL_API_KEY=phx_sandbox_demo_key"
    )
    yield f"  eventschema plan --plan {plan}   # what apply would change; nothing is blocked"
    yield f"  eventschema apply --plan {plan} --yes"
    yield f"  eventschema audit --plan {plan} --format markdown   # for Slack or a pull request"
    yield f"  eventschema audit --plan {plan} --fail-on warning --history-dir .audits   # for CI"
    yield "  eventschema audit --kinds privacy   # personal data in any event, values masked"
    yield f"  eventschema codegen --lang typescript --plan {plan} --out analytics   # typed helpers"
    yield "Let an AI assistant read and propose schema changes (MCP, same environment):"
    yield "  eventschema-mcp"
    yield "Schedule audits and conformance gates in Airflow:"
    yield f"  {_shown(_example_dag('eventschema_nightly_audit.py'))}"


def _example_dag(name: str) -> Path:
    """An example DAG: the repository's copy in a checkout, else the one inside the package."""
    candidates = _shipped_file_candidates(Path("airflow_plugin") / "example_dags" / name)
    return next((path for path in candidates if path.is_file()), candidates[1])
