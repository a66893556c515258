"""The rules of 06 §2-§3 as SQLAlchemy Core expressions: the one place each rule is written.

Every metric, grouped output and year-end figure is built from these pieces; they compile on
SQLite and PostgreSQL. Functions take the entity (or an ``aliased`` copy) they apply to.

Decision (06 §1 notation): ``status``, ``type``, ``format``, ``participant_type`` and ``level`` are
stored as lowercase codes (08: API input must equal a stored value, imports map to stored
values), so predicates compare the stored code directly. ``lower(trim())`` would be a no-op on
these values and would stop the indexes on ``event.status`` / ``event.type`` from being used.
Free text (``district_partner``, ``district.name``, ``session_host``, ``student_id``) is normalised
as the rules say.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Subquery

from polaris_api.models.events import (
    VIRTUAL_TYPES,
    Event,
    EventDistrict,
    EventParticipation,
)
from polaris_api.models.events import is_virtual as _model_is_virtual
from polaris_api.models.people import Volunteer
from polaris_api.models.reference import District, School

__all__ = [
    "DELIVERED_STATUSES",
    "METRICS_VERSION",
    "VIRTUAL_TYPES",
    "VOL_ATTENDED_STATUSES",
    "EventFilters",
    "EventFormat",
    "HostFilter",
    "attr_school",
    "attr_school_on",
    "delivered",
    "district_filter",
    "ev_conditions",
    "format_predicate",
    "presenter_flags",
    "event_district_attr",
    "hours",
    "host_predicate",
    "in_window",
    "is_presenter",
    "is_virtual",
    "m110",
    "norm",
    "not_cancelled",
    "pct",
    "round_half_up",
    "round_hours",
    "skey",
    "reportable",
    "sp_conditions",
    "sp_row_conditions",
    "stu_attended",
    "tch_confirmed",
    "tkey",
    "tp_conditions",
    "tp_person_conditions",
    "vkey",
    "vol_attended",
    "vp_conditions",
    "window_bounds",
]

METRICS_VERSION = "1.1"
"""06: the metrics definition version echoed in every ``meta``; raise it with any rule change."""

HostFilter = Literal["all", "prepkc"]  # G10
EventFormat = Literal["in_person", "virtual"]  # G9

VOL_ATTENDED_STATUSES = ("attended", "completed", "successfully_completed")  # G6, VOC-13
STU_ATTENDED_STATUS = "attended"  # G6
DELIVERED_STATUSES = ("completed", "simulcast")  # G6
CANCELLED = "cancelled"
PRESENTER = "presenter"


# ---------------------------------------------------------------------------------------------
# Numbers (Python side: arithmetic on aggregate rows only, P1)


def round_half_up(value: float | Decimal | int, places: int) -> float:
    """Round half up (not Python's banker's rounding) through the decimal text of ``value``."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


@functools.lru_cache(maxsize=8192, typed=True)
def round_hours(value: float | Decimal | int | None) -> float:
    """06 §3: hours are serialised with 2 decimals. Memoised: a year-end report rounds thousands
    of timeline hours, mostly a few repeated values. ``typed`` keeps a float and an equal Decimal
    apart (their decimal texts can round differently); ``-0.0`` never reaches the cache's
    rounding as ``value or 0`` turns it into ``0``."""
    return round_half_up(value or 0, 2)


def pct(a: float | int, b: float | int) -> float:
    """06 §1 ``pct(a, b) = round_half_up(100*a/b, 1)``, ``0.0`` when ``b = 0``."""
    if not b:
        return 0.0
    return round_half_up(Decimal(str(a)) * 100 / Decimal(str(b)), 1)


# ---------------------------------------------------------------------------------------------
# G1 window


def window_bounds(start: dt.date, end: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """G1: aware UTC ``[lo, hi)``: local midnight starting ``start`` and starting ``end + 1 day``.

    ``zoneinfo`` resolves the local midnight per date, so a window across a DST change gets
    the right offset at each end."""
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=zone).astimezone(dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone).astimezone(dt.UTC)
    return lo, hi


def in_window(e: Any, lo: dt.datetime, hi: dt.datetime) -> ColumnElement[bool]:
    """G1 ``e.start_date >= :lo AND e.start_date < :hi``: the bare column, so its index serves."""
    return and_(e.start_date >= lo, e.start_date < hi)


# ---------------------------------------------------------------------------------------------
# G6 / G7 status sets and format


def norm(column: Any) -> ColumnElement[Any]:
    """``lower(trim(x))``: for free text and output keys (M120 ``lower(e.type)``)."""
    return func.lower(func.trim(column))


def is_virtual(e: Any = None) -> ColumnElement[bool]:
    """G7 (the model's one implementation, null-safe: ``~is_virtual(e)`` is the in-person set)."""
    return _model_is_virtual(e)


def not_cancelled(e: Any) -> ColumnElement[bool]:
    """G3 ``COALESCE(e.status, '') <> 'cancelled'``."""
    return func.coalesce(e.status, "") != CANCELLED


def delivered(e: Any) -> ColumnElement[bool]:
    """G6 ``DELIVERED(e)``."""
    return e.status.in_(DELIVERED_STATUSES)


def vol_attended(p: Any) -> ColumnElement[bool]:
    """G6 ``VOL_ATTENDED`` (stored VOC-13 codes)."""
    return p.status.in_(VOL_ATTENDED_STATUSES)


def stu_attended(sp: Any) -> ColumnElement[bool]:
    """G6 ``STU_ATTENDED``."""
    return sp.status == STU_ATTENDED_STATUS


def tch_confirmed(et: Any) -> ColumnElement[bool]:
    """G6 ``TCH_CONFIRMED``: the confirmation time, never the ``status`` text."""
    return et.attendance_confirmed_at.is_not(None)


def is_presenter(p: Any) -> ColumnElement[bool]:
    """G6 ``PRESENTER``."""
    return p.participant_type == PRESENTER


# ---------------------------------------------------------------------------------------------
# G5 dedupe keys


def vkey(v: Any) -> ColumnElement[str]:
    """G5 ``COALESCE(v.email_normalized, 'volunteer:' || v.id)``."""
    return func.coalesce(v.email_normalized, literal("volunteer:", String) + cast(v.id, String))


def tkey(t: Any) -> ColumnElement[str]:
    """G5 ``COALESCE(t.email_normalized, 'teacher:' || t.id)``."""
    return func.coalesce(t.email_normalized, literal("teacher:", String) + cast(t.id, String))


def skey(s: Any) -> ColumnElement[str]:
    """G5 ``COALESCE(NULLIF(trim(s.student_id), ''), 'student:' || s.id)`` (school-issued id)."""
    return func.coalesce(
        func.nullif(func.trim(s.student_id), ""), literal("student:", String) + cast(s.id, String)
    )


# ---------------------------------------------------------------------------------------------
# Volunteer hours (06 §2), one expression compiled per dialect


class _greatest(FunctionElement[Any]):
    """``GREATEST(a, b)``; SQLite's two-argument scalar ``MAX(a, b)``."""

    type = Float()
    inherit_cache = True
    name = "greatest"


@compiles(_greatest)
def _greatest_default(element: _greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(_greatest, "sqlite")
def _greatest_sqlite(element: _greatest, compiler: Any, **kw: Any) -> str:
    return f"MAX({compiler.process(element.clauses, **kw)})"


class _seconds_between(FunctionElement[Any]):
    """Seconds from the first to the second timestamp argument."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(_seconds_between)
def _seconds_between_default(element: _seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(_seconds_between, "sqlite")
def _seconds_between_sqlite(element: _seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def hours(p: Any, e: Any) -> ColumnElement[float]:
    """06 §2 ``hours(p, e)``: ``delivery_hours`` when present and >= 0 (an explicit 0 stays 0),
    else ``duration / 60``, else ``end - start`` hours with a floor of 1.0, else 0.0."""
    span = _seconds_between(e.start_date, e.end_date) / 3600.0
    return cast(
        case(
            (and_(p.delivery_hours.is_not(None), p.delivery_hours >= 0), p.delivery_hours),
            (and_(e.duration.is_not(None), e.duration > 0), e.duration / 60.0),
            (
                and_(e.end_date.is_not(None), e.end_date > e.start_date),
                _greatest(span, literal(1.0, Float)),
            ),
            else_=literal(0.0, Float),
        ),
        Float,
    )


# ---------------------------------------------------------------------------------------------
# Aliases of the inner subqueries, made once: an ORM alias adapts each column on first use, which
# costs ~1 ms per column per alias (measured), so building new ones per request is not free.

_ATTR_SCHOOL = aliased(School, name="attr_school")
_LINK, _LINK_DISTRICT = aliased(EventDistrict, name="attr_link"), aliased(District, name="attr_link_district")
_NAMED = aliased(District, name="attr_named")
_E1, _D1, _L1 = (
    aliased(Event, name="attr_e1"),
    aliased(District, name="attr_d1"),
    aliased(EventDistrict, name="attr_l1"),
)
_E2, _S3, _D3 = (
    aliased(Event, name="attr_e2"),
    aliased(School, name="attr_s3"),
    aliased(District, name="attr_d3"),
)
_PRESENTER = aliased(EventParticipation, name="presenter")
_PRESENTER_VOLUNTEER = aliased(Volunteer, name="presenter_volunteer")


# ---------------------------------------------------------------------------------------------
# G10 host filter, M50 / M51 attribution


def host_predicate(e: Any, host_filter: HostFilter) -> ColumnElement[bool]:
    """G10: ``all`` adds nothing; ``prepkc`` matches the host text (a NULL host fails)."""
    if host_filter == "all":
        return true()
    return func.coalesce(e.session_host, "").ilike("%prepkc%")


def attr_school_on(e: Any, school: Any) -> ColumnElement[bool]:
    """M51 as an outer-join condition: ``school`` is the event's school when it is not deleted
    (no row: Unknown). Same rule as :func:`attr_school`, for statements that read the school."""
    return and_(school.id == e.school_id, school.is_deleted.is_(false()))


def attr_school(e: Any) -> ColumnElement[int | None]:
    """M51: ``e.school_id`` when it points to a non-deleted school, else NULL (Unknown)."""
    school = _ATTR_SCHOOL
    live = exists().where(school.id == e.school_id, school.is_deleted.is_(false()))
    return case((live, e.school_id), else_=None)


def event_district_attr(
    lo: dt.datetime | None = None, hi: dt.datetime | None = None, *, name: str = "event_district_attr"
) -> CTE:
    """M50 as one CTE ``(event_id, district_id)``: a ``UNION ALL`` of the steps, each guarded by
    ``NOT EXISTS`` on the earlier ones.

    1. ``event_district`` links to non-deleted districts (links always win; one row per link);
    2. else the single non-deleted district whose ``lower(trim(name))`` equals the event's
       ``lower(trim(district_partner))`` (none or several: next step);
    3. else the district of the event's non-deleted school (when that district is not deleted);
    4. else Unknown: the event's one row has ``district_id`` NULL.

    Steps 2-4 are one branch over the unlinked events (the "guarded by NOT EXISTS" is a left
    join to the linked events, kept when none matches): left joins to the single-name districts
    and to the school's district, ``COALESCE`` in step order. One scan of ``event`` per branch,
    and no filter on the ``COALESCE`` (PostgreSQL would guess 0.5 % of the rows for it). A NULL
    district matches no district filter and groups as Unknown, exactly like an event with no
    row.

    ``lo``/``hi`` (optional) restrict the events considered to a G1 window: the same rows for
    those events, less work for a query that only reads that window."""

    def scoped(e: Any) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [e.is_deleted.is_(false())]
        if lo is not None and hi is not None:
            conditions.append(in_window(e, lo, hi))
        return conditions

    named = _NAMED
    name_counts = (
        select(norm(named.name).label("n"), func.min(named.id).label("district_id"))
        .where(named.is_deleted.is_(false()))
        .group_by(norm(named.name))
        .having(func.count() == 1)
        .subquery("district_single_name")
    )

    e1, d1, link = _E1, _D1, _L1
    step1 = (
        select(link.event_id.label("event_id"), link.district_id.label("district_id"))
        .join(e1, e1.id == link.event_id)
        .join(d1, d1.id == link.district_id)
        .where(d1.is_deleted.is_(false()), *scoped(e1))
    )

    e2, s3, d3 = _E2, _S3, _D3
    live_link, live_link_district = _LINK, _LINK_DISTRICT
    # The events with a live link, as one grouped set: a left join to it (an anti-join) cannot
    # become a per-event index probe, which PostgreSQL chose for ``NOT EXISTS`` whenever a
    # district filter on the CTE made it guess a few dozen unlinked events.
    linked = (
        select(live_link.event_id.label("event_id"))
        .join(live_link_district, live_link_district.id == live_link.district_id)
        .where(live_link_district.is_deleted.is_(false()))
        .group_by(live_link.event_id)
        .subquery("linked_events")
    )
    fallback = func.coalesce(name_counts.c.district_id, d3.id)
    steps234 = (
        select(e2.id.label("event_id"), fallback.label("district_id"))
        .select_from(e2)
        .outerjoin(linked, linked.c.event_id == e2.id)
        .outerjoin(name_counts, name_counts.c.n == norm(e2.district_partner))
        .outerjoin(s3, and_(s3.id == e2.school_id, s3.is_deleted.is_(false())))
        .outerjoin(d3, and_(d3.id == s3.district_id, d3.is_deleted.is_(false())))
        .where(*scoped(e2), linked.c.event_id.is_(None))
    )
    return union_all(step1, steps234).cte(name)


def district_filter(e: Any, attr: CTE, district_id: int) -> ColumnElement[bool]:
    """06 §3 M50 district filter: ``EXISTS (attr row for e with district_id = :d)``."""
    return exists().where(attr.c.event_id == e.id, attr.c.district_id == district_id)


# ---------------------------------------------------------------------------------------------
# Base sets (06 §2): the filters F(e) and the participation conditions


@dataclass(frozen=True)
class EventFilters:
    """The active filters ``F(e)`` plus the G1 bounds (what G9/G10 and §6 pass in)."""

    lo: dt.datetime
    hi: dt.datetime
    district_id: int | None = None
    school_id: int | None = None
    event_types: tuple[str, ...] = ()
    event_format: EventFormat | None = None
    host_filter: HostFilter = "all"


def format_predicate(e: Any, event_format: EventFormat | None) -> ColumnElement[bool]:
    """G9 ``event_format`` through G7."""
    if event_format is None:
        return true()
    return is_virtual(e) if event_format == "virtual" else ~is_virtual(e)


def ev_conditions(
    e: Any,
    f: EventFilters,
    attr: CTE | None = None,
    *,
    status: Literal["live", "cancelled", "any"] = "live",
    place: bool = True,
) -> list[ColumnElement[bool]]:
    """``EV`` (``status="live"``), M63's cancelled set (``"cancelled"``) or both (``"any"``): not
    deleted, window and F(e).

    ``place=False`` leaves out the district/school filters (G9: M70-M73/M80 apply them to the
    teacher's school instead). ``attr`` is the M50 CTE, required when a district is filtered."""
    conditions = [e.is_deleted.is_(false()), in_window(e, f.lo, f.hi)]
    if status == "live":
        conditions.append(not_cancelled(e))
    elif status == "cancelled":
        conditions.append(e.status == CANCELLED)
    if f.event_types:
        conditions.append(e.type.in_(f.event_types))
    if f.event_format is not None:
        conditions.append(format_predicate(e, f.event_format))
    if f.host_filter != "all":
        conditions.append(host_predicate(e, f.host_filter))
    if place and f.district_id is not None:
        if attr is None:
            raise ValueError("a district filter needs the event_district_attr CTE")
        conditions.append(district_filter(e, attr, f.district_id))
    if place and f.school_id is not None:
        conditions.append(attr_school(e) == f.school_id)
    return conditions


def vp_conditions(p: Any, v: Any) -> ColumnElement[bool]:
    """``VP`` row conditions (06 §2), to add to a join of ``EV`` with ``p`` and ``v``."""
    return and_(
        p.is_deleted.is_(false()),
        v.is_deleted.is_(false()),
        v.exclude_from_reports.is_(false()),
        vol_attended(p),
    )


def reportable(person: Any) -> ColumnElement[bool]:
    """G3 on a volunteer, teacher or student: not soft-deleted, not excluded from reports."""
    return and_(person.is_deleted.is_(false()), person.exclude_from_reports.is_(false()))


def sp_row_conditions(sp: Any) -> ColumnElement[bool]:
    """The participation-row part of ``SP``: not deleted, ``STU_ATTENDED``."""
    return and_(sp.is_deleted.is_(false()), stu_attended(sp))


def sp_conditions(sp: Any, s: Any) -> ColumnElement[bool]:
    """``SP`` row conditions without the format rule (callers add ``NOT is_virtual(e)``)."""
    return and_(sp_row_conditions(sp), reportable(s))


def tp_person_conditions(et: Any, t: Any) -> ColumnElement[bool]:
    """The row and person part of ``TP`` (no confirmation, no format): §6.4 also counts
    registered, unconfirmed teachers."""
    return and_(et.is_deleted.is_(false()), t.is_deleted.is_(false()), t.exclude_from_reports.is_(false()))


def tp_conditions(et: Any, t: Any, e: Any) -> ColumnElement[bool]:
    """``TP`` row conditions: person part, ``TCH_CONFIRMED`` and ``is_virtual(e)``."""
    return and_(tp_person_conditions(et, t), tch_confirmed(et), is_virtual(e))


def presenter_flags(conditions: dict[str, Callable[[Any], ColumnElement[bool]]]) -> Subquery:
    """06 §3 ``has_presenter(e, cond)`` for every event at once: one row per event that has an
    attended, non-deleted presenter row whose volunteer is live and not excluded, with one 0/1
    column per named ``cond(v)`` (1: at least one such presenter meets it; one marks the whole
    session). Outer-join it on ``event_id``: a missing row is "no presenter".

    A grouped join rather than one ``EXISTS`` per event and condition: PostgreSQL estimated those
    subplans per event high enough to JIT-compile the statement (~0.2 s) on every request."""
    p, v = _PRESENTER, _PRESENTER_VOLUNTEER
    return (
        select(
            p.event_id.label("event_id"),
            *(
                func.max(case((condition(v), 1), else_=0)).label(name)
                for name, condition in conditions.items()
            ),
        )
        .join(v, v.id == p.volunteer_id)
        .where(is_presenter(p), vp_conditions(p, v))
        .group_by(p.event_id)
        .subquery("presenters")
    )


def m110(e: Any, detail: Any) -> ColumnElement[int | None]:
    """M110 per non-virtual event: ``FLOOR(total_students / num_classrooms * rotations)``.

    Decision: computed exactly in integers, ``(total_students * rotations) / num_classrooms``
    (integer division, inputs are non-negative integers), where the literal float formula can
    land just under a whole number (1/49*49 = 0.999...). NULL when an input is missing."""
    valid = and_(
        detail.total_students.is_not(None),
        detail.num_classrooms > 0,
        detail.rotations > 0,
        ~is_virtual(e),
    )
    return case(
        (valid, cast(detail.total_students * detail.rotations // detail.num_classrooms, Integer)),
        else_=None,
    )
