"""When and how the operators check their parameters.

A parameter given as a plain value is final when the DAG is parsed, so it is checked in the
operator's ``__init__`` and a mistake shows up as a DAG import error. A Jinja template or an
XCom reference is only known when the task runs, so it is checked at the start of ``execute``,
before any request. Either way the check is the core's own validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from eventschema_tools.airflow_plugin._sdk import AirflowFailException
from eventschema_tools.errors import InvalidInputError
from eventschema_tools.tracking_plan.file import PlanFileError

__all__ = ["bad_parameters_fail_the_task", "check_if_final", "is_final"]

_PLAIN = (str, int, float, bool, type(None))


def is_final(value: object) -> bool:
    """True when ``value`` holds no Jinja template and no XCom reference (it will not change)."""
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if isinstance(value, list | tuple):
        return all(is_final(item) for item in value)
    if isinstance(value, Mapping):
        return all(is_final(item) for item in value.values())
    return isinstance(value, _PLAIN)


def check_if_final(value: Any, check: Callable[[Any], object]) -> None:
    """Run ``check(value)`` now when ``value`` is given and final (see :func:`is_final`)."""
    if value is not None and is_final(value):
        check(value)


@contextmanager
def bad_parameters_fail_the_task() -> Iterator[None]:
    """Turn the core's input errors into ``AirflowFailException``: retrying cannot fix them."""
    try:
        yield
    except (InvalidInputError, PlanFileError) as exc:
        raise AirflowFailException(str(exc)) from exc


def as_names(value: str | list[str] | tuple[str, ...] | Any) -> list[str]:
    """Names given as a list or as ``"a,b,c"``."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]
