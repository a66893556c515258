"""Where an event is listed publicly (03 LIST-1, LIST-2, LIST-3, LIST-6, LIST-9).

One place for the listing rules: the public listings, the one-event endpoint, the iCalendar
feed and signup (SIGN-4) all use these predicates. "Today" is the calendar date in
``POLARIS_TIMEZONE`` (R6); an event is upcoming when its ``start_day`` is today or later.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.models.events import Event, EventDistrict, remaining_slots_expr
from polaris_api.vocabularies import DIA_FAMILY

_DIA_WORD = re.compile(r"(?<![a-z0-9])dia(?![a-z0-9])", re.IGNORECASE)


def text_names_dia(text: str | None) -> bool:
    """LIST-3: the word "DIA", case-insensitive, as a whole word ("India" is not DIA)."""
    return bool(text and _DIA_WORD.search(text))


def is_dia(event_type: str | None, sf_session_type: str | None, title: str | None) -> bool:
    """LIST-3 on plain values (a listing row): type in the DIA family, or the word DIA in the raw
    session type or the name."""
    return (event_type in DIA_FAMILY) or text_names_dia(sf_session_type) or text_names_dia(title)


def event_is_dia(event: Event) -> bool:
    """LIST-3: the event's type or name contains the word DIA."""
    return is_dia(event.type, event.sf_session_type, event.title)


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
    """LIST-3: active and upcoming DIA candidates, whatever the toggle says (a superset)."""
    return and_(_active_upcoming(today), _dia_candidate())


# The SQL twin of _DIA_WORD, applied to lower(text): PostgreSQL's ``~`` and SQLite's REGEXP (the
# SQLAlchemy SQLite dialect registers it as Python's re.search) read it the same way.
_DIA_WORD_SQL = "(^|[^a-z0-9])dia([^a-z0-9]|$)"


def _text_names_dia_sql(column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    lowered = func.lower(column)
    # The LIKE prefilter keeps the regular expression (a Python call per row on SQLite) rare.
    return and_(lowered.contains("dia"), lowered.regexp_match(_DIA_WORD_SQL))


def event_is_dia_sql() -> ColumnElement[bool]:
    """LIST-3 exactly, in SQL: the same answer as :func:`event_is_dia` ("India" is not DIA)."""
    return or_(
        Event.type.in_(sorted(DIA_FAMILY)),
        _text_names_dia_sql(Event.sf_session_type),
        _text_names_dia_sql(Event.title),
    )


def on_dia_page(today: dt.date) -> ColumnElement[bool]:
    """LIST-3: active and upcoming DIA events, whatever the toggle says (exact)."""
    return and_(_active_upcoming(today), event_is_dia_sql())


def on_any_page(today: dt.date) -> ColumnElement[bool]:
    """Listed somewhere (LIST-9, SIGN-4): on the main page, a district page or the DIA page."""
    any_district = exists().where(EventDistrict.event_id == Event.id)
    return and_(
        _active_upcoming(today),
        or_(Event.display_on_website.is_(True), any_district, event_is_dia_sql()),
    )


async def is_listed_anywhere(session: AsyncSession, event_id: int, today: dt.date) -> bool:
    """LIST-9 / SIGN-4: the event appears on the main, a district or the DIA page."""
    found = (await session.execute(select(Event.id).where(Event.id == event_id, on_any_page(today)))).first()
    return found is not None


__all__ = [
    "event_is_dia",
    "event_is_dia_sql",
    "is_dia",
    "is_listed_anywhere",
    "linked_to_district",
    "on_any_page",
    "on_dia_page",
    "on_dia_page_candidates",
    "on_district_page",
    "on_main_page",
    "remaining_slots_expr",
    "text_names_dia",
]
