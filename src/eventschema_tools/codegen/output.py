"""Generated files: :class:`GeneratedCode`, written, compared for ``--check``, and its manifest.

Next to the module goes a manifest, ``<module>.schema.json``: which generator wrote it, from
what, and what the code expects of PostHog's schemas (per event, per property: the types and
whether it is required). The ``drift`` audit reads it to say when the live project no longer
matches the code (:mod:`eventschema_tools.codegen.drift`). Nothing in either file changes
unless the plan (or the generator) does, so ``--check`` compares bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools._files import read_settings_file, write_atomically
from eventschema_tools.errors import InvalidInputError

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_SUFFIX",
    "CodegenManifest",
    "ExpectedProperty",
    "GeneratedCode",
    "Language",
    "StaleFile",
    "read_manifest",
]

Language = Literal["typescript", "python"]

GENERATOR_VERSION: Final = 1
"""Raised whenever the generated text changes for the same plan, so ``--check`` asks for a
regeneration after an upgrade that changes the output (and only then)."""

MANIFEST_SUFFIX: Final = ".schema.json"


class ExpectedProperty(BaseModel):
    """What generated code relies on for one property."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    types: list[str] = Field(description="The types the code sends.")
    required: bool = Field(description="The code treats it as required (or the SDK sends it).")


class CodegenManifest(BaseModel):
    """The manifest next to a generated module."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generator: Literal["eventschema-tools"] = "eventschema-tools"
    generator_version: int = GENERATOR_VERSION
    language: Language
    sdk: str
    module: str = Field(description="The generated module's file name.")
    source: str = Field(description="What it was generated from.")
    schema_hash: str
    events: dict[str, dict[str, ExpectedProperty]] = Field(
        description="Per event, per property: what the code expects of PostHog's schemas."
    )

    def text(self) -> str:
        """The manifest file's text: JSON with one line per event (small diffs in review)."""
        data = self.model_dump(mode="json")
        events = data.pop("events")
        head = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)[:-2]
        lines = [
            f"    {json.dumps(name, ensure_ascii=False)}: "
            f"{json.dumps(events[name], sort_keys=True, ensure_ascii=False)}"
            for name in sorted(events)
        ]
        body = ",\n".join(lines)
        return (
            f'{head},\n  "events": {{\n{body}\n  }}\n}}\n'
            if lines
            else head + ',\n  "events": {}\n}\n'
        )


@dataclass(frozen=True)
class StaleFile:
    """A generated file that differs from what the generator writes now."""

    path: Path
    reason: Literal["missing", "changed"]


@dataclass(frozen=True)
class GeneratedCode:
    """The files of one generation, by file name, and what they describe.

    Attributes:
        language: ``typescript`` or ``python``.
        sdk: The SDK the helpers call (``posthog-js``, ``posthog-node`` or ``posthog``).
        files: The file texts by file name (the module and its manifest).
        manifest: The manifest (also in ``files``).
    """

    language: Language
    sdk: str
    files: Mapping[str, str]
    manifest: CodegenManifest

    @property
    def module(self) -> str:
        """The generated module's file name."""
        return self.manifest.module

    @property
    def event_count(self) -> int:
        """How many events have a helper."""
        return len(self.manifest.events)

    def write(self, out_dir: Path) -> list[Path]:
        """Write every file into ``out_dir`` (created if missing), each in one step.

        Returns:
            The paths written, module first.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in self.files.items():
            path = out_dir / name
            write_atomically(path, text)
            written.append(path)
        return written

    def stale_files(self, out_dir: Path) -> list[StaleFile]:
        """The files in ``out_dir`` that are missing or differ from this generation."""
        stale = []
        for name, text in self.files.items():
            path = out_dir / name
            try:
                current = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                stale.append(StaleFile(path, "missing"))
                continue
            except (OSError, UnicodeDecodeError):
                current = None
            if current != text:
                stale.append(StaleFile(path, "changed"))
        return stale


def read_manifest(path: Path) -> CodegenManifest:
    """The manifest of generated code: ``path`` is the manifest, the module, or their folder.

    Raises:
        InvalidInputError: no manifest there, or one that is not eventschema's.
    """
    return read_settings_file(
        _manifest_path(path),
        CodegenManifest,
        what="codegen manifest",
        field="generated",
        hint="regenerate the code with eventschema codegen",
    )


def _manifest_path(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob(f"*{MANIFEST_SUFFIX}"))
        if len(found) != 1:
            what = "no" if not found else f"{len(found)}"
            raise InvalidInputError(
                f"{path} holds {what} codegen manifests (*{MANIFEST_SUFFIX}); name one file",
                [("generated", "give the generated module or its manifest")],
            )
        return found[0]
    if path.name.endswith(MANIFEST_SUFFIX):
        return path
    return path.with_name(path.stem + MANIFEST_SUFFIX)
