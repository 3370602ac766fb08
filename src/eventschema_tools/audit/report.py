"""Render an :class:`~eventschema_tools.audit.model.AuditReport`: terminal, JSON or Markdown.

* :func:`render_table` prints to a Rich console: a status line, the live numbers per event and
  the findings, most severe first.
* :func:`render_json` is the report's stable, versioned JSON (``schema_version``).
* :func:`render_markdown` suits a pull-request comment or a Slack message.

Names from the project (events, properties, groups) are shown as text, never interpreted as
Rich markup or Markdown, and their control characters are spelled out in every format
(:func:`eventschema_tools._text.printable`): anyone with the project's public token can send an
event whose name holds a terminal escape sequence.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Final, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from eventschema_tools._text import markdown_text, printable
from eventschema_tools.audit.model import (
    AuditReport,
    EventConformance,
    Evidence,
    Finding,
    FindingChange,
    Severity,
    format_rate,
)

__all__ = ["OutputFormat", "render", "render_json", "render_markdown", "render_table"]

OutputFormat = Literal["table", "json", "markdown"]

_STYLES: Final = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
_MARKS: Final = {Severity.ERROR: "🔴", Severity.WARNING: "🟠", Severity.INFO: "⚪"}
_TITLES: Final = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.INFO: "Info"}
_TABLE_WIDTH: Final = 120
_LISTED_RELEASES: Final = 3


def render(report: AuditReport, fmt: OutputFormat) -> str:
    """The report as text in one of the three formats (the table without colours)."""
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    buffer = io.StringIO()
    render_table(report, Console(file=buffer, width=_TABLE_WIDTH, no_color=True, emoji=False))
    return buffer.getvalue()


def render_json(report: AuditReport) -> str:
    """The report as indented JSON (the layout of ``schema_version``), ending with a newline.

    Pydantic writes DEL, C1 controls and bidi overrides raw; they become ``\\uXXXX`` escapes,
    which is the same JSON (the same values), safe to print on a terminal.
    """
    return printable(report.model_dump_json(indent=2), multiline=True) + "\n"


# --- terminal ----------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return format_rate(part / whole) if part and whole else "·"


def _event_cells(item: EventConformance) -> list[str]:
    """Volume, then the worst property's rate in each column, then the event-level rates."""
    missing = max((p.missing for p in item.properties if p.required), default=0)
    wrong = max((p.wrong_type for p in item.properties), default=0)
    rules = max((p.rule_violations for p in item.properties), default=0)
    return [
        str(item.events),
        *(
            _percent(part, item.events)
            for part in (
                missing,
                wrong,
                rules,
                item.with_unexpected_properties,
                item.would_reject,
            )
        ),
    ]


def _status(report: AuditReport) -> Text:
    counts = report.counts_by_severity
    verdict = (
        Text(" PASS ", style="bold black on green")
        if report.passed
        else Text(" FAIL ", style="bold white on red")
    )
    return Text.assemble(
        verdict,
        f"  {counts.get(Severity.ERROR, 0)} error(s), {counts.get(Severity.WARNING, 0)} "
        f"warning(s), {counts.get(Severity.INFO, 0)} info · fails on {report.fail_on.value}",
    )


def _context(report: AuditReport) -> str:
    source = f"plan {report.plan_path}" if report.plan_path else report.source
    kinds = ", ".join(kind.value for kind in report.kinds)
    return (
        f"Project {report.project_id} · {kinds} · schemas from {source} · last "
        f"{report.window.label} ({report.window.since:%Y-%m-%d %H:%M} → "
        f"{report.window.until:%Y-%m-%d %H:%M} UTC) · {report.queries} HogQL quer"
        f"{'y' if report.queries == 1 else 'ies'}"
        + (f" · sampled {format_rate(report.sample)} of people" if report.sample else "")
    )


def _events_table(events: Iterable[EventConformance]) -> Table:
    table = Table(title="Live events against their schemas", title_justify="left")
    table.add_column("Event", overflow="fold")
    for heading in ("Events", "Missing req.", "Wrong type", "Value rules", "Unexpected"):
        table.add_column(heading, justify="right")
    table.add_column("Reject would drop", justify="right")
    for item in events:
        table.add_row(Text(printable(item.event)), *_event_cells(item))
    table.caption = "Per event, the worst property in each column (see the findings)."
    return table


def _interval(finding: Finding) -> str:
    """`` (95% CI 1.2%–3.4%)`` for a sampled rate, else ``""``."""
    bounds = finding.intervals.get("violations")
    if bounds is None:
        return ""
    return f" (95% CI {format_rate(bounds[0])}–{format_rate(bounds[1])})"


def _evidence_lines(evidence: Evidence | None) -> list[str]:
    """The evidence as short lines of plain text: values, releases, examples."""
    if evidence is None:
        return []
    lines = []
    if evidence.values:
        shown = "values" if evidence.values_shown else "values (fingerprints)"
        lines.append(f"{shown}: " + ", ".join(evidence.values))
    worst = [item for item in evidence.versions if item.violations][:_LISTED_RELEASES]
    if worst:
        lines.append(
            "by release: "
            + ", ".join(
                f"{item.lib} {item.version} {format_rate(item.rate)} "
                f"({item.violations}/{item.events})".strip()
                for item in worst
            )
        )
    if evidence.examples:
        lines.append("e.g. " + " ".join(example.url for example in evidence.examples))
    return lines


def _change_text(change: FindingChange | None) -> Text:
    if change is None:
        return Text("")
    if change.status == "new":
        return Text("new", style="bold")
    delta = change.rate_deltas.get("violations")
    if delta:
        return Text(f"{delta * 100:+.1f} pts", style="red" if delta > 0 else "green")
    return Text("changed" if change.status == "changed" else "=")


def _findings_table(findings: Iterable[Finding], *, with_changes: bool) -> Table:
    table = Table(title="Findings", title_justify="left", show_lines=False)
    table.add_column("Severity")
    table.add_column("Audit")
    table.add_column("Where", overflow="fold", max_width=32)
    table.add_column("What (→ how to fix)", overflow="fold", ratio=1)
    if with_changes:
        table.add_column("Since last")
    for finding in findings:
        where = finding.where
        what = Text(printable(finding.message + _interval(finding)))
        if finding.fix and finding.severity != Severity.INFO:
            what.append("\n→ " + printable(finding.fix), style="italic")
        for line in _evidence_lines(finding.evidence):
            what.append("\n  " + printable(line), style="dim")
        row = [
            Text(finding.severity.value, style=_STYLES[finding.severity]),
            Text(finding.kind.value),
            Text(printable(where)),
            what,
        ]
        if with_changes:
            row.append(_change_text(finding.change))
        table.add_row(*row)
    return table


def render_table(report: AuditReport, console: Console) -> None:
    """Print the report on a Rich console."""
    console.print(_status(report))
    console.print(Text(printable(_context(report)), style="dim"))
    if report.history is not None:
        history = report.history
        console.print(
            Text(
                f"Since {history.previous_generated_at:%Y-%m-%d %H:%M} UTC "
                f"({'passed' if history.previous_passed else 'failed'}): {history.new} new, "
                f"{history.changed} changed, {len(history.resolved)} resolved",
                style="dim",
            )
        )
    if report.events:
        console.print(_events_table(report.events))
    if report.findings:
        console.print(_findings_table(report.findings, with_changes=report.history is not None))
    else:
        console.print(Text("No findings: live events match their schemas.", style="green"))
    if report.history is not None and report.history.resolved:
        console.print(Text("Resolved since the last run:", style="bold green"))
        for finding in report.history.resolved:
            console.print(Text(f"  ✓ {printable(finding.message)}", style="green"))


# --- Markdown ----------------------------------------------------------------------------------


def _md_change(change: FindingChange | None) -> str:
    if change is None or change.status == "unchanged":
        return ""
    if change.status == "new":
        return " _(new)_"
    delta = change.rate_deltas.get("violations")
    return f" _({delta * 100:+.1f} pts)_" if delta else " _(changed)_"


def render_markdown(report: AuditReport) -> str:
    """The report as Markdown: a verdict, the numbers per event and the findings by severity."""
    counts = report.counts_by_severity
    verdict = "✅ passed" if report.passed else "❌ failed"
    lines = [
        f"## Schema audit {verdict}",
        "",
        f"**{counts.get(Severity.ERROR, 0)}** error(s), **{counts.get(Severity.WARNING, 0)}** "
        f"warning(s), **{counts.get(Severity.INFO, 0)}** info — fails on "
        f"{report.fail_on.value}.",
        "",
        markdown_text(_context(report)),
    ]
    if report.history is not None:
        history = report.history
        lines += [
            "",
            f"Since {history.previous_generated_at:%Y-%m-%d %H:%M} UTC: {history.new} new, "
            f"{history.changed} changed, {len(history.resolved)} resolved.",
        ]
    if report.events:
        lines += [
            "",
            "| Event | Events | Missing req. | Wrong type | Value rules | Unexpected | "
            "Reject would drop |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for item in report.events:
            lines.append("| " + " | ".join([markdown_text(item.event), *_event_cells(item)]) + " |")
    for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        chosen = [finding for finding in report.findings if finding.severity == severity]
        if not chosen:
            continue
        lines += ["", f"### {_MARKS[severity]} {_TITLES[severity]} ({len(chosen)})", ""]
        for finding in chosen:
            fix = f" Fix: {markdown_text(finding.fix)}" if finding.fix else ""
            message = markdown_text(finding.message + _interval(finding))
            lines.append(f"- **{finding.kind.value}** · {message}{fix}{_md_change(finding.change)}")
            lines += [f"  - {markdown_text(line)}" for line in _evidence_lines(finding.evidence)]
    if report.history is not None and report.history.resolved:
        lines += ["", f"### ✅ Resolved ({len(report.history.resolved)})", ""]
        lines += [f"- {markdown_text(finding.message)}" for finding in report.history.resolved]
    if not report.findings:
        lines += ["", "No findings: live events match their schemas."]
    return "\n".join(lines) + "\n"
