"""What a caller may read: one function per entity (07 AC-2, AC-6, DV-2).

Every read of events, virtual events, teacher-progress records, teachers and volunteers builds
its district scoping from the ``readable_*`` function of its entity, so a rule about who sees what
lives here once (like Polar's ``Repository.get_readable_statement(auth_subject)``). Each returns
the WHERE conditions of the readable statement; callers add their own filters.

A district-scoped caller sees rows of their districts only (an empty scope sees nothing, AC-2).
A ``district_id`` filter outside the scope is refused by the auth guard (AC-6);
:func:`require_readable_school` refuses a ``school_id`` filter of another district the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.auth import Principal
from polaris_api.errors import forbidden
from polaris_api.models.events import Event, EventDistrict, EventTeacher, is_virtual
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.models.reference import School
from polaris_api.models.teachers import TeacherProgress

Conditions = list[ColumnElement[bool]]


# ---------------------------------------------------------------------------------------------
# Membership: which rows belong to which districts


def event_in_districts(district_ids: Iterable[int]) -> ColumnElement[bool]:
    """The event's districts (04 §0): its district links, its school's district and the districts
    of its linked teachers' schools."""
    ids = sorted(set(district_ids))
    schools_in = select(School.id).where(School.district_id.in_(ids))
    return or_(
        exists().where(EventDistrict.event_id == Event.id, EventDistrict.district_id.in_(ids)),
        Event.school_id.in_(schools_in),
        exists().where(
            EventTeacher.event_id == Event.id,
            EventTeacher.is_deleted.is_(False),
            EventTeacher.teacher_id == Teacher.id,
            Teacher.school_id.in_(schools_in),
        ),
    )


def teacher_in_districts(district_ids: Iterable[int]) -> ColumnElement[bool]:
    """A teacher's districts: its roster link (``teacher.district_id``), its school's district and
    the districts of its roster records."""
    ids = sorted(set(district_ids))
    return or_(
        Teacher.district_id.in_(ids),
        Teacher.school_id.in_(select(School.id).where(School.district_id.in_(ids))),
        exists().where(TeacherProgress.teacher_id == Teacher.id, TeacherProgress.district_id.in_(ids)),
    )


def _scoped(principal: Principal, in_districts: ColumnElement[bool] | None) -> Conditions:
    """``[]`` for a global caller, else the membership test (nothing for an empty scope, AC-2)."""
    allowed = principal.visible_district_ids()
    if allowed is None:
        return []
    return [in_districts if allowed and in_districts is not None else false()]


# ---------------------------------------------------------------------------------------------
# Readable statements, one per entity


def readable_events(principal: Principal) -> Conditions:
    """Events not deleted in their source; a district caller's only when one of their districts."""
    allowed = principal.visible_district_ids() or ()
    return [Event.is_deleted.is_(False), *_scoped(principal, event_in_districts(allowed))]


def readable_virtual_events(principal: Principal) -> Conditions:
    """The readable events that are virtual (06 G7)."""
    return [*readable_events(principal), is_virtual(Event)]


def readable_teacher_progress(principal: Principal) -> Conditions:
    """Roster records of the caller's districts (``teacher_progress.district_id``)."""
    allowed = sorted(principal.visible_district_ids() or ())
    return _scoped(principal, TeacherProgress.district_id.in_(allowed))


def readable_teachers(principal: Principal) -> Conditions:
    """Teachers not deleted; a district caller's only when one of their districts."""
    allowed = principal.visible_district_ids() or ()
    return [Teacher.is_deleted.is_(False), *_scoped(principal, teacher_in_districts(allowed))]


def readable_volunteers(principal: Principal) -> Conditions:
    """Volunteers not deleted; volunteer data is for global callers only (07 DV-2), so a district
    caller reads none even if a route let them through."""
    return [Volunteer.is_deleted.is_(False), *_scoped(principal, None)]


async def require_readable_school(session: AsyncSession, principal: Principal, school_id: int | None) -> None:
    """AC-6 for a ``school_id`` filter: a school of another district is refused with the same 403
    as a ``district_id`` outside the scope (not a silently empty list). An unknown id filters to
    nothing and is not an error; a school without a district is outside every district scope."""
    if school_id is None or principal.visible_district_ids() is None:
        return
    found = (await session.execute(select(School.district_id).where(School.id == school_id))).first()
    if found is None:
        return
    if found.district_id is None:
        raise forbidden("This school is outside your scope.")
    principal.require_districts([found.district_id])
