"""Reports over virtual sessions (04 VS-1..VS-3, VS-7): the presenter-recruitment list with its
urgency, and the list of open and resolved virtual-session flags."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.clock import local_today
from polaris_api.models.events import (
    Event,
    EventDistrict,
    EventParticipation,
    EventTeacher,
    VirtualSessionFlag,
)
from polaris_api.models.people import Teacher
from polaris_api.models.reference import District, School
from polaris_api.pagination import Page, PageParams
from polaris_api.schemas.virtual_events import FlagItem, NamedRef, RecruitmentItem
from polaris_api.services.readable import event_in_districts
from polaris_api.services.virtual_events import UNTAGGED_STATUSES, local_midnight


def urgency(days_until: int) -> str:
    """VS-2: red ≤ 7, yellow 8–14, blue > 14."""
    if days_until <= 7:
        return "red"
    if days_until <= 14:
        return "yellow"
    return "blue"


def _date_bounds(start: dt.date | None, end: dt.date | None, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(Event.start_date >= local_midnight(start, zone))
    if end is not None:
        conditions.append(Event.start_date < local_midnight(end + dt.timedelta(days=1), zone))
    return conditions


def _linked_teacher(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        EventTeacher.event_id == Event.id,
        EventTeacher.is_deleted == false(),
        EventTeacher.teacher_id == Teacher.id,
        *conditions,
    )


def recruitment_statement(
    *,
    now: dt.datetime,
    zone: ZoneInfo,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    school_id: int | None = None,
    district_id: int | None = None,
    q: str | None = None,
) -> Select[Any]:
    """VS-1: upcoming virtual sessions, not cancelled / no-show, with no presenter; VS-3 filters."""
    has_presenter = exists().where(
        EventParticipation.event_id == Event.id,
        EventParticipation.participant_type == "presenter",
        EventParticipation.is_deleted == false(),
    )
    conditions: list[ColumnElement[bool]] = [
        Event.type == "virtual_session",
        Event.is_deleted == false(),
        Event.start_date > now,
        or_(Event.status.is_(None), Event.status.not_in(UNTAGGED_STATUSES)),
        ~has_presenter,
        *_date_bounds(date_from, date_to, zone),
    ]
    if window is not None:
        conditions += [Event.start_date >= window[0], Event.start_date < window[1]]
    if school_id is not None:
        conditions.append(_linked_teacher(Teacher.school_id == school_id))
    if district_id is not None:
        conditions.append(event_in_districts([district_id]))
    if q:
        full_name = func.coalesce(Teacher.first_name, "") + " " + Teacher.last_name
        conditions.append(
            or_(
                Event.title.icontains(q, autoescape=True),
                _linked_teacher(
                    or_(
                        Teacher.first_name.icontains(q, autoescape=True),
                        Teacher.last_name.icontains(q, autoescape=True),
                        full_name.icontains(q, autoescape=True),
                    )
                ),
            )
        )
    return select(Event).where(and_(*conditions)).order_by(Event.start_date, Event.id)


async def _teachers_schools_districts(
    session: AsyncSession, events: Sequence[Event]
) -> tuple[dict[int, int], dict[int, list[NamedRef]], dict[int, list[NamedRef]]]:
    ids = [e.id for e in events]
    counts: dict[int, int] = {}
    schools: dict[int, dict[int, str]] = defaultdict(dict)
    district_pairs: set[tuple[int, int]] = set()
    if not ids:
        return {}, {}, {}
    count_rows = await session.execute(
        select(EventTeacher.event_id, func.count(EventTeacher.id))
        .where(EventTeacher.event_id.in_(ids), EventTeacher.is_deleted == false())
        .group_by(EventTeacher.event_id)
    )
    counts = {row[0]: row[1] for row in count_rows.all()}
    school_rows = await session.execute(
        select(EventTeacher.event_id, School.id, School.name, School.district_id)
        .join(Teacher, Teacher.id == EventTeacher.teacher_id)
        .join(School, School.id == Teacher.school_id)
        .where(EventTeacher.event_id.in_(ids), EventTeacher.is_deleted == false())
    )
    for event_id, school_id, name, district_id in school_rows.all():
        schools[event_id][school_id] = name
        if district_id is not None:
            district_pairs.add((event_id, district_id))
    links = await session.execute(
        select(EventDistrict.event_id, EventDistrict.district_id).where(EventDistrict.event_id.in_(ids))
    )
    district_pairs.update((row[0], row[1]) for row in links.all())
    own_schools = {e.id: e.school_id for e in events if e.school_id is not None}
    if own_schools:
        rows = await session.execute(
            select(School.id, School.district_id).where(School.id.in_(set(own_schools.values())))
        )
        school_district: dict[int, int | None] = {row[0]: row[1] for row in rows.all()}
        for event_id, school_id in own_schools.items():
            own_district = school_district.get(school_id)
            if own_district is not None:
                district_pairs.add((event_id, own_district))
    names: dict[int, str] = {}
    district_ids = {d for _, d in district_pairs}
    if district_ids:
        name_rows = await session.execute(
            select(District.id, District.name).where(District.id.in_(district_ids))
        )
        names = {row[0]: row[1] for row in name_rows.all()}
    districts: dict[int, list[NamedRef]] = defaultdict(list)
    for event_id, district_id in sorted(district_pairs):
        if district_id in names:
            districts[event_id].append(NamedRef(id=district_id, name=names[district_id]))
    school_refs = {
        event_id: sorted(
            (NamedRef(id=i, name=n) for i, n in by_id.items()), key=lambda r: (r.name.casefold(), r.id)
        )
        for event_id, by_id in schools.items()
    }
    for refs in districts.values():
        refs.sort(key=lambda r: (r.name.casefold(), r.id))
    return counts, school_refs, districts


async def presenter_recruitment(
    session: AsyncSession,
    params: PageParams,
    *,
    now: dt.datetime,
    zone: ZoneInfo,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    school_id: int | None = None,
    district_id: int | None = None,
    q: str | None = None,
) -> Page[RecruitmentItem]:
    statement = recruitment_statement(
        now=now,
        zone=zone,
        window=window,
        date_from=date_from,
        date_to=date_to,
        school_id=school_id,
        district_id=district_id,
        q=q,
    )
    total = (
        await session.execute(select(func.count()).select_from(statement.order_by(None).subquery()))
    ).scalar_one()
    events = list(
        (await session.execute(statement.limit(params.page_size).offset(params.offset))).scalars().all()
    )
    counts, schools, districts = await _teachers_schools_districts(session, events)
    today = local_today(zone, now)
    items = []
    for event in events:
        assert event.start_date is not None
        days = (event.start_date.astimezone(zone).date() - today).days
        items.append(
            RecruitmentItem(
                event_id=event.id,
                title=event.title,
                start_date=event.start_date,
                days_until=days,
                urgency=urgency(days),  # type: ignore[arg-type]
                status=event.status,
                teacher_count=counts.get(event.id, 0),
                schools=schools.get(event.id, []),
                districts=districts.get(event.id, []),
            )
        )
    return Page[RecruitmentItem](items=items, page=params.page, page_size=params.page_size, total=total)


async def list_flags(
    session: AsyncSession,
    params: PageParams,
    *,
    zone: ZoneInfo,
    flag_type: str | None = None,
    status: str | None = None,
    district_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Page[FlagItem]:
    """VS-7: flags with their event; ``from``/``to`` are local dates of the event's start."""
    conditions: list[ColumnElement[bool]] = [
        Event.is_deleted == false(),
        *_date_bounds(date_from, date_to, zone),
    ]
    if flag_type is not None:
        conditions.append(VirtualSessionFlag.flag_type == flag_type)
    if status is not None:
        conditions.append(VirtualSessionFlag.status == status)
    if district_id is not None:
        conditions.append(event_in_districts([district_id]))
    statement = (
        select(VirtualSessionFlag, Event.title, Event.start_date)
        .join(Event, Event.id == VirtualSessionFlag.event_id)
        .where(*conditions)
        .order_by(Event.start_date, Event.id, VirtualSessionFlag.flag_type, VirtualSessionFlag.id)
    )
    total = (
        await session.execute(select(func.count()).select_from(statement.order_by(None).subquery()))
    ).scalar_one()
    rows = (await session.execute(statement.limit(params.page_size).offset(params.offset))).all()
    items = [
        FlagItem(
            event_id=flag.event_id,
            title=title,
            start_date=start,
            flag_type=flag.flag_type,
            status=flag.status,
            opened_at=flag.opened_at,
            resolved_at=flag.resolved_at,
        )
        for flag, title, start in rows
    ]
    return Page[FlagItem](items=items, page=params.page, page_size=params.page_size, total=total)
