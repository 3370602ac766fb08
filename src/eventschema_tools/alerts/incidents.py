"""Incidents: audit findings with a lifecycle, kept in a SQLite file, and the messages they owe.

A finding of at least ``warning`` severity becomes an incident, keyed like the audit history
keys findings (kind, code, event, property, group) within a project. Its states:

* ``open``: seen in the latest audit; a message went out when it opened (and when its severity
  rose: *escalated*);
* ``acknowledged``: someone owns it (``eventschema incidents ack``); it stays until resolved,
  and escalations are still sent;
* ``muted`` until a date: no message while muted, resolution included;
* ``resolved``: gone from an audit that measured it (or resolved by hand); a message says so.
  If it comes back, it opens again as a new episode.

Every message an audit owes is written to the ``outbox`` table in the same transaction that
changes the incident, one row per target, with a unique key (incident, episode, transition,
target): a message is queued once, and delivered until it succeeds (``alerts.delivery``), so it
is never lost and never sent twice for the same transition.

The file holds two tables (``incidents`` and ``outbox``) whose columns are documented in
``docs/alerts.md``; ``user_version`` is the layout's version.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from eventschema_tools.audit.model import AuditKind, AuditReport, Finding, Severity
from eventschema_tools.errors import InvalidInputError

__all__ = [
    "LAYOUT_VERSION",
    "Incident",
    "IncidentState",
    "IncidentStore",
    "IncidentSummary",
    "OutboxMessage",
    "Transition",
]

LAYOUT_VERSION: Final = 1
"""The version of the file's tables (SQLite ``user_version``)."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    host TEXT NOT NULL,
    owner TEXT,
    finding_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    event TEXT,
    property TEXT,
    grp TEXT,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    muted_until TEXT,
    episode INTEGER NOT NULL DEFAULT 1,
    opened_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    resolved_at TEXT,
    note TEXT NOT NULL DEFAULT '',
    finding TEXT NOT NULL,
    UNIQUE (project_id, finding_key)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    episode INTEGER NOT NULL,
    transition TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at TEXT,
    UNIQUE (incident_id, episode, transition, target)
);
CREATE TABLE IF NOT EXISTS digests (
    period TEXT NOT NULL,
    target TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (period, target)
);
CREATE TABLE IF NOT EXISTS target_refs (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    target TEXT NOT NULL,
    ref TEXT NOT NULL,
    PRIMARY KEY (incident_id, target)
);
"""


class IncidentState(StrEnum):
    """Where an incident stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MUTED = "muted"
    RESOLVED = "resolved"


class Transition(StrEnum):
    """What happened to an incident in one audit: each one is a message."""

    OPENED = "opened"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    """One incident as stored.

    Attributes:
        id: Its number in the file (what ``incidents ack ID`` takes).
        project_id: The project.
        host: PostHog's address for the project (for links).
        owner: Who owns it in the tracking plan, if anyone.
        finding: The latest finding behind it.
        state: ``open``, ``acknowledged``, ``muted`` or ``resolved``.
        muted_until: Until when it is muted.
        episode: How many times it has opened.
        opened_at: When this episode opened.
        last_seen_at: The latest audit that saw it.
        resolved_at: When it was resolved.
        note: What the last person to change it said.
    """

    id: int
    project_id: str
    host: str
    owner: str | None
    finding: Finding
    state: IncidentState
    muted_until: datetime | None
    episode: int
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    note: str

    @property
    def severity(self) -> Severity:
        """The severity of the latest finding."""
        return self.finding.severity

    def summary(self) -> IncidentSummary:
        """The incident as scripts and assistants read it (no evidence values)."""
        finding = self.finding
        return IncidentSummary(
            id=self.id,
            state=self.state,
            muted_until=self.muted_until,
            episode=self.episode,
            project_id=self.project_id,
            owner=self.owner,
            severity=finding.severity,
            kind=finding.kind,
            code=finding.code,
            event=finding.event,
            property=finding.property,
            group=finding.group,
            message=finding.message,
            fix=finding.fix,
            opened_at=self.opened_at,
            last_seen_at=self.last_seen_at,
            resolved_at=self.resolved_at,
            note=self.note,
        )


class IncidentSummary(BaseModel):
    """One incident: its state and the finding behind it, without the finding's evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int = Field(description="Its number, as the incidents ack command takes it.")
    state: IncidentState
    muted_until: datetime | None = None
    episode: int = Field(description="How many times it has opened.")
    project_id: str
    owner: str | None = Field(default=None, description="Its owner in the tracking plan.")
    severity: Severity
    kind: AuditKind
    code: str
    event: str | None = None
    property: str | None = None
    group: str | None = None
    message: str
    fix: str = ""
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class OutboxMessage:
    """A message owed to one target about one incident's transition."""

    id: int
    incident: Incident
    transition: Transition
    target: str
    attempts: int


def _without_values(finding: Finding) -> Finding:
    """The finding as kept on disk: its evidence without offending values (an audit run with
    ``--show-values`` must not leave them in the incidents file)."""
    if finding.evidence is None or not finding.evidence.values:
        return finding
    evidence = finding.evidence.model_copy(update={"values": [], "values_shown": False})
    return finding.model_copy(update={"evidence": evidence})


def _key(finding: Finding) -> str:
    return json.dumps(list(finding.key))


def _text(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class IncidentStore:
    """The incidents file: open it with :meth:`open`, which creates it when missing.

    Example::

        with IncidentStore.open("incidents.sqlite3") as store:
            store.record(report, targets=["slack"], now=datetime.now(UTC))
            for incident in store.incidents():
                print(incident.id, incident.state, incident.finding.message)
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    @contextmanager
    def open(cls, path: str | Path) -> Iterator[IncidentStore]:
        """Open (or create) the incidents file at ``path``.

        Raises:
            InvalidInputError: the path is a directory, or the file is not an incidents file.
        """
        where = Path(path)
        if where.is_dir():
            raise InvalidInputError(
                f"{where} is a directory: give the incidents file's path, e.g. "
                f"{where / 'incidents.sqlite3'}",
                [("incidents", "a directory")],
            )
        where.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(where, timeout=30)
            connection.row_factory = sqlite3.Row
            with closing(connection.cursor()) as cursor:
                cursor.executescript(_SCHEMA)
                cursor.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")
            connection.commit()
        except sqlite3.DatabaseError as exc:
            raise InvalidInputError(
                f"{where} is not an incidents file ({exc}): give another path with --incidents",
                [("incidents", "not an incidents file")],
            ) from None
        try:
            yield cls(connection, where)
        finally:
            connection.close()

    # --- reading ----------------------------------------------------------------------------

    def incidents(
        self, *, states: Iterable[IncidentState] | None = None, project_id: str | None = None
    ) -> list[Incident]:
        """The incidents, newest first, optionally only in some states or one project."""
        chosen = [state.value for state in states] if states is not None else list(IncidentState)
        marks = ",".join("?" for _ in chosen)
        query = f"SELECT * FROM incidents WHERE state IN ({marks})"  # noqa: S608
        arguments: list[object] = list(chosen)
        if project_id is not None:
            query += " AND project_id = ?"
            arguments.append(project_id)
        rows = self._db.execute(query + " ORDER BY id DESC", arguments).fetchall()
        return [self._incident(row) for row in rows]

    def get(self, incident_id: int) -> Incident:
        """One incident by number.

        Raises:
            InvalidInputError: no incident has that number.
        """
        row = self._db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise InvalidInputError(
                f"no incident {incident_id} in {self.path}: `eventschema incidents list --all` "
                "shows their numbers",
                [("incident", "unknown")],
            )
        return self._incident(row)

    def pending(self) -> list[OutboxMessage]:
        """The messages not delivered yet, oldest first."""
        rows = self._db.execute(
            "SELECT id, incident_id, transition, target, attempts FROM outbox "
            "WHERE delivered_at IS NULL ORDER BY id"
        ).fetchall()
        return [
            OutboxMessage(
                row["id"],
                self.get(row["incident_id"]),
                Transition(row["transition"]),
                row["target"],
                row["attempts"],
            )
            for row in rows
        ]

    def _incident(self, row: sqlite3.Row) -> Incident:
        return Incident(
            id=int(row["id"]),
            project_id=str(row["project_id"]),
            host=str(row["host"]),
            owner=row["owner"],
            finding=Finding.model_validate_json(str(row["finding"])),
            state=IncidentState(str(row["state"])),
            muted_until=_moment(row["muted_until"]),
            episode=int(row["episode"]),
            opened_at=_moment(row["opened_at"]) or datetime.now(UTC),
            last_seen_at=_moment(row["last_seen_at"]) or datetime.now(UTC),
            resolved_at=_moment(row["resolved_at"]),
            note=str(row["note"]),
        )

    # --- audits -----------------------------------------------------------------------------

    def record(
        self,
        report: AuditReport,
        *,
        host: str,
        targets: Sequence[str] | Callable[[Finding], Sequence[str]],
        now: datetime,
        events: Sequence[str] | None = None,
        owner: Callable[[Finding], str | None] | None = None,
    ) -> list[tuple[Incident, Transition]]:
        """Update the incidents from an audit report and queue the messages they owe.

        Findings of ``warning`` or ``error`` severity open incidents (or escalate them when
        their severity rose); open incidents of the project that the audit measured (its
        kinds, and ``events`` when the audit was limited to some) and no longer found are
        resolved. Muted incidents queue nothing until their date passes.

        Args:
            report: The audit report.
            host: PostHog's address of the report's project (for links in messages).
            targets: The targets that get a message for each transition, or a function
                that names them per finding (``alerts.routing``).
            now: The time of the audit.
            events: The events the audit was limited to, if it was.
            owner: Who owns each finding (kept with the incident).

        Returns:
            Each transition with the incident after it.
        """
        project = report.project_id
        ran = {AuditKind(kind) for kind in report.kinds}
        seen: set[str] = set()
        changes: list[tuple[int, Transition]] = []
        with self._db:
            for finding in report.findings:
                if finding.severity.rank < Severity.WARNING.rank:
                    continue
                key = _key(finding)
                seen.add(key)
                who = owner(finding) if owner is not None else None
                change = self._observe(project, host, key, finding, now, who)
                if change is not None:
                    changes.append(change)
            for incident in self.incidents(
                states=[IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.MUTED],
                project_id=project,
            ):
                finding = incident.finding
                in_scope = finding.kind in ran and (
                    events is None or finding.event is None or finding.event in events
                )
                if in_scope and _key(finding) not in seen:
                    changes.append(self._resolve(incident, now, note="not found by the audit"))
            after = [(self.get(incident_id), transition) for incident_id, transition in changes]
            for incident, transition in after:
                chosen = targets(incident.finding) if callable(targets) else targets
                self._queue(incident, transition, chosen, now)
        return after

    def _observe(
        self,
        project: str,
        host: str,
        key: str,
        finding: Finding,
        now: datetime,
        owner: str | None,
    ) -> tuple[int, Transition] | None:
        row = self._db.execute(
            "SELECT id, state, severity, episode FROM incidents WHERE project_id = ? AND "
            "finding_key = ?",
            (project, key),
        ).fetchone()
        stored = _without_values(finding).model_dump_json()
        if row is None:
            cursor = self._db.execute(
                "INSERT INTO incidents (project_id, host, owner, finding_key, kind, code, event,"
                " property, grp, severity, state, opened_at, last_seen_at, finding) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                (
                    project,
                    host,
                    owner,
                    key,
                    finding.kind.value,
                    finding.code,
                    finding.event,
                    finding.property,
                    finding.group,
                    finding.severity.value,
                    _text(now),
                    _text(now),
                    stored,
                ),
            )
            return int(cursor.lastrowid or 0), Transition.OPENED
        incident_id, state, severity, episode = (
            row["id"],
            row["state"],
            row["severity"],
            row["episode"],
        )
        if state == IncidentState.RESOLVED:
            self._db.execute(
                "UPDATE incidents SET state = 'open', episode = ?, opened_at = ?, "
                "last_seen_at = ?, resolved_at = NULL, severity = ?, finding = ?, note = '', "
                "owner = ? WHERE id = ?",
                (
                    episode + 1,
                    _text(now),
                    _text(now),
                    finding.severity.value,
                    stored,
                    owner,
                    incident_id,
                ),
            )
            return incident_id, Transition.OPENED
        self._db.execute(
            "UPDATE incidents SET last_seen_at = ?, severity = ?, finding = ?, owner = ? "
            "WHERE id = ?",
            (_text(now), finding.severity.value, stored, owner, incident_id),
        )
        if finding.severity.rank > Severity(severity).rank:
            return incident_id, Transition.ESCALATED
        return None

    def _resolve(self, incident: Incident, now: datetime, *, note: str) -> tuple[int, Transition]:
        self._db.execute(
            "UPDATE incidents SET state = 'resolved', resolved_at = ?, note = ? WHERE id = ?",
            (_text(now), note, incident.id),
        )
        return incident.id, Transition.RESOLVED

    def _queue(
        self, incident: Incident, transition: Transition, targets: Sequence[str], now: datetime
    ) -> None:
        muted = incident.muted_until is not None and incident.muted_until > now
        if muted:
            return
        for target in targets:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (incident_id, episode, transition, target, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                (incident.id, incident.episode, transition.value, target, _text(now)),
            )

    # --- people -----------------------------------------------------------------------------

    def acknowledge(self, incident_id: int, *, note: str = "") -> Incident:
        """Mark an incident as owned; it stays until resolved."""
        return self._set(incident_id, IncidentState.ACKNOWLEDGED, note=note)

    def mute(self, incident_id: int, *, until: datetime, note: str = "") -> Incident:
        """Silence an incident until ``until`` (no message meanwhile)."""
        incident = self._set(incident_id, IncidentState.MUTED, note=note)
        with self._db:
            self._db.execute(
                "UPDATE incidents SET muted_until = ? WHERE id = ?", (_text(until), incident.id)
            )
        return self.get(incident_id)

    def resolve(
        self, incident_id: int, *, targets: Sequence[str] = (), now: datetime, note: str = ""
    ) -> Incident:
        """Resolve an incident by hand (queuing its resolution message for ``targets``)."""
        incident = self.get(incident_id)
        with self._db:
            self._resolve(incident, now, note=note or "resolved by hand")
            self._queue(self.get(incident_id), Transition.RESOLVED, targets, now)
        return self.get(incident_id)

    def _set(self, incident_id: int, state: IncidentState, *, note: str) -> Incident:
        incident = self.get(incident_id)
        if incident.state == IncidentState.RESOLVED:
            raise InvalidInputError(
                f"incident {incident_id} is resolved: it opens again by itself if an audit "
                "finds it again",
                [("incident", "resolved")],
            )
        with self._db:
            self._db.execute(
                "UPDATE incidents SET state = ?, muted_until = NULL, note = ? WHERE id = ?",
                (state.value, note, incident_id),
            )
        return self.get(incident_id)

    # --- delivery ---------------------------------------------------------------------------

    def delivered(self, message: OutboxMessage, now: datetime) -> None:
        """Record that a message reached its target."""
        with self._db:
            self._db.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = '' "
                "WHERE id = ?",
                (_text(now), message.id),
            )

    def ref(self, incident_id: int, target: str) -> str | None:
        """What a target calls the incident (a GitHub issue's number), if it has been told."""
        row = self._db.execute(
            "SELECT ref FROM target_refs WHERE incident_id = ? AND target = ?",
            (incident_id, target),
        ).fetchone()
        return str(row["ref"]) if row is not None else None

    def set_ref(self, incident_id: int, target: str, ref: str) -> None:
        """Remember what a target calls the incident (kept across episodes)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO target_refs (incident_id, target, ref) VALUES (?, ?, ?)",
                (incident_id, target, ref),
            )

    def digest_sent(self, period: str, target: str) -> bool:
        """Whether the digest of ``period`` (``2026-11-20``, ``2026-W47``) reached ``target``."""
        row = self._db.execute(
            "SELECT 1 FROM digests WHERE period = ? AND target = ?", (period, target)
        ).fetchone()
        return row is not None

    def mark_digest(self, period: str, target: str, now: datetime) -> None:
        """Record that the digest of ``period`` reached ``target``."""
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO digests (period, target, sent_at) VALUES (?, ?, ?)",
                (period, target, _text(now)),
            )

    def failed(self, message: OutboxMessage, error: str, *, attempts: int) -> None:
        """Record that a message could not be delivered (it is tried again next run)."""
        with self._db:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + ?, last_error = ? WHERE id = ?",
                (attempts, error[:500], message.id),
            )
