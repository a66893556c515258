"""Polaris virtual events: create, Polaris-owned edits and tags (04 VS-5) and the VS-6 flags they
recompute. The reports over them (presenter recruitment, the flag list) are
:mod:`polaris_api.services.recruitment`.

Every edit is audited (07 AUD-1) and followed, in the same transaction, by the VS-6 flag
recompute of that one event (the code the Pathful import runs, ``imports.pathful.post_import``)
and the 06 P4 reporting-version bump. ``now`` is a parameter everywhere a rule depends on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import EDIT_VIRTUAL_EVENTS, Principal
from polaris_api.errors import (
    NamedProblem,
    NotesRequired,
    Problem,
    UnknownDistrict,
    UnknownSchool,
    forbidden,
    not_found,
    validation_problem,
)
from polaris_api.imports.pathful.post_import import recompute_virtual_session_flags
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.events import (
    Event,
    EventDistrict,
    EventParticipation,
    EventTeacher,
    VirtualSessionFlag,
    event_is_virtual,
)
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.ownership import Owner, OwnershipConflict, check_writable
from polaris_api.schemas.virtual_events import (
    CANCELLATION_FIELDS,
    CancellationUpdate,
    PresenterOut,
    TagRemoved,
    TeacherCorrection,
    TeacherLinkOut,
    VirtualEventCreate,
    VirtualEventOut,
    VirtualEventUpdate,
)
from polaris_api.services import audit
from polaris_api.services.lookups import get_live
from polaris_api.services.readable import readable_virtual_events

# body key → the event fields (ownership registry names) a write to it changes
_WRITES: Mapping[str, tuple[str, ...]] = {
    "title": ("title",),
    "start_date": ("start_date", "start_day", "end_date"),
    "duration": ("duration", "end_date"),
    "type": ("type",),
    "status": ("status",),
    "description": ("description",),
    "location": ("location",),
    "session_host": ("session_host",),
    "school_id": ("school_id",),
    "district_ids": ("districts",),
    "cancellation_reason": ("cancellation_reason",),
    "cancellation_notes": ("cancellation_notes",),
}
_AUDITED = (
    "title",
    "type",
    "format",
    "status",
    "start_date",
    "end_date",
    "duration",
    "description",
    "location",
    "session_host",
    "school_id",
    "cancellation_reason",
    "cancellation_notes",
)
UNTAGGED_STATUSES = ("cancelled", "no_show")


class NotCancelled(NamedProblem):
    """VS-5: the cancellation fields are set only while the event is cancelled."""

    status, code = 409, "not_cancelled"
    default_detail = "The cancellation reason can be set only on a cancelled event."


class AlreadyTagged(NamedProblem):
    """VS-5: the presenter or teacher is already on the event."""

    status, code = 409, "already_tagged"


# --------------------------------------------------------------------------------------
# Helpers


def to_utc(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """R6: an aware time is converted; a naive time is read in the service's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)


def can_edit_all(principal: Principal) -> bool:
    try:
        EDIT_VIRTUAL_EVENTS.check(principal)
    except Problem:
        return False
    return True


def _validate(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
        raise validation_problem(errors) from None


def _ownership_flags(event: Event) -> dict[str, bool]:
    sf_linked = event.salesforce_id is not None
    return {"sf_linked": sf_linked, "pathful_linked": event.pathful_session_id is not None and not sf_linked}


def _audited_values(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _AUDITED}


async def _check_references(
    session: AsyncSession, school_id: int | None, district_ids: Sequence[int]
) -> None:
    if school_id is not None and await session.get(School, school_id) is None:
        raise UnknownSchool("school_id does not name a school.")
    wanted = set(district_ids)
    if wanted:
        found = set(
            (await session.execute(select(District.id).where(District.id.in_(wanted)))).scalars().all()
        )
        if found != wanted:
            raise UnknownDistrict("district_ids names a district that does not exist.")


async def _set_districts(
    session: AsyncSession, event: Event, district_ids: Sequence[int], user_id: int | None
) -> tuple[list[int], list[int]]:
    current = set(
        (await session.execute(select(EventDistrict.district_id).where(EventDistrict.event_id == event.id)))
        .scalars()
        .all()
    )
    wanted = set(district_ids)
    for district_id in sorted(current - wanted):
        link = await session.get(EventDistrict, (event.id, district_id))
        if link is not None:
            await session.delete(link)
    for district_id in sorted(wanted - current):
        session.add(EventDistrict(event_id=event.id, district_id=district_id, created_by_id=user_id))
    return sorted(current), sorted(wanted)


def _set_schedule(event: Event, start: dt.datetime | None, duration: int | None, zone: ZoneInfo) -> None:
    event.start_date = start
    event.start_day = start.astimezone(zone).date() if start else None
    event.duration = duration
    event.end_date = start + dt.timedelta(minutes=duration) if start and duration else None


async def _after_edit(session: AsyncSession, event_id: int, now: dt.datetime) -> None:
    """VS-6 for this one event and the 06 P4 version bump, in the edit's transaction."""
    await session.flush()
    await recompute_virtual_session_flags(session, now, event_ids=[event_id])
    await bump_reporting_data_version(session, now)


async def event_out(session: AsyncSession, event: Event, *, include_people: bool) -> VirtualEventOut:
    district_ids = sorted(
        (await session.execute(select(EventDistrict.district_id).where(EventDistrict.event_id == event.id)))
        .scalars()
        .all()
    )
    presenters: list[PresenterOut] = []
    teachers: list[TeacherLinkOut] = []
    if include_people:
        rows = await session.execute(
            select(EventParticipation)
            .where(
                EventParticipation.event_id == event.id,
                EventParticipation.participant_type == "presenter",
                EventParticipation.is_deleted == false(),
            )
            .order_by(EventParticipation.id)
        )
        presenters = [
            PresenterOut(volunteer_id=p.volunteer_id, status=p.status, source=p.source)
            for p in rows.scalars()
        ]
        links = await session.execute(
            select(EventTeacher)
            .where(EventTeacher.event_id == event.id, EventTeacher.is_deleted == false())
            .order_by(EventTeacher.id)
        )
        teachers = [
            TeacherLinkOut(
                teacher_id=t.teacher_id,
                status=t.status,
                source=t.source,
                attendance_confirmed_at=t.attendance_confirmed_at,
                notes=t.notes,
                protected=t.notes is not None,
            )
            for t in links.scalars()
        ]
    flags = (
        await session.execute(
            select(VirtualSessionFlag.flag_type)
            .where(VirtualSessionFlag.event_id == event.id, VirtualSessionFlag.status == "open")
            .order_by(VirtualSessionFlag.flag_type)
        )
    ).scalars()
    return VirtualEventOut(
        id=event.id,
        title=event.title,
        type=event.type,
        format=event.format,
        status=event.status,
        source=event.source,
        salesforce_id=event.salesforce_id,
        pathful_session_id=event.pathful_session_id,
        start_date=event.start_date,
        start_day=event.start_day,
        end_date=event.end_date,
        duration=event.duration,
        description=event.description,
        location=event.location,
        session_host=event.session_host,
        school_id=event.school_id,
        district_ids=district_ids,
        cancellation_reason=event.cancellation_reason,
        cancellation_notes=event.cancellation_notes,
        presenters=presenters,
        teachers=teachers,
        open_flags=list(flags),
    )


# --------------------------------------------------------------------------------------
# Create and edit (POST /events, PATCH /events/{id})


async def create_event(
    session: AsyncSession, principal: Principal, body: VirtualEventCreate, *, zone: ZoneInfo, now: dt.datetime
) -> VirtualEventOut:
    district_ids = sorted(set(body.district_ids))
    await _check_references(session, body.school_id, district_ids)
    event = Event(
        title=body.title,
        type=body.type,
        format="virtual",
        status=body.status,
        source="manual",
        description=body.description,
        location=body.location,
        session_host=body.session_host,
        school_id=body.school_id,
        created_by_id=principal.user_id,
    )
    _set_schedule(event, to_utc(body.start_date, zone), body.duration, zone)
    session.add(event)
    await session.flush()
    await _set_districts(session, event, district_ids, principal.user_id)
    await audit.record(
        session,
        "event.created",
        actor=principal,
        entity_type="event",
        entity_id=event.id,
        changes={**audit.diff({}, _audited_values(event)), "districts": ([], district_ids)},
    )
    await _after_edit(session, event.id, now)
    await session.flush()
    return await event_out(session, event, include_people=True)


def _check_cancellation(
    event: Event, fields: set[str], status: str | None, reason: str | None, notes: str | None
) -> None:
    """VS-5 / VOC-16: only while cancelled (409 ``not_cancelled``); ``other`` needs notes (422)."""
    if fields & CANCELLATION_FIELDS and status != "cancelled":
        raise NotCancelled()
    if reason == "other" and not (notes and notes.strip()):
        raise NotesRequired("The cancellation reason 'other' needs cancellation_notes.")


async def update_event(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    raw: Mapping[str, Any],
    *,
    zone: ZoneInfo,
    now: dt.datetime,
) -> VirtualEventOut:
    """Global users: any Polaris-owned field; district users: the cancellation fields of an event in
    their districts (07 CAP 🔒), anything else 403. Ownership (409) is judged before validation."""
    full = can_edit_all(principal)
    if not full and set(raw) - CANCELLATION_FIELDS:
        raise forbidden("District users may set only the cancellation reason and notes.")
    event = await get_live(session, Event, event_id, "event")
    if not full:
        if not event_is_virtual(event):
            raise forbidden("District users may set the cancellation reason of virtual events only.")
        readable = select(Event.id).where(Event.id == event.id, *readable_virtual_events(principal))
        if (await session.execute(readable)).first() is None:
            raise forbidden("This event is outside your districts.")
    known = [key for key in raw if key in _WRITES]
    check_writable(
        "event", [name for key in known for name in _WRITES[key]], Owner.polaris, **_ownership_flags(event)
    )
    body = _validate(VirtualEventUpdate if full else CancellationUpdate, raw)
    fields = set(body.model_fields_set)
    for required in {"title", "type", "status", "start_date"} & fields:
        if getattr(body, required) is None:
            raise validation_problem([{"loc": ("body", required), "msg": "may not be null", "type": "null"}])

    status = body.status if "status" in fields else event.status
    reason = body.cancellation_reason if "cancellation_reason" in fields else event.cancellation_reason
    notes = body.cancellation_notes if "cancellation_notes" in fields else event.cancellation_notes
    _check_cancellation(event, fields, status, reason, notes)
    if "school_id" in fields or "district_ids" in fields:
        await _check_references(session, body.school_id, body.district_ids or [])

    before = _audited_values(event)
    for name in ("title", "type", "status", "description", "location", "session_host", "school_id"):
        if name in fields:
            setattr(event, name, getattr(body, name))
    if "cancellation_reason" in fields:
        event.cancellation_reason = body.cancellation_reason
    if "cancellation_notes" in fields:
        event.cancellation_notes = body.cancellation_notes
    if fields & {"start_date", "duration"}:
        start = to_utc(body.start_date, zone) if body.start_date is not None else event.start_date
        duration = body.duration if "duration" in fields else event.duration
        _set_schedule(event, start, duration, zone)
    changes = audit.diff(before, _audited_values(event))
    if "district_ids" in fields:
        old, new = await _set_districts(
            session, event, sorted(set(body.district_ids or [])), principal.user_id
        )
        if old != new:
            changes["districts"] = (old, new)
    if changes:
        await audit.record(
            session,
            "event.updated",
            actor=principal,
            entity_type="event",
            entity_id=event.id,
            changes=changes,
        )
        await _after_edit(session, event.id, now)
    await session.flush()
    await session.refresh(event)
    return await event_out(session, event, include_people=full)


# --------------------------------------------------------------------------------------
# Presenter and teacher tags (VS-5)


async def add_presenter(
    session: AsyncSession, principal: Principal, event_id: int, volunteer_id: int, *, now: dt.datetime
) -> VirtualEventOut:
    event = await get_live(session, Event, event_id, "event")
    await get_live(session, Volunteer, volunteer_id, "volunteer")  # 404 for an unknown volunteer
    existing = await session.scalar(
        select(EventParticipation).where(
            EventParticipation.event_id == event_id,
            EventParticipation.volunteer_id == volunteer_id,
            EventParticipation.participant_type == "presenter",
        )
    )
    if existing is not None:
        raise AlreadyTagged("This volunteer is already a presenter of the event.")
    row = EventParticipation(
        event_id=event_id,
        volunteer_id=volunteer_id,
        participant_type="presenter",
        status="registered",
        source="manual",
        created_by_id=principal.user_id,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent tag of the same pair
        await session.rollback()
        raise AlreadyTagged("This volunteer is already a presenter of the event.") from None
    await audit.record(
        session,
        "event.presenter_added",
        actor=principal,
        entity_type="event",
        entity_id=event_id,
        changes={"presenters": (None, volunteer_id)},
        details={"participation_id": row.id, "source": "manual"},
    )
    await _after_edit(session, event_id, now)
    await session.flush()
    return await event_out(session, event, include_people=True)


async def remove_presenter(
    session: AsyncSession, principal: Principal, event_id: int, volunteer_id: int, *, now: dt.datetime
) -> TagRemoved:
    await get_live(session, Event, event_id, "event")
    row = await session.scalar(
        select(EventParticipation).where(
            EventParticipation.event_id == event_id,
            EventParticipation.volunteer_id == volunteer_id,
            EventParticipation.participant_type == "presenter",
            EventParticipation.is_deleted == false(),
        )
    )
    if row is None:
        return TagRemoved(event_id=event_id, removed=False)
    if row.source != "manual" or row.salesforce_id is not None:
        owner = (
            Owner.salesforce if row.salesforce_id is not None or row.source == "salesforce" else Owner.pathful
        )
        raise OwnershipConflict("event_participation", "presenters", owner)
    await session.delete(row)
    await audit.record(
        session,
        "event.presenter_removed",
        actor=principal,
        entity_type="event",
        entity_id=event_id,
        changes={"presenters": (volunteer_id, None)},
        details={"participation_id": row.id, "status": row.status},
    )
    await _after_edit(session, event_id, now)
    await session.flush()
    return TagRemoved(event_id=event_id, removed=True)


async def add_teacher(
    session: AsyncSession, principal: Principal, event_id: int, teacher_id: int, *, now: dt.datetime
) -> VirtualEventOut:
    event = await get_live(session, Event, event_id, "event")
    await get_live(session, Teacher, teacher_id, "teacher")  # 404 for an unknown teacher
    existing = await session.scalar(
        select(EventTeacher).where(EventTeacher.event_id == event_id, EventTeacher.teacher_id == teacher_id)
    )
    if existing is not None:
        raise AlreadyTagged("This teacher is already linked to the event.")
    row = EventTeacher(event_id=event_id, teacher_id=teacher_id, status="registered", source="manual")
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise AlreadyTagged("This teacher is already linked to the event.") from None
    await audit.record(
        session,
        "event.teacher_added",
        actor=principal,
        entity_type="event",
        entity_id=event_id,
        changes={"teacher_links": (None, teacher_id)},
        details={"event_teacher_id": row.id, "status": "registered", "source": "manual"},
    )
    await _after_edit(session, event_id, now)
    await session.flush()
    return await event_out(session, event, include_people=True)


async def _teacher_link(session: AsyncSession, event_id: int, teacher_id: int) -> EventTeacher | None:
    return await session.scalar(
        select(EventTeacher).where(
            EventTeacher.event_id == event_id,
            EventTeacher.teacher_id == teacher_id,
            EventTeacher.is_deleted == false(),
        )
    )


async def remove_teacher(
    session: AsyncSession, principal: Principal, event_id: int, teacher_id: int, *, now: dt.datetime
) -> TagRemoved:
    await get_live(session, Event, event_id, "event")
    row = await _teacher_link(session, event_id, teacher_id)
    if row is None:
        return TagRemoved(event_id=event_id, removed=False)
    if row.source != "manual":
        raise OwnershipConflict(
            "event_teacher", "teacher_id", Owner(row.source) if row.source in set(Owner) else Owner.pathful
        )
    await session.delete(row)
    await audit.record(
        session,
        "event.teacher_removed",
        actor=principal,
        entity_type="event",
        entity_id=event_id,
        changes={"teacher_links": (teacher_id, None)},
        details={"event_teacher_id": row.id, "status": row.status},
    )
    await _after_edit(session, event_id, now)
    await session.flush()
    return TagRemoved(event_id=event_id, removed=True)


async def correct_teacher(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    teacher_id: int,
    body: TeacherCorrection,
    *,
    now: dt.datetime,
) -> TeacherLinkOut:
    """VS-5 admin correction: ``attended`` sets ``attendance_confirmed_at`` (kept if already set),
    other statuses clear it; a note protects the row from imports (PF-15), ``null`` unprotects."""
    await get_live(session, Event, event_id, "event")
    row = await _teacher_link(session, event_id, teacher_id)
    if row is None:
        raise not_found("teacher link")
    before = {
        "status": row.status,
        "attendance_confirmed_at": row.attendance_confirmed_at,
        "notes": row.notes,
    }
    if body.status is not None:
        row.status = body.status
        if body.status == "attended":
            row.attendance_confirmed_at = row.attendance_confirmed_at or now
        else:
            row.attendance_confirmed_at = None
    if row.notes != body.notes:
        row.notes = body.notes
        row.notes_updated_at = now
        row.notes_updated_by_id = principal.user_id
    changes = audit.diff(
        before,
        {"status": row.status, "attendance_confirmed_at": row.attendance_confirmed_at, "notes": row.notes},
    )
    if changes:
        await audit.record(
            session,
            "event_teacher.corrected",
            actor=principal,
            entity_type="event_teacher",
            entity_id=row.id,
            changes=changes,
            details={"event_id": event_id, "teacher_id": teacher_id},
        )
        await _after_edit(session, event_id, now)
    await session.flush()
    await session.refresh(row)
    return TeacherLinkOut(
        teacher_id=row.teacher_id,
        status=row.status,
        source=row.source,
        attendance_confirmed_at=row.attendance_confirmed_at,
        notes=row.notes,
        protected=row.notes is not None,
    )
