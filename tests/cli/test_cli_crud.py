"""`eventschema schemas|groups|events` end to end against a loopback sandbox (CliRunner)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import typer
from typer.testing import CliRunner, Result

from eventschema_tools.cli.main import app
from eventschema_tools.sandbox import DEMO_API_KEY, ApiKey, RunningSandbox, run_sandbox


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningSandbox]:
    keys = (ApiKey(DEMO_API_KEY), ApiKey("phx_reader", ("event_definition:read",)))
    with run_sandbox(rate_limiting=False, seed="demo", api_keys=keys) as running:
        yield running


@pytest.fixture
def env(demo_server: RunningSandbox) -> dict[str, str]:
    return {
        "POSTHOG_HOST": demo_server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": DEMO_API_KEY,
        "EVENTSCHEMA_RATE_LIMIT": "off",
        "EVENTSCHEMA_MAX_RETRIES": "0",
        "COLUMNS": "200",
    }


@pytest.fixture
def run(env: dict[str, str]) -> Any:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **extra_env: str | None) -> Result:
        result = runner.invoke(app, list(args), env={**env, **extra_env}, input=input)
        assert "Traceback" not in result.output
        assert "Traceback" not in result.stderr
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), repr(result.exception)
        return result

    return invoke


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def one_error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid4().hex[:8]}"


class TestSchemas:
    def test_list_as_table_and_json(self, run: Any) -> None:
        table = run("schemas", "list")
        rows = ok_json(run("schemas", "list", "--json"))

        assert table.exit_code == 0
        assert "Event schemas" in table.stdout
        assert "checkout_completed" in table.stdout
        assert {"id", "event_id", "event_name", "group_id", "group_name", "properties"} <= set(
            rows[0]
        )
        assert all(row["id"] in table.stdout for row in rows)

    def test_list_of_one_event_by_name(self, run: Any) -> None:
        event = ok_json(run("events", "show", "checkout_completed", "--json"))["event"]

        rows = ok_json(run("schemas", "list", "--event", "checkout_completed", "--json"))

        assert rows
        assert {row["event_id"] for row in rows} == {event["id"]}

    def test_create_update_delete_by_names(self, run: Any) -> None:
        first, second = _name("first"), _name("second")
        ok_json(run("groups", "create", first, "--json"))
        ok_json(run("groups", "create", second, "--json"))
        event = ok_json(run("events", "show", "checkout_started", "--json"))["event"]

        outcome = ok_json(
            run("schemas", "create", "--event", "checkout_started", "--group", first, "--json")
        )
        schema = outcome["binding"]
        moved = ok_json(
            run("schemas", "update", schema["id"], "--group", second, "--yes", "--json")
        )
        refused = run("schemas", "delete", schema["id"], input="n\n")  # no terminal: no answer
        deleted = ok_json(run("schemas", "delete", schema["id"], "--yes", "--json"))

        assert outcome["created"] is True
        assert (schema["event_id"], schema["event_name"]) == (event["id"], "checkout_started")
        assert schema["group_name"] == first
        assert (moved["id"], moved["group_name"]) == (schema["id"], second)
        assert "nothing was deleted; pass --yes" in one_error_line(refused, 2)
        assert deleted == {
            "deleted": True,
            "id": schema["id"],
            "event_name": None,
            "group_name": None,
        }
        remaining = ok_json(run("schemas", "list", "--event", "checkout_started", "--json"))
        assert schema["id"] not in {row["id"] for row in remaining}

    def test_create_prints_a_sentence_and_delete_asks_first(self, run: Any) -> None:
        group = _name("asked")
        run("groups", "create", group)

        created = run("schemas", "create", "-e", "user_signed_up", "-g", group)
        schema_id = ok_json(run("schemas", "list", "-e", "user_signed_up", "--json"))[0]["id"]
        asked = run("schemas", "delete", schema_id, input="y\n")  # piped: not a terminal
        confirmed = run("schemas", "delete", schema_id, "--yes")

        assert created.exit_code == 0
        assert f"Bound '{group}' to 'user_signed_up'" in created.stdout
        question = f"Delete event schema {schema_id}, which binds '{group}' to 'user_signed_up'?"
        assert question in one_error_line(asked, 2)
        assert confirmed.exit_code == 0
        assert f"Deleted event schema {schema_id}." in confirmed.stdout

    def test_binding_the_same_pair_twice_reports_that_it_exists(self, run: Any) -> None:
        group = _name("twice")
        run("groups", "create", group)
        first = ok_json(run("schemas", "create", "-e", "invite_sent", "-g", group, "--json"))

        again = run("schemas", "create", "-e", "invite_sent", "-g", group)
        again_json = ok_json(run("schemas", "create", "-e", "invite_sent", "-g", group, "--json"))

        assert again.exit_code == 0, again.stderr
        assert again.stderr == ""
        schema_id = first["binding"]["id"]
        assert f"Already bound '{group}' to 'invite_sent' (schema {schema_id}): exists" in (
            again.stdout
        )
        assert (again_json["created"], again_json["binding"]) == (False, first["binding"])
        listed = ok_json(run("schemas", "list", "-e", "invite_sent", "--json"))
        assert [row["id"] for row in listed if row["group_name"] == group] == [schema_id]

    def test_delete_by_event_and_group_names(self, run: Any) -> None:
        group = _name("pair")
        run("groups", "create", group)
        schema = ok_json(run("schemas", "create", "-e", "cart_viewed", "-g", group, "--json"))
        schema_id = schema["binding"]["id"]

        asked = run("schemas", "delete", "-e", "cart_viewed", "-g", group, input="y\n")
        deleted = run("schemas", "delete", "-e", "cart_viewed", "-g", group, "--yes")
        again = run("schemas", "delete", "-e", "cart_viewed", "-g", group, "--yes")
        not_asked = run("schemas", "delete", "-e", "cart_viewed", "-g", group, input="y\n")

        assert f"Unbind '{group}' from 'cart_viewed'?" in one_error_line(asked, 2)
        assert deleted.exit_code == 0
        assert f"Deleted event schema {schema_id}." in deleted.stdout
        assert f"no event schema '{group} on cart_viewed'" in one_error_line(again, 1)
        # A pair that is not bound fails before the question.
        assert "Unbind" not in not_asked.stdout
        assert f"no event schema '{group} on cart_viewed'" in one_error_line(not_asked, 1)

    def test_delete_by_names_as_json_names_the_pair(self, run: Any) -> None:
        group = _name("pair_json")
        run("groups", "create", group)
        schema = ok_json(run("schemas", "create", "-e", "cart_viewed", "-g", group, "--json"))

        deleted = ok_json(
            run("schemas", "delete", "-e", "cart_viewed", "-g", group, "-y", "--json")
        )

        assert deleted == {
            "deleted": True,
            "id": schema["binding"]["id"],
            "event_name": "cart_viewed",
            "group_name": group,
        }

    @pytest.mark.parametrize(
        "args",
        [
            pytest.param([], id="nothing"),
            pytest.param(["-e", "cart_viewed"], id="event-only"),
            pytest.param([str(uuid4()), "-g", "Checkout"], id="id-and-group"),
        ],
    )
    def test_delete_needs_an_id_or_a_pair(self, run: Any, args: list[str]) -> None:
        line = one_error_line(run("schemas", "delete", *args, "--yes"), 2)

        assert "give the schema ID, or both --event and --group" in line

    def test_update_without_changes_is_a_usage_error(self, run: Any) -> None:
        result = run("schemas", "update", str(uuid4()))

        assert "nothing to update" in one_error_line(result, 2)

    def test_malformed_schema_id_is_rejected_before_the_network(self, run: Any) -> None:
        result = run("schemas", "delete", "not-an-id", "--yes")

        assert "must be a UUID" in one_error_line(result, 2)


class TestGroups:
    def test_create_from_flags_show_by_name_and_id(self, run: Any) -> None:
        name = _name("billing")

        created = ok_json(
            run(
                "groups",
                "create",
                name,
                "-d",
                "Plan and seats",
                "-p",
                "plan:string:required",
                "--property",
                "seats:Numeric",
                "-p",
                "utm:source:String",
                "--json",
            )
        )
        by_name = ok_json(run("groups", "show", name, "--json"))
        by_id = run("groups", "show", created["id"])

        props = {p["name"]: (p["type"], p["required"]) for p in created["properties"]}
        assert props == {
            "plan": ("String", True),
            "seats": ("Numeric", False),
            "utm:source": ("String", False),
        }
        assert created["description"] == "Plan and seats"
        assert by_name == created
        assert by_id.exit_code == 0
        assert name in by_id.stdout
        assert "bound to events: none" in by_id.stdout

    def test_create_from_a_yaml_file(self, run: Any, tmp_path: Path) -> None:
        name = _name("from_yaml")
        group_file = tmp_path / "group.yaml"
        group_file.write_text(
            f"name: {name}\n"
            "description: Properties of every order\n"
            "properties:\n"
            "  - {name: order_id, property_type: String, is_required: true}\n"
            "  - {name: amount, property_type: Numeric, is_required: true}\n"
            "  - name: coupon\n"
            "    property_type: String\n"
            "    description: Code typed at checkout\n",
            encoding="utf-8",
        )

        created = ok_json(run("groups", "create", "-f", str(group_file), "--json"))

        assert (created["name"], created["description"]) == (name, "Properties of every order")
        assert [(p["name"], p["required"], p["description"]) for p in created["properties"]] == [
            ("amount", True, ""),
            ("coupon", False, "Code typed at checkout"),
            ("order_id", True, ""),
        ]

    def test_flags_win_over_the_file(self, run: Any, tmp_path: Path) -> None:
        name = _name("flags_win")
        group_file = tmp_path / "group.json"
        group_file.write_text(
            json.dumps({"name": "ignored", "description": "from file", "properties": []}),
            encoding="utf-8",
        )

        created = ok_json(
            run("groups", "create", name, "-f", str(group_file), "-p", "plan:String", "--json")
        )

        assert (created["name"], created["description"]) == (name, "from file")
        assert [p["name"] for p in created["properties"]] == ["plan"]

    def test_show_json_edited_and_fed_back_updates_the_group(
        self, run: Any, tmp_path: Path
    ) -> None:
        name = _name("round_trip")
        run("groups", "create", name, "-p", "plan:String")
        shown = ok_json(run("groups", "show", name, "--json"))
        assert shown["properties"][0]["type"] == "String"  # the shown shape, read back as is
        shown["properties"].append({"name": "seats", "property_type": "Numeric"})
        saved = tmp_path / "group.json"
        saved.write_text(json.dumps(shown), encoding="utf-8")

        updated = ok_json(run("groups", "update", name, "-f", str(saved), "--json"))

        assert updated["id"] == shown["id"]
        assert [p["name"] for p in updated["properties"]] == ["plan", "seats"]

    def test_update_renames_and_flags_replace_the_property_list(self, run: Any) -> None:
        name, new_name = _name("old"), _name("new")
        run("groups", "create", name, "-p", "a:String", "-p", "b:String")

        renamed = ok_json(run("groups", "update", name, "--name", new_name, "--json"))
        replaced = ok_json(
            run("groups", "update", new_name, "-p", "c:Boolean:required", "--yes", "--json")
        )

        assert renamed["name"] == new_name
        assert [p["name"] for p in renamed["properties"]] == ["a", "b"]
        assert [(p["name"], p["required"]) for p in replaced["properties"]] == [("c", True)]

    def test_list_json_and_delete_with_confirmation(self, run: Any) -> None:
        name = _name("doomed")
        created = ok_json(run("groups", "create", name, "--json"))
        run("schemas", "create", "-e", "search_performed", "-g", name)

        listed = ok_json(run("groups", "list", "--json"))
        declined = run("groups", "delete", name, input="\n")
        deleted = ok_json(run("groups", "delete", name, "--yes", "--json"))

        assert created["id"] in {group["id"] for group in listed}
        line = one_error_line(declined, 2)  # no terminal to ask on
        assert "nothing was deleted; pass --yes" in line
        assert "and its 1 event binding?" in line
        assert deleted == {
            "deleted": True,
            "id": created["id"],
            "name": name,
            "events": ["search_performed"],
        }
        assert "no property group" in one_error_line(run("groups", "show", name), 1)

    def test_unknown_group_name_suggests_close_names(self, run: Any) -> None:
        result = run("groups", "show", "Checkuot")

        line = one_error_line(result, 1)
        assert "no property group 'Checkuot'" in line
        assert "'Checkout'" in line
        assert result.stdout == ""

    @pytest.mark.parametrize(
        ("args", "code", "message"),
        [
            pytest.param(["-p", "plan"], 2, "NAME:TYPE", id="no-type"),
            pytest.param(["-p", "plan:Integer"], 2, "did you mean 'Numeric'?", id="unknown-type"),
            pytest.param(["-p", ":String"], 2, "NAME:TYPE", id="no-name"),
            pytest.param(["-p", "a:String", "-p", "a:Numeric"], 2, "more than once", id="dup"),
            pytest.param(["-p", f"{'x' * 201}:String"], 2, "200 characters", id="long-name"),
        ],
    )
    def test_bad_property_flags(self, run: Any, args: list[str], code: int, message: str) -> None:
        result = run("groups", "create", _name("bad"), *args)

        assert result.exit_code == code
        assert message in result.stderr

    def test_create_without_a_name_is_a_usage_error(self, run: Any) -> None:
        assert "give the group a name" in one_error_line(run("groups", "create"), 2)

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            pytest.param("name: [unclosed", "not valid YAML or JSON", id="syntax"),
            pytest.param("- just\n- a list\n", "expected a mapping", id="not-a-mapping"),
            pytest.param("name: g\nproprties: []\n", "unknown keys proprties", id="typo"),
            pytest.param(
                "name: g\nproperties: {plan: {type: String}}\n",
                "eventschema apply",
                id="tracking-plan-shape",
            ),
            pytest.param("name: g\nproperties: [plan]\n", "each entry is a mapping", id="names"),
        ],
    )
    def test_bad_group_file_is_one_error_line(
        self, run: Any, tmp_path: Path, content: str, message: str
    ) -> None:
        path = tmp_path / "group.yaml"
        path.write_text(content, encoding="utf-8")

        line = one_error_line(run("groups", "create", "-f", str(path)), 1)

        assert str(path) in line
        assert message in line

    def test_a_misspelt_property_field_in_a_file_is_rejected_before_sending(
        self, run: Any, tmp_path: Path
    ) -> None:
        path = tmp_path / "group.yaml"
        path.write_text(
            "name: g\nproperties:\n  - {name: a, property_type: String, requierd: true}\n",
            encoding="utf-8",
        )

        line = one_error_line(run("groups", "create", "-f", str(path)), 2)

        assert "property 'a': unknown field 'requierd'; did you mean 'required'?" in line

    def test_missing_file_is_a_usage_error(self, run: Any, tmp_path: Path) -> None:
        result = run("groups", "create", "-f", str(tmp_path / "nope.yaml"))

        assert result.exit_code == 2
        assert "does not exist" in result.stderr


class TestEvents:
    def test_list_with_search_as_json_and_table(self, run: Any) -> None:
        rows = ok_json(run("events", "list", "--search", "checkout", "--json"))
        table = run("events", "list", "-s", "checkout")

        assert sorted(row["name"] for row in rows) == ["checkout_completed", "checkout_started"]
        assert "checkout_completed" in table.stdout
        assert "user_signed_up" not in table.stdout

    def test_show_by_name_and_by_id_lists_bound_groups(self, run: Any) -> None:
        by_name = ok_json(run("events", "show", "checkout_completed", "--json"))
        by_id = ok_json(run("events", "show", by_name["event"]["id"], "--json"))
        table = run("events", "show", "checkout_completed")

        assert by_name == by_id
        assert by_name["event"]["name"] == "checkout_completed"
        groups = {schema["group_name"] for schema in by_name["schemas"]}
        assert "Checkout" in groups
        assert set(by_name["event"]["property_groups"]) == groups
        assert table.exit_code == 0
        assert "Checkout" in table.stdout

    def test_unknown_event_suggests_close_names(self, run: Any) -> None:
        line = one_error_line(run("events", "show", "checkout_complete"), 1)

        assert "no event 'checkout_complete'" in line
        assert "'checkout_completed'" in line

    def test_unknown_event_id_is_one_error_line(self, run: Any) -> None:
        line = one_error_line(run("events", "show", str(uuid4())), 1)

        assert "no event" in line


class TestConnectionErrors:
    @pytest.mark.parametrize("unset", ["", None], ids=["empty", "absent"])
    def test_missing_settings_exit_3(self, run: Any, unset: str | None) -> None:
        result = run("groups", "list", POSTHOG_PERSONAL_API_KEY=unset, POSTHOG_PROJECT_ID=unset)

        line = one_error_line(result, 3)
        assert "POSTHOG_PERSONAL_API_KEY" in line
        assert "POSTHOG_PROJECT_ID" in line

    def test_unknown_key_exits_3_without_echoing_it(self, run: Any) -> None:
        result = run("events", "list", POSTHOG_PERSONAL_API_KEY="phx_not_a_real_key_123")

        line = one_error_line(result, 3)
        assert "HTTP 401" in line
        assert "phx_not_a_real_key_123" not in result.stdout + result.stderr

    def test_missing_scope_exits_3_and_names_the_scope(self, run: Any) -> None:
        result = run("groups", "create", _name("denied"), POSTHOG_PERSONAL_API_KEY="phx_reader")

        assert "add the scope 'event_definition:write'" in one_error_line(result, 3)

    def test_bad_host_is_a_configuration_error(self, run: Any) -> None:
        result = run("schemas", "list", POSTHOG_HOST="ftp://nowhere")

        assert "host must be" in one_error_line(result, 3)

    def test_unreachable_host_is_an_error_not_a_traceback(self, run: Any) -> None:
        result = run("schemas", "list", POSTHOG_HOST="http://127.0.0.1:9")

        line = one_error_line(result, 1)
        assert "cannot reach PostHog at http://127.0.0.1:9: connection refused" in line
        assert "POSTHOG_HOST" in line

    def test_unknown_command_and_option_are_usage_errors(self, run: Any) -> None:
        assert run("schemas", "frobnicate").exit_code == 2
        assert run("groups", "list", "--colour").exit_code == 2


def _root_options() -> set[str]:
    command = typer.main.get_command(app)
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


@pytest.mark.skipif(
    not {"--host", "--project", "--api-key"} <= _root_options(),
    reason="the root --host/--project/--api-key options are not in eventschema_tools.cli.main yet",
)
def test_root_connection_options_win_over_the_environment(
    demo_server: RunningSandbox, env: dict[str, str]
) -> None:
    wrong_env = {**env, "POSTHOG_HOST": "http://127.0.0.1:9", "POSTHOG_PERSONAL_API_KEY": "phx_no"}
    args = ["--host", demo_server.url, "--project", "1", "--api-key", DEMO_API_KEY]

    result = CliRunner().invoke(app, [*args, "groups", "list", "--json"], env=wrong_env)

    assert result.exit_code == 0, result.stderr
    assert "Checkout" in {group["name"] for group in json.loads(result.stdout)}
