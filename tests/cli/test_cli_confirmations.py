"""Writes that remove or drop something ask first, through the installed console script.

The CLI asks what the MCP server asks (``catalog.risk``): deletes, unbinds, moves, property
replacements that drop properties, and bindings that make reject-mode events drop live events.
``--yes`` answers for scripts; without a terminal and without ``--yes`` the command refuses in
one line naming ``--yes``, exits 2 and changes nothing. Runs against a loopback demo sandbox;
a pseudo-terminal stands in for a person at the keyboard.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from eventschema_tools.client import EventSchemaClient
from eventschema_tools.sandbox import DEMO_API_KEY, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import UpdateGroup, compute_plan
from eventschema_tools.tracking_plan.file import parse_plan
from eventschema_tools.tracking_plan.ownership import marker, owner_plan

SCRIPT = Path(sys.executable).with_name("eventschema")

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with run_sandbox(rate_limiting=False, seed="demo") as running:
        yield running


@pytest.fixture
def api(server: RunningSandbox) -> Iterator[EventSchemaClient]:
    with EventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host=server.url, rate_limit="off"
    ) as client:
        yield client


def _env(server: RunningSandbox) -> dict[str, str]:
    return {
        **os.environ,
        "POSTHOG_HOST": server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_RATE_LIMIT": "off",
    }


def piped(server: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with standard input a pipe that answers "y" (not a terminal)."""
    return subprocess.run(
        [str(SCRIPT), *args],
        env=_env(server),
        input="y\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def at_terminal(
    server: RunningSandbox, answer: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with a pseudo-terminal as standard input, typing ``answer`` and Enter."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        return subprocess.run(
            [str(SCRIPT), *args],
            env=_env(server),
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a command refused for want of --yes."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pass --yes to go ahead" in lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def new_group(api: EventSchemaClient, *required: str, description: str = "") -> str:
    name = f"g_{uuid4().hex[:8]}"
    properties = [{"name": p, "property_type": "String", "is_required": True} for p in required]
    properties.append({"name": "note", "property_type": "String"})
    api.property_groups.create(name=name, description=description, properties=properties)
    return name


def bound_events(api: EventSchemaClient, group: str) -> set[str]:
    found = api.property_groups.find_by_name(group)
    assert found is not None
    return {event.name for event in found.events}


def bind(api: EventSchemaClient, group: str, event: str) -> str:
    found = api.property_groups.find_by_name(group)
    assert found is not None
    schema = api.event_schemas.create(
        event_definition=api.event_definitions.get_by_name(event).id, property_group_id=found.id
    )
    return str(schema.id)


# --- unbinding and deleting ----------------------------------------------------------------------


def test_unbind_refuses_without_a_terminal_and_unbinds_with_yes(
    server: RunningSandbox, api: EventSchemaClient
) -> None:
    group = new_group(api)
    bind(api, group, "cart_viewed")
    bind(api, group, "search_performed")

    asked = piped(server, "unbind", "--group", group, "--events", "cart_viewed,search_performed")
    assert bound_events(api, group) == {"cart_viewed", "search_performed"}
    done = piped(server, "unbind", "-g", group, "-e", "cart_viewed,search_performed", "--yes")

    line = refused(asked)
    assert f"Unbind '{group}' from 'cart_viewed', 'search_performed'?" in line
    assert "nothing was deleted" in line
    assert done.returncode == 0, done.stderr
    assert bound_events(api, group) == set()


def test_schema_delete_and_group_delete_refuse_without_a_terminal(
    server: RunningSandbox, api: EventSchemaClient
) -> None:
    group = new_group(api, "id")
    schema_id = bind(api, group, "invite_sent")

    by_id = refused(piped(server, "schemas", "delete", schema_id))
    by_pair = refused(piped(server, "schemas", "delete", "-e", "invite_sent", "-g", group))
    whole = refused(piped(server, "groups", "delete", group))

    assert f"Delete event schema {schema_id}, which binds '{group}' to 'invite_sent'?" in by_id
    assert f"Unbind '{group}' from 'invite_sent'?" in by_pair
    assert f"Delete property group '{group}' with 2 properties and its 1 event binding?" in whole
    assert bound_events(api, group) == {"invite_sent"}


def test_a_person_at_a_terminal_is_asked_and_no_keeps_everything(
    server: RunningSandbox, api: EventSchemaClient
) -> None:
    group = new_group(api)
    bind(api, group, "trial_started")

    declined = at_terminal(server, "n", "schemas", "delete", "-e", "trial_started", "-g", group)
    assert bound_events(api, group) == {"trial_started"}
    accepted = at_terminal(server, "y", "schemas", "delete", "-e", "trial_started", "-g", group)

    question = f"Unbind '{group}' from 'trial_started'? The group and the event stay. [y/N]"
    assert question in declined.stderr
    assert declined.returncode == 1
    assert "cancelled, so nothing was deleted" in declined.stderr
    assert question in accepted.stderr
    assert accepted.returncode == 0, accepted.stderr
    assert "Deleted event schema" in accepted.stdout
    assert bound_events(api, group) == set()


def test_moving_a_schema_asks_first(server: RunningSandbox, api: EventSchemaClient) -> None:
    group, other = new_group(api), new_group(api)
    schema_id = bind(api, group, "onboarding_completed")

    asked = piped(server, "schemas", "update", schema_id, "--group", other)
    assert bound_events(api, other) == set()
    moved = piped(server, "schemas", "update", schema_id, "--group", other, "--yes", "--json")

    line = refused(asked)
    assert (
        f"Move event schema {schema_id} from '{group}' on 'onboarding_completed' to "
        f"'{other}' on 'onboarding_completed'?" in line
    )
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["group_name"] == other


# --- replacing properties ----------------------------------------------------------------------


def test_replacing_properties_names_the_ones_dropped(
    server: RunningSandbox, api: EventSchemaClient
) -> None:
    group = new_group(api, "order_id", "amount")

    asked = piped(server, "groups", "update", group, "-p", "order_id:String:required")
    kept = api.property_groups.find_by_name(group)
    added = piped(
        server,
        *("groups", "update", group, "-p", "order_id:String:required"),
        *("-p", "amount:String:required", "-p", "note:String", "-p", "coupon:String"),
    )
    replaced = piped(server, "groups", "update", group, "-p", "order_id:String", "--yes")

    line = refused(asked)
    assert f"Replace every property of group '{group}'? This removes 'amount', 'note'." in line
    assert "the group was not changed" in line
    assert kept is not None
    assert {p.name for p in kept.properties} == {"order_id", "amount", "note"}
    assert added.returncode == 0, added.stderr  # nothing dropped: nothing to ask
    assert replaced.returncode == 0, replaced.stderr
    after = api.property_groups.find_by_name(group)
    assert after is not None
    assert [p.name for p in after.properties] == ["order_id"]


# --- binding to an event in reject mode --------------------------------------------------------


def test_binding_to_a_reject_mode_event_says_which_events_will_be_dropped(
    server: RunningSandbox, api: EventSchemaClient
) -> None:
    group = new_group(api, "order_ref")  # checkout_completed is in reject mode in the demo

    bulk = piped(server, "bind", "--group", group, "--events", "checkout_completed,cart_viewed")
    single = piped(server, "schemas", "create", "-e", "checkout_completed", "-g", group)
    assert bound_events(api, group) == set()
    loose = piped(server, "bind", "--group", group, "--events", "cart_viewed")
    forced = piped(server, "schemas", "create", "-e", "checkout_completed", "-g", group, "--yes")

    drop = (
        "'checkout_completed' is in reject mode: its events lacking 'order_ref' (or with a "
        "value of another type) will be dropped."
    )
    assert drop in refused(bulk)
    assert "nothing was bound" in refused(bulk)
    assert f"Bind '{group}' to 'checkout_completed'? {drop}" in refused(single)
    assert loose.returncode == 0, loose.stderr  # an allow-mode event drops nothing
    assert forced.returncode == 0, forced.stderr
    assert bound_events(api, group) == {"cart_viewed", "checkout_completed"}


# --- ownership markers ---------------------------------------------------------------------------


def test_a_description_edit_keeps_the_plan_marker_and_prompts_name_the_plan(
    server: RunningSandbox, api: EventSchemaClient
) -> None:
    group = new_group(api, "id", description=f"Owned words\n\n{marker('web')}")
    bind(api, group, "payment_failed")

    edited = piped(server, "groups", "update", group, "-d", "New words")
    delete = refused(piped(server, "groups", "delete", group))
    unbind = refused(piped(server, "unbind", "-g", group, "-e", "payment_failed"))

    assert edited.returncode == 0, edited.stderr
    found = api.property_groups.find_by_name(group)
    assert found is not None
    assert found.description == f"New words\n\n{marker('web')}"
    assert owner_plan(found.description) == "web"
    for line in (delete, unbind):
        assert f"Property group '{group}' is managed by plan web." in line
    plan = parse_plan(
        "version: 1\nplan_id: web\nproperty_groups:\n"
        f"  {group}:\n    description: Owned words\n"
        "    properties: {id: {type: String, required: true}, note: {type: String}}\n",
        "<plan>",
    )
    [change] = [c for c in compute_plan(api, plan).changes if isinstance(c, UpdateGroup)]
    assert change.adopt is False  # the plan still owns it: no "(takes ownership)"
