"""Small ORM factories for tests: districts, schools, events, district links and signups.

Each helper adds its rows to the given session and flushes (ids are set); the caller commits
before calling the API (on SQLite an open write transaction would block the app's session).

    district = await make_district(session, "Kansas City Public Schools")
    event = await make_event(session, title="Career Fair", days_ahead=3, districts=[district])
    await make_signup(session, event)
    await session.commit()
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.db import utcnow
from polaris_api.models.events import Event, EventDistrict, Signup
from polaris_api.models.reference import District, School
from polaris_api.services.listings import sf_id_18

ZONE = ZoneInfo("America/Chicago")
_counter = itertools.count(1)


def today() -> dt.date:
    """Today in the service's default zone (America/Chicago), as the listings see it."""
    return dt.datetime.now(dt.UTC).astimezone(ZONE).date()


def sf_id(prefix: str = "a0B") -> str:
    """A fresh, valid 18-character Salesforce id."""
    return sf_id_18(f"{prefix}{next(_counter):012d}"[:15])


async def make_district(
    session: AsyncSession, name: str | None = None, *, slug: str | None = None, **fields: Any
) -> District:
    number = next(_counter)
    district = District(name=name or f"District {number}", **fields)
    if slug is not None:
        district.slug = slug
    session.add(district)
    await session.flush()
    return district


async def make_school(
    session: AsyncSession, name: str | None = None, *, district: District | None = None, **fields: Any
) -> School:
    school = School(
        name=name or f"School {next(_counter)}", district_id=district.id if district else None, **fields
    )
    session.add(school)
    await session.flush()
    return school


async def make_event(
    session: AsyncSession,
    *,
    title: str | None = None,
    publishing: bool = True,
    display: bool = True,
    publish_status: str | None = "active",
    days_ahead: int | None = 7,
    start_day: dt.date | None = None,
    start_time: dt.time | None = None,
    available_slots: int = 5,
    districts: Iterable[District] = (),
    salesforce_id: str | None | bool = True,
    **fields: Any,
) -> Event:
    """An in-person SF event; ``publishing=True`` makes it a publishing event (PUB-1).

    ``start_time`` (local, America/Chicago) sets ``start_date``; without it the time is unknown.
    ``salesforce_id=True`` generates one, a string sets it, ``None``/``False`` leaves it empty.
    """
    number = next(_counter)
    if start_day is None and days_ahead is not None:
        start_day = today() + dt.timedelta(days=days_ahead)
    start = None
    if start_day is not None and start_time is not None:
        start = dt.datetime.combine(start_day, start_time, tzinfo=ZONE).astimezone(dt.UTC)
    values: dict[str, Any] = {
        "title": title or f"Event {number}",
        "type": "career_fair",
        "status": "confirmed",
        "format": "in_person",
        "start_day": start_day,
        "start_date": start,
        "available_slots": available_slots,
        "filled_volunteer_jobs": 0,
        "location": "2501 Minnesota Ave, Kansas City, KS",
        "description": "Talk with students about your career path.",
        "source": "salesforce",
    }
    if salesforce_id is True:
        values["salesforce_id"] = sf_id()
    elif salesforce_id:
        values["salesforce_id"] = salesforce_id
    if publishing:
        now = utcnow()
        values.update(
            publishing_first_seen_at=now,
            publishing_last_seen_at=now,
            display_on_website=display,
            publish_status=publish_status,
        )
    values.update(fields)
    event = Event(**values)
    session.add(event)
    await session.flush()
    for district in districts:
        await link(session, event, district)
    return event


async def link(session: AsyncSession, event: Event, district: District) -> None:
    session.add(EventDistrict(event_id=event.id, district_id=district.id))
    await session.flush()


async def make_signup(session: AsyncSession, event: Event, email: str | None = None, **fields: Any) -> Signup:
    email = email or f"volunteer{next(_counter)}@example.org"
    values: dict[str, Any] = {
        "event_id": event.id,
        "normalized_email": email.strip().lower(),
        "email": email,
        "first_name": "Ana",
        "last_name": "Lopez",
        "organization": "Acme Engineering",
        "title": "Engineer",
        "sf_push_status": "skipped",
    }
    values.update(fields)
    signup = Signup(**values)
    session.add(signup)
    await session.flush()
    return signup
