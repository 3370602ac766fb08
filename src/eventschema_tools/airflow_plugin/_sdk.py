"""The Airflow names this package uses, imported in one place.

Without Airflow installed (or with one older than 3.3), importing the hook, operators, sensor,
link or plugin fails here with a one-line ``ImportError`` that says how to install it; the rest
of ``eventschema_tools`` never needs Airflow.
"""

from __future__ import annotations

try:
    from airflow.sdk import (
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        Connection,
        Context,
        PokeReturnValue,
        XComArg,
    )
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
    from airflow.sdk.execution_time.xcom import XCom
    from airflow.sdk.log import mask_secret
    from airflow.sdk.plugins_manager import AirflowPlugin
    from airflow.sdk.types import TaskInstanceKey
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without Airflow
    if exc.name is not None and exc.name.partition(".")[0] != "airflow":
        raise  # Airflow is installed but lacks one of its own dependencies: that error says which
    # One line that says what to do; the reason is in it, so the chained traceback adds nothing.
    raise ImportError(
        f"eventschema_tools.airflow_plugin needs Apache Airflow 3.3 or newer ({exc}): "
        "pip install 'eventschema-tools[airflow]'"
    ) from None

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowPlugin",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Connection",
    "Context",
    "PokeReturnValue",
    "TaskInstanceKey",
    "XCom",
    "XComArg",
    "mask_secret",
]
