"""Where the example DAGs and the example tracking plan are, in a checkout or an installed wheel.

A checkout has them at the repository root (``airflow_plugin/example_dags/`` and
``examples/tracking-plan.yaml``); the wheel carries them inside the package. Print them for a
shell::

    export AIRFLOW__CORE__DAGS_FOLDER="$(python -m eventschema_tools.airflow_plugin.examples dags)"
    python -m eventschema_tools.airflow_plugin.examples plan

Like the package's ``__init__``, this module never imports Airflow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from eventschema_tools._shipped import find_shipped

__all__ = ["example_dags_folder", "example_plan", "main"]

EXAMPLE_DAGS: Final = Path("airflow_plugin") / "example_dags"
EXAMPLE_PLAN: Final = Path("examples") / "tracking-plan.yaml"


def example_dags_folder() -> Path:
    """The folder of the example DAGs, for ``AIRFLOW__CORE__DAGS_FOLDER``.

    Raises:
        FileNotFoundError: neither a checkout nor the installed package holds it.
    """
    return find_shipped(EXAMPLE_DAGS).resolve()


def example_plan() -> Path:
    """The example tracking plan (``examples/tracking-plan.yaml``).

    Raises:
        FileNotFoundError: neither a checkout nor the installed package holds it.
    """
    return find_shipped(EXAMPLE_PLAN).resolve()


def main(argv: Sequence[str] | None = None) -> int:
    """Print the path of the example DAGs folder (``dags``) or of the example plan (``plan``)."""
    parser = argparse.ArgumentParser(
        prog="python -m eventschema_tools.airflow_plugin.examples",
        description="Print where the example DAGs or the example tracking plan are.",
    )
    parser.add_argument("what", choices=["dags", "plan"])
    what = parser.parse_args(argv).what
    try:
        path = example_dags_folder() if what == "dags" else example_plan()
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
