"""Seed data: the `demo` project, loaded into an empty project (`demo-day`: the same, with the
day's events sent through PostHog's SDK once the server listens, by `sdk_day`).

The project of the demo product, a B2B SaaS app (`simulated_day` tells its story), as it stands
before its tracking plan, `examples/tracking-plan.yaml`, is applied:

* an event definition for every event the app sends: PostHog's own `$` events, every event the
  plan lists, events the plan leaves out (a pricing page and checkout, onboarding, legacy names
  such as `invite_sent` and `subscription_upgraded`), and one never seen;
* five property groups made by hand in PostHog's UI before the plan existed ("Page context",
  "User identity", "Product", "Checkout", "Subscription"), none spelled like a group of the
  plan, and their bindings; `checkout_completed` is in `reject` mode so schema enforcement has
  something to enforce;
* the simulated day's events in the events table, so audits have something to measure.

So `eventschema plan --plan examples/tracking-plan.yaml` on this project has nothing blocked, and
the audits find conforming events beside the day's deliberate mistakes.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from eventschema_tools.sandbox.storage.sdk_day import DAY_SEED, SDK_SEEDS
from eventschema_tools.sandbox.storage.simulated_day import DEFAULT_EVENTS, DemoEvent, demo_events
from eventschema_tools.sandbox.storage.simulated_weeks import demo_weeks
from eventschema_tools.sandbox.storage.store import NewProperty, Store
from eventschema_tools.sandbox.storage.timestamps import to_storage

if TYPE_CHECKING:
    from eventschema_tools.sandbox.events.store import EventStore

__all__ = ["SEED_NAMES", "load_seed"]


@dataclass(frozen=True)
class _Event:
    """A seeded definition; `hours_since_seen` counts only for events outside the day."""

    name: str
    description: str
    tags: tuple[str, ...] = ()
    verified: bool = False
    hours_since_seen: int | None = 30
    enforcement_mode: str = "allow"


def _p(name: str, kind: str, *, required: bool = False, description: str = "") -> NewProperty:
    return NewProperty(name, kind, is_required=required, description=description)


# Descriptions of the planned events are the plan's, so the plan shows only real differences.
_EVENTS: Final = (
    _Event("$pageview", "A page was viewed in the web app.", ("web",), verified=True),
    _Event("$pageleave", "The user left a page.", ("web",), hours_since_seen=26),
    _Event("$autocapture", "Clicks and form changes captured automatically.", ("web",)),
    _Event("$identify", "An anonymous visitor was identified.", ("identity",), hours_since_seen=25),
    _Event("user_signed_up", "A person created an account", ("growth",), verified=True),
    _Event("user_logged_in", "A user logged in.", ("identity",)),
    _Event("workspace_created", "First workspace of a new account, or an extra one", ("growth",)),
    _Event("member_invited", "An admin invited someone to the workspace", ("growth",)),
    _Event("invite_accepted", "An invited person joined the workspace.", ("growth",)),
    _Event(
        "invite_sent",
        "A teammate was invited (the name before member_invited).",
        ("growth",),
        hours_since_seen=24 * 40,
    ),
    _Event("onboarding_completed", "The user finished the onboarding checklist.", ("growth",)),
    _Event("onboarding_tip_dismissed", "A tip of the onboarding tour was closed.", ("growth",)),
    _Event("project_created", "A project was created in a workspace.", ("product",)),
    _Event("project_archived", "A project was archived.", ("product",)),
    _Event(
        "report_exported", "A report left the product as CSV, PDF or a share link", ("product",)
    ),
    _Event("legacy_export_clicked", "The old export button was clicked.", ("product",)),
    _Event("feature_used", "A feature of the app was used.", ("product",)),
    _Event("search_performed", "A search was run in the app.", ("product",), hours_since_seen=27),
    _Event("product_viewed", "A plan or add-on was opened on the pricing page.", ("pricing",)),
    _Event(
        "product_added_to_cart", "A plan or add-on was added to the cart.", ("pricing", "revenue")
    ),
    _Event("cart_viewed", "The cart of plans and add-ons was opened.", ("revenue",)),
    _Event("checkout_started", "The user started checkout.", ("revenue",), verified=True),
    _Event(
        "checkout_completed",
        "An order was paid.",
        ("revenue",),
        verified=True,
        enforcement_mode="reject",
    ),
    _Event("payment_failed", "A payment attempt was declined.", ("revenue",), hours_since_seen=50),
    _Event("trial_started", "A free trial began.", ("billing",)),
    _Event(
        "subscription_started",
        "The first successful payment of a subscription",
        ("billing", "revenue"),
    ),
    _Event("subscription_changed", "Upgrade, downgrade or billing-period change", ("billing",)),
    _Event(
        "subscription_upgraded",
        "A subscription moved to a higher plan (the name before subscription_changed).",
        ("billing",),
        hours_since_seen=24 * 40,
    ),
    _Event("subscription_cancelled", "A subscription was cancelled.", ("billing",)),
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
            _p("user_id", "String", description="Our internal user id."),
            _p("email", "String"),
            _p("plan", "String"),
            _p("signup_date", "DateTime"),
        ),
    ),
    "Product": (
        "The plan or add-on an event is about.",
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

WEEKS_SEED: Final = "demo-weeks"
SEED_NAMES: Final = ("demo", "demo-day", WEEKS_SEED)


def load_seed(
    name: str,
    store: Store,
    project_id: int,
    user_id: int,
    events: EventStore | None = None,
) -> bool:
    """Load seed `name` into the project if it is empty; return whether anything was loaded.

    Args:
        name: The seed, one of `SEED_NAMES`: `demo` (the demo project and its simulated day),
            `demo-day` (the day sent through the SDK), `demo-weeks` (the demo project and four
            simulated weeks with planted incidents, `simulated_weeks`).
        store: The schema store.
        project_id: The project to fill.
        user_id: Who the seeded objects were made and verified by.
        events: Where the simulated day's events go (None: definitions, groups and bindings
            only). `demo-day` never writes them here: `sdk_day` sends them once the server
            listens.
    """
    if name not in SEED_NAMES:
        raise ValueError(f"unknown seed {name!r}; available: {', '.join(SEED_NAMES)}")
    if not store.is_empty(project_id):
        return False
    now = datetime.now(UTC).replace(microsecond=0)
    day = (
        demo_weeks(now=now)
        if name == WEEKS_SEED
        else demo_events(DEFAULT_EVENTS, seed=DAY_SEED, now=now)
    )
    _load_definitions(store, project_id, user_id, now, day)
    if events is not None and name not in SDK_SEEDS:
        _load_events(events, project_id, day)
    return True


def _load_definitions(
    store: Store, project_id: int, user_id: int, now: datetime, day: list[DemoEvent]
) -> None:
    last_seen = {item.event: item.timestamp for item in day}  # the day is in time order
    definition_ids: dict[str, str] = {}
    for event in _EVENTS:
        seen = last_seen.get(event.name)
        if seen is None and event.hours_since_seen is not None:
            seen = now - timedelta(hours=event.hours_since_seen)
        values: dict[str, object] = {
            "description": event.description,
            "tags": sorted(event.tags),
            "updated_by_id": user_id,
            "enforcement_mode": event.enforcement_mode,
            "created_at": None if seen is None else to_storage(now - timedelta(days=90)),
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


def _load_events(events: EventStore, project_id: int, day: list[DemoEvent]) -> None:
    # Loaded here: reading the seed names (the CLI checks --seed) must not start the engine.
    from eventschema_tools.sandbox.events.store import EventRow

    ids = random.Random(DAY_SEED)
    events.insert_many(
        project_id,
        (
            EventRow(
                str(uuid.UUID(int=ids.getrandbits(128), version=4)),
                item.event,
                item.distinct_id,
                json.dumps(item.properties, ensure_ascii=False),
                item.timestamp,
            )
            for item in day
        ),
    )
