"""District year-end report (06 §6.2-6.7, 6.9): every figure is a SQL aggregate (P1).

The event scope ``B(d)`` is one CTE of ``(district_id, event_id)`` pairs: delivered events of the
window and host filter attributed to ``d`` by M50 (``event_district_attr``), plus virtual events
with a district-scoped teacher (the §6.4 teacher-school exception). One statement computes every
aggregate over that CTE, grouped by ``district_id`` (and by event for the timeline): the pair sets
``VPd``, ``SPd`` and ``DT`` are CTEs read by several ``UNION ALL`` branches. The full report (one
district) and the card list (a page of districts) run that same statement (the cards only the
branches they show), so their figures agree by construction; nothing runs per event or per
district. In the report the same statement also returns the timeline rows (title, start, school
and the event's figures), so ``B(d)`` is computed once per request (06 P2).

The teacher-school exception (§6.2 ``B(d)``, ``DT``, registered teachers) follows the §6.2 SQL
literally: the teacher's ``school.district_id``, the school's own soft-deletion not consulted
(as G9 for the teacher metrics). Event school attribution (timeline rows, by-school, the HS-only
fair bucket) is M51 ``attr_school``: a soft-deleted school is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.db import UTCDateTime
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
HS_FAIR_BUCKET = "career_college_fair_hs_students"
MATH_RELAYS = "math_relays"


@dataclass(frozen=True)
class Scope:
    """The districts, UTC window and host filter of ``B(d)``."""

    district_ids: Sequence[int]
    lo: dt.datetime
    hi: dt.datetime
    host_filter: m.HostFilter


# ---------------------------------------------------------------------------------------------
# Aliases, made once: an ORM alias adapts each column on first use (~1 ms per column, see
# ``sql``), so building them per request is measurable. A statement's CTEs each use an alias at
# most once, so the same alias can serve several CTEs.

_SCOPE_EVENT = aliased(Event, name="scope_event")
_SCOPE_LINK = aliased(EventTeacher, name="scope_link")
_SCOPE_TEACHER = aliased(Teacher, name="scope_teacher")
_SCOPE_SCHOOL = aliased(School, name="scope_school")
_EVENT = aliased(Event, name="report_event")
_EVENT_SCHOOL = aliased(School, name="report_school")
_PART = aliased(EventParticipation, name="report_part")
_VOLUNTEER = aliased(Volunteer, name="report_volunteer")
_STUDENT_ROW = aliased(EventStudentParticipation, name="report_student_row")
_STUDENT = aliased(Student, name="report_student")
_IN_PERSON = aliased(Event, name="report_in_person")
_TEACHER_LINK = aliased(EventTeacher, name="report_teacher_link")
_TEACHER = aliased(Teacher, name="report_teacher")
_TEACHER_SCHOOL = aliased(School, name="report_teacher_school")
_VIRTUAL = aliased(Event, name="report_virtual")


# ---------------------------------------------------------------------------------------------
# B(d)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """A boolean as 0/1, so it can be grouped and summed alike on both databases."""
    return case((condition, 1), else_=0)


def scope_cte(scope: Scope) -> CTE:
    """06 §6.2 ``B(d)`` as ``(district_id, event_id)`` pairs, for every district of the scope."""
    attr = m.event_district_attr(scope.lo, scope.hi)
    event = _SCOPE_EVENT
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
    link, teacher, school = _SCOPE_LINK, _SCOPE_TEACHER, _SCOPE_SCHOOL
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
# The aggregates: one statement over B(d) for every district of the scope


# 06 §6.5 student buckets by code: 0 is every in-person event, the others are type buckets.
BUCKET_NAMES: tuple[str, ...] = ("in_person_students", *STUDENT_BUCKETS, HS_FAIR_BUCKET)


def _bucket(event: Any, school: Any) -> ColumnElement[int | None]:
    """06 §6.5: the code (index in :data:`BUCKET_NAMES`) of an in-person event's student bucket
    (buckets are disjoint; NULL: none). A small integer keeps the student pair rows narrow."""
    whens: list[tuple[ColumnElement[bool], int | None]] = [
        (m.is_virtual(event), None),
        (
            and_(event.type.in_(HS_FAIR_TYPES), school.level == "high"),
            BUCKET_NAMES.index(HS_FAIR_BUCKET),
        ),
    ]
    whens += [(event.type.in_(types), BUCKET_NAMES.index(name)) for name, types in STUDENT_BUCKETS.items()]
    return case(
        *((condition, literal(code, Integer) if code is not None else null()) for condition, code in whens),
        else_=null(),
    )


@dataclass(frozen=True)
class PairSets:
    """The CTEs every part reads: ``se`` = B(d) events with their flags, then ``VPd`` collapsed to
    ``(event, vkey)``, the organisations of ``VPd``, ``SPd`` collapsed to ``(event, skey)`` and
    the district-scoped teachers of ``S_v`` collapsed to ``(event, tkey)``."""

    se: CTE
    vp: CTE
    vo: CTE
    sp: CTE
    tp: CTE


def pair_sets(scope: Scope) -> PairSets:
    cte = scope_cte(scope)
    event, school = _EVENT, _EVENT_SCHOOL
    se = (
        select(
            cte.c.district_id,
            cte.c.event_id,
            func.coalesce(m.norm(event.type), "unknown").label("type_key"),
            event.type.label("type"),
            event.title.label("title"),
            event.start_date.label("start_date"),
            event.end_date.label("end_date"),
            event.duration.label("duration"),
            _flag(m.is_virtual(event)).label("virtual"),
            _flag(event.type.in_(CONNECTOR_BLOCK_TYPES)).label("connector_block"),
            _flag(event.type == CONNECTOR).label("connector"),
            _bucket(event, school).label("bucket"),
            school.id.label("school_id"),
            school.name.label("school_name"),
        )
        .join(event, event.id == cte.c.event_id)
        .outerjoin(school, m.attr_school_on(event, school))
        .cte("year_end_events")
    )
    part, volunteer = _PART, _VOLUNTEER
    hours = m.hours(part, se.c)
    has_org = func.nullif(func.trim(volunteer.organization_name), "").is_not(None)
    vkey = m.vkey(volunteer)
    vp = (
        select(
            se.c.district_id,
            se.c.event_id,
            se.c.virtual,
            vkey.label("k"),
            func.max(hours).label("h"),
            func.max(case((has_org, hours), else_=null())).label("h_org"),
        )
        .join(part, part.event_id == se.c.event_id)
        .join(volunteer, volunteer.id == part.volunteer_id)
        .where(m.vp_conditions(part, volunteer))
        .group_by(se.c.district_id, se.c.event_id, se.c.virtual, vkey)
        .cte("year_end_volunteer_pairs")
    )
    org = func.nullif(func.trim(volunteer.organization_name), "")
    vo = (
        select(se.c.district_id, se.c.virtual, org.label("org"))
        .distinct()
        .join(part, part.event_id == se.c.event_id)
        .join(volunteer, volunteer.id == part.volunteer_id)
        .where(m.vp_conditions(part, volunteer), org.is_not(None))
        .cte("year_end_organizations")
    )
    # The format test reads the event's own columns again: on the CTE's computed flag the
    # PostgreSQL planner guesses a handful of rows and picks a nested loop over every attendance.
    row, student, in_person = _STUDENT_ROW, _STUDENT, _IN_PERSON
    skey = m.skey(student)
    sp = (
        select(se.c.district_id, se.c.event_id, skey.label("k"), se.c.bucket)
        .join(in_person, in_person.id == se.c.event_id)
        .join(row, row.event_id == se.c.event_id)
        .join(student, student.id == row.student_id)
        .where(~m.is_virtual(in_person), m.sp_conditions(row, student))
        .group_by(se.c.district_id, se.c.event_id, skey, se.c.bucket)
        .cte("year_end_student_pairs")
    )
    # DT: the teacher rows of virtual events (event table read directly, for the same reason as
    # above) with the teacher's school district, then matched to B(d) on (event, district): both
    # sides are thousands of rows, so PostgreSQL hashes them instead of looping per event.
    link, teacher, teacher_school, virtual = _TEACHER_LINK, _TEACHER, _TEACHER_SCHOOL, _VIRTUAL
    confirmed = m.tch_confirmed(link)
    teacher_rows = (
        select(
            link.event_id.label("event_id"),
            teacher_school.district_id.label("district_id"),
            m.tkey(teacher).label("k"),
            _flag(confirmed).label("confirmed"),
            _flag(or_(func.coalesce(link.status, "") != CANCELLED, confirmed)).label("registered"),
        )
        .join(virtual, virtual.id == link.event_id)
        .join(teacher, teacher.id == link.teacher_id)
        .join(teacher_school, teacher_school.id == teacher.school_id)
        .where(
            m.is_virtual(virtual),
            m.tp_person_conditions(link, teacher),
            teacher_school.district_id.in_(scope.district_ids),
        )
        .cte("year_end_teacher_rows")
        # Kept apart on PostgreSQL: inlined, the planner filters B(d)'s CTE by the teacher's
        # district, guesses 0.5 % of the rows and loops over event_teacher per event.
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    tp = (
        select(
            se.c.district_id,
            se.c.event_id,
            se.c.connector_block,
            teacher_rows.c.k,
            func.max(teacher_rows.c.confirmed).label("confirmed"),
            func.max(teacher_rows.c.registered).label("registered"),
        )
        .join(
            teacher_rows,
            and_(
                teacher_rows.c.event_id == se.c.event_id,
                teacher_rows.c.district_id == se.c.district_id,  # DT: district-scoped teachers
            ),
        )
        .group_by(se.c.district_id, se.c.event_id, se.c.connector_block, teacher_rows.c.k)
        .cte("year_end_teacher_pairs")
    )
    return PairSets(se=se, vp=vp, vo=vo, sp=sp, tp=tp)


_INTS = ("n1", "n2", "n3", "n4")
_FLOATS = ("x1", "x2")


def _part(
    name: str,
    district_id: Any,
    *,
    event_id: Any = None,
    key: Any = None,
    flag: Any = None,
    ints: Sequence[Any] = (),
    floats: Sequence[Any] = (),
    title: Any = None,
    school_name: Any = None,
    start: Any = None,
) -> list[ColumnElement[Any]]:
    """One branch's columns in the shared layout ``(part, district_id, event_id, key, flag,
    n1..n4, x1, x2, title, school_name, start)``; unused columns are typed NULLs (the last three
    carry a timeline row's event title, school name and start)."""

    def typed(value: Any, type_: Any) -> ColumnElement[Any]:
        return cast(null(), type_) if value is None else cast(value, type_)

    columns: list[ColumnElement[Any]] = [
        literal(name, String).label("part"),
        cast(district_id, Integer).label("district_id"),
        typed(event_id, Integer).label("event_id"),
        typed(key, String).label("key"),
        typed(flag, Integer).label("flag"),
    ]
    columns += [typed(ints[i] if i < len(ints) else None, Integer).label(c) for i, c in enumerate(_INTS)]
    columns += [typed(floats[i] if i < len(floats) else None, Float).label(c) for i, c in enumerate(_FLOATS)]
    columns.append(typed(title, String).label("title"))
    columns.append(typed(school_name, String).label("school_name"))
    # A timestamp is passed through uncast: SQLite's CAST(... AS DATETIME) is numeric.
    start_column = cast(null(), UTCDateTime()) if start is None else type_coerce(start, UTCDateTime())
    columns.append(start_column.label("start"))
    return columns


def _parts(
    sets: PairSets, months: Sequence[tuple[str, dt.datetime, dt.datetime]] | None, *, cards: bool = False
) -> list[Any]:
    """The branches of the aggregate statement. ``months`` (the district report only) adds the
    timeline rows (one per event of T with its figures) and the events-by-month counts.
    ``cards`` keeps only the branches the §6.7 cards read (events, all-format volunteers, all
    in-person students, teachers): the same SQL as in the report, so cards and reports agree."""
    se, vp, vo, sp, tp = sets.se, sets.vp, sets.vo, sets.sp, sets.tp
    conf = tp.c.confirmed == 1
    connector = and_(conf, tp.c.connector_block == 1)
    # Distinct students through GROUP BY (hashable) rather than COUNT(DISTINCT) (a sort per group):
    # one row per (district, bucket, skey) and per (district, skey) with its attendance count.
    by_key = (
        select(sp.c.district_id, sp.c.bucket, sp.c.k, func.count().label("n"))
        .group_by(sp.c.district_id, sp.c.bucket, sp.c.k)
        .subquery("student_bucket_keys")
    )
    students = (
        select(sp.c.district_id, sp.c.k, func.count().label("n"))
        .group_by(sp.c.district_id, sp.c.k)
        .subquery("student_keys")
    )
    # Distinct teachers alike: one row per (district, tkey) with 0/1 flags (any confirmed, any
    # registered, any confirmed connector-block session) and its confirmed connector sessions.
    teachers = (
        select(
            tp.c.district_id,
            tp.c.k,
            func.max(tp.c.confirmed).label("confirmed"),
            func.max(tp.c.registered).label("registered"),
            func.max(_flag(connector)).label("connector"),
            func.sum(_flag(connector)).label("connector_total"),
        )
        .group_by(tp.c.district_id, tp.c.k)
        .subquery("teacher_keys")
    )
    parts = [
        select(
            *_part("events", se.c.district_id, key=se.c.type_key, flag=se.c.virtual, ints=[func.count()])
        ).group_by(se.c.district_id, se.c.type_key, se.c.virtual),
        select(
            *_part(
                "volunteers_all",
                vp.c.district_id,
                ints=[func.count(), func.count(distinct(vp.c.k))],
                floats=[func.sum(vp.c.h), func.sum(vp.c.h_org)],
            )
        ).group_by(vp.c.district_id),
        select(
            *_part(
                "students",
                students.c.district_id,
                flag=literal(0, Integer),  # BUCKET_NAMES[0]: every in-person event
                ints=[func.sum(students.c.n), func.count()],
            )
        ).group_by(students.c.district_id),
        select(
            *_part(
                "teachers",
                teachers.c.district_id,
                ints=[
                    func.sum(teachers.c.confirmed),
                    func.sum(teachers.c.registered),
                    func.sum(teachers.c.connector_total),
                    func.sum(teachers.c.connector),
                ],
            )
        ).group_by(teachers.c.district_id),
    ]
    if cards:
        return parts
    parts += [
        select(
            *_part(
                "volunteers",
                vp.c.district_id,
                flag=vp.c.virtual,
                ints=[func.count(), func.count(distinct(vp.c.k))],
                floats=[func.sum(vp.c.h), func.sum(vp.c.h_org)],
            )
        ).group_by(vp.c.district_id, vp.c.virtual),
        select(*_part("organizations", vo.c.district_id, flag=vo.c.virtual, ints=[func.count()])).group_by(
            vo.c.district_id, vo.c.virtual
        ),
        select(*_part("organizations_all", vo.c.district_id, ints=[func.count(distinct(vo.c.org))])).group_by(
            vo.c.district_id
        ),
        select(
            *_part(
                "students",
                by_key.c.district_id,
                flag=by_key.c.bucket,
                ints=[func.sum(by_key.c.n), func.count()],
            )
        )
        .where(by_key.c.bucket.is_not(None))
        .group_by(by_key.c.district_id, by_key.c.bucket),
    ]
    if months is not None:
        parts.append(_timeline_part(sets))
        index = case(
            *((se.c.start_date < hi, i) for i, (_, _, hi) in enumerate(months)), else_=len(months) - 1
        )
        parts.append(
            select(*_part("months", se.c.district_id, flag=index, ints=[func.count()]))
            .where(se.c.connector == 0)
            .group_by(se.c.district_id, index)
        )
    return parts


def _timeline_part(sets: PairSets) -> Select[Any]:
    """06 §6.6: one row per event of T (``B(d)`` minus connector sessions): type (``key``),
    virtual (``flag``), ``(event, skey)`` attendances (``n1``), volunteer engagements (``n2``),
    district-scoped confirmed teachers (``n3``), M51 school id (``n4``) and name, volunteer hours
    (``x1``, M30 of the event), title and start."""
    se, vp, sp, tp = sets.se, sets.vp, sets.sp, sets.tp
    volunteers = (
        select(vp.c.district_id, vp.c.event_id, func.count().label("n"), func.sum(vp.c.h).label("h"))
        .group_by(vp.c.district_id, vp.c.event_id)
        .subquery("event_volunteers")
    )
    students = (  # sp rows are distinct (event, skey) pairs
        select(sp.c.district_id, sp.c.event_id, func.count().label("n"))
        .group_by(sp.c.district_id, sp.c.event_id)
        .subquery("event_students")
    )
    teachers = (  # tp rows are distinct (event, tkey) pairs
        select(tp.c.district_id, tp.c.event_id, func.sum(tp.c.confirmed).label("n"))
        .group_by(tp.c.district_id, tp.c.event_id)
        .subquery("event_teachers")
    )

    def on(sub: Any) -> ColumnElement[bool]:
        return and_(sub.c.district_id == se.c.district_id, sub.c.event_id == se.c.event_id)

    return (
        select(
            *_part(
                "timeline",
                se.c.district_id,
                event_id=se.c.event_id,
                key=se.c.type,
                flag=se.c.virtual,
                ints=[
                    func.coalesce(students.c.n, 0),
                    func.coalesce(volunteers.c.n, 0),
                    func.coalesce(teachers.c.n, 0),
                    se.c.school_id,
                ],
                floats=[volunteers.c.h],
                title=se.c.title,
                school_name=se.c.school_name,
                start=se.c.start_date,
            )
        )
        .outerjoin(students, on(students))
        .outerjoin(volunteers, on(volunteers))
        .outerjoin(teachers, on(teachers))
        .where(se.c.connector == 0)
    )


@dataclass
class Aggregates:
    """The aggregate rows, by district, and the timeline rows (district report only)."""

    events: dict[int, list[tuple[str, bool, int]]] = field(default_factory=dict)
    volunteers: dict[int, dict[str, Any]] = field(default_factory=dict)
    students: dict[int, dict[str, Any]] = field(default_factory=dict)
    teachers: dict[int, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)
    timeline: list[Any] = field(default_factory=list)
    months: dict[int, dict[int, int]] = field(default_factory=dict)


_FORMAT = {0: "in_person", 1: "virtual"}


def _collect(agg: Aggregates, row: Any) -> None:
    """File one aggregate row where :func:`enhanced` and friends read it."""
    d, part = row.district_id, row.part
    if part == "timeline":
        agg.timeline.append(row)
    elif part == "events":
        agg.events.setdefault(d, []).append((row.key, bool(row.flag), row.n1))
    elif part in ("volunteers", "volunteers_all"):
        fmt = _FORMAT[row.flag] if part == "volunteers" else "total"
        values = agg.volunteers.setdefault(d, {})
        if fmt != "total":
            values[fmt] = row.n1
        values[f"unique_{fmt}"] = row.n2
        values[f"hours_{fmt}"] = row.x1
        values[f"org_hours_{fmt}"] = row.x2
    elif part in ("organizations", "organizations_all"):
        fmt = _FORMAT[row.flag] if part == "organizations" else "total"
        agg.organizations.setdefault(d, {})[f"unique_{fmt}"] = row.n1
    elif part == "students":
        name = BUCKET_NAMES[row.flag]
        agg.students.setdefault(d, {}).update({f"{name}.total": row.n1, f"{name}.unique": row.n2})
    elif part == "teachers":
        agg.teachers[d] = dict(
            zip(
                ("confirmed_teachers", "registered_teachers", "connector_total", "connector_unique"),
                (row.n1, row.n2, row.n3, row.n4),
                strict=True,
            )
        )
    elif part == "months":
        agg.months.setdefault(d, {})[row.flag] = row.n1


async def aggregates(
    session: AsyncSession,
    scope: Scope,
    months: Sequence[tuple[str, dt.datetime, dt.datetime]] | None = None,
    *,
    cards: bool = False,
) -> Aggregates:
    """Every aggregate of the report for every district of ``scope``: one statement (P1).
    ``cards``: only what the §6.7 cards show."""
    agg = Aggregates()
    statement = union_all(*_parts(pair_sets(scope), months, cards=cards))
    if months is not None:  # the timeline rows in §6.6 order; the other parts have NULLs there
        statement = statement.order_by(literal_column("start"), literal_column("event_id"))
    timeline = agg.timeline
    for row in (await session.execute(statement)).all():  # one fetch, not one call per row
        if row[0] == "timeline":  # thousands of rows: filed without a call per row
            timeline.append(row)
        else:
            _collect(agg, row)
    return agg


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
    names = BUCKET_NAMES
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


def events_by_month(
    agg: Aggregates, district_id: int, months: Sequence[tuple[str, dt.datetime, dt.datetime]]
) -> list[dict[str, Any]]:
    counts = agg.months.get(district_id, {})
    return [{"month": label, "events": int(counts.get(i, 0))} for i, (label, _, _) in enumerate(months)]


def timeline_events(agg: Aggregates, n: int) -> list[dict[str, Any]]:
    """06 §6.6: one row per event of T, by ``start_date`` then id (the statement's order), from
    the timeline rows of :func:`aggregates` (in-person: attendances; virtual: ``N x``
    district-scoped teachers)."""
    timeline = []
    # Positional reads (thousands of rows): (part, district_id, event_id, key, flag, n1, n2, n3,
    # n4, x1, x2, title, school_name, start), see :func:`_part`.
    for (
        _,
        _,
        event_id,
        type_,
        virtual,
        students,
        volunteers,
        teachers,
        school_id,
        hours,
        _,
        title,
        school_name,
        start,
    ) in agg.timeline:
        timeline.append(
            {
                "event_id": event_id,
                "title": title,
                "start_date": start,
                "type": type_,
                "format": "virtual" if virtual else "in_person",
                "school": {"id": school_id, "name": school_name} if school_id is not None else None,
                "students": n * teachers if virtual else students,
                "volunteers": volunteers,
                "volunteer_hours": m.round_hours(hours) if hours else 0.0,
            }
        )
    return timeline


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
    months = month_bounds(year.first_year, zone)
    agg = await aggregates(session, scope, months)
    events = timeline_events(agg, n)
    return {
        "district": {"id": district.id, "name": district.name},
        "school_year": year.code,
        "school_year_label": year.label,
        "host_filter": host_filter,
        "enhanced": enhanced(agg, district.id, n),
        "program_breakdown": program_breakdown(agg, district.id, n),
        "timeline": {
            "events_by_month": events_by_month(agg, district.id, months),
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
    agg = await aggregates(session, scope, cards=True) if districts else None
    items = [card(agg, district, n) for district in districts] if agg else []
    return Page[dict[str, Any]](items=items, page=page.page, page_size=page.page_size, total=page.total)
