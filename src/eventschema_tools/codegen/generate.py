"""Generating code: :func:`generate_code` from a plan, or from the live project.

The module text comes from the language's generator, the manifest from the same
:class:`~eventschema_tools.codegen.model.CodeSpec`, so the two always agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from eventschema_tools.codegen.model import CodeSpec, code_spec, plan_for_codegen
from eventschema_tools.codegen.output import (
    GENERATOR_VERSION,
    MANIFEST_SUFFIX,
    CodegenManifest,
    GeneratedCode,
    Language,
)
from eventschema_tools.codegen.python import FILE_NAME as PYTHON_FILE
from eventschema_tools.codegen.python import render_python
from eventschema_tools.codegen.typescript import FILE_NAME as TYPESCRIPT_FILE
from eventschema_tools.codegen.typescript import SDKS as TYPESCRIPT_SDKS
from eventschema_tools.codegen.typescript import TypeScriptSdk, render_typescript
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan import LiveState
from eventschema_tools.tracking_plan.file import TrackingPlan

if TYPE_CHECKING:
    from eventschema_tools.client import AsyncEventSchemaClient, EventSchemaClient

__all__ = [
    "LANGUAGES",
    "generate_code",
    "generate_code_from_live",
    "generate_code_from_live_async",
    "sdks_for",
]

LANGUAGES: Final[tuple[Language, ...]] = ("typescript", "python")
_PYTHON_SDKS: Final = ("posthog",)


def sdks_for(language: str) -> tuple[str, ...]:
    """The SDKs helpers of ``language`` can call, the default first."""
    return TYPESCRIPT_SDKS if language == "typescript" else _PYTHON_SDKS


def _checked(language: str, sdk: str | None) -> tuple[Language, str]:
    chosen_language: Language
    if language == "typescript":
        chosen_language = "typescript"
    elif language == "python":
        chosen_language = "python"
    else:
        raise InvalidInputError(
            f"unknown language {language!r}: use typescript or python", [("lang", language)]
        )
    choices = sdks_for(language)
    chosen = sdk or choices[0]
    if chosen not in choices:
        raise InvalidInputError(
            f"{language} helpers call {' or '.join(choices)}, not {chosen!r}", [("sdk", chosen)]
        )
    return chosen_language, chosen


def generate_code(
    plan: TrackingPlan,
    *,
    language: str,
    sdk: str | None = None,
    source: str | None = None,
) -> GeneratedCode:
    """Typed capture helpers for every event of ``plan`` (pure: no credentials, no network).

    Args:
        plan: The tracking plan.
        language: ``typescript`` or ``python``.
        sdk: For TypeScript, ``posthog-js`` (default) or ``posthog-node``; Python helpers
            call ``posthog``.
        source: What the plan came from, for the header (default: the plan's ``plan_id``).

    Returns:
        The module and its manifest, by file name.

    Raises:
        InvalidInputError: an unknown language or SDK.
    """
    chosen, chosen_sdk = _checked(language, sdk)
    spec = code_spec(plan)
    origin = source or f"the tracking plan {plan.plan_id!r}"
    module = TYPESCRIPT_FILE if chosen == "typescript" else PYTHON_FILE
    header = _header(spec, chosen, chosen_sdk, origin)
    text = (
        render_typescript(spec, header, cast(TypeScriptSdk, chosen_sdk))
        if chosen == "typescript"
        else render_python(spec, header)
    )
    manifest = CodegenManifest.model_validate(
        {
            "language": chosen,
            "sdk": chosen_sdk,
            "module": module,
            "source": origin,
            "schema_hash": spec.schema_hash,
            "events": spec.expects,
        }
    )
    manifest_name = module.rsplit(".", 1)[0] + MANIFEST_SUFFIX
    return GeneratedCode(
        chosen, chosen_sdk, {module: text, manifest_name: manifest.text()}, manifest
    )


def generate_code_from_live(
    client: EventSchemaClient, *, language: str, sdk: str | None = None
) -> GeneratedCode:
    """:func:`generate_code` for the live project ``client`` points at.

    Events are chosen as ``posthog-cli`` chooses them: every event with a schema, and every
    other event definition except PostHog's own ``$`` events (``$pageview``, ``$pageleave``
    and ``$screen`` are kept), the latter without properties.
    """
    _checked(language, sdk)
    live = LiveState.read(client)
    return generate_code(
        plan_for_codegen(live), language=language, sdk=sdk, source=_live_source(client)
    )


async def generate_code_from_live_async(
    client: AsyncEventSchemaClient, *, language: str, sdk: str | None = None
) -> GeneratedCode:
    """Async twin of :func:`generate_code_from_live`."""
    _checked(language, sdk)
    live = await LiveState.read_async(client)
    return generate_code(
        plan_for_codegen(live), language=language, sdk=sdk, source=_live_source(client)
    )


def _live_source(client: EventSchemaClient | AsyncEventSchemaClient) -> str:
    return f"project {client.project_id} at {client.host}"


def _header(spec: CodeSpec, language: Language, sdk: str, origin: str) -> list[str]:
    return [
        "GENERATED FILE - DO NOT EDIT.",
        "",
        f"Typed PostHog capture helpers over {sdk}, one per event ({len(spec.events)} events),",
        f"generated by eventschema-tools (generator {GENERATOR_VERSION}) from {origin}.",
        f"Regenerate it with eventschema codegen --lang {language} (and the same options); with",
        "--check the command fails while this file is stale. What the code expects of PostHog's",
        f"schemas is in the manifest beside it (*{MANIFEST_SUFFIX}), which the drift audit reads",
        "(eventschema audit --kinds drift --generated DIR).",
        "",
        f"Schema hash: {spec.schema_hash}",
    ]
