"""Seed data: the `demo` project of a small SaaS shop, loaded into an empty project.

Twenty product-analytics event definitions (PostHog's own `$` events and custom ones), five
property groups, and the bindings between them. `checkout_completed` is in `reject` mode so
schema enforcement has something to enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from eventschema_tools.sandbox.storage.store import NewProperty, Store
from eventschema_tools.sandbox.storage.timestamps import to_storage


@dataclass(frozen=True)
class _Event:
    name: str
    description: str
    tags: tuple[str, ...] = ()
    verified: bool = False
    hours_since_seen: int | None = 2
    enforcement_mode: str = "allow"


def _p(name: str, kind: str, *, required: bool = False, description: str = "") -> NewProperty:
    return NewProperty(name, kind, is_required=required, description=description)


_EVENTS: Final = (
    _Event(
        "$pageview",
        "A page was viewed in the web app.",
        ("web",),
        verified=True,
        hours_since_seen=0,
    ),
    _Event("$pageleave", "The user left a page.", ("web",), hours_since_seen=0),
    _Event("$autocapture", "Clicks and form changes captured automatically.", ("web",)),
    _Event("$identify", "An anonymous visitor was identified.", ("identity",), hours_since_seen=1),
    _Event("user_signed_up", "A new account was created.", ("growth",), verified=True),
    _Event("user_logged_in", "A user logged in.", ("identity",)),
    _Event("onboarding_completed", "The user finished the onboarding checklist.", ("growth",)),
    _Event("search_performed", "A product search was run.", ("catalog",), hours_since_seen=1),
    _Event("product_viewed", "A product page was opened.", ("catalog",)),
    _Event("product_added_to_cart", "A product was added to the cart.", ("catalog", "revenue")),
    _Event("cart_viewed", "The cart was opened.", ("revenue",)),
    _Event("checkout_started", "The user started checkout.", ("revenue",), verified=True),
    _Event(
        "checkout_completed",
        "An order was paid.",
        ("revenue",),
        verified=True,
        enforcement_mode="reject",
    ),
    _Event("payment_failed", "A payment attempt was declined.", ("revenue",), hours_since_seen=30),
    _Event("trial_started", "A free trial began.", ("billing",)),
    _Event("subscription_started", "A paid subscription began.", ("billing", "revenue")),
    _Event("subscription_upgraded", "A subscription moved to a higher plan.", ("billing",)),
    _Event(
        "subscription_cancelled", "A subscription was cancelled.", ("billing",), hours_since_seen=50
    ),
    _Event("invite_sent", "A teammate was invited.", ("growth",)),
    _Event(
        "support_ticket_created",
        "A support ticket was opened.",
        ("support",),
        hours_since_seen=None,
    ),
)

_GROUPS: Final = {
    "Page context": (
        "Where a web event happened.",
        (
            _p("$current_url", "String", required=True, description="Full URL of the page."),
            _p("$pathname", "String", required=True),
            _p("$referrer", "String"),
            _p("$screen_width", "Numeric"),
        ),
    ),
    "User identity": (
        "Who the user is.",
        (
            _p("user_id", "String", required=True, description="Our internal user id."),
            _p("email", "String"),
            _p("plan", "String"),
            _p("signup_date", "DateTime"),
        ),
    ),
    "Product": (
        "The product an event is about.",
        (
            _p("product_id", "String", required=True),
            _p("product_name", "String", required=True),
            _p("price", "Numeric", required=True),
            _p("category", "String"),
        ),
    ),
    "Checkout": (
        "The cart and payment of an order.",
        (
            _p("cart_id", "String", required=True),
            _p("revenue", "Numeric", required=True, description="Order total in `currency`."),
            _p("currency", "String", required=True),
            _p("item_count", "Numeric", required=True),
            _p("coupon_code", "String"),
            _p("items", "Object", description="Line items."),
        ),
    ),
    "Subscription": (
        "Plan and billing details.",
        (
            _p("plan", "String", required=True),
            _p("previous_plan", "String"),
            _p("billing_period", "String", required=True),
            _p("seats", "Numeric"),
            _p("is_trial", "Boolean"),
        ),
    ),
}

_BINDINGS: Final = (
    ("$pageview", "Page context"),
    ("$pageleave", "Page context"),
    ("user_signed_up", "User identity"),
    ("user_logged_in", "User identity"),
    ("product_viewed", "Product"),
    ("product_added_to_cart", "Product"),
    ("checkout_started", "Checkout"),
    ("checkout_completed", "Checkout"),
    ("checkout_completed", "User identity"),
    ("subscription_started", "Subscription"),
    ("subscription_upgraded", "Subscription"),
    ("subscription_cancelled", "Subscription"),
)

SEED_NAMES: Final = ("demo",)


def load_seed(name: str, store: Store, project_id: int, user_id: int) -> bool:
    """Load seed `name` into the project if it is empty; return whether anything was loaded."""
    if name not in SEED_NAMES:
        raise ValueError(f"unknown seed {name!r}; available: {', '.join(SEED_NAMES)}")
    if not store.is_empty(project_id):
        return False
    _load_demo(store, project_id, user_id)
    return True


def _load_demo(store: Store, project_id: int, user_id: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    definition_ids: dict[str, str] = {}
    for event in _EVENTS:
        seen = (
            None
            if event.hours_since_seen is None
            else now - timedelta(hours=event.hours_since_seen)
        )
        values: dict[str, object] = {
            "description": event.description,
            "tags": sorted(event.tags),
            "updated_by_id": user_id,
            "enforcement_mode": event.enforcement_mode,
            "created_at": None if seen is None else to_storage(seen - timedelta(days=90)),
            "last_seen_at": None if seen is None else to_storage(seen),
        }
        if event.verified:
            values.update(verified=True, verified_by_id=user_id, verified_at=to_storage(now))
        definition_ids[event.name] = store.create_event_definition(
            project_id, event.name, values
        ).id
    group_ids = {
        group_name: store.create_property_group(
            project_id, group_name, description, properties, user_id
        ).id
        for group_name, (description, properties) in _GROUPS.items()
    }
    for event_name, group_name in _BINDINGS:
        store.create_event_schema(project_id, definition_ids[event_name], group_ids[group_name])
