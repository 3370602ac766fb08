"""The README stays short, links every guide, and every link between the docs resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_blocks import DOCS, README, ROOT, doc_files

from eventschema_tools import __version__

GUIDES = (
    "library",
    "cli",
    "tracking-plan",
    "audits",
    "alerts",
    "review",
    "environments",
    "infer",
    "codegen",
    "mcp",
    "airflow",
    "sandbox",
    "configuration",
    "errors",
    "architecture",
)
README_MAX_LINES = 250

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)


def _prose(path: Path) -> str:
    """The file without code blocks and code spans, where links are not links."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return _CODE_SPAN.sub("", text)


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes for a Markdown file (duplicates get -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for match in _HEADING.finditer(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        title = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", match.group("title"))
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_readme_is_at_most_250_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_the_wheel_the_readme_installs_is_this_version() -> None:
    assert f"eventschema_tools-{__version__}-py3-none-any.whl" in README.read_text("utf-8")


def test_every_guide_exists_and_the_readme_links_it() -> None:
    linked = {match.group("target") for match in _LINK.finditer(_prose(README))}
    for guide in GUIDES:
        assert (DOCS / f"{guide}.md").is_file(), guide
        assert f"docs/{guide}.md" in linked, f"README.md does not link docs/{guide}.md"
    assert "SECURITY.md" in linked
    assert "BENCHMARKS.md" in linked
    assert {path.stem for path in DOCS.glob("*.md")} == set(GUIDES)


@pytest.mark.parametrize("doc", doc_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for match in _LINK.finditer(_prose(doc)):
        target = match.group("target")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_anchor_rules_match_githubs() -> None:
    sample = ROOT / "SECURITY.md"
    assert "what-the-sandbox-is-not" in anchors(sample)
    assert "key-scopes-least-privilege" in anchors(sample)
