"""Teacher attendance rules shared by the services and the import layer (04 TP-2, TP-3, TP-7).

A low module (models and errors only) so that ``sync/`` (the Pathful import) and ``services/``
(roster import, teacher progress) call one implementation of each rule:

* the academic-year window (04 §0, TP-2);
* ``counted_clause``: an ``event_teacher`` link is in a record's TP-3 ``counted`` set;
* ``auto_resolve_overrides``: TP-7, run after every import or replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.clock import local_today
from polaris_api.errors import NamedProblem
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import Event, EventTeacher, is_virtual
from polaris_api.models.teachers import AttendanceOverride, TeacherProgress
from polaris_api.observability import client_ip_var, request_id_var
from polaris_api.schemas.roster import academic_year_start

AUTO_RESOLVED_ACTION = "attendance_override.auto_resolved"


class InvalidAcademicYear(NamedProblem):
    status, code = 422, "invalid_academic_year"
    default_detail = "academic_year must be YYYY-YYYY with the second year the first plus one."


@dataclass(frozen=True)
class Window:
    """An academic year as UTC bounds: ``start <= event.start_date < end``."""

    academic_year: str
    start: dt.datetime
    end: dt.datetime

    def contains(self, moment: dt.datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def academic_year_containing(day: dt.date) -> str:
    first = day.year if day.month >= 8 else day.year - 1
    return f"{first}-{first + 1}"


def current_academic_year(zone: ZoneInfo, now: dt.datetime | None = None) -> str:
    """The academic year containing local today (TP-2 default)."""
    return academic_year_containing(local_today(zone, now))


def window_for(academic_year: str, zone: dt.tzinfo) -> Window:
    """Aug 1 00:00 local of the first year up to Aug 1 00:00 local of the next; 422 if malformed."""
    try:
        first = academic_year_start(academic_year)
    except ValueError:
        raise InvalidAcademicYear() from None
    start = dt.datetime(first, 8, 1, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime(first + 1, 8, 1, tzinfo=zone).astimezone(dt.UTC)
    return Window(academic_year, start, end)


def counted_link(et: Any, ev: Any, teacher_id: Any) -> ColumnElement[bool]:
    """TP-3 ``counted`` without the window: ``et`` (joined to ``ev``) is a confirmed attendance of
    ``teacher_id`` on a live virtual event (06 G7)."""
    return and_(
        et.teacher_id == teacher_id,
        et.attendance_confirmed_at.is_not(None),
        et.is_deleted.is_(False),
        ev.is_deleted.is_(False),
        is_virtual(ev),
    )


def counted_clause(et: Any, ev: Any, teacher_id: Any, window: Window) -> ColumnElement[bool]:
    """TP-3 ``counted``: a confirmed attendance on a live virtual event in the window."""
    return and_(
        counted_link(et, ev, teacher_id),
        ev.start_date >= window.start,
        ev.start_date < window.end,
    )


async def auto_resolve_overrides(
    session: AsyncSession,
    import_id: int | None,
    *,
    zone: dt.tzinfo,
    teacher_progress_ids: Sequence[int] | None = None,
    now: dt.datetime | None = None,
) -> list[int]:
    """TP-7, after an import or replay: close every active ``add`` override whose event is now in
    the record's TP-3 ``counted`` set (same virtual, live-event and window rules as the count).

    Set-based: one select, batched updates, one audit insert (actor ``system``). The count does
    not change, so the 06 P4 version is the caller's (an import bumps it anyway, PF-23). The
    caller's transaction commits it. Returns the closed override ids, ascending.
    """
    if teacher_progress_ids is not None and not teacher_progress_ids:
        return []
    now = now or dt.datetime.now(dt.UTC)
    statement = (
        select(AttendanceOverride.id, TeacherProgress.academic_year, Event.start_date)
        .join(TeacherProgress, TeacherProgress.id == AttendanceOverride.teacher_progress_id)
        .join(Event, Event.id == AttendanceOverride.event_id)
        .where(
            AttendanceOverride.is_active.is_(True),
            AttendanceOverride.action == "add",
            exists(
                select(literal(1))
                .select_from(EventTeacher)
                .where(
                    EventTeacher.event_id == AttendanceOverride.event_id,
                    counted_link(EventTeacher, Event, TeacherProgress.teacher_id),
                )
            ),
        )
        .order_by(AttendanceOverride.id)
    )
    if teacher_progress_ids is not None:
        statement = statement.where(AttendanceOverride.teacher_progress_id.in_(list(teacher_progress_ids)))
    windows: dict[str, Window] = {}
    closing: list[int] = []
    for override_id, academic_year, start_date in (await session.execute(statement)).all():
        try:
            window = windows.setdefault(academic_year, window_for(academic_year, zone))
        except InvalidAcademicYear:
            continue
        if window.contains(start_date):
            closing.append(override_id)
    if not closing:
        return []
    reason = f"auto-resolved: attendance imported by import {import_id}"
    for start in range(0, len(closing), 500):
        await session.execute(
            update(AttendanceOverride)
            .where(AttendanceOverride.id.in_(closing[start : start + 500]))
            .values(is_active=False, reversed_by_id=None, reversed_at=now, reversal_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
    audit_row = {
        "occurred_at": now,
        "actor_type": "system",
        "actor_id": None,
        "actor_role": None,
        "action": AUTO_RESOLVED_ACTION,
        "entity_type": "attendance_override",
        "request_id": request_id_var.get(),
        "client_ip": client_ip_var.get(),
    }
    changes = {
        "is_active": {"old": True, "new": False},
        "reversal_reason": {"old": None, "new": reason},
        "_details": {"import_id": import_id},
    }
    await session.execute(
        insert(AuditEntry),
        [{**audit_row, "entity_id": str(override_id), "changes": changes} for override_id in closing],
    )
    return closing
