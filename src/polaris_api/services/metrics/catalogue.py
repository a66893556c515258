"""06 §3 metric catalogue and §4 grouped output for ``GET /api/v1/metrics``.

Every figure is a SQL aggregate (P1) built from the rules in :mod:`.sql`. A request runs at most
seven statements whatever the data (events, event types, volunteers, organisations, students,
teachers, M110 values) plus one for group names; each statement computes all of its metrics for
every group at once (``GROUP BY`` the group key), so the count never depends on events or groups.

Decisions where 06 is silent:

- ``M50``/``M51`` are attribution rules, not figures: they drive ``district_id``/``school_id`` and
  ``group_by`` and are not accepted in ``ids``.
- ``M110`` is reported as ``{"<event_id>": value}`` for the in-window in-person events that have
  a value (events without one are left out); ``M111`` is their average.
- Groups (§4): one row per district/school holding an event of ``EV`` or of M63's cancelled set
  (plus the Unknown row when such an event has no attribution). M70-M73/M80 in a group use the
  events of that group (§4 "every requested metric restricted to the group"); the G9 filters
  still apply to the teacher's school.
- G9 teacher's school: a soft-deleted school is unknown (G3), so its teachers match no
  district/school filter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import CTE, Select, and_, case, distinct, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.errors import NamedProblem
from polaris_api.models.events import (
    Event,
    EventAttendanceDetail,
    EventParticipation,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.services.metrics import sql as m
from polaris_api.services.metrics.meta import build_meta

GroupBy = Literal["district", "school"]

METRIC_IDS: tuple[str, ...] = (
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
)

# Which statement serves each metric (a statement runs only when one of its metrics is asked).
EVENT_METRICS = frozenset({"M60", "M61", "M62", "M63", "M81", "M82", "M83", "M84", "M100"})
TYPE_METRICS = frozenset({"M120"})
VOLUNTEER_METRICS = frozenset({"M20", "M30", "M90", "M91", "M92"})
ORGANISATION_METRICS = frozenset({"M40"})
STUDENT_METRICS = frozenset({"M10"})
TEACHER_METRICS = frozenset({"M70", "M71", "M72", "M73", "M80"})
M110_METRICS = frozenset({"M110", "M111"})

# 06 §7 objects read per metric (beyond events, schools, districts).
VOLUNTEER_READERS = frozenset({"M20", "M30", "M40", "M81", "M82", "M83", "M84", "M90", "M91", "M92"})
STUDENT_READERS = frozenset({"M10", "M110"})
PATHFUL_READERS = frozenset({"M61", *TEACHER_METRICS, "M81", "M82", "M83", "M84"})


# Statement aliases, made once (see ``sql``: a fresh ORM alias adapts its columns again). A
# statement uses each at most once; subqueries of ``sql`` have their own.
_E = aliased(Event, name="e")
_P, _V = aliased(EventParticipation, name="p"), aliased(Volunteer, name="v")
_SP, _S = aliased(EventStudentParticipation, name="sp"), aliased(Student, name="s")
_ET, _T = aliased(EventTeacher, name="et"), aliased(Teacher, name="t")
_DETAIL = aliased(EventAttendanceDetail, name="detail")
_GROUP_SCHOOL = aliased(School, name="group_school")
_M100_SCHOOL = aliased(School, name="event_school")
_TEACHER_SCHOOL = aliased(School, name="teacher_school")
_HISTORY_E = aliased(Event, name="history_e")
_HISTORY_P = aliased(EventParticipation, name="history_p")
_HISTORY_V = aliased(Volunteer, name="history_v")


class UnknownMetric(NamedProblem):
    status, code = 422, "unknown_metric"


class InvalidWindow(NamedProblem):
    status, code = 422, "invalid_window"
    default_detail = "start_date must not be after end_date (06 G1)."


def parse_ids(raw: Sequence[str] | None) -> tuple[str, ...]:
    """``ids=M10,M20`` (comma-separated and/or repeated; default all) in catalogue order."""
    wanted = {part.strip().upper() for value in raw or () for part in value.split(",") if part.strip()}
    if not wanted:
        return METRIC_IDS
    unknown = sorted(wanted - set(METRIC_IDS))
    if unknown:
        raise UnknownMetric(
            f"Unknown metric id(s): {', '.join(unknown)}. Known: {', '.join(METRIC_IDS)}.",
            unknown=unknown,
        )
    return tuple(metric for metric in METRIC_IDS if metric in wanted)


def check_window(start: dt.date, end: dt.date) -> None:
    """G1: ``from > to`` is refused."""
    if start > end:
        raise InvalidWindow()


def objects_read(ids: Sequence[str]) -> tuple[list[str], bool]:
    """06 §7: the Salesforce objects these metrics read, and whether Pathful data is read."""
    objects = ["events", "schools", "districts"]
    chosen = set(ids)
    if chosen & VOLUNTEER_READERS:
        objects += ["volunteers", "volunteer_participations"]
    if chosen & STUDENT_READERS:
        objects += ["students", "student_participations"]
    if chosen & TEACHER_METRICS:
        objects.append("teachers")
    return objects, bool(chosen & PATHFUL_READERS)


# ---------------------------------------------------------------------------------------------
# Grouping


GroupKey = int | None
Rows = dict[GroupKey, dict[str, Any]]


@dataclass
class Grouping:
    """How one statement attaches the district filter and the §4 group key to its event alias."""

    group_by: GroupBy | None
    attr: CTE
    district_id: int | None = None

    def key(
        self, e: Any, *, place: bool = True
    ) -> tuple[Callable[[Select[Any]], Select[Any]], list[ColumnElement[Any]]]:
        """A function adding the joins to a statement already selecting from ``e``, and the key
        column list (empty when ungrouped).

        The M50 district filter is an inner join on the attribution CTE rather than the
        equivalent ``EXISTS``: the CTE has one row per (event, district), so the join keeps one
        row per event, and PostgreSQL then estimates the event set (~10^4 rows) instead of a
        200-row semi-join guess that made it loop over the participation index per event."""
        joins: list[Callable[[Select[Any]], Select[Any]]] = []
        if place and self.district_id is not None:
            scope = self.attr.alias("district_scope")
            district_id = self.district_id
            joins.append(
                lambda statement: statement.join(
                    scope, and_(scope.c.event_id == e.id, scope.c.district_id == district_id)
                )
            )
        keys: list[ColumnElement[Any]] = []
        if self.group_by == "district":
            group = self.attr.alias("district_group")
            joins.append(lambda statement: statement.outerjoin(group, group.c.event_id == e.id))
            keys.append(group.c.district_id.label("g"))
        elif self.group_by == "school":
            school = _GROUP_SCHOOL
            joins.append(lambda statement: statement.outerjoin(school, m.attr_school_on(e, school)))
            keys.append(school.id.label("g"))

        def join(statement: Select[Any]) -> Select[Any]:
            for add in joins:
                statement = add(statement)
            return statement

        return join, keys


@dataclass
class Plan:
    """One request: filters, window, chosen metrics, grouping and ``N``."""

    filters: m.EventFilters
    ids: tuple[str, ...]
    n: int
    group_by: GroupBy | None = None
    attr: CTE = field(init=False)

    def __post_init__(self) -> None:
        self.attr = m.event_district_attr(self.filters.lo, self.filters.hi)

    @property
    def grouping(self) -> Grouping:
        return Grouping(self.group_by, self.attr, self.filters.district_id)

    @property
    def event_filters(self) -> m.EventFilters:
        """F(e) without the district: :meth:`Grouping.key` joins it."""
        return replace(self.filters, district_id=None)

    def wants(self, metrics: frozenset[str]) -> bool:
        return bool(metrics & set(self.ids))


async def _rows(session: AsyncSession, statement: Select[Any], grouped: bool) -> Rows:
    result: Rows = {}
    for row in (await session.execute(statement)).mappings():
        values = dict(row)
        key = values.pop("g") if grouped else None
        result[key] = values
    return result


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _sum_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(_flag(condition)), 0)


def _per_group(rows: Any, grouped: bool, *columns: Any) -> Select[Any]:
    """The outer level: aggregates of ``rows`` (a subquery with a ``g`` column when grouped)."""
    group = [rows.c.g] if grouped else []
    return select(*group, *columns).select_from(rows).group_by(*group)


# ---------------------------------------------------------------------------------------------
# The statements. Distinct counts are two-level hash aggregates (GROUP BY the key, then count
# rows) rather than COUNT(DISTINCT ...), which PostgreSQL evaluates by sorting each aggregate.


def events_statement(plan: Plan) -> Select[Any]:
    """M60-M63, M81-M84 (with ``D``) and M100 over EV (and M63's cancelled set), per group.
    One row per (group, event): the M50 CTE has one row per (event, district) and the school
    join at most one, so sums of per-event flags are distinct event counts."""
    e = _E
    school = _M100_SCHOOL
    join, keys = plan.grouping.key(e)
    live = m.not_cancelled(e)
    virtual_delivered = and_(live, m.is_virtual(e), m.delivered(e))
    columns: list[Any] = [
        *keys,
        _sum_if(live).label("M60"),
        _sum_if(and_(live, m.is_virtual(e))).label("M61"),
        _sum_if(and_(live, ~m.is_virtual(e))).label("M62"),
        _sum_if(e.status == m.CANCELLED).label("M63"),
        func.count(distinct(case((live, school.id), else_=None))).label("M100"),
    ]
    presenters = None
    if plan.wants(frozenset({"M81", "M82", "M83", "M84"})):
        presenters = m.presenter_flags(
            {"local": lambda v: v.local_status == "local", "poc": lambda v: v.is_people_of_color.is_(True)}
        )
        columns += [
            _sum_if(virtual_delivered).label("D"),
            _sum_if(and_(virtual_delivered, presenters.c.local == 1)).label("M81"),
            _sum_if(and_(virtual_delivered, presenters.c.poc == 1)).label("M82"),
        ]
    conditions = m.ev_conditions(e, plan.event_filters, plan.attr, status="any")
    statement = select(*columns).select_from(e)
    statement = join(statement).outerjoin(school, m.attr_school_on(e, school))
    if presenters is not None:
        statement = statement.outerjoin(presenters, presenters.c.event_id == e.id)
    return statement.where(*conditions).group_by(*keys)


def types_statement(plan: Plan) -> Select[Any]:
    """M120: ``COALESCE(lower(e.type), 'unknown')`` -> events of EV, per group (one row per
    (group, event), so ``count(*)`` counts distinct events)."""
    e = _E
    join, keys = plan.grouping.key(e)
    type_code = func.coalesce(func.lower(e.type), "unknown").label("type")
    statement = join(select(*keys, type_code, func.count().label("n")).select_from(e))
    return statement.where(*m.ev_conditions(e, plan.event_filters, plan.attr)).group_by(*keys, type_code)


def volunteers_statement(plan: Plan) -> Select[Any]:
    """M20, M30, M90, M91, M92 over VP: one row per (group, event, vkey) with the largest hours
    (M30's credit), then one per (group, vkey) flagged when any record of the key is, then the
    group totals."""
    e, p, v = _E, _P, _V
    join, keys = plan.grouping.key(e)
    grouped = bool(keys)
    key = m.vkey(v).label("k")
    pairs = (
        join(
            select(
                *keys,
                key,
                func.max(m.hours(p, e)).label("h"),
                func.max(_flag(v.is_people_of_color.is_(True))).label("poc"),
                func.max(_flag(v.local_status == "local")).label("local"),
            ).select_from(e)
        )
        .join(p, p.event_id == e.id)
        .join(v, v.id == p.volunteer_id)
        .where(*m.ev_conditions(e, plan.event_filters, plan.attr), m.vp_conditions(p, v))
        .group_by(*keys, e.id, key)
        .subquery("volunteer_pairs")
    )
    group = [pairs.c.g] if grouped else []
    people = (
        select(
            *group,
            pairs.c.k,
            func.sum(pairs.c.h).label("h"),
            func.max(pairs.c.poc).label("poc"),
            func.max(pairs.c.local).label("local"),
        )
        .group_by(*group, pairs.c.k)
        .subquery("volunteer_keys")
    )
    columns: list[Any] = [
        func.count().label("M20"),
        func.sum(people.c.h).label("M30"),
        func.coalesce(func.sum(people.c.poc), 0).label("M90"),
        func.coalesce(func.sum(people.c.local), 0).label("M91"),
    ]
    if plan.wants(frozenset({"M92"})):
        columns.append(_sum_if(people.c.k.not_in(history_keys(plan.filters.lo))).label("M92"))
    return _per_group(people, grouped, *columns)


def history_keys(lo: dt.datetime) -> Select[Any]:
    """M92 ``PRE``: vkeys with an attended participation before the window, all filters ignored."""
    e, p, v = _HISTORY_E, _HISTORY_P, _HISTORY_V
    return (
        select(m.vkey(v))
        .select_from(p)
        .join(e, e.id == p.event_id)
        .join(v, v.id == p.volunteer_id)
        .where(e.is_deleted.is_(false()), m.not_cancelled(e), e.start_date < lo, m.vp_conditions(p, v))
    )


def organisations_statement(plan: Plan) -> Select[Any]:
    """M40: distinct non-blank trimmed organisation names (case-sensitive) over VP."""
    e, p, v = _E, _P, _V
    join, keys = plan.grouping.key(e)
    org = func.nullif(func.trim(v.organization_name), "").label("org")
    names = (
        join(select(*keys, org).select_from(e))
        .join(p, p.event_id == e.id)
        .join(v, v.id == p.volunteer_id)
        .where(*m.ev_conditions(e, plan.event_filters, plan.attr), m.vp_conditions(p, v), org.is_not(None))
        .group_by(*keys, org)
        .subquery("organisations")
    )
    return _per_group(names, bool(keys), func.count().label("M40"))


def students_statement(plan: Plan) -> Select[Any]:
    """M10: distinct skeys over SP (attended, in-person events only). Distinct student rows
    first (integer keys), so ``skey`` is computed once per student, not once per attendance."""
    e, sp, s = _E, _SP, _S
    join, keys = plan.grouping.key(e)
    grouped = bool(keys)
    attendees = (
        join(select(*keys, sp.student_id.label("sid")).select_from(e))
        .join(sp, sp.event_id == e.id)
        .where(*m.ev_conditions(e, plan.event_filters, plan.attr), m.sp_row_conditions(sp), ~m.is_virtual(e))
        .group_by(*keys, sp.student_id)
        .subquery("student_rows")
    )
    group = [attendees.c.g] if grouped else []
    key = m.skey(s).label("k")
    people = (
        select(*group, key)
        .select_from(attendees)
        .join(s, s.id == attendees.c.sid)
        .where(m.reportable(s))
        .group_by(*group, key)
        .subquery("student_keys")
    )
    return _per_group(people, grouped, func.count().label("M10"))


def teachers_statement(plan: Plan) -> Select[Any]:
    """M70, M72, M80 over TP. G9: ``district_id``/``school_id`` apply to the teacher's school.
    One row per (group, event, tkey), then per (group, tkey): delivered anywhere (M70), any
    (M72), delivered sessions (M80)."""
    e, et, t = _E, _ET, _T
    join, keys = plan.grouping.key(e, place=False)
    grouped = bool(keys)
    key = m.tkey(t).label("k")
    statement = (
        join(select(*keys, key, func.max(_flag(m.delivered(e))).label("d")).select_from(e))
        .join(et, et.event_id == e.id)
        .join(t, t.id == et.teacher_id)
    )
    f = plan.filters
    if f.district_id is not None or f.school_id is not None:
        school = _TEACHER_SCHOOL
        statement = statement.join(school, and_(school.id == t.school_id, school.is_deleted.is_(false())))
        if f.district_id is not None:
            statement = statement.where(school.district_id == f.district_id)
        if f.school_id is not None:
            statement = statement.where(school.id == f.school_id)
    pairs = (
        statement.where(*m.ev_conditions(e, f, plan.attr, place=False), m.tp_conditions(et, t, e))
        .group_by(*keys, e.id, key)
        .subquery("teacher_pairs")
    )
    group = [pairs.c.g] if grouped else []
    people = (
        select(*group, func.max(pairs.c.d).label("any_d"), func.sum(pairs.c.d).label("sessions"))
        .group_by(*group, pairs.c.k)
        .subquery("teacher_keys")
    )
    return _per_group(
        people,
        grouped,
        func.coalesce(func.sum(people.c.any_d), 0).label("M70"),
        func.count().label("M72"),
        func.coalesce(func.sum(people.c.sessions), 0).label("M80"),
    )


def m110_statement(plan: Plan) -> Select[Any]:
    """M110 per in-person event of EV that has a value (per group)."""
    e, detail = _E, _DETAIL
    join, keys = plan.grouping.key(e)
    value = m.m110(e, detail)
    return (
        join(select(*keys, e.id.label("event_id"), value.label("v")).select_from(e))
        .join(detail, detail.event_id == e.id)
        .where(*m.ev_conditions(e, plan.event_filters, plan.attr), value.is_not(None))
        .order_by(e.id)
    )


# ---------------------------------------------------------------------------------------------
# Running a plan


@dataclass
class Raw:
    """The aggregate rows of every statement, by group key."""

    groups: set[GroupKey] = field(default_factory=set)
    by_metric: dict[str, Rows] = field(default_factory=dict)
    types: dict[GroupKey, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    m110: dict[GroupKey, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))


async def run(session: AsyncSession, plan: Plan) -> Raw:
    """Every needed statement once (P1: the count depends only on the chosen metrics)."""
    grouped = plan.group_by is not None
    raw = Raw()
    single: list[tuple[frozenset[str], Callable[[Plan], Select[Any]]]] = [
        (STUDENT_METRICS, students_statement),
        (VOLUNTEER_METRICS, volunteers_statement),
        (ORGANISATION_METRICS, organisations_statement),
        (TEACHER_METRICS, teachers_statement),
    ]
    if grouped or plan.wants(EVENT_METRICS):  # the events statement also names the groups
        rows = await _rows(session, events_statement(plan), grouped)
        raw.by_metric["events"] = rows
        raw.groups |= set(rows)
    for metrics, build in single:
        if plan.wants(metrics):
            raw.by_metric[build.__name__] = await _rows(session, build(plan), grouped)
    if plan.wants(TYPE_METRICS):
        for row in (await session.execute(types_statement(plan))).mappings():
            raw.types[row["g"] if grouped else None][row["type"]] = int(row["n"])
    if plan.wants(M110_METRICS):
        for row in (await session.execute(m110_statement(plan))).mappings():
            raw.m110[row["g"] if grouped else None][str(row["event_id"])] = int(row["v"])
    return raw


def _value(raw: Raw, group: GroupKey, name: str) -> Any:
    for rows in raw.by_metric.values():
        values = rows.get(group)
        if values is not None and name in values:
            return values[name]
    return None


def shape(raw: Raw, plan: Plan, group: GroupKey) -> dict[str, Any]:
    """Python arithmetic on one group's aggregate rows (N x, pct, rounding): the §3 formats."""

    def count(name: str) -> int:
        return int(_value(raw, group, name) or 0)

    m110_values = raw.m110.get(group, {})
    formulas: dict[str, Callable[[], Any]] = {
        "M10": lambda: count("M10"),
        "M20": lambda: count("M20"),
        "M30": lambda: m.round_hours(_value(raw, group, "M30")),
        "M40": lambda: count("M40"),
        "M60": lambda: count("M60"),
        "M61": lambda: count("M61"),
        "M62": lambda: count("M62"),
        "M63": lambda: count("M63"),
        "M70": lambda: count("M70"),
        "M71": lambda: count("M70"),
        "M72": lambda: count("M72"),
        "M73": lambda: plan.n * count("M70"),
        "M80": lambda: count("M80"),
        "M81": lambda: count("M81"),
        "M82": lambda: count("M82"),
        "M83": lambda: m.pct(count("M81"), count("D")),
        "M84": lambda: m.pct(count("M82"), count("D")),
        "M90": lambda: count("M90"),
        "M91": lambda: count("M91"),
        "M92": lambda: count("M92"),
        "M100": lambda: count("M100"),
        "M110": lambda: dict(m110_values),
        "M111": lambda: (
            m.round_half_up(Decimal(sum(m110_values.values())) / len(m110_values), 1) if m110_values else None
        ),
        "M120": lambda: dict(sorted(raw.types.get(group, {}).items())),
    }
    return {metric: formulas[metric]() for metric in plan.ids}


async def group_names(session: AsyncSession, group_by: GroupBy, ids: set[int]) -> dict[int, str]:
    table: Any = District if group_by == "district" else School
    if not ids:
        return {}
    rows = await session.execute(select(table.id, table.name).where(table.id.in_(sorted(ids))))
    return {row.id: row.name for row in rows}


async def compute(session: AsyncSession, plan: Plan) -> dict[str, Any] | list[dict[str, Any]]:
    """Ungrouped: ``{metric: value}``. Grouped (§4): ``[{"group": {id, name}, "metrics"}]``
    ordered by name then id, the Unknown row last."""
    raw = await run(session, plan)
    if plan.group_by is None:
        return shape(raw, plan, None)
    known: set[int] = {g for g in raw.groups if g is not None}
    names = await group_names(session, plan.group_by, known)
    ordered: list[GroupKey] = [*sorted(known, key=lambda g: (names.get(g, ""), g))]
    if None in raw.groups:
        ordered.append(None)
    return [
        {
            "group": {"id": g, "name": names.get(g, "") if g is not None else "Unknown"},
            "metrics": shape(raw, plan, g),
        }
        for g in ordered
    ]


# ---------------------------------------------------------------------------------------------
# The endpoint's service: figures plus the §7 meta block


@dataclass(frozen=True)
class MetricsQuery:
    """``GET /metrics`` parameters after parsing (``event_types`` already stored codes)."""

    start_date: dt.date
    end_date: dt.date
    district_id: int | None = None
    school_id: int | None = None
    event_types: tuple[str, ...] = ()
    event_format: m.EventFormat | None = None
    host_filter: m.HostFilter = "all"
    ids: tuple[str, ...] = METRIC_IDS
    group_by: GroupBy | None = None

    def filters_echo(self, zone: str) -> dict[str, Any]:
        """§7 ``filters``: every filter key after defaults and normalisation."""
        return {
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "timezone": zone,
            "school_year": None,
            "virtual_year": None,
            "district_id": self.district_id,
            "school_id": self.school_id,
            "event_types": list(self.event_types),
            "event_format": self.event_format,
            "host_filter": self.host_filter,
            "group_by": self.group_by,
            "metric_ids": list(self.ids),
        }


async def metrics_report(
    session: AsyncSession,
    query: MetricsQuery,
    *,
    zone: ZoneInfo,
    n: int,
    visible_district_ids: frozenset[int] | None = None,
) -> dict[str, Any]:
    """``{"meta", "metrics"}`` or, grouped, ``{"meta", "groups"}``. A district-scoped caller's
    district groups are limited to its own districts (AC-6: lists restrict silently)."""
    check_window(query.start_date, query.end_date)
    lo, hi = m.window_bounds(query.start_date, query.end_date, zone)
    plan = Plan(
        filters=m.EventFilters(
            lo=lo,
            hi=hi,
            district_id=query.district_id,
            school_id=query.school_id,
            event_types=query.event_types,
            event_format=query.event_format,
            host_filter=query.host_filter,
        ),
        ids=query.ids,
        n=n,
        group_by=query.group_by,
    )
    figures = await compute(session, plan)
    objects, pathful = objects_read(query.ids)
    meta = await build_meta(
        session, filters=query.filters_echo(zone.key), objects=objects, pathful=pathful, n=n
    )
    if isinstance(figures, dict):
        return {"meta": meta, "metrics": figures}
    if query.group_by == "district" and visible_district_ids is not None:
        figures = [row for row in figures if row["group"]["id"] in visible_district_ids]
    return {"meta": meta, "groups": figures}


def export_table(body: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The figures as one table: a row of metrics, or one row per group (dicts as JSON text)."""
    ids = list(body["meta"]["filters"]["metric_ids"])

    def cells(values: dict[str, Any]) -> list[Any]:
        return [
            json.dumps(values[i], sort_keys=True) if isinstance(values[i], dict) else values[i] for i in ids
        ]

    if "groups" in body:
        return ["group_id", "group_name", *ids], [
            [row["group"]["id"], row["group"]["name"], *cells(row["metrics"])] for row in body["groups"]
        ]
    return ids, [cells(body["metrics"])]
