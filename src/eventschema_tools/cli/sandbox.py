"""``eventschema sandbox`` and ``eventschema demo``: the commands that run the sandbox.

Both need the ``sandbox`` extra (Starlette, Uvicorn, chDB, the HogQL parser and the PostHog SDK).
This module imports none of it at load time, so ``eventschema --help`` and every other command
work without the extra, and ``eventschema sandbox --help`` still shows its options; running
either command without the extra prints one line that says what to install, and exits 1.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from eventschema_tools.cli.common import cli_errors, exit_with_error
from eventschema_tools.errors import requires_extra

if TYPE_CHECKING:
    from eventschema_tools.sandbox.config import SandboxConfig

__all__ = ["DEMO_API_KEY_SHOWN", "demo_command", "register", "sandbox_command"]

# eventschema_tools.sandbox.config.DEMO_API_KEY, spelled out so that --help needs no extra
# (tests/packaging checks that the two agree).
DEMO_API_KEY_SHOWN: Final = "phx_sandbox_demo_key"


def sandbox_command(
    host: Annotated[
        str,
        typer.Option(
            "--bind",
            "--host",
            help="Interface to listen on (other than loopback: --allow-remote). The same "
            "spelling as eventschema-mcp --bind; --host is kept for existing scripts.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 picks a free one).")
    ] = 8010,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep data in DIR/sandbox.sqlite3 across restarts (default: memory)."),
    ] = None,
    seed: Annotated[
        str | None,
        typer.Option(
            help="Load seed data into an empty store: demo (the demo project with a simulated "
            "day of events), demo-day (the same, the day sent through the PostHog SDK), or "
            "demo-weeks (four weeks with planted volume incidents and a release regression)."
        ),
    ] = None,
    project: Annotated[
        list[int] | None, typer.Option(help="Serve project ID (repeatable; default: 1).")
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            help="Accept personal API key TOKEN[:SCOPE,SCOPE...] (repeatable; default: "
            f"{DEMO_API_KEY_SHOWN}). Scopes: '*', event_definition:read|write, query:read, ..."
        ),
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(help="Per-key limits, e.g. 480/minute,4800/hour (the default)."),
    ] = None,
    no_rate_limit: Annotated[
        bool, typer.Option("--no-rate-limit", help="Switch rate limiting off.")
    ] = False,
    faults: Annotated[
        str | None,
        typer.Option(
            help="Inject faults, e.g. seed=7,latency=20ms,error_503=5%,drop=0.1,slow=0.02,"
            "slow_delay=3s,throttle=0.05,throttle_burst=3."
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --bind other than loopback (/_sandbox/ routes then need an API key).",
        ),
    ] = False,
) -> None:
    """Serve a PostHog-compatible sandbox until Ctrl+C."""
    with cli_errors(), requires_extra("sandbox", "eventschema sandbox"):
        # Loaded here, not at the top: the rest of the CLI must work without the extra.
        importlib.import_module("eventschema_tools.sandbox.http.server")
    _check_host(host, allow_remote=allow_remote)
    config = _sandbox_config(
        data_dir=data_dir,
        seed=seed,
        projects=project or [],
        api_keys=api_key or [],
        rate_limit=rate_limit,
        no_rate_limit=no_rate_limit,
        faults=faults,
        allow_remote=allow_remote,
    )
    _serve(config, host, port)


def demo_command(
    events: Annotated[int, typer.Option(min=1, help="How many events to simulate.")] = 3000,
    plan: Annotated[
        Path | None,
        typer.Option(help="Tracking plan to apply (default: examples/tracking-plan.yaml)."),
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Sandbox port (0 picks a free one).")
    ] = 0,
) -> None:
    """Run the whole job on a throwaway sandbox: events, plan, drift and every audit."""
    with cli_errors(), requires_extra("sandbox", "eventschema demo"):
        from eventschema_tools.cli.demo import run_demo

        run_demo(events=events, plan_path=plan, port=port)


def register(app: typer.Typer) -> None:
    """Add ``sandbox`` and ``demo`` to ``app``."""
    app.command("sandbox")(sandbox_command)
    app.command("demo")(demo_command)


def _sandbox_config(
    *,
    data_dir: Path | None = None,
    seed: str | None = None,
    projects: list[int] | None = None,
    api_keys: list[str] | None = None,
    rate_limit: str | None = None,
    no_rate_limit: bool = False,
    faults: str | None = None,
    allow_remote: bool = False,
) -> SandboxConfig:
    from eventschema_tools.sandbox.config import (
        ApiKey,
        ConfigError,
        Project,
        SandboxConfig,
        parse_rate_limits,
    )
    from eventschema_tools.sandbox.http.faults import FaultSpecError, parse_fault_spec

    if rate_limit is not None and no_rate_limit:
        exit_with_error("give either --rate-limit or --no-rate-limit, not both")
    if data_dir is not None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            exit_with_error(f"cannot use --data-dir {data_dir}: {error.strerror or error}")
    try:
        defaults = SandboxConfig()
        return SandboxConfig(
            projects=tuple(Project(pid) for pid in projects) if projects else defaults.projects,
            api_keys=tuple(ApiKey.parse(text) for text in api_keys)
            if api_keys
            else defaults.api_keys,
            rate_limits=parse_rate_limits(rate_limit) if rate_limit else defaults.rate_limits,
            rate_limiting=not no_rate_limit,
            faults=parse_fault_spec(faults) if faults is not None else defaults.faults,
            data_dir=data_dir,
            seed=seed,
            allow_remote=allow_remote,
        )
    except (ConfigError, FaultSpecError) as error:
        exit_with_error(str(error))


def _check_host(host: str, *, allow_remote: bool) -> None:
    from eventschema_tools.sandbox.config import ConfigError
    from eventschema_tools.sandbox.http.remote import check_bind

    try:
        check_bind(host, allow_remote=allow_remote)
    except ConfigError as error:
        exit_with_error(str(error))


def _serve(config: SandboxConfig, host: str, port: int) -> None:
    from eventschema_tools.sandbox.http.server import serve

    def announce(url: str) -> None:
        for line in _banner(config, url):
            typer.echo(line)
        sys.stdout.flush()

    try:
        serve(config, host=host, port=port, on_ready=announce, on_seeded=typer.echo)
    except OSError as error:
        exit_with_error(f"cannot listen on {host}:{port}: {error.strerror or error}", 1)
    except sqlite3.DatabaseError as error:
        exit_with_error(f"cannot open the sandbox database in {config.data_dir}: {error}", 1)


def _banner(config: SandboxConfig, url: str) -> list[str]:
    from eventschema_tools.sandbox.config import DEMO_API_KEY
    from eventschema_tools.sandbox.http.faults import FaultConfig

    lines = [f"PostHog-compatible sandbox serving on {url}"]
    for project in config.projects:
        lines.append(f"  project {project.id}: {project.name} (project token {project.api_token})")
    for key in config.api_keys:
        shown = key.token if key.token == DEMO_API_KEY else key.masked
        scopes = ", ".join(key.scopes) if key.scopes else "all scopes (unscoped key)"
        projects = "" if key.projects is None else f", projects {list(key.projects)}"
        lines.append(f"  API key {shown}: {scopes}{projects}")
    if config.allow_remote:
        lines.append("  remote use allowed: /_sandbox/ routes need an API key too")
        if any(key.token == DEMO_API_KEY for key in config.api_keys):
            lines.append(f"  warning: {DEMO_API_KEY} is public; give --api-key to keep others out")
    storage = "in memory (lost on exit)" if config.data_dir is None else str(config.data_dir)
    lines.append(f"  data: {storage}")
    if config.rate_limiting:
        limits = ", ".join(str(limit) for limit in config.rate_limits)
        queries = ", ".join(str(limit) for limit in config.query_rate_limits)
        lines.append(f"  rate limits per key: {limits} (queries: {queries})")
    else:
        lines.append("  rate limits: off")
    if config.faults.active:
        defaults = FaultConfig().as_dict()
        changed = {k: v for k, v in config.faults.as_dict().items() if v != defaults[k]}
        lines.append(f"  faults: {', '.join(f'{k}={v}' for k, v in changed.items())}")
    shown_key = DEMO_API_KEY if any(k.token == DEMO_API_KEY for k in config.api_keys) else "$KEY"
    lines.append("Try:")
    lines.append(
        f'  curl -H "Authorization: Bearer {shown_key}" '
        f"{url}/api/projects/{config.projects[0].id}/event_schemas/"
    )
    lines.append("Press Ctrl+C to stop.")
    return lines
