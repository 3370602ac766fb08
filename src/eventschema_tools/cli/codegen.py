"""``eventschema codegen``: typed capture helpers from the tracking plan, or from the live project.

From ``--plan`` nothing is read but the file (no credentials, no network), so the command runs
in a pull request before anything is live. The module and its manifest are written into
``--out`` (each in one step); ``--check`` writes nothing and fails while they are stale.

Exit codes: 0 written or up to date, 1 stale files (``--check``) or an error, 2 bad options
(checked before anything is read), 3 authentication or configuration error (``--from-live``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from eventschema_tools.cli.common import (
    EXIT_ERROR,
    JsonOption,
    PlanOption,
    client_for,
    command,
    console,
    error_console,
    exit_with_error,
    print_json,
    write_stdout,
)
from eventschema_tools.codegen import (
    GeneratedCode,
    StaleFile,
    generate_code,
    generate_code_from_live,
)
from eventschema_tools.tracking_plan.file import load_plan

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``codegen`` command to ``app``."""
    app.command(name="codegen")(codegen_command)


@command
def codegen_command(
    ctx: typer.Context,
    lang: Annotated[
        str,
        typer.Option("--lang", metavar="LANGUAGE", help="typescript or python."),
    ],
    plan: PlanOption = None,
    from_live: Annotated[
        bool,
        typer.Option(
            "--from-live",
            help="Generate from the live project instead of a plan file (needs credentials).",
        ),
    ] = False,
    sdk: Annotated[
        str | None,
        typer.Option(
            help="The SDK the helpers call: posthog-js (default) or posthog-node for "
            "TypeScript; posthog for Python."
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for the module and its manifest (created if missing); '-' prints "
            "the module only.",
        ),
    ] = Path("."),
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 when the files in --out differ from what would be "
            "generated (for CI).",
        ),
    ] = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="NAME",
            help="With --from-live: read this environment of the --plan file's environments.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Generate typed capture helpers (one per event) from the tracking plan."""
    if env is not None and not from_live:
        exit_with_error("--env picks the project --from-live reads: add --from-live")
    if plan is None and not from_live:
        exit_with_error("give the plan file (--plan FILE), or --from-live to read the project")
    if plan is not None and from_live and env is None:
        exit_with_error("give the plan file (--plan FILE) or --from-live, not both")
    if check and str(out) == "-":
        exit_with_error("--check compares the files in --out DIR; give a folder, not '-'")
    if not from_live and plan is not None:
        code = generate_code(load_plan(plan), language=lang, sdk=sdk)
    else:
        environments = load_plan(plan) if plan is not None else None
        with client_for(ctx, env, environments) as client:
            code = generate_code_from_live(client, language=lang, sdk=sdk)
    if str(out) == "-":
        write_stdout(code.files[code.module])
        return
    if check:
        _check(code, out, json_output)
        return
    written = code.write(out)
    if json_output:
        print_json(_summary(code, out) | {"written": [str(path) for path in written]})
        return
    console.print(
        f"Wrote {', '.join(str(path) for path in written)} ({code.event_count} events).",
        highlight=False,
        soft_wrap=True,
    )


def _summary(code: GeneratedCode, out: Path) -> dict[str, Any]:
    return {
        "language": code.language,
        "sdk": code.sdk,
        "out": str(out),
        "module": code.module,
        "events": code.event_count,
        "schema_hash": code.manifest.schema_hash,
    }


def _check(code: GeneratedCode, out: Path, json_output: bool) -> None:
    stale = code.stale_files(out)
    if json_output:
        print_json(
            _summary(code, out)
            | {"stale": [{"path": str(item.path), "reason": item.reason} for item in stale]}
        )
    elif stale:
        for item in stale:
            error_console.print(_stale_line(item), highlight=False, soft_wrap=True)
        error_console.print(
            f"Regenerate: eventschema codegen --lang {code.language} ... --out {out} "
            "(the same options, without --check).",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"{out / code.module} is up to date ({code.event_count} events).", highlight=False
        )
    if stale:
        raise typer.Exit(EXIT_ERROR)


def _stale_line(item: StaleFile) -> str:
    if item.reason == "missing":
        return f"{item.path}: missing"
    return f"{item.path}: stale (differs from what the plan generates)"
