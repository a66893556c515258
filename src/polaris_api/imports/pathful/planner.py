"""The Pathful import as a pure, in-memory plan (04 PF-8..PF-17, PF-19..PF-21).

:class:`Planner` walks the validated rows against the preloaded :class:`Lookups` and decides, for
every row, its PF-9 bucket and the writes it causes. Nothing touches the database here: a dry run
stops after planning (PF-20) and a real import hands the :class:`Plan` to ``apply``. The lookups
are updated as the plan grows, so later rows see what earlier rows did (PF-15 repeated pairs,
PF-13 back-fills).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from polaris_api.imports.pathful.lookups import (
    EVENT_FIELDS,
    EventState,
    Lookups,
    PresenterLink,
    TeacherLink,
    UnmatchedState,
)
from polaris_api.ownership import Owner, fields_owned_by
from polaris_api.schemas.pathful import PathfulSessionReportRow, ReportRow, norm_name, school_key

Row = PathfulSessionReportRow | ReportRow

BUCKETS = (
    "created_participations",
    "updated_participations",
    "unchanged",
    "skipped_other_partner",
    "skipped_role",
    "skipped_before_cutoff",
    "skipped_draft_no_date",
    "queued_no_date",
    "unmatched_teachers",
    "unmatched_volunteers",
    "invalid",
)
MAX_LISTED_CHANGES = 1000

# Fields the import may write on an event (PF-11), intersected with the ownership registry (OWN-2).
_PATHFUL_EVENT_FIELDS = frozenset(EVENT_FIELDS)
WRITABLE_UNLINKED = _PATHFUL_EVENT_FIELDS & fields_owned_by(
    "event", Owner.pathful, sf_linked=False, pathful_linked=True
)
WRITABLE_SF_LINKED = _PATHFUL_EVENT_FIELDS & fields_owned_by(
    "event", Owner.pathful, sf_linked=True, pathful_linked=True
)
PRESENTER_STATUS = {"C": "attended", "R": "registered"}
# event_teacher.status is Pathful's unless an admin annotated the row (notes set, PF-15 / OWN-3)
TEACHER_LINK_WRITABLE = {
    annotated: "status" in fields_owned_by("event_teacher", Owner.pathful, admin_annotated=annotated)
    for annotated in (False, True)
}


@cache
def _participation_status_is_pathful(sf_linked: bool, pathful_linked: bool) -> bool:
    return "status" in fields_owned_by(
        "event_participation", Owner.pathful, sf_linked=sf_linked, pathful_linked=pathful_linked
    )


def presenter_writable(link: PresenterLink) -> bool:
    """PF-16: only presenter rows the import created are Pathful's; manual / SF rows are left alone."""
    return _participation_status_is_pathful(link.salesforce_id is not None, link.source == "pathful")


@dataclass
class SessionAgg:
    """PF-8: one Pathful session built from its contributing rows (file order)."""

    session_id: str
    title: str | None = None
    status: str | None = None
    start: dt.datetime | None = None
    duration: int | None = None
    career_cluster: str | None = None
    work_based_learning: str | None = None
    series: str | None = None
    district_partner: str | None = None
    seen_educator: bool = False
    registered_students: int | None = None
    attended_students: int | None = None
    attended_educators: int | None = None
    queued_rows: list[Mapping[str, Any]] = field(default_factory=list)

    def add(self, row: Row) -> None:
        for name, value in (
            ("title", row.title),
            ("status", row.status),
            ("start", row.date),
            ("duration", row.duration),
            ("career_cluster", row.career_cluster),
            ("work_based_learning", row.work_based_learning),
            ("series", row.series),
        ):
            if getattr(self, name) is None and value is not None:
                setattr(self, name, value)
        if row.role == "educator" and not self.seen_educator:
            self.seen_educator = True
            self.district_partner = row.district_or_company
        for name, value in (
            ("registered_students", row.registered_student_count),
            ("attended_students", row.attended_student_count),
            ("attended_educators", row.attended_educator_count),
        ):
            if value is not None:
                current = getattr(self, name)
                setattr(self, name, value if current is None else max(current, value))

    @property
    def undated(self) -> bool:
        return self.start is None

    @property
    def status_class(self) -> str:
        return {"completed": "C", "simulcast": "C", "count": "C", "cancelled": "X", "no_show": "X"}.get(
            self.status or "", "R"
        )


@dataclass
class Plan:
    event_inserts: list[EventState] = field(default_factory=list)
    event_updates: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)  # session → changes
    teacher_backfills: dict[int, str] = field(default_factory=dict)
    volunteer_backfills: dict[int, str] = field(default_factory=dict)
    teacher_link_inserts: list[dict[str, Any]] = field(default_factory=list)
    teacher_link_updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → new values
    teacher_link_before: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → old values
    presenter_inserts: list[dict[str, Any]] = field(default_factory=list)
    presenter_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    presenter_before: dict[int, dict[str, Any]] = field(default_factory=dict)
    unmatched_inserts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    unmatched_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    resolved_unmatched: list[tuple[int | None, tuple[str, str, str]]] = field(default_factory=list)


@dataclass
class PlanOptions:
    tz: dt.tzinfo
    now: dt.datetime
    cutoff: dt.date | None
    partner: str
    default_duration: int
    import_id: int | None


class RowCollector:
    """The planner's first pass (PF-9 steps 1 and 2, PF-8), row by row as the file is read.

    A row of another partner or an invalid row is counted (and listed) and dropped at once; the
    other rows are kept, compactly, with their cells (an unmatched record stores them) and build
    their session. Also notes what the lookups need: every session id and whether any row is an
    educator or a professional. Needs no lookups: the file is read and validated before any
    query, and nothing is written when a cell is refused (issue 13 item 4)."""

    def __init__(self, partner: str) -> None:
        self._partner = " ".join(partner.split()).casefold()
        self.rows_total = 0
        self.session_ids: dict[str, None] = {}
        self.educators = False
        self.professionals = False
        self.skipped_other_partner = 0
        self.invalid_rows: list[dict[str, Any]] = []
        self.sessions: dict[str, SessionAgg] = {}
        self.contributing: list[tuple[Row, Mapping[str, Any]]] = []
        self._ours: dict[str | None, bool] = {}  # partner text → whether it is ours

    def add(self, row: Row, cells: Mapping[str, Any]) -> None:
        self.rows_total += 1
        if row.session_id:
            self.session_ids.setdefault(row.session_id)
        if row.role == "educator":
            self.educators = True
        elif row.role == "professional":
            self.professionals = True
        ours = self._ours.get(row.partner)
        if ours is None:
            ours = self._ours[row.partner] = (
                row.partner is not None and row.partner.casefold() == self._partner
            )
        if not ours:
            self.skipped_other_partner += 1
            return
        invalid = row.invalid_reason
        if invalid is not None:
            reason, value = invalid
            self.invalid_rows.append(
                {"row": row.row, "session_id": row.session_id, "reason": reason, "value": value}
            )
            return
        assert row.session_id is not None
        agg = self.sessions.get(row.session_id)
        if agg is None:
            agg = self.sessions[row.session_id] = SessionAgg(row.session_id)
        agg.add(row)
        self.contributing.append((row, cells))


class Planner:
    def __init__(self, lookups: Lookups, options: PlanOptions) -> None:
        self.lookups = lookups
        self.options = options
        self.plan = Plan()
        self.counts: Counter[str] = Counter({bucket: 0 for bucket in BUCKETS})
        self.invalid_rows: list[dict[str, Any]] = []
        self.event_changes: list[dict[str, Any]] = []
        self.participation_changes: list[dict[str, Any]] = []
        self.changes_truncated = False
        self.created_events = 0
        self.updated_events = 0
        self.sessions: dict[str, SessionAgg] = {}
        self.upserted: set[str] = set()  # sessions whose event this import upserts (PF-11)

    # ------------------------------------------------------------------ driver
    def run_collected(self, collector: RowCollector) -> None:
        """Plan the rows ``collector`` kept (its list is emptied: the rows are freed as planned)."""
        self.counts["skipped_other_partner"] += collector.skipped_other_partner
        self.counts["invalid"] += len(collector.invalid_rows)
        self.invalid_rows.extend(collector.invalid_rows)
        self.sessions = collector.sessions
        contributing, collector.contributing = collector.contributing, []

        for agg in self.sessions.values():
            if not agg.undated and self._within_cutoff(agg):
                self._plan_event(agg)

        for row, cells in contributing:
            agg = self.sessions[row.session_id]  # type: ignore[index]
            if agg.undated:
                if agg.status == "draft":
                    self.counts["skipped_draft_no_date"] += 1
                else:
                    self.counts["queued_no_date"] += 1
                    agg.queued_rows.append(cells)
                continue
            if not self._within_cutoff(agg):
                self.counts["skipped_before_cutoff"] += 1
                continue
            if row.role == "educator":
                self._educator(row, cells, agg)
            elif row.role == "professional":
                self._professional(row, cells, agg)
            else:
                self.counts["skipped_role"] += 1
        del contributing

        for agg in self.sessions.values():
            key = ("no_date_session", agg.session_id, "")
            if agg.undated and agg.queued_rows:
                self._queue_no_date(agg, key)
            elif agg.session_id in self.upserted:
                self._resolve_record(key, teacher_id=None, volunteer_id=None)

    def _within_cutoff(self, agg: SessionAgg) -> bool:
        """PF-10: on or after the cutoff (local date), and future sessions always."""
        if self.options.cutoff is None or agg.start is None:
            return True
        if agg.start > self.options.now:
            return True
        return agg.start.astimezone(self.options.tz).date() >= self.options.cutoff

    # ------------------------------------------------------------------ events (PF-11)
    def session_duration(self, agg: SessionAgg) -> int:
        return agg.duration or self.options.default_duration

    def _plan_event(self, agg: SessionAgg) -> None:
        assert agg.start is not None
        self.upserted.add(agg.session_id)
        duration = self.session_duration(agg)
        desired: dict[str, Any] = {
            "title": agg.title,
            "start_day": agg.start.astimezone(self.options.tz).date(),
            "start_date": agg.start,
            "end_date": agg.start + dt.timedelta(minutes=duration),
            "duration": duration,
            "status": agg.status,
            "registered_student_count": agg.registered_students or 0,
            "attended_student_count": agg.attended_students or 0,
            "attended_educator_count": agg.attended_educators,
            "career_cluster": agg.career_cluster,
            "work_based_learning": agg.work_based_learning,
            "series": agg.series,
            "district_partner": agg.district_partner,
        }
        existing = self.lookups.events.get(agg.session_id)
        if existing is None:
            state = EventState(
                id=None, session_id=agg.session_id, salesforce_id=None, values=desired, is_new=True
            )
            self.lookups.events[agg.session_id] = state
            self.plan.event_inserts.append(state)
            self.created_events += 1
            self._note_event_change(agg.session_id, None, "created", sorted(desired))
            return
        writable = WRITABLE_UNLINKED if existing.salesforce_id is None else WRITABLE_SF_LINKED
        changes = {
            name: (existing.values.get(name), value)
            for name, value in desired.items()
            if name in writable and existing.values.get(name) != value
        }
        if changes:
            self.plan.event_updates[agg.session_id] = changes
            existing.values.update({name: new for name, (_, new) in changes.items()})
            self.updated_events += 1
            self._note_event_change(agg.session_id, existing.id, "updated", sorted(changes))

    def _note_event_change(
        self, session_id: str, event_id: int | None, action: str, fields: list[str]
    ) -> None:
        if len(self.event_changes) < MAX_LISTED_CHANGES:
            self.event_changes.append(
                {"session_id": session_id, "event_id": event_id, "action": action, "fields": fields}
            )
        else:
            self.changes_truncated = True

    def _note_participation(self, row: Row, kind: str, person_id: int, action: str, status: str) -> None:
        if len(self.participation_changes) < MAX_LISTED_CHANGES:
            self.participation_changes.append(
                {
                    "row": row.row,
                    "session_id": row.session_id,
                    "type": kind,
                    "person_id": person_id,
                    "action": action,
                    "status": status,
                }
            )
        else:
            self.changes_truncated = True

    # ------------------------------------------------------------------ teachers (PF-12..PF-15)
    def match_teacher(self, row: Row) -> tuple[int | None, int, list[dict[str, Any]], str]:
        """PF-12: (teacher id or None, step, candidates, reason)."""
        lookups = self.lookups
        pid = row.user_auth_id
        if pid and pid in lookups.teacher_by_pid:
            teacher_id = lookups.survivor(lookups.teacher_by_pid[pid])
            if teacher_id in lookups.teachers:
                return teacher_id, 1, [], ""
        if row.email:
            ids = {lookups.survivor(i) for i in lookups.teacher_ids_by_email.get(row.email, ())}
            ids &= lookups.teachers.keys()
            if len(ids) == 1:
                return ids.pop(), 2, [], ""
        candidates: list[int] = []
        reason = "no_match"
        key = norm_name(row.name)
        if key:
            candidates = [
                teacher_id
                for teacher_id in lookups.teachers_by_name.get(key, ())
                if lookups.teachers[teacher_id].pathful_user_id in (None, pid)
            ]
            if len(candidates) == 1:
                return candidates[0], 3, [], ""
            if len(candidates) > 1:
                wanted = school_key(row.school)
                narrowed = [t for t in candidates if wanted and wanted in lookups.teachers[t].school_keys]
                if len(narrowed) == 1:
                    return narrowed[0], 3, [], ""
                reason = "ambiguous"
        record = lookups.unmatched.get(("teacher", row.session_id or "", row.match_key))
        if record is not None and record.status == "resolved" and record.resolved_teacher_id is not None:
            teacher_id = lookups.survivor(record.resolved_teacher_id)
            if teacher_id in lookups.teachers:
                return teacher_id, 4, [], ""
        listed = [
            {
                "id": t,
                "name": lookups.teachers[t].name,
                "school": lookups.teachers[t].school_name,
            }
            for t in candidates
        ]
        return None, 0, listed, reason

    def backfill_teacher(self, teacher_id: int, pid: str | None) -> None:
        """PF-13: fill a null pathful_user_id; never overwrite one; never take another's."""
        teacher = self.lookups.teachers[teacher_id]
        if pid and teacher.pathful_user_id is None and pid not in self.lookups.teacher_by_pid:
            teacher.pathful_user_id = pid
            self.lookups.teacher_by_pid[pid] = teacher_id
            self.plan.teacher_backfills[teacher_id] = pid

    @staticmethod
    def teacher_status(session_class: str, attended_educators: int | None) -> str:
        """PF-14 from the session class and the row's own Attended Educator Count."""
        if session_class == "C":
            return "attended" if (attended_educators or 0) >= 1 else "no_show"
        if session_class == "X":
            return "no_show"
        return "registered"

    def _educator(self, row: Row, cells: Mapping[str, Any], agg: SessionAgg) -> None:
        teacher_id, step, candidates, reason = self.match_teacher(row)
        if teacher_id is None:
            self.counts["unmatched_teachers"] += 1
            self._queue_unmatched("teacher", row, cells, candidates, reason)
            return
        if step >= 2:
            self.backfill_teacher(teacher_id, row.user_auth_id)
        status = self.teacher_status(agg.status_class, row.attended_educator_count)
        bucket = self.upsert_teacher_link(agg.session_id, teacher_id, status, row.row)
        self.counts[bucket] += 1
        if bucket != "unchanged":
            self._note_participation(row, "teacher", teacher_id, bucket.split("_", 1)[0], status)
        self._resolve_record(
            ("teacher", agg.session_id, row.match_key), teacher_id=teacher_id, volunteer_id=None
        )

    def upsert_teacher_link(self, session_id: str, teacher_id: int, status: str, row_number: int) -> str:
        """PF-15; returns the bucket. Confirmation: set at import time if null (attended), else cleared."""
        now = self.options.now
        link = self.lookups.teacher_links.get((session_id, teacher_id))
        if link is None:
            values: dict[str, Any] = {
                "session_id": session_id,
                "teacher_id": teacher_id,
                "status": status,
                "attendance_confirmed_at": now if status == "attended" else None,
                "row": row_number,
            }
            self.plan.teacher_link_inserts.append(values)
            self.lookups.teacher_links[(session_id, teacher_id)] = TeacherLink(
                id=None,
                status=status,
                attendance_confirmed_at=values["attendance_confirmed_at"],
                notes=None,
                source="pathful",
                pending=values,
            )
            return "created_participations"
        if not TEACHER_LINK_WRITABLE[link.notes is not None] or link.status == status:
            return "unchanged"
        confirmed = (link.attendance_confirmed_at or now) if status == "attended" else None
        if link.pending is not None:
            link.pending.update(status=status, attendance_confirmed_at=confirmed)
        else:
            assert link.id is not None
            self.plan.teacher_link_before.setdefault(
                link.id, {"status": link.status, "attendance_confirmed_at": link.attendance_confirmed_at}
            )
            self.plan.teacher_link_updates[link.id] = {
                "status": status,
                "attendance_confirmed_at": confirmed,
                "_session_id": session_id,
                "_teacher_id": teacher_id,
            }
        link.status = status
        link.attendance_confirmed_at = confirmed
        return "updated_participations"

    # ------------------------------------------------------------------ presenters (PF-16)
    def match_volunteer(self, row: Row) -> tuple[int | None, int, list[dict[str, Any]]]:
        lookups = self.lookups
        pid = row.user_auth_id
        if pid and pid in lookups.volunteer_by_pid:
            return lookups.volunteer_by_pid[pid], 1, []
        if row.email:
            ids = lookups.volunteer_ids_by_email.get(row.email, set())
            if len(ids) == 1:
                return next(iter(ids)), 2, []
        key = norm_name(row.name)
        if key:
            holders = lookups.volunteers_by_name.get(key, [])
            if len(holders) == 1:
                return holders[0], 3, []
        record = lookups.unmatched.get(("volunteer", row.session_id or "", row.match_key))
        if (
            record is not None
            and record.status == "resolved"
            and record.resolved_volunteer_id in lookups.volunteers
        ):
            return record.resolved_volunteer_id, 4, []
        return None, 0, self.near_volunteers(key)

    def near_volunteers(self, key: str | None) -> list[dict[str, Any]]:
        """PF-16 near matches: same last name, first names starting with the same 3 letters."""
        parts = (key or "").split()
        if len(parts) < 2:
            return []
        first, last = parts[0], parts[-1]
        return [
            {"id": v, "name": self.lookups.volunteers[v].name}
            for v in self.lookups.volunteers_by_last.get(last, ())
            if self.lookups.volunteers[v].first_key[:3] == first[:3]
        ]

    def backfill_volunteer(self, volunteer_id: int, pid: str | None) -> None:
        volunteer = self.lookups.volunteers[volunteer_id]
        if pid and volunteer.pathful_user_id is None and pid not in self.lookups.volunteer_by_pid:
            volunteer.pathful_user_id = pid
            self.lookups.volunteer_by_pid[pid] = volunteer_id
            self.plan.volunteer_backfills[volunteer_id] = pid

    @staticmethod
    def presenter_status(event_status: str | None, session_class: str) -> str:
        if event_status in ("cancelled", "no_show"):
            return event_status
        return PRESENTER_STATUS.get(session_class, "registered")

    def _professional(self, row: Row, cells: Mapping[str, Any], agg: SessionAgg) -> None:
        volunteer_id, step, candidates = self.match_volunteer(row)
        if volunteer_id is None:
            self.counts["unmatched_volunteers"] += 1
            self._queue_unmatched("volunteer", row, cells, candidates, "no_match")
            return
        if step >= 2:
            self.backfill_volunteer(volunteer_id, row.user_auth_id)
        status = self.presenter_status(agg.status, agg.status_class)
        bucket = self.upsert_presenter(
            agg.session_id, volunteer_id, status, self.session_duration(agg), row.row
        )
        self.counts[bucket] += 1
        if bucket != "unchanged":
            self._note_participation(row, "presenter", volunteer_id, bucket.split("_", 1)[0], status)
        self._resolve_record(
            ("volunteer", agg.session_id, row.match_key), teacher_id=None, volunteer_id=volunteer_id
        )

    def upsert_presenter(
        self, session_id: str, volunteer_id: int, status: str, duration: int, row_number: int
    ) -> str:
        hours = float(math.ceil(duration / 60)) if status == "attended" else 0.0
        link = self.lookups.presenter_links.get((session_id, volunteer_id))
        if link is None:
            values = {
                "session_id": session_id,
                "volunteer_id": volunteer_id,
                "status": status,
                "delivery_hours": hours,
                "row": row_number,
            }
            self.plan.presenter_inserts.append(values)
            self.lookups.presenter_links[(session_id, volunteer_id)] = PresenterLink(
                id=None,
                status=status,
                delivery_hours=hours,
                source="pathful",
                salesforce_id=None,
                pending=values,
            )
            return "created_participations"
        if not presenter_writable(link):
            return "unchanged"  # manual (or Salesforce) rows are left alone
        if link.status == status and link.delivery_hours == hours:
            return "unchanged"
        if link.pending is not None:
            link.pending.update(status=status, delivery_hours=hours)
        else:
            assert link.id is not None
            self.plan.presenter_before.setdefault(
                link.id, {"status": link.status, "delivery_hours": link.delivery_hours}
            )
            self.plan.presenter_updates[link.id] = {
                "status": status,
                "delivery_hours": hours,
                "_session_id": session_id,
                "_volunteer_id": volunteer_id,
            }
        link.status = status
        link.delivery_hours = hours
        return "updated_participations"

    # ------------------------------------------------------------------ queues (PF-17)
    def _queue_unmatched(
        self, kind: str, row: Row, cells: Mapping[str, Any], candidates: list[dict[str, Any]], reason: str
    ) -> None:
        key = (kind, row.session_id or "", row.match_key)
        values = {
            "type": kind,
            "session_id": key[1],
            "match_key": key[2],
            "user_auth_id": row.user_auth_id,
            "attempted_name": row.name,
            "attempted_email": row.email,
            "attempted_school": row.school,
            "raw_data": cells,  # made a dict when written (apply)
            "candidates": candidates,
            "reason": reason,
        }
        self._upsert_record(key, values)

    def _queue_no_date(self, agg: SessionAgg, key: tuple[str, str, str]) -> None:
        values: dict[str, Any] = {
            "type": "no_date_session",
            "session_id": agg.session_id,
            "match_key": "",
            "user_auth_id": None,
            "attempted_name": None,
            "attempted_email": None,
            "attempted_school": None,
            "raw_data": {"rows": [dict(cells) for cells in agg.queued_rows]},
            "candidates": [],
            "reason": "no_date",
        }
        self._upsert_record(key, values)

    def _upsert_record(self, key: tuple[str, str, str], values: dict[str, Any]) -> None:
        """New key → pending record; pending → fresh raw data; ignored / resolved → left as is."""
        existing = self.lookups.unmatched.get(key)
        if existing is None:
            values.update(status="pending", first_import_id=self.options.import_id)
            values["last_import_id"] = self.options.import_id
            self.plan.unmatched_inserts[key] = values
            self.lookups.unmatched[key] = UnmatchedState(
                id=None,
                type=key[0],
                session_id=key[1],
                match_key=key[2],
                status="pending",
                resolved_teacher_id=None,
                resolved_volunteer_id=None,
            )
            return
        if existing.id is None:  # queued earlier in this file: fresh data
            self.plan.unmatched_inserts[key].update(values)
            return
        if existing.status == "pending":
            update = self.plan.unmatched_updates.setdefault(existing.id, {})
            update.update(values)
            update["last_import_id"] = self.options.import_id

    def _resolve_record(
        self, key: tuple[str, str, str], *, teacher_id: int | None, volunteer_id: int | None
    ) -> None:
        """PF-17: a row that now matches (a session that now has a date) resolves its record."""
        existing = self.lookups.unmatched.get(key)
        if existing is None or existing.status not in ("pending", "ignored"):
            return
        note = (
            f"resolved by import {self.options.import_id}"
            if self.options.import_id is not None
            else "resolved by this import"
        )
        values = {
            "status": "resolved",
            "resolved_teacher_id": teacher_id,
            "resolved_volunteer_id": volunteer_id,
            "resolved_import_id": self.options.import_id,
            "resolution_note": note,
            "resolved_at": self.options.now,
            "last_import_id": self.options.import_id,
        }
        existing.status = "resolved"
        existing.resolved_teacher_id = teacher_id
        existing.resolved_volunteer_id = volunteer_id
        if existing.id is None:
            self.plan.unmatched_inserts[key].update(values)
        else:
            self.plan.unmatched_updates.setdefault(existing.id, {}).update(values)
        self.plan.resolved_unmatched.append((existing.id, key))

    # ------------------------------------------------------------------ report (PF-19)
    def report_counts(self) -> dict[str, int]:
        counts = {bucket: self.counts[bucket] for bucket in BUCKETS}
        counts["processed"] = (
            counts["created_participations"] + counts["updated_participations"] + counts["unchanged"]
        )
        counts["created_events"] = self.created_events
        counts["updated_events"] = self.updated_events
        return counts
