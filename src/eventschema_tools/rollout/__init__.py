"""Rolling schemas out across environments: promotion gated on the source's conformance.

``promotion`` holds :func:`~eventschema_tools.rollout.promotion.compare_environments` (the
cross-environment diff), :func:`~eventschema_tools.rollout.promotion.check_promotion` and
:func:`~eventschema_tools.rollout.promotion.promote`, each with an async twin.
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

__all__ = [
    "Promotion",
    "PromotionOptions",
    "check_promotion",
    "check_promotion_async",
    "compare_environments",
    "compare_environments_async",
    "promote",
    "promote_async",
    "promotion_options",
]
