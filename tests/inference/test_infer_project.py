"""``infer`` against projects as teams have them: groups made by hand, a plan a person wrote,
many events, sampling, the async client, and every way a run can be refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from query_counting import counting_client
from sandbox_clients import demo_client as connect

from eventschema_tools import AsyncEventSchemaClient, EventSchemaClient
from eventschema_tools.errors import BadRequestError, InvalidInputError, NoEventsError
from eventschema_tools.inference import infer_options, infer_plan, infer_plan_async
from eventschema_tools.sandbox import DEMO_API_KEY, DEMO_PROJECT_TOKEN, RunningSandbox, run_sandbox
from eventschema_tools.tracking_plan import compute_plan
from eventschema_tools.tracking_plan.changes import CreateBinding, CreateGroup
from eventschema_tools.tracking_plan.file import PlanFileError, load_plan, parse_plan
from eventschema_tools.tracking_plan.lint import has_errors, lint_file

EXAMPLE = Path(__file__).parents[2] / "examples" / "tracking-plan.yaml"


def test_groups_made_by_hand_are_reused_where_events_carry_them(
    demo_day: RunningSandbox,
) -> None:
    with connect(demo_day.url) as client:
        inference = infer_plan(client, infer_options(days=1))
        existing = {group.name: group for group in inference.groups if group.source == "existing"}
        # "Subscription" (plan, billing_period, seats...) is what the subscription events carry.
        assert "Subscription" in existing
        assert "subscription_started" in existing["Subscription"].events
        assert "Subscription" in inference.plan.events["subscription_started"].groups
        # Reused as it is: planning the proposal changes nothing about the group.
        changes = compute_plan(client, inference.plan, create_events=True)
    touched = [
        change for change in changes.changes if getattr(change, "group", "") == "Subscription"
    ]
    assert all(isinstance(change, CreateBinding) for change in touched)
    assert "Subscription" in inference.text


def test_an_existing_plan_gets_additions_and_keeps_what_a_person_wrote(
    demo_day: RunningSandbox,
) -> None:
    with connect(demo_day.url) as client:
        inference = infer_plan(client, infer_options(days=1, plan=EXAMPLE))
    example = load_plan(EXAMPLE)
    assert inference.changes is not None
    kinds = {change.action for change in inference.changes.changes}
    assert kinds <= {"create_group", "create_event", "create_binding"}, kinds
    created = {
        change.group for change in inference.changes.changes if isinstance(change, CreateGroup)
    }
    assert created.isdisjoint(example.property_groups)
    # The plan's groups and events are all still there, untouched.
    for name, group in example.property_groups.items():
        assert inference.plan.property_groups[name] == group
    for name, event in example.events.items():
        assert inference.plan.events[name].groups[: len(event.groups)] == event.groups
    # What the traffic adds: the export format, and the events nobody planned.
    report = inference.plan.events["report_exported"].groups
    assert any("format" in inference.plan.property_groups[group].properties for group in report)
    assert {"onboarding_tip_dismissed", "legacy_export_clicked"} <= set(inference.plan.events)
    # Where the traffic disagrees with the plan, it says so instead of rewriting it.
    assert any(note.startswith("member_invited.seats") for note in inference.notes)
    assert any(note.startswith("user_logged_in.workspace_plan") for note in inference.notes)
    # The file keeps its comments and reads back as the proposed plan.
    assert "# Tracking plan of a B2B SaaS product" in inference.text
    assert parse_plan(inference.text) == inference.plan


@pytest.mark.anyio
async def test_the_async_client_infers_the_same_plan(demo_day: RunningSandbox) -> None:
    options = infer_options(days=1)
    with connect(demo_day.url) as client:
        expected = infer_plan(client, options)
    async with AsyncEventSchemaClient(
        api_key=DEMO_API_KEY, project_id=1, host=demo_day.url, query_rate_limit="off"
    ) as client:
        got = await infer_plan_async(client, options)
    assert got.plan == expected.plan
    assert got.text == expected.text
    assert got.queries == expected.queries


def test_a_sample_is_read_with_posthogs_sample_and_said_so(demo_day: RunningSandbox) -> None:
    with counting_client(demo_day.url) as (client, queries):
        inference = infer_plan(client, infer_options(days=1, sample=0.5))
    assert inference.sample_rate == 0.5
    assert not inference.sampled_automatically
    assert sum("SAMPLE 1/2" in query for query in queries) == inference.queries - 1
    assert any("sample" in note for note in inference.notes)
    assert 0 < sum(item.volume for item in inference.events) < inference.stored_events


@pytest.fixture(scope="module")
def busy_project() -> Iterator[RunningSandbox]:
    """A project with 450 kinds of events: three profile queries' worth."""
    with run_sandbox(rate_limiting=False) as running:
        moment = datetime.now(UTC) - timedelta(hours=1)
        batch = [
            {
                "event": f"screen_{index:03d}_viewed",
                "distinct_id": f"user-{copy}",
                "properties": {"screen": f"s{index}", "position": copy},
                "timestamp": moment.isoformat(),
            }
            for index in range(450)
            for copy in range(2)
        ]
        answer = httpx.post(
            f"{running.url}/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch}
        )
        assert answer.status_code == 200, answer.text
        yield running


def test_many_events_take_one_query_per_200(busy_project: RunningSandbox) -> None:
    with counting_client(busy_project.url) as (client, queries):
        inference = infer_plan(client, infer_options(days=1))
    assert len(inference.events) == 450
    assert inference.query_bound == 4
    assert len(queries) == inference.queries == 4
    shared = [group for group in inference.groups if group.source == "shared"]
    assert len(shared) == 1
    assert len(shared[0].events) == 450


class _Tampering(httpx.HTTPTransport):
    """Sends a query the server cannot run: a real HogQL error from the sandbox."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/query/") and b"JSONExtractKeys" in request.content:
            body = request.content.replace(b"JSONExtractKeys", b"JSONExtractKeyz")
            request = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            request.headers["Content-Length"] = str(len(body))
        return super().handle_request(request)


def test_a_hogql_error_from_the_server_is_raised_as_it_came(demo_day: RunningSandbox) -> None:
    with (
        httpx.Client(transport=_Tampering(), timeout=60) as http,
        EventSchemaClient(
            api_key=DEMO_API_KEY,
            project_id=1,
            host=demo_day.url,
            http_client=http,
            query_rate_limit="off",
            max_retries=0,
        ) as client,
        pytest.raises(BadRequestError, match="JSONExtractKeyz"),
    ):
        infer_plan(client, infer_options(days=1))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"since": "2999-01-01"}, "starts in the future"),
        ({"days": 0}, "bad days 0"),
        ({"days": 1, "since": "2026-01-01"}, "either days or since"),
        ({"since": "yesterday"}, "bad since 'yesterday'"),
        ({"sample": 1.5}, "bad sample rate 1.5"),
        ({"required_share": 0}, "bad required share 0"),
        ({"min_volume": 0}, "bad min volume 0"),
        ({"events": " , "}, "events is empty"),
        ({"plan_id": "no spaces"}, "plan id 'no spaces' is not valid"),
        ({"plan": "plan.yaml", "plan_text": "version: 1"}, "either a plan file or plan_text"),
    ],
)
def test_bad_settings_are_refused_before_any_request(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        infer_options(**settings)


def test_an_unreadable_plan_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match=r"missing\.yaml"):
        infer_options(plan=tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nevents: [\n", encoding="utf-8")
    with pytest.raises(PlanFileError):
        infer_options(plan=broken)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"events": ["nothing_*"]}, r"no event in the window .* matches nothing_\*"),
        ({"min_volume": 10_000}, "below --min-volume 10,000"),
        ({"since": "2001-01-01", "until": "2001-01-02"}, "no events in the window 2001-01-01"),
    ],
)
def test_nothing_to_infer_is_one_clear_error(
    demo_day: RunningSandbox, settings: dict[str, Any], message: str
) -> None:
    with (
        counting_client(demo_day.url) as (client, queries),
        pytest.raises(NoEventsError, match=message),
    ):
        infer_plan(client, infer_options(**settings))
    assert len(queries) == 1


def test_names_a_plan_cannot_hold_are_left_out_with_a_reason(tmp_path: Path) -> None:
    moment = datetime.now(UTC) - timedelta(hours=1)

    def sent(name: str, properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "event": name,
            "distinct_id": "user-1",
            "properties": properties,
            "timestamp": moment.isoformat(),
        }

    batch = [sent("signup", {"plan": "team", "x" * 250: 1}) for _ in range(5)]
    batch += [sent("signup", {"Plan": "team"}), sent("Signup", {"plan": "team"})]
    with run_sandbox(rate_limiting=False) as running:
        answer = httpx.post(
            f"{running.url}/batch/", json={"api_key": DEMO_PROJECT_TOKEN, "batch": batch}
        )
        assert answer.status_code == 200, answer.text
        with connect(running.url) as client:
            inference = infer_plan(client, infer_options(days=1))
    assert set(inference.plan.events) == {"signup"}
    assert list(inference.plan.property_groups["signup"].properties) == ["plan"]
    skipped = {item.event: item.reason for item in inference.skipped}
    assert "only by case" in skipped["Signup"]
    assert any("'Plan'" in note and "only by case" in note for note in inference.notes)
    assert any("cannot hold" in note for note in inference.notes)
    path = tmp_path / "plan.yaml"
    path.write_text(inference.text, encoding="utf-8")
    assert not has_errors(lint_file(path))


def test_a_busy_window_is_sampled_automatically_and_said_so(
    demo_day: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same decision as above five million events, at the demo day's size.
    monkeypatch.setattr("eventschema_tools.inference.run.AUTO_SAMPLE_EVENTS", 1000)
    monkeypatch.setattr("eventschema_tools.inference.run.SAMPLE_TARGET_EVENTS", 300)
    with counting_client(demo_day.url) as (client, queries):
        inference = infer_plan(client, infer_options(days=1))
    assert inference.sampled_automatically
    assert inference.sample_rate is not None
    assert inference.sample_rate <= 0.2
    assert all("SAMPLE" in query for query in queries[1:])
    assert any(
        f"of the window's {inference.stored_events:,} events, chosen automatically" in note
        for note in inference.notes
    )
    # With a sample, the rarest events may not be in it: they are listed, not lost silently.
    read = {item.event for item in inference.events} | {item.event for item in inference.skipped}
    assert "subscription_cancelled" in read
