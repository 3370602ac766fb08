"""A simulated day of the demo product's events, with the mistakes real apps make.

The demo product is a B2B SaaS app: people sign up, work in workspaces and projects, export
reports, invite teammates and pay for subscriptions. `examples/tracking-plan.yaml` is its
tracking plan, the `demo` seed (`seed`) is its PostHog project, and this day of events is what
both the seed and `eventschema demo` put in the project's events table. Only the standard
library is used, so the demo and the seed share the same day without loading the server.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "DEFAULT_EVENTS",
    "EVENT_NAMES",
    "MIX",
    "PLANTED_PII",
    "DemoEvent",
    "demo_events",
    "event_properties",
]

DEFAULT_EVENTS: Final = 3000

# Event mix of the day: (event, weight).
MIX: Final = (
    ("feature_used", 38),
    ("user_logged_in", 18),
    ("report_exported", 8),
    ("project_created", 5),
    ("project_archived", 2),
    ("member_invited", 4),
    ("invite_accepted", 3),
    ("user_signed_up", 4),
    ("workspace_created", 2),
    ("trial_started", 2),
    ("subscription_started", 1.5),
    ("subscription_changed", 2),
    ("subscription_cancelled", 0.5),
    ("onboarding_tip_dismissed", 3),
    ("legacy_export_clicked", 1),
    ("$pageview", 6),
)
EVENT_NAMES: Final = tuple(name for name, _ in MIX)
"""Every event name the day may hold."""

PLANTED_PII: Final = frozenset(
    {
        ("onboarding_tip_dismissed", "feedback", "pii_email"),
        ("legacy_export_clicked", "callback_phone", "pii_property_name"),
        ("legacy_export_clicked", "callback_phone", "pii_phone"),
        ("legacy_export_clicked", "payment_reference", "pii_card"),
    }
)
"""The personal data the day carries, as (event, property, privacy finding code): an email in
free text, a phone number (in a property named for one), and a card number that passes the
Luhn check. ``order_reference`` holds a card-like number that fails it: not personal data."""

_PLANS: Final = ("free", "team", "business", "enterprise")
_FEATURES: Final = ("dashboards", "sql_editor", "alerts", "exports", "sharing", "comments")


@dataclass(frozen=True)
class DemoEvent:
    """One simulated event: what the SDK's ``capture`` receives."""

    event: str
    distinct_id: str
    properties: dict[str, Any]
    timestamp: datetime


def demo_events(
    count: int = DEFAULT_EVENTS, *, seed: int = 7, now: datetime | None = None
) -> list[DemoEvent]:
    """A simulated day of events with deliberate mistakes (deterministic for a seed).

    The mistakes, each made by one part of the product on a few percent of its events: an old
    mobile build sends ``user_logged_in`` without ``workspace_plan`` or with the retired "pro"
    plan; the invite flow sends ``seats`` as "twelve" and ``is_invited`` as "yes"; an old desktop
    build forgets ``surface`` on ``feature_used`` and times ``duration_ms`` as "1.2s"; archived
    projects carry ``created_at`` "yesterday"; a new billing service sends ``currency`` in lower
    case and ``amount`` as "49.00 USD"; exports carry a ``format`` the plan forgot, feature usage
    carries debug properties, and two events nobody planned arrive, carrying personal data
    (:data:`PLANTED_PII`). Numeric strings such as "12" are sent too: PostHog accepts them as
    Numeric.
    """
    rng = random.Random(seed)
    # A stream of its own, so the rest of the day stays what it was before personal data.
    personal = random.Random(f"personal-{seed}")
    moment = now or datetime.now(UTC)
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    workspaces = [f"ws_{index:03d}" for index in range(60)]
    plans = {workspace: rng.choice(_PLANS) for workspace in workspaces}
    events = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        workspace = rng.choice(workspaces)
        user = f"user_{workspace}_{rng.randint(1, 12)}"
        age = timedelta(seconds=rng.randint(60, 23 * 3600 + 1800))
        properties = event_properties(rng, name, workspace, plans[workspace])
        properties.update(_personal_data(personal, name))
        events.append(DemoEvent(name, user, properties, moment - age))
    return sorted(events, key=lambda item: item.timestamp)


def _personal_data(rng: random.Random, name: str) -> dict[str, Any]:
    if name == "onboarding_tip_dismissed":
        if _chance(rng, 0.4):
            person = rng.choice(("jane.doe", "li.wei", "omar.haddad", "ana.silva"))
            return {"feedback": f"Tip hid my chart, please write to {person}@example.com"}
        return {"feedback": rng.choice(("Nice tip", "Too many tips", "Show it later"))}
    if name == "legacy_export_clicked":
        found: dict[str, Any] = {
            "callback_phone": f"+44 20 7946 0{rng.randint(100, 999)}",
            "order_reference": "4242 4242 4242 4241",  # card-like, fails the Luhn check
        }
        if _chance(rng, 0.5):
            found["payment_reference"] = "4242 4242 4242 4242"  # passes it
        return found
    return {}


def _chance(rng: random.Random, share: float) -> bool:
    return rng.random() < share


def event_properties(rng: random.Random, name: str, workspace: str, plan: str) -> dict[str, Any]:
    """The properties the demo product sends with one event (with its usual mistakes)."""
    props: dict[str, Any] = {}
    if name not in ("user_signed_up", "$pageview", "onboarding_tip_dismissed"):
        props.update(_workspace(rng, name, workspace, plan))
    if name in ("user_signed_up", "workspace_created"):
        props.update(_signup(rng))
    elif name == "invite_accepted":
        props.update(_invite(rng))
    elif name in ("project_created", "project_archived"):
        props.update(_project(rng, name))
    elif name == "report_exported":
        props.update({**_project(rng, name), **_feature(rng, name), "feature": "exports"})
        props["format"] = rng.choice(("csv", "pdf", "link"))  # not in the plan yet
    elif name == "feature_used":
        props.update(_feature(rng, name))
    elif name.startswith(("trial_", "subscription_")):
        props.update(_billing(rng, name))
    elif name == "onboarding_tip_dismissed":
        props["tip"] = rng.choice(("welcome", "shortcuts"))
    elif name == "legacy_export_clicked":
        props["button"] = "old_export"
    elif name == "$pageview":
        page = rng.choice(_FEATURES)
        props.update({"$current_url": f"https://app.example.com/{page}", "$pathname": f"/{page}"})
    return props


def _workspace(rng: random.Random, name: str, workspace: str, plan: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "workspace_id": workspace,
        "workspace_plan": plan,
        "user_role": rng.choice(("owner", "admin", "member", "member", "guest")),
        "seats": rng.randint(1, 80),
    }
    if name == "user_logged_in" and _chance(rng, 0.08):
        if _chance(rng, 0.5):
            del props["workspace_plan"]
        else:
            props["workspace_plan"] = "pro"
    if _chance(rng, 0.1):
        props["seats"] = str(props["seats"])
    elif name == "member_invited" and _chance(rng, 0.05):
        props["seats"] = "twelve"
    return props


def _signup(rng: random.Random) -> dict[str, Any]:
    return {
        "signup_method": rng.choice(("email", "google", "github")),
        "is_invited": False,
        "referrer_domain": rng.choice(("google.com", "news.ycombinator.com", "")),
    }


def _invite(rng: random.Random) -> dict[str, Any]:
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    return {
        "signup_method": "email",
        "is_invited": "yes" if _chance(rng, 0.05) else True,
        "invite_code": code,
    }


def _project(rng: random.Random, name: str) -> dict[str, Any]:
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 300))
    props: dict[str, Any] = {
        "project_id": f"prj_{rng.randint(1000, 9999)}",
        "member_count": rng.randint(1, 15),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if _chance(rng, 0.3):
        props["template"] = rng.choice(("blank", "okr", "roadmap"))
    if name == "project_archived" and _chance(rng, 0.05):
        props["created_at"] = "yesterday"
    return props


def _feature(rng: random.Random, name: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "feature": rng.choice(_FEATURES),
        "surface": rng.choice(("web", "web", "desktop", "ios")),
        "duration_ms": rng.randint(200, 600_000),
    }
    if name == "feature_used":
        if _chance(rng, 0.04):
            del props["surface"]
        if _chance(rng, 0.02):
            props["duration_ms"] = "1.2s"
        if _chance(rng, 0.06):
            props["debug_mode"] = True
        if _chance(rng, 0.1):
            props["ab_variant"] = rng.choice(("control", "test"))
    return props


def _billing(rng: random.Random, name: str) -> dict[str, Any]:
    period = rng.choice(("monthly", "annual"))
    plan = rng.choice(("team", "business", "enterprise"))
    amount = {"team": 49, "business": 199, "enterprise": 999}[plan]
    props: dict[str, Any] = {
        "plan": plan,
        "billing_period": period,
        "amount": amount * (10 if period == "annual" else 1),
        "currency": rng.choice(("USD", "EUR")),
        "line_items": [{"sku": plan, "qty": 1}],
    }
    if _chance(rng, 0.2):
        props["coupon_code"] = "LAUNCH20"
    if name == "subscription_changed":
        if _chance(rng, 0.15):
            props["currency"] = str(props["currency"]).lower()
        if _chance(rng, 0.05):
            props["amount"] = f"{props['amount']}.00 USD"
    return props
