"""Files of the repository root that the wheel also ships inside the package.

A checkout has ``examples/`` and ``airflow_plugin/example_dags/`` at the repository root; the
wheel carries them as ``eventschema_tools/examples/`` and
``eventschema_tools/airflow_plugin/example_dags/`` (a build mapping in ``pyproject.toml``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["find_shipped", "shipped_file_candidates"]


def shipped_file_candidates(relative: Path, start: Path | None = None) -> list[Path]:
    """Where a file or folder of the repository root that the wheel also ships may be, in order:
    under ``start`` (default: the working directory), in the package, at the checkout's root."""
    return [
        (start or Path.cwd()) / relative,
        # An installed wheel carries the repository's examples and example DAGs in the package.
        Path(str(resources.files("eventschema_tools"))) / relative,
        # A source checkout (editable install): the repository root, above src/.
        Path(__file__).resolve().parents[2] / relative,
    ]


def find_shipped(relative: Path, start: Path | None = None) -> Path:
    """The first of :func:`shipped_file_candidates` that exists.

    Raises:
        FileNotFoundError: none exists; the message says where it was looked for.
    """
    candidates = shipped_file_candidates(relative, start)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    looked = ", ".join(str(path) for path in candidates)
    raise FileNotFoundError(f"{relative} not found (looked in {looked})")
