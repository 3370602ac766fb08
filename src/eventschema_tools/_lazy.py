"""Package attributes imported on first use.

A package's ``__init__`` names its public objects but loads their modules only when one is
read, so importing a light submodule (the errors, the command line, the sandbox's settings) does
not pull in the HTTP stack or the server.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, module_of: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name from its module.

    Args:
        package: the package's ``__name__``, for the error a missing name raises.
        module_of: each lazily loaded name and the full name of the module that defines it.
        namespace: the package's ``globals()``; a loaded name is kept there, so it is looked
            up only once.
    """

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
