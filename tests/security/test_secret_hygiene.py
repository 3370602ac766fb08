"""The API key never shows: not in logs, output, reports, results, XComs or error messages.

Each test configures the sandbox with recognisable keys (`CANARY`, and `CANARY_READ_ONLY` with
only `event_definition:read`), runs one face of the toolkit with them on the happy path and on
the error paths (401, 403, 404, 400, unreachable host, bad settings), and scans every log
record of every logger at DEBUG (httpx, httpcore, posthog, mcp, airflow included), stdout and
stderr at the file-descriptor level, and every value the face returns: zero hits.

Airflow's secrets masker is switched off during the DAG run: the point is that our code never
writes the key, not that Airflow hides it afterwards.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import typer
from rich.console import Console
from security_helpers import CANARY, CANARY_READ_ONLY, MARK, LeakWatch
from typer.testing import CliRunner

from eventschema_tools import EventSchemaClient
from eventschema_tools.audit.report import render_json, render_markdown, render_table
from eventschema_tools.audit.run import audit_options, run_audit
from eventschema_tools.config import ClientSettings
from eventschema_tools.errors import EventSchemaError
from eventschema_tools.sandbox import (
    DEMO_PROJECT_TOKEN,
    ApiKey,
    FaultConfig,
    RunningSandbox,
    run_sandbox,
)
from eventschema_tools.tracking_plan import apply, compute_plan
from eventschema_tools.tracking_plan.file import load_plan

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = REPO / "examples" / "tracking-plan.yaml"
KEYS = (ApiKey(CANARY), ApiKey(CANARY_READ_ONLY, ("event_definition:read",)))


@pytest.fixture
def served() -> Iterator[RunningSandbox]:
    """A loopback sandbox with the demo seed that knows only the canary keys."""
    with run_sandbox(seed="demo", api_keys=KEYS, rate_limiting=False) as running:
        yield running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_for(url: str, key: str = CANARY, **options: Any) -> EventSchemaClient:
    return EventSchemaClient(
        api_key=key,
        project_id=1,
        host=url,
        rate_limit="off",
        query_rate_limit="off",
        **options,
    )


def send_events(url: str, count: int = 200) -> None:
    """A simulated day of the demo's events, through the posthog SDK (project token only)."""
    from eventschema_tools.cli.demo import demo_events
    from eventschema_tools.cli.demo import send_events as send_through_sdk

    send_through_sdk(demo_events(count, seed=7), url, DEMO_PROJECT_TOKEN)


def error_of(watch: LeakWatch, where: str, call: Any) -> EventSchemaError:
    """Run `call`, which must fail with one of our errors, and scan the error."""
    with pytest.raises(EventSchemaError) as caught:
        call()
    watch.add(where, caught.value)
    return caught.value


def test_the_watch_sees_a_leak_anywhere(watch: LeakWatch) -> None:
    """Control: a key in a log line, on stderr or in a value is found."""
    import logging

    logging.getLogger("httpx").debug("Authorization: Bearer %s", CANARY)
    print(f"key={CANARY_READ_ONLY}")
    watch.add("a value", {"nested": [CANARY]})
    found = watch.hits()
    assert len(found) == 3, found


def test_the_demo_steps_never_show_the_key(watch: LeakWatch, served: RunningSandbox) -> None:
    send_events(served.url)
    # Faults on the way make the client retry and reconcile, and log every attempt.
    served.sandbox.faults.configure(FaultConfig(seed=3, error_503=0.2, drop=0.1))
    with client_for(served.url) as client:
        client.retry_policy = client.retry_policy.__class__(
            max_retries=10, initial_delay=0.001, max_delay=0.01, max_retry_after=0.01
        )
        watch.add("client repr", [repr(client), str(client), repr(client.settings)])
        watch.add("settings", [str(client.settings), client.settings.model_dump_json()])
        plan = load_plan(EXAMPLE_PLAN)
        changes = compute_plan(client, plan, create_events=True)
        watch.add("plan", changes)
        watch.add("apply report", apply(client, changes))
        served.sandbox.faults.configure(FaultConfig())
        report = run_audit(client, audit_options(plan=plan, window="24h"))
    console = Console(file=io.StringIO(), width=160, color_system=None)
    render_table(report, console)
    watch.add("terminal report", console.file.getvalue())  # type: ignore[attr-defined]
    watch.add("JSON report", render_json(report))
    watch.add("Markdown report", render_markdown(report))
    watch.add("report", report)
    watch.assert_clean()
    assert watch.records > 50, "the client logged nothing at DEBUG: the scan saw too little"


def test_every_error_path_of_the_client_keeps_the_key_out(
    watch: LeakWatch, served: RunningSandbox
) -> None:
    missing = str(uuid.uuid4())
    with client_for(served.url) as client:
        error_of(watch, "404", lambda: client.property_groups.get(missing))
        error_of(watch, "400", lambda: client.property_groups.create(name="Checkout"))
        error_of(watch, "input", lambda: client.property_groups.get("../../etc"))
        error_of(watch, "HogQL 400", lambda: client.query.hogql("SELECT nope FROM nowhere"))
    with client_for(served.url, CANARY_READ_ONLY) as reader:
        error_of(watch, "403", lambda: reader.property_groups.create(name="x"))
    with client_for(served.url, CANARY + "_unknown") as stranger:
        error_of(watch, "401", lambda: list(stranger.property_groups.list()))
    with client_for(f"http://127.0.0.1:{closed_port()}", max_retries=0) as nowhere:
        error_of(watch, "no server", lambda: list(nowhere.property_groups.list()))
    error_of(
        watch,
        "bad project",
        lambda: EventSchemaClient(api_key=CANARY, project_id="twelve", host=served.url),
    )
    error_of(watch, "bad host", lambda: EventSchemaClient(api_key=CANARY, project_id=1, host="x"))
    with pytest.raises(EventSchemaError) as caught:
        ClientSettings.load(api_key=CANARY, project_id=1, timeout=-1)
    watch.add("bad timeout", caught.value)
    watch.assert_clean()


# --- the command line ---------------------------------------------------------------------------


def cli_runs(url: str, plan: str, out_dir: Path) -> list[list[str]]:
    """Command lines over every command family, happy paths and failures."""
    return [
        ["schemas", "list"],
        ["schemas", "list", "--json"],
        ["groups", "list", "--json"],
        ["groups", "show", "Checkout"],
        ["groups", "show", "no such group"],
        ["groups", "create", "Checkout"],
        ["events", "list", "--search", "user"],
        ["events", "show", "user_signed_up", "--json"],
        ["lint", plan],
        ["plan", "-f", plan, "--create-events"],
        ["plan", "-f", plan, "--json"],
        ["apply", "-f", plan, "--create-events", "--yes"],
        ["pull", "--output", str(out_dir / "pulled.yaml")],
        ["bind", "--group", "Checkout", "--events", "user_signed_up,nope"],
        ["audit", "--plan", plan, "--format", "json", "--output", str(out_dir / "a.json")],
        ["audit", "--format", "markdown"],
        ["--project", "2", "groups", "list"],
        ["--host", f"http://127.0.0.1:{closed_port()}", "groups", "list"],
        ["--api-key", CANARY_READ_ONLY, "groups", "create", "read only"],
        ["--api-key", CANARY + "_unknown", "groups", "list"],
        ["--host", "nonsense", "groups", "list"],
        ["--project", "twelve", "groups", "list"],
    ]


def known_commands() -> set[str]:
    return set(getattr(typer.main.get_command(_cli_app()), "commands", {}))


def _cli_app() -> typer.Typer:
    from eventschema_tools.cli.main import app

    return app


def test_the_cli_never_shows_the_key(
    watch: LeakWatch, served: RunningSandbox, tmp_path: Path
) -> None:
    env = {
        "POSTHOG_PERSONAL_API_KEY": CANARY,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_HOST": served.url,
        "EVENTSCHEMA_MAX_RETRIES": "0",
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_QUERY_RATE_LIMIT": "off",
        "NO_COLOR": "1",
    }
    send_events(served.url, 100)
    commands = known_commands()
    ran: list[str] = []
    for argv in cli_runs(served.url, str(EXAMPLE_PLAN), tmp_path):
        command = next(token for token in argv if token in commands | {"--"} or token.isalpha())
        if command not in commands:
            continue
        with contextlib.chdir(tmp_path):
            result = CliRunner().invoke(_cli_app(), argv, env=env, input="")
        ran.append(" ".join(argv))
        watch.add(f"eventschema {argv}: stdout", result.stdout)
        watch.add(f"eventschema {argv}: stderr", result.stderr)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            watch.add(f"eventschema {argv}: exception", result.exception)
    for written in tmp_path.rglob("*"):
        if written.is_file():
            watch.add(f"file {written.name}", written.read_bytes())
    watch.assert_clean()
    assert len(ran) >= 12, ran
    assert watch.saw("Checkout"), "the CLI printed nothing to scan"
    assert watch.saw("error"), "the CLI's failures printed nothing to scan"


# --- the MCP server -----------------------------------------------------------------------------


PREVIEWED = object()  # stands for the token a previewing call returns


async def _mcp_session(watch: LeakWatch, read_only_key: bool) -> list[str]:
    from mcp import Client

    from eventschema_tools.mcp_server.server import ServerOptions, create_server

    plan_yaml = EXAMPLE_PLAN.read_text(encoding="utf-8")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_property_groups", {}),
        ("get_property_group", {"group": "Checkout"}),
        ("get_property_group", {"group": "no such group"}),
        ("find_event_definitions", {"search": "user"}),
        ("list_event_schemas", {"event": "checkout_completed"}),
        ("create_property_group", {"name": "mcp group", "properties": []}),
        ("create_property_group", {"name": "Checkout"}),
        ("update_property_group", {"group": "mcp group", "description": "changed"}),
        ("create_event_schema", {"event": "user_signed_up", "group": "mcp group"}),
        ("bind_property_group", {"group": "mcp group", "events": ["user_logged_in", "nope"]}),
        ("unbind_property_group", {"group": "mcp group", "events": ["user_logged_in"]}),
        (
            "unbind_property_group",
            {"group": "mcp group", "events": ["user_logged_in"], "confirm_token": PREVIEWED},
        ),
        ("delete_event_schema", {"event": "user_signed_up", "group": "mcp group"}),
        (
            "delete_event_schema",
            {"event": "user_signed_up", "group": "mcp group", "confirm_token": PREVIEWED},
        ),
        ("update_event_schema", {"schema_id": "../../x"}),
        ("plan_tracking_plan", {"plan_yaml": plan_yaml, "create_events": True}),
        ("plan_tracking_plan", {"plan_yaml": "version: [1"}),
        ("audit_events", {"plan_yaml": plan_yaml, "kinds": ["drift", "hygiene"]}),
        ("audit_events", {"window": "forever"}),
    ]
    called: list[str] = []
    server = create_server(ServerOptions())
    async with Client(server) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        watch.add("tool list", [tool.model_dump() for tool in (await client.list_tools()).tools])
        for name, arguments in calls:
            if name not in tools:
                continue
            if arguments.get("confirm_token") is PREVIEWED:
                # What a client without elicitation does once the user agreed to the preview.
                unconfirmed = {k: v for k, v in arguments.items() if k != "confirm_token"}
                preview = await client.call_tool(name, unconfirmed)
                watch.add(f"{name} preview", preview.model_dump())
                text = "".join(getattr(part, "text", "") for part in preview.content)
                if "\n{" not in text:  # refused before any preview (e.g. a read-only key)
                    continue
                token = json.loads(text[text.index("\n{") + 1 :])["confirm_token"]
                arguments = {**unconfirmed, "confirm_token": token}
            result = await client.call_tool(name, arguments)
            called.append(name)
            watch.add(f"{name} result", result.model_dump())
    return called


@pytest.mark.parametrize("key", [CANARY, CANARY_READ_ONLY], ids=["full key", "read-only key"])
def test_the_mcp_server_never_shows_the_key(
    watch: LeakWatch, served: RunningSandbox, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    pytest.importorskip("mcp")
    from eventschema_tools.mcp_server.server import ServerOptions, parse_options

    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", key)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "1")
    monkeypatch.setenv("POSTHOG_HOST", served.url)
    monkeypatch.setenv("EVENTSCHEMA_MAX_RETRIES", "0")
    monkeypatch.setenv("EVENTSCHEMA_QUERY_RATE_LIMIT", "off")
    called = anyio.run(_mcp_session, watch, key == CANARY_READ_ONLY)
    for argv, env in (
        ([], {"POSTHOG_PERSONAL_API_KEY": key, "POSTHOG_PROJECT_ID": "x"}),
        (["--allow-project", "7"], {"POSTHOG_PERSONAL_API_KEY": key, "POSTHOG_PROJECT_ID": "1"}),
        (["--transport", "streamable-http", "--bind", "0.0.0.0"], {"POSTHOG_PROJECT_ID": "1"}),
    ):
        try:
            options, overrides = parse_options(argv, {**env, "POSTHOG_PERSONAL_API_KEY": key})
            ServerOptions.check(options, ClientSettings.load(**overrides))
        except (EventSchemaError, SystemExit) as exc:
            watch.add(f"eventschema-mcp {argv}", exc)
    watch.assert_clean()
    assert len(called) >= 15, called
    assert watch.saw("Checkout"), "the tools returned nothing to scan"


# --- Airflow ------------------------------------------------------------------------------------


@contextlib.contextmanager
def masking_off() -> Iterator[None]:
    from airflow.sdk._shared.secrets_masker import SecretsMasker

    was_enabled = SecretsMasker.is_log_masking_enabled()
    SecretsMasker.disable_log_masking()
    try:
        yield
    finally:
        if was_enabled:
            SecretsMasker.enable_log_masking()


def run_dag(dag_id: str, conf: dict[str, Any]) -> tuple[str, list[Any]]:
    """Run an example DAG with ``dag.test()``; its final state and every XCom value."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    folder = REPO / "airflow_plugin" / "example_dags"
    dag = DagBag(dag_folder=folder, bundle_path=folder).dags[dag_id]
    run = dag.test(run_conf=conf)
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id)).all()
        values = [XComModel.deserialize_value(row) for row in rows]
    return str(run.state), values


def set_connection(monkeypatch: pytest.MonkeyPatch, url: str, key: str) -> None:
    from airflow.sdk import Connection

    conn = Connection(
        conn_id="posthog_default",
        conn_type="posthog",
        host=url,
        password=key,
        extra=json.dumps({"project_id": "1", "max_retries": 0}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", conn.as_json())


def test_an_airflow_dag_never_shows_the_key(
    watch: LeakWatch, served: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("airflow")
    from airflow.utils import db

    from eventschema_tools.airflow_plugin.hooks import EventSchemaHook

    db.initdb()
    # The demo project already has events, so the plan's reject switches are breaking changes:
    # this test is about the key, not the gate.
    conf = {"plan_path": str(EXAMPLE_PLAN), "fail_on": "never"}
    with masking_off():
        set_connection(monkeypatch, served.url, CANARY_READ_ONLY)
        state, xcoms = run_dag("eventschema_apply_tracking_plan", conf)
        assert state == "failed", state
        watch.add("XComs of a refused run", xcoms)
        set_connection(monkeypatch, served.url, CANARY)
        state, xcoms = run_dag("eventschema_apply_tracking_plan", conf)
        assert state == "success", state
        watch.add("XComs of a good run", xcoms)
        set_connection(monkeypatch, served.url, CANARY + "_unknown")
        watch.add("connection test", EventSchemaHook().test_connection())
    watch.assert_clean()
    assert watch.saw("Apply: "), "the task logs were not captured"
    assert watch.saw("HTTP 403"), "the refused run's error was not captured"


def test_the_key_goes_only_in_the_authorization_header(served: RunningSandbox) -> None:
    """Every request the client sends carries the key in `Authorization` and nowhere else."""
    seen: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [seen.append]})
    with EventSchemaClient(
        api_key=CANARY, project_id=1, host=served.url, rate_limit="off", http_client=http
    ) as client:
        group = client.property_groups.create(name="header check", description="x")
        client.property_groups.update(group.id, description="y")
        list(client.event_definitions.list(search="user"))
        client.property_groups.delete(group.id)
    http.close()
    assert len(seen) == 4
    for request in seen:
        assert request.headers["Authorization"] == f"Bearer {CANARY}"
        others = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        assert MARK not in str(request.url) + request.content.decode() + json.dumps(others)
