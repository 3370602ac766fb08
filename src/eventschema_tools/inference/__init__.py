"""Infer a tracking plan from live events, with shared property groups mined from them.

Example::

    from eventschema_tools import EventSchemaClient
    from eventschema_tools.inference import infer_options, infer_plan

    options = infer_options(days=7, min_volume=10)  # checked before any request
    with EventSchemaClient.from_env() as client:
        inference = infer_plan(client, options)
    print(inference.text)  # the proposed plan, evidence as YAML comments

See ``docs/infer.md`` for what is inferred, the thresholds and the query budget.
"""

from eventschema_tools.inference.model import (
    EventEvidence,
    GroupEvidence,
    Inference,
    InferenceWindow,
    PropertyEvidence,
    SkippedEvent,
)
from eventschema_tools.inference.options import InferOptions, infer_options
from eventschema_tools.inference.run import infer_plan, infer_plan_async

__all__ = [
    "EventEvidence",
    "GroupEvidence",
    "InferOptions",
    "Inference",
    "InferenceWindow",
    "PropertyEvidence",
    "SkippedEvent",
    "infer_options",
    "infer_plan",
    "infer_plan_async",
]
