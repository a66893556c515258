"""The metrics oracle: a slow, obviously-correct reference implementation of 06 §2-§4 and of the
year-end ``enhanced`` block (06 §6.2-6.4), written straight from the spec text (test code only).

It works on plain dataclasses describing a data set (never on the database, never importing the
service code) and favours clarity over speed: every rule is a small loop over Python lists, with
the rule id next to it. Exact arithmetic (``Fraction``) is used for hours and averages so that
rounding (``round_half_up``) is applied once, on the exact value.

Values are compared with codes as the spec's notation says: ``status``, ``type``, ``format``,
``participant_type`` and ``level`` case-insensitively after ``trim`` (06 §1 Notation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")  # G1
DEFAULT_N = 25  # G8

VOL_ATTENDED = frozenset({"attended", "completed", "successfully_completed"})  # G6
DELIVERED = frozenset({"completed", "simulcast"})  # G6
VIRTUAL_TYPES = frozenset({"virtual_session", "connector_session"})  # G7

ALL_METRICS = [
    "M10",
    "M20",
    "M30",
    "M40",
    "M60",
    "M61",
    "M62",
    "M63",
    "M70",
    "M71",
    "M72",
    "M73",
    "M80",
    "M81",
    "M82",
    "M83",
    "M84",
    "M90",
    "M91",
    "M92",
    "M100",
    "M110",
    "M111",
    "M120",
]


# --------------------------------------------------------------------------------------
# The data set (06 §1 columns)


@dataclass(frozen=True)
class District:
    id: int
    name: str
    is_deleted: bool = False


@dataclass(frozen=True)
class School:
    id: int
    name: str
    district_id: int | None
    level: str | None = None
    is_deleted: bool = False


@dataclass(frozen=True)
class Event:
    id: int
    title: str
    type: str | None
    format: str | None
    status: str | None
    start_date: dt.datetime | None  # aware, UTC
    end_date: dt.datetime | None = None
    duration: int | None = None  # minutes
    school_id: int | None = None
    district_partner: str | None = None
    session_host: str | None = None
    is_deleted: bool = False
    district_ids: tuple[int, ...] = ()  # event_district links


@dataclass(frozen=True)
class Volunteer:
    id: int
    email_normalized: str | None
    organization_name: str | None = None
    is_people_of_color: bool | None = None
    local_status: str = "unknown"
    exclude_from_reports: bool = False
    is_deleted: bool = False


@dataclass(frozen=True)
class Teacher:
    id: int
    email_normalized: str | None
    school_id: int | None = None
    exclude_from_reports: bool = False
    is_deleted: bool = False


@dataclass(frozen=True)
class Student:
    id: int
    student_id: str | None  # the school-issued id
    exclude_from_reports: bool = False
    is_deleted: bool = False


@dataclass(frozen=True)
class VolunteerParticipation:
    event_id: int
    volunteer_id: int
    status: str
    delivery_hours: float | None = None
    participant_type: str = "volunteer"
    is_deleted: bool = False


@dataclass(frozen=True)
class StudentParticipation:
    event_id: int
    student_id: int  # FK student.id
    status: str | None
    is_deleted: bool = False


@dataclass(frozen=True)
class TeacherParticipation:
    event_id: int
    teacher_id: int
    status: str
    attendance_confirmed_at: dt.datetime | None = None
    is_deleted: bool = False


@dataclass(frozen=True)
class AttendanceDetail:
    event_id: int
    total_students: int | None
    num_classrooms: int | None
    rotations: int | None


@dataclass
class DataSet:
    districts: list[District] = field(default_factory=list)
    schools: list[School] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    volunteers: list[Volunteer] = field(default_factory=list)
    teachers: list[Teacher] = field(default_factory=list)
    students: list[Student] = field(default_factory=list)
    volunteer_participations: list[VolunteerParticipation] = field(default_factory=list)
    student_participations: list[StudentParticipation] = field(default_factory=list)
    teacher_participations: list[TeacherParticipation] = field(default_factory=list)
    attendance_details: list[AttendanceDetail] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    """G1 window and G9/G10 filters of ``/metrics``."""

    start: dt.date
    end: dt.date
    district_id: int | None = None
    school_id: int | None = None
    event_types: tuple[str, ...] = ()
    event_format: str | None = None  # in_person | virtual
    host_filter: str = "all"


# A group restriction (§4): ("district" | "school", id or None for Unknown)
Group = tuple[str, int | None]


# --------------------------------------------------------------------------------------
# Small helpers


def code(value: str | None) -> str:
    """06 §1 Notation: codes compare case-insensitively after trim; NULL compares as ''."""
    return (value or "").strip().lower()


def round_half_up(value: Fraction | int, places: int) -> float:
    """06 §1 ``round_half_up`` on the exact value."""
    exact = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else Decimal(value)
    )
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def pct(a: Fraction | int, b: Fraction | int) -> float:
    """06 §1 ``pct(a,b) = round_half_up(100*a/b, 1)``, 0.0 when b = 0."""
    if b == 0:
        return 0.0
    return round_half_up(Fraction(100) * Fraction(a) / Fraction(b), 1)


def chicago_date(moment: dt.datetime) -> dt.date:
    """G1: the Chicago-local calendar date of an instant (DST-aware through zoneinfo)."""
    return moment.astimezone(CHICAGO).date()


def is_virtual(e: Event) -> bool:
    """G7."""
    return code(e.format) == "virtual" or code(e.type) in VIRTUAL_TYPES


def is_delivered(e: Event) -> bool:
    """G6 DELIVERED(e)."""
    return code(e.status) in DELIVERED


def is_cancelled(e: Event) -> bool:
    """G3: ``COALESCE(e.status,'') = 'cancelled'``."""
    return code(e.status) == "cancelled"


def hours(p: VolunteerParticipation, e: Event) -> Fraction:
    """§2 hours(p, e): delivery_hours (negative = NULL, 0 stays 0), else duration/60, else
    end - start hours with a 1.0 floor, else 0.0."""
    if p.delivery_hours is not None and p.delivery_hours >= 0:
        return Fraction(p.delivery_hours)
    if e.duration is not None and e.duration > 0:
        return Fraction(e.duration, 60)
    if e.end_date is not None and e.start_date is not None and e.end_date > e.start_date:
        return max(Fraction(int((e.end_date - e.start_date).total_seconds()), 3600), Fraction(1))
    return Fraction(0)


def vkey(v: Volunteer) -> str:
    """G5."""
    return v.email_normalized if v.email_normalized is not None else f"volunteer:{v.id}"


def tkey(t: Teacher) -> str:
    """G5."""
    return t.email_normalized if t.email_normalized is not None else f"teacher:{t.id}"


def skey(s: Student) -> str:
    """G5: NULLIF(trim(student_id), '') else 'student:' || id."""
    school_issued = (s.student_id or "").strip()
    return school_issued if school_issued else f"student:{s.id}"


# --------------------------------------------------------------------------------------
# The oracle


@dataclass(frozen=True)
class VPRow:
    event: Event
    participation: VolunteerParticipation
    volunteer: Volunteer
    key: str


@dataclass(frozen=True)
class SPRow:
    event: Event
    key: str


@dataclass(frozen=True)
class TPRow:
    event: Event
    participation: TeacherParticipation
    teacher: Teacher
    key: str


class Oracle:
    def __init__(self, data: DataSet, n: int = DEFAULT_N) -> None:
        self.data = data
        self.n = n
        self.districts = {d.id: d for d in data.districts}
        self.schools = {s.id: s for s in data.schools}
        self.volunteers = {v.id: v for v in data.volunteers}
        self.teachers = {t.id: t for t in data.teachers}
        self.students = {s.id: s for s in data.students}
        self.details = {a.event_id: a for a in data.attendance_details}

    # ---- attribution (M50, M51)

    def live_district(self, district_id: int | None) -> District | None:
        district = self.districts.get(district_id) if district_id is not None else None
        return district if district is not None and not district.is_deleted else None

    def live_school(self, school_id: int | None) -> School | None:
        school = self.schools.get(school_id) if school_id is not None else None
        return school if school is not None and not school.is_deleted else None

    def attr_district(self, e: Event) -> frozenset[int]:
        """M50: the first step that yields a result; empty = Unknown."""
        # 1. links to non-deleted districts (links always win over the name string)
        linked = frozenset(d for d in e.district_ids if self.live_district(d) is not None)
        if linked:
            return linked
        # 2. the single non-deleted district whose lower(trim(name)) equals lower(trim(district_partner))
        if e.district_partner is not None:
            wanted = e.district_partner.strip().lower()
            named = [
                d.id for d in self.data.districts if not d.is_deleted and d.name.strip().lower() == wanted
            ]
            if len(named) == 1:
                return frozenset(named)
        # 3. the district of the event's school (a soft-deleted school or district is unknown, G3)
        school = self.live_school(e.school_id)
        if school is not None and self.live_district(school.district_id) is not None:
            return frozenset({school.district_id})  # type: ignore[arg-type]
        # 4. Unknown
        return frozenset()

    def attr_school(self, e: Event) -> int | None:
        """M51: e.school_id when it points to a non-deleted school."""
        return e.school_id if self.live_school(e.school_id) is not None else None

    # ---- G1, G9, G10, §4

    @staticmethod
    def in_window(e: Event, start: dt.date, end: dt.date) -> bool:
        """G1: the Chicago date of start_date is in [start, end]; NULL start is in no window."""
        return e.start_date is not None and start <= chicago_date(e.start_date) <= end

    @staticmethod
    def host_ok(e: Event, host_filter: str) -> bool:
        """G10."""
        if host_filter == "all":
            return True
        assert host_filter == "prepkc"
        return "prepkc" in (e.session_host or "").lower()

    def in_group(self, e: Event, group: Group | None) -> bool:
        """§4: district groups via event_district_attr, school groups via attr_school."""
        if group is None:
            return True
        kind, group_id = group
        if kind == "district":
            attributed = self.attr_district(e)
            return not attributed if group_id is None else group_id in attributed
        return self.attr_school(e) == group_id

    def matches(self, e: Event, f: Filters, group: Group | None, *, teacher_rule: bool = False) -> bool:
        """F(e): G9 filters, G10 host and the §4 group. With ``teacher_rule`` (M70-M73, M80) the
        district/school filters are left to the teacher's school (G9)."""
        if f.event_types and code(e.type) not in {code(t) for t in f.event_types}:
            return False
        if f.event_format is not None and is_virtual(e) != (f.event_format == "virtual"):
            return False
        if not self.host_ok(e, f.host_filter):
            return False
        if not teacher_rule:
            if f.district_id is not None and f.district_id not in self.attr_district(e):
                return False
            if f.school_id is not None and self.attr_school(e) != f.school_id:
                return False
        return self.in_group(e, group)

    def teacher_in_scope(self, t: Teacher, f: Filters) -> bool:
        """G9 for M70-M73/M80: district_id / school_id apply to teacher.school_id."""
        if f.school_id is not None and t.school_id != f.school_id:
            return False
        if f.district_id is not None:
            school = self.schools.get(t.school_id) if t.school_id is not None else None
            if school is None or school.district_id != f.district_id:
                return False
        return True

    # ---- base sets (§2)

    def ev(self, f: Filters, group: Group | None = None, *, teacher_rule: bool = False) -> list[Event]:
        """EV: not deleted, not cancelled (G3), in the window (G1), F(e)."""
        return [
            e
            for e in self.data.events
            if not e.is_deleted
            and not is_cancelled(e)
            and self.in_window(e, f.start, f.end)
            and self.matches(e, f, group, teacher_rule=teacher_rule)
        ]

    def vp(self, events: Iterable[Event]) -> list[VPRow]:
        """VP: attended (G6) volunteer rows on the events; deleted/excluded rows and persons out (G3)."""
        by_id = {e.id: e for e in events}
        rows = []
        for p in self.data.volunteer_participations:
            e = by_id.get(p.event_id)
            v = self.volunteers[p.volunteer_id]
            if e is None or p.is_deleted or v.is_deleted or v.exclude_from_reports:
                continue
            if code(p.status) in VOL_ATTENDED:
                rows.append(VPRow(e, p, v, vkey(v)))
        return rows

    def sp(self, events: Iterable[Event]) -> list[SPRow]:
        """SP: attended students on in-person events (G6, G7)."""
        by_id = {e.id: e for e in events}
        rows = []
        for p in self.data.student_participations:
            e = by_id.get(p.event_id)
            s = self.students[p.student_id]
            if e is None or p.is_deleted or s.is_deleted or s.exclude_from_reports:
                continue
            if code(p.status) == "attended" and not is_virtual(e):
                rows.append(SPRow(e, skey(s)))
        return rows

    def tp(
        self, events: Iterable[Event], teacher_ok: Callable[[Teacher], bool] = lambda t: True
    ) -> list[TPRow]:
        """TP: confirmed teachers (attendance_confirmed_at set, status ignored) on virtual events."""
        by_id = {e.id: e for e in events}
        rows = []
        for p in self.data.teacher_participations:
            e = by_id.get(p.event_id)
            t = self.teachers[p.teacher_id]
            if e is None or p.is_deleted or t.is_deleted or t.exclude_from_reports:
                continue
            if p.attendance_confirmed_at is not None and is_virtual(e) and teacher_ok(t):
                rows.append(TPRow(e, p, t, tkey(t)))
        return rows

    # ---- building blocks shared by §3 and §6

    def hours(self, p: VolunteerParticipation, e: Event) -> Fraction:
        """§2 hours(p, e) (a method so that a wrong variant can replace it)."""
        return hours(p, e)

    def volunteer_hours(self, rows: Iterable[VPRow]) -> Fraction:
        """M30: one credit per (event, vkey), the largest hours()."""
        best: dict[tuple[int, str], Fraction] = {}
        for r in rows:
            h = self.hours(r.participation, r.event)
            pair = (r.event.id, r.key)
            best[pair] = max(best.get(pair, h), h)
        return sum(best.values(), Fraction(0))

    @staticmethod
    def organisations(rows: Iterable[VPRow]) -> set[str]:
        """M40: distinct NULLIF(trim(organization_name), ''), case-sensitive."""
        return {
            r.volunteer.organization_name.strip()
            for r in rows
            if (r.volunteer.organization_name or "").strip()
        }

    def history_keys(self, start: dt.date) -> set[str]:
        """M92 PRE: attended participations before the window, ignoring every other filter."""
        keys = set()
        for p in self.data.volunteer_participations:
            e = next(x for x in self.data.events if x.id == p.event_id)
            v = self.volunteers[p.volunteer_id]
            if e.is_deleted or is_cancelled(e) or e.start_date is None or chicago_date(e.start_date) >= start:
                continue
            if p.is_deleted or v.is_deleted or v.exclude_from_reports or code(p.status) not in VOL_ATTENDED:
                continue
            keys.add(vkey(v))
        return keys

    def has_presenter(self, e: Event, cond: Callable[[Volunteer], bool]) -> bool:
        """M81/M82 has_presenter(e, cond)."""
        for p in self.data.volunteer_participations:
            v = self.volunteers[p.volunteer_id]
            if p.event_id != e.id or p.is_deleted or v.is_deleted or v.exclude_from_reports:
                continue
            if code(p.participant_type) == "presenter" and code(p.status) in VOL_ATTENDED and cond(v):
                return True
        return False

    def m110(self, e: Event) -> int | None:
        """M110: FLOOR(total_students / num_classrooms * rotations) for in-person events."""
        a = self.details.get(e.id)
        if is_virtual(e) or a is None or a.total_students is None:
            return None
        if a.num_classrooms is None or a.num_classrooms <= 0 or a.rotations is None or a.rotations <= 0:
            return None
        return int(Fraction(a.total_students, a.num_classrooms) * a.rotations // 1)

    # ---- §3 metric catalogue

    def metrics(self, f: Filters, group: Group | None = None) -> dict[str, Any]:
        ev = self.ev(f, group)
        vp = self.vp(ev)
        sp = self.sp(ev)
        tp = self.tp(self.ev(f, group, teacher_rule=True), lambda t: self.teacher_in_scope(t, f))
        delivered_tp = [r for r in tp if is_delivered(r.event)]
        virtual_delivered = [e for e in ev if is_virtual(e) and is_delivered(e)]
        m70 = len({r.key for r in delivered_tp})
        m81 = sum(
            1 for e in virtual_delivered if self.has_presenter(e, lambda v: code(v.local_status) == "local")
        )
        m82 = sum(1 for e in virtual_delivered if self.has_presenter(e, lambda v: bool(v.is_people_of_color)))
        history = self.history_keys(f.start)
        per_event = {e.id: self.m110(e) for e in ev}
        m110 = {event_id: value for event_id, value in per_event.items() if value is not None}
        types: dict[str, int] = {}
        for e in ev:
            key = e.type.lower() if e.type is not None else "unknown"  # M120 COALESCE(lower(type),'unknown')
            types[key] = types.get(key, 0) + 1
        return {
            "M10": len({r.key for r in sp}),
            "M20": len({r.key for r in vp}),
            "M30": round_half_up(self.volunteer_hours(vp), 2),
            "M40": len(self.organisations(vp)),
            "M60": len(ev),
            "M61": sum(1 for e in ev if is_virtual(e)),
            "M62": sum(1 for e in ev if not is_virtual(e)),
            "M63": len(self.cancelled(f, group)),
            "M70": m70,
            "M71": m70,
            "M72": len({r.key for r in tp}),
            "M73": self.n * m70,
            "M80": len({(r.event.id, r.key) for r in delivered_tp}),
            "M81": m81,
            "M82": m82,
            "M83": pct(m81, len(virtual_delivered)),
            "M84": pct(m82, len(virtual_delivered)),
            "M90": len({r.key for r in vp if r.volunteer.is_people_of_color}),
            "M91": len({r.key for r in vp if code(r.volunteer.local_status) == "local"}),
            "M92": len({r.key for r in vp} - history),
            "M100": len({e.school_id for e in ev if self.attr_school(e) is not None}),
            "M110": m110,
            "M111": round_half_up(Fraction(sum(m110.values()), len(m110)), 1) if m110 else None,
            "M120": types,
        }

    def cancelled(self, f: Filters, group: Group | None = None) -> list[Event]:
        """M63: cancelled, not deleted, in the window, F(e)."""
        return [
            e
            for e in self.data.events
            if is_cancelled(e)
            and not e.is_deleted
            and self.in_window(e, f.start, f.end)
            and self.matches(e, f, group)
        ]

    # ---- §4 grouped output

    def grouped(self, f: Filters, group_by: str) -> list[dict[str, Any]]:
        """§4 rows ``{"group": {id, name}, "metrics": {...}}``, ordered by name then id, Unknown
        last. Which groups get a row is not specified: this lists every group holding an event of
        EV or M63 (the comparison accepts a missing row only when its metrics are all empty)."""
        candidates = self.ev(f) + self.cancelled(f)
        if group_by == "district":
            ids = {d for e in candidates for d in self.attr_district(e)}
            unknown = any(not self.attr_district(e) for e in candidates)
            names = {d: self.districts[d].name for d in ids}
        else:
            ids = {s for e in candidates if (s := self.attr_school(e)) is not None}
            unknown = any(self.attr_school(e) is None for e in candidates)
            names = {s: self.schools[s].name for s in ids}
        ordered: list[int | None] = sorted(ids, key=lambda i: (names[i], i))
        if unknown:
            ordered.append(None)
        return [self.group_row(f, group_by, group_id) for group_id in ordered]

    def group_row(self, f: Filters, group_by: str, group_id: int | None) -> dict[str, Any]:
        if group_id is None:
            ref = {"id": None, "name": "Unknown"}
        else:
            table: dict[int, Any] = self.districts if group_by == "district" else self.schools
            ref = {"id": group_id, "name": table[group_id].name}
        return {"group": ref, "metrics": self.metrics(f, (group_by, group_id))}

    # ---- §6.2-6.4 year-end enhanced block

    def year_end_scope(self, d: int, start: dt.date, end: dt.date, host_filter: str) -> list[Event]:
        """§6.2 B(d)."""
        scope = []
        for e in self.data.events:
            if e.is_deleted or not is_delivered(e) or not self.in_window(e, start, end):
                continue
            if not self.host_ok(e, host_filter):
                continue
            if d in self.attr_district(e) or (is_virtual(e) and self.has_teacher_in(e, d)):
                scope.append(e)
        return scope

    def teacher_district(self, t: Teacher) -> int | None:
        """§6.2 ``JOIN school s ON s.id = t.school_id``: the district of the teacher's school."""
        school = self.schools.get(t.school_id) if t.school_id is not None else None
        return school.district_id if school is not None else None

    def has_teacher_in(self, e: Event, d: int) -> bool:
        """§6.2: a non-deleted event_teacher row whose non-deleted teacher's school is in d."""
        for p in self.data.teacher_participations:
            t = self.teachers[p.teacher_id]
            if p.event_id == e.id and not p.is_deleted and not t.is_deleted and self.teacher_district(t) == d:
                return True
        return False

    def enhanced(self, d: int, start: dt.date, end: dt.date, host_filter: str = "all") -> dict[str, Any]:
        """§6.4 for district d over the school-year window [start, end] (connector sessions included, §6.3)."""
        s_all = self.year_end_scope(d, start, end, host_filter)
        s_ip = [e for e in s_all if not is_virtual(e)]
        s_v = [e for e in s_all if is_virtual(e)]
        spd = self.sp(s_all)
        dt_rows = self.tp(s_all, lambda t: self.teacher_district(t) == d)
        confirmed = len({r.key for r in dt_rows})
        registered = self.registered_teachers(d, s_v)
        vp_ip, vp_v, vp_all = self.vp(s_ip), self.vp(s_v), self.vp(s_all)
        with_org = [r for r in vp_all if (r.volunteer.organization_name or "").strip()]
        h_ip, h_v, h_all = (self.volunteer_hours(rows) for rows in (vp_ip, vp_v, vp_all))
        students_in_person = len({(r.event.id, r.key) for r in spd})
        unique_students = len({r.key for r in spd})
        engagements_ip = len({(r.event.id, r.key) for r in vp_ip})
        engagements_v = len({(r.event.id, r.key) for r in vp_v})
        return {
            "events": {
                "total": len(s_all),
                "in_person": len(s_ip),
                "virtual": len(s_v),
                "in_person_pct": pct(len(s_ip), len(s_all)),
                "virtual_pct": pct(len(s_v), len(s_all)),
            },
            "students": {
                "total": students_in_person + self.n * confirmed,
                "in_person": students_in_person,
                "virtual": self.n * confirmed,
                "unique_total": unique_students,
                "unique_in_person": unique_students,
                "unique_virtual": 0,
            },
            "volunteers": {
                "total": engagements_ip + engagements_v,
                "in_person": engagements_ip,
                "virtual": engagements_v,
                "unique_total": len({r.key for r in vp_all}),
                "unique_in_person": len({r.key for r in vp_ip}),
                "unique_virtual": len({r.key for r in vp_v}),
                "hours_total": round_half_up(h_all, 2),
                "hours_in_person": round_half_up(h_ip, 2),
                "hours_virtual": round_half_up(h_v, 2),
                "hours_in_person_pct": pct(h_ip, h_all),
                "hours_virtual_pct": pct(h_v, h_all),
            },
            "organizations": {
                "unique_total": len(self.organisations(vp_all)),
                "unique_in_person": len(self.organisations(vp_ip)),
                "unique_virtual": len(self.organisations(vp_v)),
                "volunteer_hours_total": round_half_up(self.volunteer_hours(with_org), 2),
                "volunteer_hours_in_person": round_half_up(
                    self.volunteer_hours(r for r in with_org if not is_virtual(r.event)), 2
                ),
                "volunteer_hours_virtual": round_half_up(
                    self.volunteer_hours(r for r in with_org if is_virtual(r.event)), 2
                ),
            },
            "virtual_sessions": {
                "classrooms_reached": confirmed,
                "unique_teachers": confirmed,
                "confirmed_teachers": confirmed,
                "registered_teachers": registered,
            },
            "event_types": type_counts(s_all),
            "event_types_by_format": {"in_person": type_counts(s_ip), "virtual": type_counts(s_v)},
        }

    def registered_teachers(self, d: int, s_v: list[Event]) -> int:
        """§6.4: distinct tkey over non-deleted event_teacher rows on S_v whose teacher's school is
        in d, with COALESCE(status,'') <> 'cancelled' OR confirmed; deleted/excluded teachers out (G3)."""
        ids = {e.id for e in s_v}
        keys = set()
        for p in self.data.teacher_participations:
            t = self.teachers[p.teacher_id]
            if p.event_id not in ids or p.is_deleted or t.is_deleted or t.exclude_from_reports:
                continue
            if self.teacher_district(t) != d:
                continue
            if code(p.status) != "cancelled" or p.attendance_confirmed_at is not None:
                keys.add(tkey(t))
        return len(keys)


def type_counts(events: Iterable[Event]) -> dict[str, int]:
    """§6.4 event_types: {lower(type): count}, zero counts omitted (a NULL type is 'unknown', as M120)."""
    counts: dict[str, int] = {}
    for e in events:
        key = e.type.lower() if e.type is not None else "unknown"
        counts[key] = counts.get(key, 0) + 1
    return counts


def school_year_window(code_: str) -> tuple[dt.date, dt.date]:
    """§6.1: 'YYZZ' covers 20YY-08-01 .. 20ZZ-07-31 (Chicago dates)."""
    first = 2000 + int(code_[:2])
    return dt.date(first, 8, 1), dt.date(first + 1, 7, 31)


def empty_metrics(values: dict[str, Any]) -> bool:
    """True when a group's metrics are what a group without any event would show."""
    for metric_id, value in values.items():
        if metric_id in ("M110", "M120"):
            if value:
                return False
        elif metric_id == "M111":
            if value is not None:
                return False
        elif value not in (0, 0.0):
            return False
    return True
