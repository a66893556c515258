"""03 LIST-5, LIST-8, SIGN-8 (issue 11 item 7): an unknown start time is never shown as midnight.

A Salesforce session with only ``Start_Date__c`` is stored at local midnight of its day (02
SF-32), but Polaris keeps that the time is unknown (``event.start_time_known``). When the display
string (``Date_and_Time_for_Cal__c``) is well formed, the times are read from it; otherwise the
listing's ``start_datetime`` is null, the calendar feed and the signup invite are all-day events
and the confirmation email gives the date only.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from polaris_api.models.events import Event
from polaris_api.models.outbox import OutboxMessage
from polaris_api.schemas.salesforce import parse_display_times
from tests.signup_factories import signup_form
from tests.sync_helpers import CHICAGO, local_today, session_id, sf_session, sync


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(signup_rate_limit_per_minute=1000, signup_rate_limit_per_day=1000)


DAY = local_today() + dt.timedelta(days=12)


def no_time(n: int, display: str | None) -> dict[str, Any]:
    """A session with its calendar date only: no start or end timestamp."""
    return sf_session(
        n,
        days=12,
        Start_Date_and_Time__c=None,
        End_Date_and_Time__c=None,
        Date_and_Time_for_Cal__c=display,
    )


async def _listed(client, n: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/public/events/{session_id(n)}")
    assert response.status_code == 200, response.text
    return response.json()


async def _event_id(session, n: int) -> int:
    return (await session.execute(select(Event.id).where(Event.salesforce_id == session_id(n)))).scalar_one()


async def _feed_event(client, n: int, session) -> Any:
    event_id = await _event_id(session, n)
    feed = await client.get("/api/v1/public/events.ics")
    assert feed.status_code == 200
    for vevent in Calendar.from_ical(feed.content).walk("VEVENT"):
        if str(vevent["UID"]).startswith(f"polaris-event-{event_id}@"):
            return vevent
    raise AssertionError("event not in the feed")


async def _confirmation(client, session, n: int) -> tuple[str, Any]:
    event_id = await _event_id(session, n)
    response = await client.post(f"/api/v1/public/events/{event_id}/signup", json=signup_form())
    assert response.status_code == 201, response.text
    message = (
        await session.execute(
            select(OutboxMessage).where(OutboxMessage.related_signup_id == response.json()["signup_id"])
        )
    ).scalar_one()
    invite = Calendar.from_ical(base64.b64decode(message.attachments[0]["content_b64"]))
    return message.body_text, invite.walk("VEVENT")[0]


def _long_day(day: dt.date) -> str:
    return f"{day:%A, %B} {day.day}, {day.year}"


async def test_list_5_sign_8_unknown_start_time_is_null_all_day_and_date_only(client, admin, sf, session):
    sf.admin.replace("Session__c", [no_time(1, "Time to be announced")])
    assert (await sync(client, admin["headers"]))["status"] == "succeeded"

    item = await _listed(client, 1)
    assert item["start_date"] == DAY.isoformat()
    assert item["start_datetime"] is None  # LIST-5: only when known, never midnight
    assert item["date_and_time"] == "Time to be announced"

    vevent = await _feed_event(client, 1, session)  # LIST-8: all-day
    assert vevent["DTSTART"].dt == DAY and not isinstance(vevent["DTSTART"].dt, dt.datetime)

    body, invite = await _confirmation(client, session, 1)  # SIGN-8
    assert invite["DTSTART"].dt == DAY and not isinstance(invite["DTSTART"].dt, dt.datetime)
    assert invite["DTEND"].dt == DAY + dt.timedelta(days=1)
    assert f"When:  {_long_day(DAY)}\n" in body
    assert "12:00 AM" not in body and "1:00 AM" not in body


async def test_list_5_sign_8_well_formed_display_string_gives_the_times(client, admin, sf, session):
    display = f"{DAY:%m/%d/%Y} 08:00 AM to 12:00 PM"
    sf.admin.replace("Session__c", [no_time(2, display)])
    assert (await sync(client, admin["headers"]))["status"] == "succeeded"

    start = dt.datetime.combine(DAY, dt.time(8, 0), tzinfo=CHICAGO)
    item = await _listed(client, 2)
    assert dt.datetime.fromisoformat(item["start_datetime"]) == start

    vevent = await _feed_event(client, 2, session)
    assert vevent["DTSTART"].dt == start
    assert vevent["DTEND"].dt == start + dt.timedelta(hours=4)

    body, invite = await _confirmation(client, session, 2)
    assert invite["DTSTART"].dt == start and invite["DTEND"].dt == start + dt.timedelta(hours=4)
    assert f"When:  {_long_day(DAY)}, 8:00 AM to 12:00 PM (C" in body


async def test_list_5_a_later_sync_with_the_timestamp_makes_the_time_known(client, admin, sf, session):
    sf.admin.replace("Session__c", [no_time(3, None)])
    await sync(client, admin["headers"])
    assert (await _listed(client, 3))["start_datetime"] is None
    sf.admin.replace("Session__c", [sf_session(3, days=12)])  # 15:00 UTC
    await sync(client, admin["headers"])
    start = dt.datetime.fromisoformat((await _listed(client, 3))["start_datetime"])
    assert start == dt.datetime.combine(DAY, dt.time(15, 0), tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("01/05/2027 08:00 AM to 12:00 PM", ((8, 0), (12, 0))),
        ("1/5/2027 9:00 AM - 11:30 AM", ((9, 0), (11, 30))),
        ("01/05/2027 12:30 PM", ((12, 30), None)),
        ("01/05/2027 8:00 pm – 9:00 pm", ((20, 0), (21, 0))),
        ("01/06/2027 08:00 AM to 12:00 PM", None),  # another day than Start_Date__c
        ("01/05/2027 13:00 PM", None),
        ("01/05/2027 10:00 AM to 09:00 AM", None),  # ends before it starts
        ("Time to be announced", None),
        ("", None),
        (None, None),
    ],
)
def test_list_5_display_string_parsing(display, expected):
    day = dt.date(2027, 1, 5)
    parsed = parse_display_times(display, day, CHICAGO)
    if expected is None:
        assert parsed is None
        return
    start, end = parsed
    assert start == dt.datetime.combine(day, dt.time(*expected[0]), tzinfo=CHICAGO)
    assert end == (
        None if expected[1] is None else dt.datetime.combine(day, dt.time(*expected[1]), tzinfo=CHICAGO)
    )
