"""District year-end report (06 §6.2-6.7, 6.9): every figure is a SQL aggregate (P1).

The event scope ``B(d)`` is one CTE of ``(district_id, event_id)`` pairs: delivered events of the
window and host filter attributed to ``d`` by M50 (``event_district_attr``), plus virtual events
with a district-scoped teacher (the §6.4 teacher-school exception). Every query groups by
``district_id`` over that CTE, so the full report (one district) and the card list (a page of
districts) run the same fixed set of queries and their figures agree by construction; no query
runs per event or per district.

The teacher-school exception (§6.2 ``B(d)``, ``DT``, registered teachers) follows the §6.2 SQL
literally: the teacher's ``school.district_id``, the school's own soft-deletion not consulted
(as G9 for the teacher metrics). Event school attribution (timeline rows, by-school, the HS-only
fair bucket) is M51 ``attr_school``: a soft-deleted school is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    Select,
    and_,
    case,
    distinct,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.errors import not_found
from polaris_api.models.events import Event, EventParticipation, EventStudentParticipation, EventTeacher
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.pagination import Page, PageParams, paginate
from polaris_api.services.metrics import sql as m
from polaris_api.services.metrics.manual_inputs import read_manual_inputs
from polaris_api.services.metrics.school_year import SchoolYear

CONNECTOR = "connector_session"
CANCELLED = "cancelled"
CONNECTOR_BLOCK_TYPES = ("virtual_session", "connector_session")  # 06 §6.5 connector_sessions
STUDENT_BUCKETS: dict[str, tuple[str, ...]] = {
    "career_jumping_students": ("career_jumping",),
    "career_speakers_students": ("career_speaker",),
    "healthstart_students": ("healthstart",),
    "bfi_students": ("bfi",),
    "sla_students": ("sla",),
    "p2t_students": ("p2t",),
    "p2gd_students": ("p2gd",),
    "dia_students": ("dia", "dia_classroom_speaker"),
    "client_connected_students": ("client_connected_project",),
}
HS_FAIR_TYPES = ("career_fair", "college_application_fair")  # only at a school with level 'high'
MATH_RELAYS = "math_relays"


@dataclass(frozen=True)
class Scope:
    """The districts, UTC window and host filter of ``B(d)``."""

    district_ids: Sequence[int]
    lo: dt.datetime
    hi: dt.datetime
    host_filter: m.HostFilter


# ---------------------------------------------------------------------------------------------
# B(d)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """A boolean as 0/1, so it can be grouped and summed alike on both databases."""
    return case((condition, 1), else_=0)


def scope_cte(scope: Scope) -> CTE:
    """06 §6.2 ``B(d)`` as ``(district_id, event_id)`` pairs, for every district of the scope."""
    attr = m.event_district_attr(scope.lo, scope.hi)
    event = aliased(Event)
    base = and_(
        event.is_deleted.is_(false()),
        m.delivered(event),
        m.in_window(event, scope.lo, scope.hi),
        m.host_predicate(event, scope.host_filter),
    )
    by_attribution = (
        select(attr.c.district_id.label("district_id"), event.id.label("event_id"))
        .join(attr, attr.c.event_id == event.id)
        .where(base, attr.c.district_id.in_(scope.district_ids))
    )
    link, teacher, school = aliased(EventTeacher), aliased(Teacher), aliased(School)
    by_teacher_school = (
        select(school.district_id.label("district_id"), event.id.label("event_id"))
        .join(link, link.event_id == event.id)
        .join(teacher, teacher.id == link.teacher_id)
        .join(school, school.id == teacher.school_id)
        .where(
            base,
            m.is_virtual(event),
            link.is_deleted.is_(false()),
            teacher.is_deleted.is_(false()),
            school.district_id.in_(scope.district_ids),
        )
    )
    return union(by_attribution, by_teacher_school).cte("year_end_scope")


# ---------------------------------------------------------------------------------------------
# Grouped aggregates over B(d): one query each, one row per district


async def event_counts(session: AsyncSession, scope: CTE) -> dict[int, list[tuple[str, bool, int]]]:
    """Per district: ``(type code, is virtual, events)`` rows; each event has one type and format."""
    event = aliased(Event)
    type_code = func.coalesce(m.norm(event.type), "unknown")
    virtual = _flag(m.is_virtual(event))
    rows = await session.execute(
        select(scope.c.district_id, type_code, virtual, func.count(distinct(event.id)))
        .join(event, event.id == scope.c.event_id)
        .group_by(scope.c.district_id, type_code, virtual)
    )
    counts: dict[int, list[tuple[str, bool, int]]] = {}
    for district_id, code, is_virtual, n in rows:
        counts.setdefault(district_id, []).append((code, bool(is_virtual), n))
    return counts


async def volunteer_counts(session: AsyncSession, scope: CTE) -> dict[int, dict[str, Any]]:
    """Per district: engagements, unique keys and M30 hours by format over ``VPd``, and the hours
    of volunteers with a non-blank organisation (06 §6.4 volunteers, organizations)."""
    event, part, volunteer = aliased(Event), aliased(EventParticipation), aliased(Volunteer)
    key = m.vkey(volunteer)
    virtual = _flag(m.is_virtual(event))
    hours = m.hours(part, event)
    has_org = func.nullif(func.trim(volunteer.organization_name), "").is_not(None)
    pairs = (
        select(
            scope.c.district_id.label("district_id"),
            key.label("k"),
            virtual.label("virtual"),
            func.max(hours).label("h"),
            func.max(case((has_org, hours), else_=null())).label("h_org"),
        )
        .join(event, event.id == scope.c.event_id)
        .join(part, part.event_id == event.id)
        .join(volunteer, volunteer.id == part.volunteer_id)
        .where(m.vp_conditions(part, volunteer))
        .group_by(scope.c.district_id, event.id, key, virtual)
        .subquery("volunteer_pairs")
    )
    ip, v = pairs.c.virtual == 0, pairs.c.virtual == 1
    zero = literal(0.0)
    columns = {
        "in_person": func.sum(_flag(ip)),
        "virtual": func.sum(_flag(v)),
        "unique_in_person": func.count(distinct(case((ip, pairs.c.k)))),
        "unique_virtual": func.count(distinct(case((v, pairs.c.k)))),
        "unique_total": func.count(distinct(pairs.c.k)),
        "hours_in_person": func.sum(case((ip, pairs.c.h), else_=zero)),
        "hours_virtual": func.sum(case((v, pairs.c.h), else_=zero)),
        "hours_total": func.sum(pairs.c.h),
        "org_hours_in_person": func.sum(case((ip, pairs.c.h_org), else_=zero)),
        "org_hours_virtual": func.sum(case((v, pairs.c.h_org), else_=zero)),
        "org_hours_total": func.coalesce(func.sum(pairs.c.h_org), zero),
    }
    return await _grouped(session, pairs.c.district_id, columns)


async def organization_counts(session: AsyncSession, scope: CTE) -> dict[int, dict[str, Any]]:
    """Per district: M40 (distinct non-blank organisation names, case-sensitive) by format."""
    event, part, volunteer = aliased(Event), aliased(EventParticipation), aliased(Volunteer)
    org = func.nullif(func.trim(volunteer.organization_name), "")
    virtual = m.is_virtual(event)
    columns = {
        "unique_in_person": func.count(distinct(case((~virtual, org)))),
        "unique_virtual": func.count(distinct(case((virtual, org)))),
        "unique_total": func.count(distinct(org)),
    }
    rows = await session.execute(
        select(scope.c.district_id, *(c.label(name) for name, c in columns.items()))
        .join(event, event.id == scope.c.event_id)
        .join(part, part.event_id == event.id)
        .join(volunteer, volunteer.id == part.volunteer_id)
        .where(m.vp_conditions(part, volunteer))
        .group_by(scope.c.district_id)
    )
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


async def student_counts(session: AsyncSession, scope: CTE) -> dict[int, dict[str, Any]]:
    """Per district: ``(event, skey)`` attendances and distinct students over ``SPd`` for every
    program bucket of 06 §6.5 (``in_person_students`` = all of ``S_ip``)."""
    event, row, student, school = (
        aliased(Event),
        aliased(EventStudentParticipation),
        aliased(Student),
        aliased(School),
    )
    high_school = _flag(school.level == "high")
    pairs = (
        select(
            scope.c.district_id.label("district_id"),
            event.id.label("event_id"),
            m.skey(student).label("k"),
            event.type.label("type"),
            high_school.label("hs"),
        )
        .distinct()
        .join(event, event.id == scope.c.event_id)
        .join(row, row.event_id == event.id)
        .join(student, student.id == row.student_id)
        .outerjoin(school, school.id == m.attr_school(event))
        .where(m.sp_conditions(row, student), ~m.is_virtual(event))
        .subquery("student_pairs")
    )
    buckets: dict[str, ColumnElement[bool]] = {"in_person_students": true()}
    buckets |= {name: pairs.c.type.in_(types) for name, types in STUDENT_BUCKETS.items()}
    buckets["career_college_fair_hs_students"] = and_(pairs.c.type.in_(HS_FAIR_TYPES), pairs.c.hs == 1)
    columns: dict[str, ColumnElement[Any]] = {}
    for name, condition in buckets.items():
        columns[f"{name}.total"] = func.sum(_flag(condition))
        columns[f"{name}.unique"] = func.count(distinct(case((condition, pairs.c.k))))
    return await _grouped(session, pairs.c.district_id, columns)


async def teacher_counts(session: AsyncSession, scope: CTE) -> dict[int, dict[str, Any]]:
    """Per district over the district-scoped teachers of ``S_v`` (06 §6.4 ``DT``, registered
    teachers, §6.5 ``teachers_engaged``): the teacher's school, not the event's attribution."""
    event, link, teacher, school = aliased(Event), aliased(EventTeacher), aliased(Teacher), aliased(School)
    key = m.tkey(teacher)
    confirmed = m.tch_confirmed(link)
    connector_block = _flag(event.type.in_(CONNECTOR_BLOCK_TYPES))
    pairs = (
        select(
            scope.c.district_id.label("district_id"),
            key.label("k"),
            func.max(_flag(confirmed)).label("confirmed"),
            func.max(_flag(or_(func.coalesce(link.status, "") != CANCELLED, confirmed))).label("registered"),
            connector_block.label("connector"),
        )
        .join(event, event.id == scope.c.event_id)
        .join(link, link.event_id == event.id)
        .join(teacher, teacher.id == link.teacher_id)
        .join(school, school.id == teacher.school_id)
        .where(
            m.is_virtual(event),
            m.tp_person_conditions(link, teacher),
            school.district_id == scope.c.district_id,
        )
        .group_by(scope.c.district_id, event.id, key, connector_block)
        .subquery("teacher_pairs")
    )
    conf = pairs.c.confirmed == 1
    connector = and_(conf, pairs.c.connector == 1)
    columns = {
        "confirmed_teachers": func.count(distinct(case((conf, pairs.c.k)))),
        "registered_teachers": func.count(distinct(case((pairs.c.registered == 1, pairs.c.k)))),
        "connector_total": func.sum(_flag(connector)),
        "connector_unique": func.count(distinct(case((connector, pairs.c.k)))),
    }
    return await _grouped(session, pairs.c.district_id, columns)


async def _grouped(
    session: AsyncSession, district_id: ColumnElement[Any], columns: Mapping[str, ColumnElement[Any]]
) -> dict[int, dict[str, Any]]:
    rows = await session.execute(
        select(district_id, *(c.label(f"c{i}") for i, c in enumerate(columns.values()))).group_by(district_id)
    )
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


@dataclass(frozen=True)
class Aggregates:
    """The grouped query results every part of the report is assembled from."""

    events: dict[int, list[tuple[str, bool, int]]]
    volunteers: dict[int, dict[str, Any]]
    students: dict[int, dict[str, Any]]
    teachers: dict[int, dict[str, Any]]
    organizations: dict[int, dict[str, Any]]


async def aggregates(session: AsyncSession, scope: Scope, *, organizations: bool = True) -> Aggregates:
    """Run the grouped queries once for every district of ``scope`` (5 queries, 4 for cards)."""
    cte = scope_cte(scope)
    return Aggregates(
        events=await event_counts(session, cte),
        volunteers=await volunteer_counts(session, cte),
        students=await student_counts(session, cte),
        teachers=await teacher_counts(session, cte),
        organizations=await organization_counts(session, cte) if organizations else {},
    )


def _int(values: dict[str, Any], key: str) -> int:
    return int(values.get(key) or 0)


def _hours(values: dict[str, Any], key: str) -> float:
    return m.round_hours(float(values.get(key) or 0.0))


def enhanced(agg: Aggregates, district_id: int, n: int) -> dict[str, Any]:
    """06 §6.4 for one district."""
    event_rows = agg.events.get(district_id, [])
    vol = agg.volunteers.get(district_id, {})
    stu = agg.students.get(district_id, {})
    tch = agg.teachers.get(district_id, {})
    org = agg.organizations.get(district_id, {})
    by_format: dict[str, dict[str, int]] = {"in_person": {}, "virtual": {}}
    types: dict[str, int] = {}
    for code, is_virtual, count in event_rows:
        part = by_format["virtual" if is_virtual else "in_person"]
        part[code] = part.get(code, 0) + count
        types[code] = types.get(code, 0) + count
    in_person, virtual = sum(by_format["in_person"].values()), sum(by_format["virtual"].values())
    confirmed = _int(tch, "confirmed_teachers")
    students_in_person = _int(stu, "in_person_students.total")
    hours = {fmt: _hours(vol, f"hours_{fmt}") for fmt in ("in_person", "virtual", "total")}
    engaged_ip, engaged_v = _int(vol, "in_person"), _int(vol, "virtual")
    return {
        "events": {
            "total": in_person + virtual,
            "in_person": in_person,
            "virtual": virtual,
            "in_person_pct": m.pct(in_person, in_person + virtual),
            "virtual_pct": m.pct(virtual, in_person + virtual),
        },
        "students": {
            "total": students_in_person + n * confirmed,
            "in_person": students_in_person,
            "virtual": n * confirmed,
            "unique_total": _int(stu, "in_person_students.unique"),
            "unique_in_person": _int(stu, "in_person_students.unique"),
            "unique_virtual": 0,
        },
        "volunteers": {
            "total": engaged_ip + engaged_v,
            "in_person": engaged_ip,
            "virtual": engaged_v,
            "unique_total": _int(vol, "unique_total"),
            "unique_in_person": _int(vol, "unique_in_person"),
            "unique_virtual": _int(vol, "unique_virtual"),
            "hours_total": hours["total"],
            "hours_in_person": hours["in_person"],
            "hours_virtual": hours["virtual"],
            "hours_in_person_pct": m.pct(_float(vol, "hours_in_person"), _float(vol, "hours_total")),
            "hours_virtual_pct": m.pct(_float(vol, "hours_virtual"), _float(vol, "hours_total")),
        },
        "organizations": {
            "unique_total": _int(org, "unique_total"),
            "unique_in_person": _int(org, "unique_in_person"),
            "unique_virtual": _int(org, "unique_virtual"),
            "volunteer_hours_total": _hours(vol, "org_hours_total"),
            "volunteer_hours_in_person": _hours(vol, "org_hours_in_person"),
            "volunteer_hours_virtual": _hours(vol, "org_hours_virtual"),
        },
        "virtual_sessions": {
            "classrooms_reached": confirmed,
            "unique_teachers": confirmed,
            "confirmed_teachers": confirmed,
            "registered_teachers": _int(tch, "registered_teachers"),
        },
        "event_types": types,
        "event_types_by_format": by_format,
    }


def _float(values: dict[str, Any], key: str) -> float:
    return float(values.get(key) or 0.0)


def program_breakdown(agg: Aggregates, district_id: int, n: int) -> dict[str, Any]:
    """06 §6.5 for one district."""
    stu = agg.students.get(district_id, {})
    tch = agg.teachers.get(district_id, {})
    event_rows = agg.events.get(district_id, [])
    names = ["in_person_students", *STUDENT_BUCKETS, "career_college_fair_hs_students"]
    result: dict[str, Any] = {
        name: {"total": _int(stu, f"{name}.total"), "unique": _int(stu, f"{name}.unique")} for name in names
    }
    engaged_unique = _int(tch, "connector_unique")
    result["math_relays_count"] = sum(count for code, _, count in event_rows if code == MATH_RELAYS)
    result["connector_sessions"] = {
        "session_count": sum(count for code, _, count in event_rows if code in CONNECTOR_BLOCK_TYPES),
        "teachers_engaged": {"total": _int(tch, "connector_total"), "unique": engaged_unique},
        "students_participated": {"total": n * engaged_unique, "unique": None},
    }
    return result


def card(agg: Aggregates, district: District, n: int) -> dict[str, Any]:
    """06 §6.7: the enhanced figures a card shows, from the same aggregates."""
    figures = enhanced(agg, district.id, n)
    return {
        "district": {"id": district.id, "name": district.name},
        "events_total": figures["events"]["total"],
        "students_total": figures["students"]["total"],
        "volunteer_hours_total": figures["volunteers"]["hours_total"],
        "unique_volunteers": figures["volunteers"]["unique_total"],
    }


# ---------------------------------------------------------------------------------------------
# Timeline (06 §6.6): T = B(d) minus connector sessions


def month_bounds(first_year: int, zone: ZoneInfo) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """The 12 Chicago months August..July as ``(YYYY-MM, lo, hi)`` UTC bounds (DST-aware)."""
    starts = [dt.date(first_year + (month < 8), month, 1) for month in (*range(8, 13), *range(1, 8))]
    starts.append(dt.date(first_year + 1, 8, 1))
    utc = [dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC) for day in starts]
    return [(f"{starts[i]:%Y-%m}", utc[i], utc[i + 1]) for i in range(12)]


def _not_connector(event: Any) -> ColumnElement[bool]:
    return func.coalesce(event.type, "") != CONNECTOR


async def events_by_month(
    session: AsyncSession, scope: CTE, months: list[tuple[str, dt.datetime, dt.datetime]]
) -> list[dict[str, Any]]:
    event = aliased(Event)
    columns = [
        func.coalesce(func.sum(_flag(and_(event.start_date >= lo, event.start_date < hi))), 0)
        for _, lo, hi in months
    ]
    row = (
        await session.execute(
            select(*columns)
            .join_from(scope, event, event.id == scope.c.event_id)
            .where(_not_connector(event))
        )
    ).one()
    return [{"month": label, "events": int(count)} for (label, _, _), count in zip(months, row, strict=True)]


def _per_event_volunteers(scope: CTE) -> Any:
    event, part, volunteer = aliased(Event), aliased(EventParticipation), aliased(Volunteer)
    key = m.vkey(volunteer)
    pairs = (
        select(event.id.label("event_id"), func.max(m.hours(part, event)).label("h"))
        .join_from(scope, event, event.id == scope.c.event_id)
        .join(part, part.event_id == event.id)
        .join(volunteer, volunteer.id == part.volunteer_id)
        .where(m.vp_conditions(part, volunteer))
        .group_by(event.id, key)
        .subquery("event_volunteer_pairs")
    )
    return (
        select(
            pairs.c.event_id,
            func.count().label("volunteers"),
            func.sum(pairs.c.h).label("hours"),
        )
        .group_by(pairs.c.event_id)
        .subquery("event_volunteers")
    )


def _per_event_students(scope: CTE) -> Any:
    event, row, student = aliased(Event), aliased(EventStudentParticipation), aliased(Student)
    return (
        select(event.id.label("event_id"), func.count(distinct(m.skey(student))).label("students"))
        .join_from(scope, event, event.id == scope.c.event_id)
        .join(row, row.event_id == event.id)
        .join(student, student.id == row.student_id)
        .where(m.sp_conditions(row, student), ~m.is_virtual(event))
        .group_by(event.id)
        .subquery("event_students")
    )


def _per_event_teachers(scope: CTE) -> Any:
    """District-scoped confirmed teachers per virtual event (``DT`` by event)."""
    event, link, teacher, school = aliased(Event), aliased(EventTeacher), aliased(Teacher), aliased(School)
    return (
        select(event.id.label("event_id"), func.count(distinct(m.tkey(teacher))).label("teachers"))
        .join_from(scope, event, event.id == scope.c.event_id)
        .join(link, link.event_id == event.id)
        .join(teacher, teacher.id == link.teacher_id)
        .join(school, school.id == teacher.school_id)
        .where(
            m.is_virtual(event),
            m.tp_person_conditions(link, teacher),
            m.tch_confirmed(link),
            school.district_id == scope.c.district_id,
        )
        .group_by(event.id)
        .subquery("event_teachers")
    )


async def timeline_events(session: AsyncSession, scope: CTE, n: int) -> list[dict[str, Any]]:
    """One row per event of T (one district's scope), by ``start_date`` then id."""
    event, school = aliased(Event), aliased(School)
    volunteers, students, teachers = (
        _per_event_volunteers(scope),
        _per_event_students(scope),
        _per_event_teachers(scope),
    )
    virtual = _flag(m.is_virtual(event))
    rows = await session.execute(
        select(
            event.id,
            event.title,
            event.start_date,
            event.type,
            virtual,
            school.id,
            school.name,
            func.coalesce(students.c.students, 0),
            func.coalesce(teachers.c.teachers, 0),
            func.coalesce(volunteers.c.volunteers, 0),
            func.coalesce(volunteers.c.hours, 0.0),
        )
        .join_from(scope, event, event.id == scope.c.event_id)
        .outerjoin(school, school.id == m.attr_school(event))
        .outerjoin(volunteers, volunteers.c.event_id == event.id)
        .outerjoin(students, students.c.event_id == event.id)
        .outerjoin(teachers, teachers.c.event_id == event.id)
        .where(_not_connector(event))
        .order_by(event.start_date, event.id)
    )
    return [
        {
            "event_id": event_id,
            "title": title,
            "start_date": start,
            "type": type_code,
            "format": "virtual" if is_virtual else "in_person",
            "school": {"id": school_id, "name": school_name} if school_id is not None else None,
            "students": n * int(n_teachers) if is_virtual else int(n_students),
            "volunteers": int(n_volunteers),
            "volunteer_hours": m.round_hours(float(hours)),
        }
        for (
            event_id,
            title,
            start,
            type_code,
            is_virtual,
            school_id,
            school_name,
            n_students,
            n_teachers,
            n_volunteers,
            hours,
        ) in rows
    ]


def by_school(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """06 §6.6: the timeline rows grouped by ``attr_school``, unknown school left out (G4); by
    school name, then id, with each school's totals."""
    groups: dict[int, dict[str, Any]] = {}
    for row in events:
        if row["school"] is None:
            continue
        group = groups.setdefault(
            row["school"]["id"],
            {
                "school": row["school"],
                "events_count": 0,
                "students": 0,
                "volunteers": 0,
                "volunteer_hours": 0.0,
                "events": [],
            },
        )
        group["events"].append(row)
        group["events_count"] += 1
        group["students"] += row["students"]
        group["volunteers"] += row["volunteers"]
        group["volunteer_hours"] += row["volunteer_hours"]
    for group in groups.values():
        group["volunteer_hours"] = m.round_hours(group["volunteer_hours"])
    return sorted(groups.values(), key=lambda g: (g["school"]["name"], g["school"]["id"]))


# ---------------------------------------------------------------------------------------------
# The two endpoints' bodies (without meta, which the caller adds)


async def district_or_404(session: AsyncSession, district_id: int) -> District:
    district = await session.get(District, district_id)
    if district is None or district.is_deleted:
        raise not_found("district")
    return district


async def district_report(
    session: AsyncSession,
    district: District,
    *,
    year: SchoolYear,
    host_filter: m.HostFilter,
    zone: ZoneInfo,
    n: int,
) -> dict[str, Any]:
    """06 §6.9 without ``meta``: enhanced, program breakdown, timeline and manual inputs."""
    lo, hi = m.window_bounds(year.start_date, year.end_date, zone)
    scope = Scope(district_ids=[district.id], lo=lo, hi=hi, host_filter=host_filter)
    agg = await aggregates(session, scope)
    cte = scope_cte(scope)
    events = await timeline_events(session, cte, n)
    return {
        "district": {"id": district.id, "name": district.name},
        "school_year": year.code,
        "school_year_label": year.label,
        "host_filter": host_filter,
        "enhanced": enhanced(agg, district.id, n),
        "program_breakdown": program_breakdown(agg, district.id, n),
        "timeline": {
            "events_by_month": await events_by_month(session, cte, month_bounds(year.first_year, zone)),
            "events": events,
            "by_school": by_school(events),
        },
        "manual_inputs": await read_manual_inputs(session, district.id, year.code, host_filter),
    }


def _visible_districts(visible_district_ids: frozenset[int] | None) -> Select[District]:
    statement = select(District).where(District.is_deleted.is_(false()))
    if visible_district_ids is not None:
        statement = statement.where(District.id.in_(visible_district_ids))
    return statement.order_by(District.name, District.id)


async def district_cards(
    session: AsyncSession,
    pagination: PageParams,
    *,
    visible_district_ids: frozenset[int] | None,
    year: SchoolYear,
    host_filter: m.HostFilter,
    zone: ZoneInfo,
    n: int,
) -> Page[dict[str, Any]]:
    """06 §6.7: one card per non-deleted district the caller may see, by name then id, one page;
    the figures of the page's districts come from one run of the grouped queries."""
    page: Page[District] = await paginate(session, _visible_districts(visible_district_ids), pagination)
    districts: list[District] = list(page.items)
    lo, hi = m.window_bounds(year.start_date, year.end_date, zone)
    scope = Scope(district_ids=[d.id for d in districts], lo=lo, hi=hi, host_filter=host_filter)
    agg = await aggregates(session, scope, organizations=False) if districts else None
    items = [card(agg, district, n) for district in districts] if agg else []
    return Page[dict[str, Any]](items=items, page=page.page, page_size=page.page_size, total=page.total)
