"""Where an event is listed publicly (03 LIST-1, LIST-2, LIST-3, LIST-6, LIST-9).

One place for the listing rules: the public listings, the one-event endpoint, the iCalendar
feed and signup (SIGN-4) all use these predicates. "Today" is the calendar date in
``POLARIS_TIMEZONE`` (R6); an event is upcoming when its ``start_day`` is today or later.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.models.events import Event, EventDistrict, remaining_slots_expr
from polaris_api.vocabularies import DIA_FAMILY

_DIA_WORD = re.compile(r"(?<![a-z0-9])dia(?![a-z0-9])", re.IGNORECASE)


def local_today(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()


def text_names_dia(text: str | None) -> bool:
    """LIST-3: the word "DIA", case-insensitive, as a whole word ("India" is not DIA)."""
    return bool(text and _DIA_WORD.search(text))


def event_is_dia(event: Event) -> bool:
    """LIST-3: the event's type or name contains the word DIA."""
    return (event.type in DIA_FAMILY) or text_names_dia(event.sf_session_type) or text_names_dia(event.title)


def _active_upcoming(today: dt.date) -> ColumnElement[bool]:
    return and_(
        Event.publish_status == "active",
        Event.publishing_first_seen_at.is_not(None),
        Event.start_day.is_not(None),
        Event.start_day >= today,
        Event.is_deleted.is_(False),
    )


def on_main_page(today: dt.date) -> ColumnElement[bool]:
    """LIST-1: a publishing event, shown, active, upcoming and not deleted in SF."""
    return and_(_active_upcoming(today), Event.display_on_website.is_(True))


def linked_to_district(district_id: int) -> ColumnElement[bool]:
    return exists().where(EventDistrict.event_id == Event.id, EventDistrict.district_id == district_id)


def on_district_page(district_id: int, today: dt.date) -> ColumnElement[bool]:
    """LIST-2: linked to the district, active and upcoming, whatever display_on_website says."""
    return and_(_active_upcoming(today), linked_to_district(district_id))


def _dia_candidate() -> ColumnElement[bool]:
    """A superset of DIA events cheap to find in SQL; :func:`event_is_dia` confirms the word."""
    return or_(
        Event.type.in_(sorted(DIA_FAMILY)),
        func.lower(Event.title).contains("dia"),
        func.lower(Event.sf_session_type).contains("dia"),
    )


def on_dia_page_candidates(today: dt.date) -> ColumnElement[bool]:
    """LIST-3: active and upcoming DIA candidates, whatever the toggle says."""
    return and_(_active_upcoming(today), _dia_candidate())


def on_any_page(today: dt.date) -> ColumnElement[bool]:
    """Listed somewhere (LIST-9, SIGN-4); DIA candidates still need :func:`event_is_dia`."""
    any_district = exists().where(EventDistrict.event_id == Event.id)
    return and_(
        _active_upcoming(today),
        or_(Event.display_on_website.is_(True), any_district, _dia_candidate()),
    )


async def is_listed_anywhere(session: AsyncSession, event_id: int, today: dt.date) -> bool:
    """LIST-9 / SIGN-4: the event appears on the main, a district or the DIA page."""
    event = (
        await session.execute(select(Event).where(Event.id == event_id, on_any_page(today)))
    ).scalar_one_or_none()
    if event is None:
        return False
    if event.display_on_website:
        return True
    has_district = (
        await session.execute(
            select(EventDistrict.event_id).where(EventDistrict.event_id == event_id).limit(1)
        )
    ).first()
    return has_district is not None or event_is_dia(event)


__all__ = [
    "event_is_dia",
    "is_listed_anywhere",
    "linked_to_district",
    "local_today",
    "on_any_page",
    "on_dia_page_candidates",
    "on_district_page",
    "on_main_page",
    "remaining_slots_expr",
    "text_names_dia",
]
