"""Install instructions never fetch `eventschema-tools` by name from a package index.

No release is published there, so anyone could register the name; a recipe that installs it by
name (and then runs with a write key, as the CI recipe does) would run their code. Every install
command the README and the guides show takes the package from the repository instead: a
checkout, a built wheel, or a pinned commit.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from docs_blocks import README, ROOT, blocks_of, doc_files, strip_comment

_INSTALL = re.compile(r"\b(?:pip3?|uv pip|pipx|uv tool)\s+install\b(?P<rest>.*)")
_NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<tail>.*)$")


def _fetched_by_name(requirement: str) -> bool:
    """Whether a requirement is `eventschema-tools` resolved on an index (no direct reference)."""
    match = _NAME.match(requirement)
    if match is None:
        return False
    name = re.sub(r"[-_.]+", "-", match["name"]).lower()
    return name == "eventschema-tools" and not match["tail"].startswith("@")


def _index_installs(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        match = _INSTALL.search(strip_comment(line))
        if match is None:
            continue
        try:
            words = shlex.split(match["rest"])
        except ValueError:
            words = match["rest"].split()
        if any(_fetched_by_name(word) for word in words if not word.startswith("-")):
            found.append(line.strip())
    return found


@pytest.mark.parametrize(
    ("line", "fetched"),
    [
        ("pip install eventschema-tools", True),
        ("  - run: pip install 'eventschema-tools[airflow]'   # or from your checkout", True),
        ("pip install eventschema_tools==0.1.0", True),
        ('pip install "eventschema-tools @ git+https://github.com/o/eventschema-tools@abc"', False),
        ("pip install '.[all]' -c constraints.txt", False),
        ("pip install 'dist/eventschema_tools-0.1.0-py3-none-any.whl[sandbox,mcp]'", False),
        ("pip install httpx", False),
    ],
)
def test_the_check_tells_an_index_install_from_a_repository_one(line: str, fetched: bool) -> None:
    assert bool(_index_installs(line)) is fetched


def test_no_documented_recipe_installs_the_package_by_name() -> None:
    offending = [
        f"{block.where}: {line}"
        for doc in doc_files()
        for block in blocks_of(doc)
        for line in _index_installs(block.text)
    ]
    assert not offending, "install from the repository (pinned commit or wheel):\n" + "\n".join(
        offending
    )


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize(
    ("path", "heading"),
    [(README, "## Install"), (ROOT / "docs" / "tracking-plan.md", "## CI recipe")],
    ids=["README-install", "CI-recipe"],
)
def test_install_instructions_say_no_release_is_published(path: Path, heading: str) -> None:
    section = _section(path.read_text(encoding="utf-8"), heading)
    assert re.search(r"no release .*published", section, re.IGNORECASE | re.DOTALL), section
    assert "git+https://" in section, section
