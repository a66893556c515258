"""Teacher progress (04 TP-1..TP-4, 06 §5) and attendance overrides (TP-5..TP-7).

Progress is computed when read, never stored (00 R4, TP-1): for a roster record P linked to
teacher T, in the academic-year window (Aug 1 00:00 local up to the next Aug 1, TP-2):

* ``counted`` = distinct virtual events in the window where T's ``event_teacher`` has
  ``attendance_confirmed_at`` set (soft-deleted events and participation rows are left out, 06 G3);
* ``adds`` = events of P's active ``add`` overrides in the window and not counted;
* ``removes`` = events of P's active ``remove`` overrides that are counted;
* ``attended_count = |counted| + |adds| - |removes|`` (TP-3);
* status (TP-4): ``achieved`` when ``attended_count >= target_sessions``; else ``in_progress`` when T
  has an ``event_teacher`` with status ``registered`` or ``attended`` on a not-deleted, not
  cancelled / no-show event whose ``start_date`` is after now; else ``not_started``.

Everything is one SQL statement per page (correlated subqueries on ``teacher_progress``), so a
list, a summary or a drill-down costs a fixed number of queries (06 P1). Every function takes
``now`` so callers and tests choose the clock; routers pass the real time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Select,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.attendance import Window, counted_clause
from polaris_api.attendance import academic_year_containing as academic_year_containing  # re-export
from polaris_api.attendance import auto_resolve_overrides as auto_resolve_overrides  # re-export
from polaris_api.attendance import current_academic_year as current_academic_year  # re-export
from polaris_api.attendance import window_for as window_for  # re-export
from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, UnknownEvent, not_found
from polaris_api.models.app_setting import (
    bump_reporting_data_version,
)
from polaris_api.models.events import Event, EventTeacher, event_is_virtual, is_virtual
from polaris_api.models.reference import District, School
from polaris_api.models.teachers import AttendanceOverride, TeacherProgress
from polaris_api.schemas.roster import OverrideCreate
from polaris_api.services import audit
from polaris_api.services.metrics.meta import TEACHER_OBJECTS, build_meta
from polaris_api.services.readable import readable_teacher_progress, require_readable_school

FUTURE_SIGNUP_STATUSES = ("registered", "attended")  # TP-4 row 2
NOT_HAPPENING_EVENT_STATUSES = ("cancelled", "no_show")  # TP-4: never gives in_progress
STATUSES = ("achieved", "in_progress", "not_started")


# ---------------------------------------------------------------------------------------------
# Problems of the override endpoints (TP-5, TP-6)


class EventNotVirtual(NamedProblem):
    status, code = 422, "event_not_virtual"
    default_detail = "Overrides apply to virtual events only."


class EventOutsideAcademicYear(NamedProblem):
    status, code = 422, "event_outside_academic_year"


class OverrideExists(NamedProblem):
    status, code = 409, "override_exists"
    default_detail = "An active override exists for this record and event."


class EventNotStarted(NamedProblem):
    status, code = 409, "event_not_started"
    default_detail = "An attendance can be added only once the event has started."


class AlreadyCounted(NamedProblem):
    status, code = 409, "already_counted"
    default_detail = "The event is already counted for this teacher."


class NotCounted(NamedProblem):
    status, code = 409, "not_counted"
    default_detail = "The event is not counted for this teacher; nothing to remove."


class AlreadyReversed(NamedProblem):
    status, code = 409, "already_reversed"
    default_detail = "The override is already reversed or auto-resolved."


OVERRIDE_PROBLEMS = (
    UnknownEvent,
    EventNotVirtual,
    EventOutsideAcademicYear,
    OverrideExists,
    EventNotStarted,
    AlreadyCounted,
    NotCounted,
)


# ---------------------------------------------------------------------------------------------
# Academic years and windows (04 §0, TP-2)


# ---------------------------------------------------------------------------------------------
# The TP-3 / TP-4 expressions, correlated to ``teacher_progress``


def _counted_event(override: Any, window: Window) -> ColumnElement[bool]:
    """EXISTS: the override's event is in the record's ``counted`` set (correlated to both)."""
    et, ev = aliased(EventTeacher), aliased(Event)
    return exists(
        select(literal(1))
        .select_from(et)
        .join(ev, ev.id == et.event_id)
        .where(et.event_id == override.event_id, counted_clause(et, ev, TeacherProgress.teacher_id, window))
        .correlate(TeacherProgress, override)
    )


def attended_count_expr(window: Window) -> ColumnElement[int]:
    """TP-3 ``|counted| + |adds| - |removes|`` for the enclosing ``teacher_progress`` row."""
    et, ev = aliased(EventTeacher), aliased(Event)
    counted = (
        select(func.count(distinct(et.event_id)))
        .select_from(et)
        .join(ev, ev.id == et.event_id)
        .where(counted_clause(et, ev, TeacherProgress.teacher_id, window))
        .correlate(TeacherProgress)
        .scalar_subquery()
    )
    add, add_event = aliased(AttendanceOverride), aliased(Event)
    adds = (
        select(func.count(add.id))
        .select_from(add)
        .join(add_event, add_event.id == add.event_id)
        .where(
            add.teacher_progress_id == TeacherProgress.id,
            add.is_active.is_(True),
            add.action == "add",
            add_event.is_deleted.is_(False),
            add_event.start_date >= window.start,
            add_event.start_date < window.end,
            ~_counted_event(add, window),
        )
        .correlate(TeacherProgress)
        .scalar_subquery()
    )
    remove = aliased(AttendanceOverride)
    removes = (
        select(func.count(remove.id))
        .where(
            remove.teacher_progress_id == TeacherProgress.id,
            remove.is_active.is_(True),
            remove.action == "remove",
            _counted_event(remove, window),
        )
        .correlate(TeacherProgress)
        .scalar_subquery()
    )
    return counted + adds - removes


def future_signup_expr(now: dt.datetime) -> ColumnElement[bool]:
    """TP-4 row 2: a registered/attended link to an event starting after ``now``."""
    et, ev = aliased(EventTeacher), aliased(Event)
    return exists(
        select(literal(1))
        .select_from(et)
        .join(ev, ev.id == et.event_id)
        .where(
            et.teacher_id == TeacherProgress.teacher_id,
            et.status.in_(FUTURE_SIGNUP_STATUSES),
            et.is_deleted.is_(False),
            ev.is_deleted.is_(False),
            ev.start_date > now,
            func.coalesce(ev.status, "").not_in(NOT_HAPPENING_EVENT_STATUSES),
        )
        .correlate(TeacherProgress)
    )


def progress_select(
    window: Window, now: dt.datetime, where: Iterable[ColumnElement[bool]] = ()
) -> Select[Any]:
    """Rows of ``teacher_progress`` (filtered by ``where``) with ``attended_count`` and ``status``.

    The result has every column of :class:`TeacherProgressItem` plus ``district_id``; filter or
    group on ``.subquery()`` of it (``status`` is a plain column there).
    """
    inner = (
        select(
            TeacherProgress.id,
            TeacherProgress.district_id,
            TeacherProgress.academic_year,
            TeacherProgress.name,
            TeacherProgress.email,
            TeacherProgress.building,
            TeacherProgress.school_id,
            TeacherProgress.grade,
            TeacherProgress.target_sessions,
            TeacherProgress.teacher_id,
            TeacherProgress.is_active,
            attended_count_expr(window).label("attended_count"),
            future_signup_expr(now).label("has_future_signup"),
        )
        .where(*where)
        .subquery("progress_base")
    )
    status = case(
        (inner.c.attended_count >= inner.c.target_sessions, "achieved"),
        (inner.c.has_future_signup.is_(True), "in_progress"),
        else_="not_started",
    ).label("status")
    columns = [column for column in inner.c if column.key != "has_future_signup"]
    return select(*columns, status)


def status_of(attended_count: int, target_sessions: int, has_future_signup: bool) -> str:
    """TP-4 on plain values (the SQL ``case`` above is the same rule)."""
    if attended_count >= target_sessions:
        return "achieved"
    if has_future_signup:
        return "in_progress"
    return "not_started"


def _row_item(row: Any) -> dict[str, Any]:
    item = dict(row._mapping)
    item["attended_count"] = int(item["attended_count"] or 0)
    item["is_active"] = bool(item["is_active"])
    return item


# ---------------------------------------------------------------------------------------------
# Reads


async def list_progress(
    session: AsyncSession,
    *,
    window: Window,
    now: dt.datetime,
    principal: Principal,
    district_id: int | None = None,
    school_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Active roster records of the window's year (TP-1), one page, and the total."""
    await require_readable_school(session, principal, school_id)
    where = [
        TeacherProgress.academic_year == window.academic_year,
        TeacherProgress.is_active.is_(True),
        *readable_teacher_progress(principal),
    ]
    if district_id is not None:
        where.append(TeacherProgress.district_id == district_id)
    if school_id is not None:
        where.append(TeacherProgress.school_id == school_id)
    if q:
        needle = q.strip().lower()
        where.append(
            or_(
                func.lower(TeacherProgress.name).contains(needle, autoescape=True),
                TeacherProgress.email.contains(needle, autoescape=True),
            )
        )
    rows = progress_select(window, now, where).subquery("progress")
    statement = select(rows)
    if status is not None:
        statement = statement.where(rows.c.status == status)
    total = (await session.execute(select(func.count()).select_from(statement.subquery()))).scalar_one()
    page = await session.execute(
        statement.order_by(func.lower(rows.c.name), rows.c.id).limit(limit).offset(offset)
    )
    return [_row_item(row) for row in page], int(total)


async def record_progress(
    session: AsyncSession, record_id: int, window: Window, now: dt.datetime
) -> dict[str, Any]:
    row = (await session.execute(progress_select(window, now, [TeacherProgress.id == record_id]))).one()
    return _row_item(row)


async def summary(
    session: AsyncSession,
    *,
    window: Window,
    now: dt.datetime,
    principal: Principal,
    district_id: int | None = None,
) -> list[dict[str, Any]]:
    """06 §5 counts: one row per district with nested school rows; Unknown school last."""
    where = [
        TeacherProgress.academic_year == window.academic_year,
        TeacherProgress.is_active.is_(True),
        *readable_teacher_progress(principal),
    ]
    if district_id is not None:
        where.append(TeacherProgress.district_id == district_id)
    rows = progress_select(window, now, where).subquery("progress")

    def count_of(value: str) -> Any:
        return func.coalesce(func.sum(case((rows.c.status == value, 1), else_=0)), 0)

    grouped = await session.execute(
        select(
            rows.c.district_id,
            District.name.label("district_name"),
            rows.c.school_id,
            School.name.label("school_name"),
            func.count().label("teachers"),
            count_of("achieved").label("achieved"),
            count_of("in_progress").label("in_progress"),
            count_of("not_started").label("not_started"),
        )
        .join(District, District.id == rows.c.district_id)
        .outerjoin(School, School.id == rows.c.school_id)
        .group_by(rows.c.district_id, District.name, rows.c.school_id, School.name)
    )
    districts: dict[int, dict[str, Any]] = {}
    for row in grouped:
        entry = districts.setdefault(
            row.district_id,
            {
                "district": {"id": row.district_id, "name": row.district_name},
                "schools": 0,
                "teachers": 0,
                "achieved": 0,
                "in_progress": 0,
                "not_started": 0,
                "by_school": [],
            },
        )
        counts = {key: int(getattr(row, key)) for key in ("teachers", *STATUSES)}
        for key, value in counts.items():
            entry[key] += value
        if row.school_id is not None:
            entry["schools"] += 1
        entry["by_school"].append(
            {"school": {"id": row.school_id, "name": row.school_name or "Unknown"}, **counts}
        )
    if district_id is not None and district_id not in districts:
        district = await session.get(District, district_id)
        if district is not None:
            districts[district_id] = {
                "district": {"id": district.id, "name": district.name},
                "schools": 0,
                "teachers": 0,
                "achieved": 0,
                "in_progress": 0,
                "not_started": 0,
                "by_school": [],
            }
    result = sorted(districts.values(), key=lambda d: (d["district"]["name"].lower(), d["district"]["id"]))
    for entry in result:
        entry["by_school"].sort(
            key=lambda s: (s["school"]["id"] is None, s["school"]["name"].lower(), s["school"]["id"] or 0)
        )
    return result


async def record_sessions(
    session: AsyncSession, record: TeacherProgress, window: Window
) -> tuple[list[dict[str, Any]], list[AttendanceOverride]]:
    """The drill-down: T's sessions in the window and the record's overrides (TP-3 made visible).

    ``counted`` is true for exactly the events that make up ``attended_count``.
    """
    overrides = list(
        (
            await session.execute(
                select(AttendanceOverride)
                .where(AttendanceOverride.teacher_progress_id == record.id)
                .order_by(AttendanceOverride.id)
            )
        ).scalars()
    )
    links: list[tuple[EventTeacher, Event]] = []
    if record.teacher_id is not None:
        links = [
            (row[0], row[1])
            for row in await session.execute(
                select(EventTeacher, Event)
                .join(Event, Event.id == EventTeacher.event_id)
                .where(
                    EventTeacher.teacher_id == record.teacher_id,
                    EventTeacher.is_deleted.is_(False),
                    Event.is_deleted.is_(False),
                    is_virtual(Event),
                    Event.start_date >= window.start,
                    Event.start_date < window.end,
                )
            )
        ]
    counted = {event.id for link, event in links if link.attendance_confirmed_at is not None}
    active = [o for o in overrides if o.is_active]
    removed = {o.event_id for o in active if o.action == "remove" and o.event_id in counted}
    add_ids = [o.event_id for o in active if o.action == "add" and o.event_id not in counted]
    added_events: list[Event] = []
    if add_ids:
        added_events = list(
            (
                await session.execute(
                    select(Event).where(
                        Event.id.in_(add_ids),
                        Event.is_deleted.is_(False),
                        Event.start_date >= window.start,
                        Event.start_date < window.end,
                    )
                )
            ).scalars()
        )
    sessions = [
        {
            "event_id": event.id,
            "title": event.title,
            "start_date": event.start_date,
            "status": link.status,
            "event_status": event.status,
            "counted": event.id in counted and event.id not in removed,
            "source": "import",
        }
        for link, event in links
    ]
    sessions.extend(
        {
            "event_id": event.id,
            "title": event.title,
            "start_date": event.start_date,
            "status": "attended",
            "event_status": event.status,
            "counted": True,
            "source": "override",
        }
        for event in added_events
    )
    sessions.sort(key=lambda s: (s["start_date"] or dt.datetime.min.replace(tzinfo=dt.UTC), s["event_id"]))
    return sessions, overrides


async def progress_meta(
    session: AsyncSession, zone_name: str, filters: dict[str, Any], window: Window, now: dt.datetime
) -> dict[str, Any]:
    """06 §7 ``meta`` for teacher-progress responses (the shared builder; reads teachers and
    Pathful data)."""
    local_end = window.end.astimezone(ZoneInfo(zone_name)).date() - dt.timedelta(days=1)
    return await build_meta(
        session,
        filters={
            **filters,
            "academic_year": window.academic_year,
            "virtual_year": window.academic_year,
            "start_date": window.start.astimezone(ZoneInfo(zone_name)).date().isoformat(),
            "end_date": local_end.isoformat(),
            "timezone": zone_name,
        },
        objects=TEACHER_OBJECTS,
        pathful=True,
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# Writes: overrides (TP-5, TP-6, TP-7) and the reporting data version (06 P4)


async def event_counted(
    session: AsyncSession, record: TeacherProgress, event_id: int, window: Window
) -> bool:
    """Whether ``event_id`` is in the record's TP-3 ``counted`` set (imported, confirmed attendance)."""
    if record.teacher_id is None:
        return False
    statement = (
        select(literal(1))
        .select_from(EventTeacher)
        .join(Event, Event.id == EventTeacher.event_id)
        .where(
            EventTeacher.event_id == event_id, counted_clause(EventTeacher, Event, record.teacher_id, window)
        )
    )
    return (await session.execute(statement)).first() is not None


def _override_snapshot(override: AttendanceOverride) -> dict[str, Any]:
    return {
        "teacher_progress_id": override.teacher_progress_id,
        "event_id": override.event_id,
        "action": override.action,
        "is_active": override.is_active,
        "reversal_reason": override.reversal_reason,
    }


async def create_override(
    session: AsyncSession,
    actor: Principal,
    record_id: int,
    body: OverrideCreate,
    *,
    zone: ZoneInfo,
    now: dt.datetime | None = None,
) -> AttendanceOverride:
    """TP-5: add or remove one event from a record's count; shows on the next read (TP-8)."""
    now = now or utcnow()
    record = await session.get(TeacherProgress, record_id)
    if record is None:
        raise not_found("teacher progress record")
    event = await session.get(Event, body.event_id)
    if event is None or event.is_deleted:
        raise UnknownEvent()
    if not event_is_virtual(event):
        raise EventNotVirtual()
    window = window_for(record.academic_year, zone)
    if event.start_date is None or not window.start <= event.start_date < window.end:
        raise EventOutsideAcademicYear(
            f"The event is not in the record's academic year {record.academic_year}."
        )
    existing = (
        await session.execute(
            select(AttendanceOverride.id).where(
                AttendanceOverride.teacher_progress_id == record.id,
                AttendanceOverride.event_id == event.id,
                AttendanceOverride.is_active.is_(True),
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise OverrideExists(override_id=existing)
    counted = await event_counted(session, record, event.id, window)
    if body.action == "add":
        if event.start_date > now:
            raise EventNotStarted()
        if counted:
            raise AlreadyCounted()
    elif not counted:
        raise NotCounted()
    override = AttendanceOverride(
        teacher_progress_id=record.id,
        event_id=event.id,
        action=body.action,
        reason=body.reason,
        is_active=True,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(override)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise OverrideExists() from None
    await audit.record(
        session,
        "attendance_override.created",
        actor=actor,
        entity_type="attendance_override",
        entity_id=override.id,
        changes={key: (None, value) for key, value in _override_snapshot(override).items()},
        details={"reason_length": len(body.reason)},
    )
    await bump_reporting_data_version(session)
    await session.flush()
    return override


async def reverse_override(
    session: AsyncSession,
    actor: Principal,
    override_id: int,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> AttendanceOverride:
    """TP-6: deactivate an override (never deleted); a second reversal is refused with 409."""
    override = await session.get(AttendanceOverride, override_id)
    if override is None:
        raise not_found("override")
    if not override.is_active:
        raise AlreadyReversed()
    before = _override_snapshot(override)
    override.is_active = False
    override.reversed_by_id = actor.user_id
    override.reversed_at = now or utcnow()
    override.reversal_reason = reason
    await audit.record(
        session,
        "attendance_override.reversed",
        actor=actor,
        entity_type="attendance_override",
        entity_id=override.id,
        changes=audit.diff(before, _override_snapshot(override)),
    )
    await bump_reporting_data_version(session)
    await session.flush()
    return override
