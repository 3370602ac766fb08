"""Operators: audit event schemas, bind or unbind many pairs, plan or apply a tracking plan,
infer a tracking plan from live events.

Each operator turns its parameters into one call of the core and returns the result as plain
JSON (``model_dump(mode="json")``): it reads well in the XCom tab and downstream tasks can use
it without any deserialization setting. The result is also pushed under the operator's
``result_key`` *before* the task fails, so a failed task still shows what happened.

Parameters given as plain values are checked when the DAG is parsed; templated ones when the
task starts. Either way a bad parameter fails the task (without retries) before any request.

Example::

    from eventschema_tools.airflow_plugin.operators import EventSchemaAuditOperator

    audit = EventSchemaAuditOperator(
        task_id="audit", plan_path="/repo/tracking-plan.yaml", window="24h", fail_on="error"
    )
"""

from __future__ import annotations

import ast
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from eventschema_tools._files import write_atomically
from eventschema_tools.airflow_plugin._alerts import (
    NOTIFY_TEMPLATE_FIELDS,
    check_notify,
    prepare_alerts,
    send_alerts,
)
from eventschema_tools.airflow_plugin._params import (
    as_names,
    bad_parameters_fail_the_task,
    check_if_final,
    is_final,
)
from eventschema_tools.airflow_plugin._sdk import (
    AirflowException,
    AirflowFailException,
    BaseOperator,
    Context,
    XComArg,
)
from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
from eventschema_tools.airflow_plugin.links import EventSchemaPageLink, publish_schema_page
from eventschema_tools.audit.model import (
    AuditReport,
    parse_kinds,
    parse_sample,
    parse_severity,
    parse_window,
)
from eventschema_tools.audit.report import render_markdown
from eventschema_tools.audit.run import AuditOptions, run_audit
from eventschema_tools.audit.run import audit_options as audit_settings
from eventschema_tools.audit.thresholds import Thresholds
from eventschema_tools.client import EventSchemaClient
from eventschema_tools.errors import (
    APIConnectionError,
    EventSchemaError,
    InternalServerError,
    InvalidInputError,
    RateLimitError,
)
from eventschema_tools.inference import Inference, InferOptions, infer_options, infer_plan
from eventschema_tools.inference.options import DEFAULT_MIN_VOLUME, DEFAULT_REQUIRED_SHARE
from eventschema_tools.models import parse_input
from eventschema_tools.tracking_plan import DEFAULT_CONCURRENCY, ApplyReport, apply, compute_plan
from eventschema_tools.tracking_plan.bulk import (
    Pair,
    bind,
    pairs_for_group,
    parse_pairs_csv,
    unbind,
)
from eventschema_tools.tracking_plan.file import load_plan
from eventschema_tools.tracking_plan.impact import FailOn, Impact, parse_fail_on

__all__ = [
    "ApplyTrackingPlanOperator",
    "BulkBindEventSchemasOperator",
    "EventSchemaAuditOperator",
    "InferTrackingPlanOperator",
]


class _PostHogOperator(BaseOperator):
    """What the operators share: the connection, the project, the result XCom and the link."""

    template_fields: Collection[str] = ("posthog_conn_id", "project_id")
    operator_extra_links = (EventSchemaPageLink(),)
    ui_color = "#f9bd2b"
    result_key: ClassVar[str]

    def __init__(
        self,
        *,
        posthog_conn_id: str = EventSchemaHook.default_conn_name,
        project_id: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id

    def client(self) -> EventSchemaClient:
        """A client for the task's connection and project."""
        return EventSchemaHook(self.posthog_conn_id, project_id=self.project_id).get_conn()

    def publish(
        self, context: Context, client: EventSchemaClient, result: Any, event: str | None = None
    ) -> None:
        """Push the result under ``result_key`` and the link to ``event``'s schema page."""
        context["ti"].xcom_push(key=self.result_key, value=result)
        publish_schema_page(context, client, event)


class EventSchemaAuditOperator(_PostHogOperator):
    """Run schema audits; fail the task when a finding reaches ``fail_on``.

    The report (:class:`~eventschema_tools.audit.model.AuditReport` as JSON) is the task's
    return value and is also pushed under ``audit_report`` before a failure. The "PostHog
    schema" link opens the page of the event with the most severe finding.

    Args:
        plan_path: Tracking-plan file: needed for ``drift``; with it, conformance checks the
            plan's schemas and value rules instead of the live project's.
        generated_path: Code from ``eventschema codegen`` (its folder, module or manifest):
            ``drift`` also reports where PostHog's schemas differ from what the code expects
            (``docs/codegen.md#drift``); drift then needs no plan.
        kinds: Audits to run, a list or ``"drift,hygiene"``: ``drift``, ``hygiene``,
            ``conformance``, ``enforcement``, ``volume``, ``privacy``. Default: all but
            ``privacy`` (``drift`` only with a plan or generated code).
        window: How far back to look at live events: ``30m``, ``24h``, ``7d``...
        thresholds: The rates at which findings become warnings or errors: a mapping shaped like
            a thresholds file, or the path of one (YAML or JSON).
        fail_on: The lowest severity that fails the audit: ``warning``, ``error`` or ``info``.
        history_dir: Keep each report there and show the change since the previous one.
        report_path: Also write the report as Markdown to this file.
        sample: Read this share of the people with HogQL's ``SAMPLE`` (``0.1``); rates then
            carry 95 % intervals. Default: every event. Offending values in the XCom are always
            fingerprints.
        notify: Keep findings as incidents and message each new, escalated and resolved one
            once: ``slack``, ``webhook``, ``github``, ``email``, ``posthog`` (back into the
            audited project: ``docs/alerts.md``). Their
            settings come from the ``notify_conn_id`` connection, else the worker's
            ``EVENTSCHEMA_*`` variables.
        notify_conn_id: A connection whose extras hold ``slack_webhook_url``, ``webhook_url``,
            ``webhook_secret``, ``github_repo``, ``github_token``, ``github_api_url`` and
            ``smtp_host``, ``smtp_port``, ``smtp_security``, ``smtp_user``, ``smtp_password``,
            ``smtp_from``, ``smtp_to`` (masked in logs).
        incidents_path: The incidents file (default: ``EVENTSCHEMA_INCIDENTS``, else
            ``.eventschema/incidents.sqlite3``); keep it on storage every run sees.
        routes_path: A routes file: which targets each owner's incidents go to (owners from
            the plan's ``owner:`` entries; ``docs/alerts.md#routing``).
        fail_task: Fail the task when the audit fails (default). With False the task succeeds
            and the report's ``passed`` says how the audit went.
        posthog_conn_id: The ``posthog`` connection.
        project_id: A project to audit instead of the connection's.
        **kwargs: ``BaseOperator`` arguments (``task_id``, ``retries``...).
    """

    template_fields: Collection[str] = (
        *_PostHogOperator.template_fields,
        "plan_path",
        "generated_path",
        "kinds",
        "window",
        "thresholds",
        "fail_on",
        "history_dir",
        "report_path",
        "sample",
        *NOTIFY_TEMPLATE_FIELDS,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"thresholds": "json"}
    result_key = "audit_report"

    def __init__(
        self,
        *,
        plan_path: str | None = None,
        generated_path: str | None = None,
        kinds: str | Sequence[str] | None = None,
        window: str = "24h",
        thresholds: Mapping[str, Any] | str | None = None,
        fail_on: str = "error",
        history_dir: str | None = None,
        report_path: str | None = None,
        sample: float | str | None = None,
        notify: str | Sequence[str] | None = None,
        notify_conn_id: str | None = None,
        incidents_path: str | None = None,
        routes_path: str | None = None,
        fail_task: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan_path = plan_path
        self.generated_path = generated_path
        self.sample = sample
        self.notify = notify
        self.notify_conn_id = notify_conn_id
        self.incidents_path = incidents_path
        self.routes_path = routes_path
        self.kinds = kinds
        self.window = window
        self.thresholds = thresholds
        self.fail_on = fail_on
        self.history_dir = history_dir
        self.report_path = report_path
        self.fail_task = fail_task
        check_if_final(kinds, parse_kinds)
        check_if_final(window, parse_window)
        check_if_final(fail_on, parse_severity)
        check_if_final(thresholds, _thresholds)
        check_if_final(sample, parse_sample)
        check_if_final(notify, check_notify)

    def execute(self, context: Context) -> dict[str, Any]:
        """Audit the project, publish the report, write it as Markdown, fail if it failed."""
        with bad_parameters_fail_the_task():
            options = self._settings()
            alerts = prepare_alerts(
                self.notify, self.notify_conn_id, self.incidents_path, self.routes_path
            )
        with self.client() as client:
            report = run_audit(client, options)
            result = report.model_dump(mode="json")
            self.publish(context, client, result, event=_worst_event(report))
            if alerts is not None:
                send_alerts(
                    alerts, client, report, events=options.events, plan=options.plan, log=self.log
                )
        if self.report_path:
            _write_text(self.report_path, render_markdown(report))
        if not report.passed and self.fail_task:
            raise AirflowFailException(_audit_failure(report, self.result_key))
        return result

    def _settings(self) -> AuditOptions:
        return audit_settings(
            plan=self.plan_path,
            generated=self.generated_path,
            kinds=self.kinds,
            window=self.window,
            thresholds=_thresholds(self.thresholds),
            fail_on=self.fail_on,
            history_dir=self.history_dir,
            sample=self.sample,
        )


class BulkBindEventSchemasOperator(_PostHogOperator):
    """Bind (or unbind) many (event, group) pairs; idempotent and safe to retry.

    Give the pairs in exactly one way: ``pairs`` (a list, e.g. another task's XCom),
    ``group`` with ``events``, or ``pairs_file`` (CSV with ``event,group`` rows). Names and ids
    both work. Pairs already in the wanted state are skipped without a request, so a retry
    finishes what an earlier try left. The report
    (:class:`~eventschema_tools.tracking_plan.bulk.BulkReport`
    as JSON, one result per pair) is the return value and is pushed under ``bulk_report``.

    When a pair fails on PostHog's side the task raises ``AirflowException``, so Airflow's
    ``retries`` finish the job; unknown events or groups, or a key without the needed scope,
    fail the task without retries.

    Args:
        pairs: Pairs as ``[{"event": ..., "group": ...}]`` or ``[[event, group]]`` (or that
            as JSON text); an empty list is a run with nothing to do.
        group: One group for every event in ``events``.
        events: The events to bind ``group`` to, as a list or ``"a,b,c"``.
        pairs_file: A CSV file of ``event,group`` rows (a header row is optional).
        action: ``bind`` or ``unbind``.
        concurrency: Writes in flight at once, all paced by the key's rate budget.
        posthog_conn_id: The ``posthog`` connection.
        project_id: A project to use instead of the connection's.
        **kwargs: ``BaseOperator`` arguments.
    """

    template_fields: Collection[str] = (
        *_PostHogOperator.template_fields,
        "pairs",
        "group",
        "events",
        "pairs_file",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"pairs": "json"}
    result_key = "bulk_report"

    def __init__(
        self,
        *,
        pairs: Sequence[Any] | str | XComArg | None = None,
        group: str | None = None,
        events: Sequence[str] | str | XComArg | None = None,
        pairs_file: str | None = None,
        action: Literal["bind", "unbind"] = "bind",
        concurrency: int = DEFAULT_CONCURRENCY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pairs = pairs
        self.group = group
        self.events = events
        self.pairs_file = pairs_file
        self.action = action
        self.concurrency = concurrency
        _check_bulk_settings(pairs, group, events, pairs_file, action, concurrency)
        if is_final([group, events, pairs]) and pairs_file is None:
            self._pairs()

    def execute(self, context: Context) -> dict[str, Any]:
        """Resolve the pairs, make the missing writes, publish one outcome per pair."""
        with bad_parameters_fail_the_task():
            pairs = self._pairs()
        run = bind if self.action == "bind" else unbind
        with self.client() as client:
            report = run(client, pairs, concurrency=self.concurrency)
            result = report.model_dump(mode="json")
            self.publish(context, client, result)
        self.log.info("%s", report.summary())
        if not report.ok:
            raise _write_failure(report, self.result_key)
        return result

    def _pairs(self) -> list[Pair]:
        if self.pairs_file is not None:
            return parse_pairs_csv(_read_text(self.pairs_file, "pairs file"), self.pairs_file)
        if self.group is not None:
            return pairs_for_group(self.group, as_names(self.events or []))
        return _parse_pairs(self.pairs)


class ApplyTrackingPlanOperator(_PostHogOperator):
    """Plan, and unless ``dry_run``, apply a tracking-plan file to the project.

    Returns (and pushes under ``tracking_plan``) ``{"plan": <Plan>, "report": <ApplyReport or
    None>, "refused": [<Impact>...]}`` as JSON; the plan carries every change's class
    (``impacts``: breaking, risky or safe). A run with nothing to change makes no writes. When
    an item fails on PostHog's side the task raises ``AirflowException``, so a retry finishes
    the rest; desired state that cannot be reached (e.g. events missing without
    ``create_events``) fails the task without retries. So does a change at or above ``fail_on``
    that the plan file does not acknowledge (``allow_breaking``): then nothing is written, and
    ``refused`` lists those changes.

    Args:
        plan_path: The tracking-plan file (YAML or JSON), e.g. in a checkout of your repository.
        dry_run: Only compute and publish the plan.
        fail_on: Refuse the plan on an unacknowledged ``breaking`` change (default), ``risky``
            or worse, or ``never``.
        prune: Also delete groups and bindings this plan owns but no longer lists.
        create_events: Create event definitions the plan names but the project lacks.
        concurrency: Writes in flight at once, all paced by the key's rate budget.
        posthog_conn_id: The ``posthog`` connection.
        project_id: A project to use instead of the connection's.
        **kwargs: ``BaseOperator`` arguments.
    """

    template_fields: Collection[str] = (*_PostHogOperator.template_fields, "plan_path", "fail_on")
    result_key = "tracking_plan"

    def __init__(
        self,
        *,
        plan_path: str,
        dry_run: bool = False,
        prune: bool = False,
        create_events: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        fail_on: str = "breaking",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan_path = plan_path
        # Stored under another name: BaseOperator.dry_run() is a method Airflow calls.
        self.plan_only = dry_run
        self.prune = prune
        self.create_events = create_events
        self.concurrency = concurrency
        self.fail_on = fail_on
        check_if_final(plan_path, _non_blank_path)
        check_if_final(fail_on, parse_fail_on)
        _check_concurrency(concurrency)

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the plan file, diff it with the project, apply the changes unless dry-run or
        refused by the gate."""
        with bad_parameters_fail_the_task():
            desired = load_plan(self.plan_path)
            gate = parse_fail_on(self.fail_on)
        with self.client() as client:
            plan = compute_plan(client, desired, prune=self.prune, create_events=self.create_events)
            refused = plan.unacknowledged(gate)
            writes = not (self.plan_only or refused)
            report = apply(client, plan, concurrency=self.concurrency) if writes else None
            result = {
                "plan": plan.model_dump(mode="json"),
                "report": _dump(report),
                "refused": [impact.model_dump(mode="json") for impact in refused],
            }
            self.publish(context, client, result)
        self.log.info("%s %s", plan.summary(), report.summary() if report else "(no writes)")
        if refused:
            raise AirflowFailException(_refusal(refused, gate, self.result_key))
        if report is not None and not report.ok:
            raise _write_failure(report, self.result_key)
        return result


class InferTrackingPlanOperator(_PostHogOperator):
    """Infer a tracking plan from the project's live events and write it to ``output_path``.

    The proposed plan (YAML with the evidence as comments; with ``plan_path``, that plan edited
    in place) is written in one step, only once the whole run has succeeded, so a failed task
    leaves no partial file. Nothing in PostHog changes: review the file, then apply it (e.g.
    with :class:`ApplyTrackingPlanOperator`). Returns (and pushes under ``inferred_plan``) a
    small summary: the path, the window, counts of events, groups and skipped events, the
    HogQL queries sent and the sample rate. The evidence is in the file's comments.

    A window without matching events, a HogQL error or a key without ``query:read`` fail the
    task without retries; PostHog's server errors, rate limits and timeouts fail it retryably.

    Args:
        output_path: Where to write the proposed plan (its folder is created if missing).
        days: Read the last ``days`` days of events (default 7; not with ``since``).
        since: Start of the window, an ISO date or date-time (e.g. ``"{{ ds }}"``).
        until: End of the window (default: now).
        events: Glob patterns of the events to infer, a list or ``"checkout_*,signup"``.
        min_volume: Leave out events seen fewer times than this in the window.
        required_share: Propose a property as required from this share (0-1] of its events.
        sample: Read this share (0-1] of the events (default: all, or automatic when the
            window holds very many).
        include_sdk: Also infer PostHog's own ``$`` events and properties.
        plan_path: An existing tracking plan to propose additions and changes to.
        plan_id: The ``plan_id`` of a new plan (not with ``plan_path``).
        posthog_conn_id: The ``posthog`` connection.
        project_id: A project to read instead of the connection's.
        **kwargs: ``BaseOperator`` arguments.
    """

    template_fields: Collection[str] = (
        *_PostHogOperator.template_fields,
        "output_path",
        "since",
        "until",
        "events",
        "plan_path",
        "plan_id",
    )
    result_key = "inferred_plan"

    def __init__(
        self,
        *,
        output_path: str,
        days: float | None = None,
        since: str | None = None,
        until: str | None = None,
        events: Sequence[str] | str | None = None,
        min_volume: int = DEFAULT_MIN_VOLUME,
        required_share: float = DEFAULT_REQUIRED_SHARE,
        sample: float | None = None,
        include_sdk: bool = False,
        plan_path: str | None = None,
        plan_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_path = output_path
        self.days = days
        self.since = since
        self.until = until
        self.events = events
        self.min_volume = min_volume
        self.required_share = required_share
        self.sample = sample
        self.include_sdk = include_sdk
        self.plan_path = plan_path
        self.plan_id = plan_id
        check_if_final(output_path, _non_blank_output)
        if is_final([since, until, events, plan_id]):
            # The plan file is read when the task runs, not where the DAG is parsed.
            self._options(with_plan=False)

    def execute(self, context: Context) -> dict[str, Any]:
        """Infer the plan, write it to ``output_path`` and publish the summary."""
        with bad_parameters_fail_the_task():
            _non_blank_output(self.output_path)
            options = self._options(with_plan=True)
        with self.client() as client, _infer_errors():
            inference = infer_plan(client, options)
            target = Path(self.output_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, inference.text)
            result = _inference_summary(inference, str(target))
            self.publish(context, client, result)
        self.log.info(
            "Wrote a plan of %d events to %s (%d HogQL queries)",
            len(inference.events),
            target,
            inference.queries,
        )
        return result

    def _options(self, *, with_plan: bool) -> InferOptions:
        return infer_options(
            days=self.days,
            since=self.since,
            until=self.until,
            events=as_names(self.events) if self.events is not None else None,
            min_volume=self.min_volume,
            required_share=self.required_share,
            sample=self.sample,
            include_sdk=self.include_sdk,
            plan=self.plan_path if with_plan else None,
            plan_id=self.plan_id,
        )


def _thresholds(value: Mapping[str, Any] | str | None) -> Thresholds | str | None:
    if isinstance(value, Mapping):
        return parse_input(Thresholds, **value)
    return value


def _worst_event(report: AuditReport) -> str | None:
    return next((finding.event for finding in report.findings if finding.event), None)


def _audit_failure(report: AuditReport, key: str) -> str:
    counts = ", ".join(f"{n} {level}" for level, n in report.counts_by_severity.items() if n)
    return (
        f"schema audit failed: findings reach {report.fail_on.value} ({counts}); "
        f"the report is in XCom {key!r}"
    )


def _inference_summary(inference: Inference, path: str) -> dict[str, Any]:
    """What the XCom holds: counts and costs, not the plan (it is in the file)."""
    sources = [group.source for group in inference.groups]
    return {
        "output_path": path,
        "window": inference.window.model_dump(mode="json"),
        "events": len(inference.events),
        "groups": {source: sources.count(source) for source in ("shared", "existing", "event")},
        "skipped": len(inference.skipped),
        "changes": inference.changes.summary() if inference.changes is not None else None,
        "queries": inference.queries,
        "query_bound": inference.query_bound,
        "sample_rate": inference.sample_rate,
        "sampled_automatically": inference.sampled_automatically,
        "stored_events": inference.stored_events,
        "notes": inference.notes,
    }


@contextmanager
def _infer_errors() -> Iterator[None]:
    """One line per failure: retryable when PostHog may answer later, final otherwise."""
    try:
        yield
    except (APIConnectionError, InternalServerError, RateLimitError) as exc:
        raise AirflowException(f"{exc} (a retry may succeed)") from None
    except EventSchemaError as exc:
        raise AirflowFailException(str(exc)) from None
    except OSError as exc:
        raise AirflowFailException(f"cannot write the plan: {exc}") from None


def _check_bulk_settings(
    pairs: object, group: object, events: object, pairs_file: object, action: str, concurrency: int
) -> None:
    given = [
        name
        for name, value in (("pairs", pairs), ("group", group), ("pairs_file", pairs_file))
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInputError(
            "give the pairs in exactly one way: pairs=, group= with events=, or pairs_file= "
            f"(got {', '.join(given) or 'none'})"
        )
    if (group is None) != (events is None):
        raise InvalidInputError("group= and events= go together: give both or neither")
    if action not in ("bind", "unbind"):
        raise InvalidInputError(f"action must be 'bind' or 'unbind', got {action!r}")
    _check_concurrency(concurrency)


def _check_concurrency(concurrency: int) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError(
            f"concurrency must be a whole number, 1 or more, got {concurrency!r}"
        )


def _parse_pairs(value: object) -> list[Pair]:
    if isinstance(value, str):
        value = _literal(value)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInputError(f"pairs must be a list of (event, group) pairs, got {value!r}")
    return [_pair(index, item) for index, item in enumerate(value)]


def _literal(text: str) -> Any:
    """A list written as JSON, or as the Python text a Jinja template renders a list into."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise InvalidInputError(
            "pairs is text but not a list: give a list such as "
            '[{"event": "signup", "group": "user"}] or [["signup", "user"]]'
        ) from None


def _pair(index: int, item: Any) -> Pair:
    if isinstance(item, Mapping) and set(item) == {"event", "group"}:
        event, group = item["event"], item["group"]
    elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        event, group = item
    else:
        raise InvalidInputError(
            f"pairs[{index}] must be {{'event': ..., 'group': ...}} or [event, group], got {item!r}"
        )
    if not all(isinstance(side, str) and side.strip() for side in (event, group)):
        raise InvalidInputError(f"pairs[{index}]: event and group must be non-blank names or ids")
    return Pair(event.strip(), group.strip())


class _WriteReport(Protocol):
    """What the bulk and apply reports both tell: a summary, failures, why a run stopped."""

    @property
    def aborted(self) -> str | None: ...

    def summary(self) -> str: ...

    @property
    def failed(self) -> int: ...


def _write_failure(report: _WriteReport, key: str) -> Exception:
    """Retryable when writes failed on PostHog's side (a retry makes only those); else final."""
    message = f"{report.summary()} Each outcome is in XCom {key!r}."
    if report.failed and report.aborted is None:
        return AirflowException(message + " A retry makes only the writes still missing.")
    stopped = f" Stopped: {report.aborted}" if report.aborted else ""
    return AirflowFailException(message + stopped)


def _dump(report: ApplyReport | None) -> dict[str, Any] | None:
    return report.model_dump(mode="json") if report is not None else None


def _non_blank_output(path: str) -> None:
    if not isinstance(path, str) or not path.strip():
        raise InvalidInputError("output_path must name the file to write the proposed plan to")


def _refusal(refused: Sequence[Impact], gate: FailOn, key: str) -> str:
    shown = "; ".join(f"{impact.subject}: {impact.detail}" for impact in refused[:3])
    more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
    return (
        f"refused: {len(refused)} unacknowledged change(s) at or above {gate} ({shown}{more}); "
        "nothing was written. Acknowledge them with allow_breaking in the plan file, or set "
        f"fail_on. Each is in XCom {key!r} under 'refused'."
    )


def _non_blank_path(path: str) -> None:
    if not path.strip():
        raise InvalidInputError("plan_path must name a tracking-plan file")


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _write_text(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
