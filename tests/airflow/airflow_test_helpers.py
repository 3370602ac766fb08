"""Helpers of the Airflow tests."""

from __future__ import annotations

from typing import Any


class RecordingTaskInstance:
    """The one task-instance method the operators and sensors call, recording what they push
    (Airflow's task instance stands in as this)."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value
