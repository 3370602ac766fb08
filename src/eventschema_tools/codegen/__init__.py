"""Typed capture helpers from a tracking plan, for TypeScript and Python (``eventschema codegen``).

:func:`generate_code` turns a plan into a module of typed helpers (one per event) over the
official SDK, plus a manifest of what the module expects of PostHog's schemas; it needs no
credentials and no network, so it runs in a pull request before anything is live.
:func:`generate_code_from_live` does the same from a live project, for teams without a plan
file. ``GeneratedCode.stale_files`` is ``--check``: files that differ from what the generator
writes now. The ``drift`` audit reads the manifest (``AuditOptions.generated``) and reports
where the live project no longer matches the code.

Example::

    from pathlib import Path
    from eventschema_tools.codegen import generate_code
    from eventschema_tools.tracking_plan.file import load_plan

    code = generate_code(load_plan("tracking-plan.yaml"), language="python")
    code.write(Path("src/analytics"))
"""

from eventschema_tools.codegen.generate import (
    LANGUAGES,
    generate_code,
    generate_code_from_live,
    generate_code_from_live_async,
    sdks_for,
)
from eventschema_tools.codegen.output import (
    GENERATOR_VERSION,
    MANIFEST_SUFFIX,
    CodegenManifest,
    ExpectedProperty,
    GeneratedCode,
    Language,
    StaleFile,
    read_manifest,
)

__all__ = [
    "GENERATOR_VERSION",
    "LANGUAGES",
    "MANIFEST_SUFFIX",
    "CodegenManifest",
    "ExpectedProperty",
    "GeneratedCode",
    "Language",
    "StaleFile",
    "generate_code",
    "generate_code_from_live",
    "generate_code_from_live_async",
    "read_manifest",
    "sdks_for",
]
