"""Rolling schemas out: promotion between environments and the enforcement ratchet, both gated
on live conformance (the soak gate of :mod:`eventschema_tools.audit.soak`).

``promotion`` holds :func:`~eventschema_tools.rollout.promotion.compare_environments` (the
cross-environment diff), :func:`~eventschema_tools.rollout.promotion.check_promotion` and
:func:`~eventschema_tools.rollout.promotion.promote`; ``ratchet`` holds
:func:`~eventschema_tools.rollout.ratchet.ratchet`. Each has an async twin.
"""

from eventschema_tools.rollout.promotion import (
    Promotion,
    PromotionOptions,
    check_promotion,
    check_promotion_async,
    compare_environments,
    compare_environments_async,
    promote,
    promote_async,
    promotion_options,
)
from eventschema_tools.rollout.ratchet import (
    RatchetMove,
    RatchetOptions,
    RatchetReport,
    RatchetStep,
    notify_ratchet,
    ratchet,
    ratchet_async,
    ratchet_options,
    store_ratchet,
)

__all__ = [
    "Promotion",
    "PromotionOptions",
    "RatchetMove",
    "RatchetOptions",
    "RatchetReport",
    "RatchetStep",
    "check_promotion",
    "check_promotion_async",
    "compare_environments",
    "compare_environments_async",
    "notify_ratchet",
    "promote",
    "promote_async",
    "promotion_options",
    "ratchet",
    "ratchet_async",
    "ratchet_options",
    "store_ratchet",
]
