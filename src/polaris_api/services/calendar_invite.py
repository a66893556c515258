"""The iCalendar invitation attached to a signup confirmation (03 SIGN-8).

``METHOD:REQUEST`` with one VEVENT: UID stable per signup (a re-sent confirmation updates the
same calendar entry instead of adding one), DTSTART/DTEND with ``TZID`` of ``POLARIS_TIMEZONE``
(America/Chicago) and the matching VTIMEZONE, ORGANIZER (the sender address) and ATTENDEE (the
volunteer). When only the event's calendar date is known, the invite is an all-day event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as VEvent

from polaris_api.db import utcnow

PRODID = "-//Polaris API//Volunteer signup//EN"
INVITE_CONTENT_TYPE = "text/calendar; method=REQUEST; charset=utf-8"
INVITE_FILENAME = "invite.ics"
DEFAULT_DURATION = dt.timedelta(hours=1)


@dataclass(frozen=True)
class EventTimes:
    """When an event happens, as the invite and the email body state it."""

    start: dt.datetime | dt.date | None  # aware local datetime, or a date (all day), or unknown
    end: dt.datetime | dt.date | None


def event_times(
    start_date: dt.datetime | None,
    end_date: dt.datetime | None,
    duration_minutes: int | None,
    start_day: dt.date | None,
    zone: ZoneInfo,
    *,
    time_known: bool = True,
) -> EventTimes:
    """Local start and end: the timestamp when known, else the calendar date (R6: dates stay dates).
    ``time_known`` False: ``start_date`` is a placeholder midnight (03 SIGN-8), so the calendar date."""
    if start_date is not None and (time_known or start_day is None):
        start = start_date.astimezone(zone)
        if end_date is not None and end_date > start_date:
            end = end_date.astimezone(zone)
        elif duration_minutes and duration_minutes > 0:
            end = start + dt.timedelta(minutes=duration_minutes)
        else:
            end = start + DEFAULT_DURATION
        return EventTimes(start, end)
    if start_day is not None:
        return EventTimes(start_day, start_day + dt.timedelta(days=1))
    return EventTimes(None, None)


def signup_uid(signup_id: int, domain: str) -> str:
    return f"polaris-signup-{signup_id}@{domain}"


def build_invite(
    *,
    signup_id: int,
    summary: str,
    times: EventTimes,
    location: str | None,
    description: str,
    organizer_email: str,
    attendee_email: str,
    zone: ZoneInfo,
    now: dt.datetime | None = None,
) -> bytes:
    """The ``.ics`` bytes of the invitation (RFC 5545 / 5546 ``REQUEST``)."""
    domain = organizer_email.rpartition("@")[2] or "polaris.local"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "REQUEST")

    event = VEvent()
    event.add("uid", signup_uid(signup_id, domain))
    event.add("dtstamp", (now or utcnow()).astimezone(dt.UTC))
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("summary", summary)
    if times.start is not None:
        event.add("dtstart", times.start)
        if times.end is not None:
            event.add("dtend", times.end)
    if location:
        event.add("location", location)
    event.add("description", description)

    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText("Polaris volunteer signups")
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)

    if isinstance(times.start, dt.datetime):
        _add_timezone(calendar, times.start)
    return calendar.to_ical()


def _add_timezone(calendar: Calendar, start: dt.datetime) -> None:
    """Add the VTIMEZONE of the TZID the event uses (icalendar >= 6 builds it from zoneinfo),
    with the transitions of the years around the event only."""
    add_missing = getattr(calendar, "add_missing_timezones", None)
    if add_missing is None:  # older icalendar: TZID alone; clients resolve the IANA name
        return
    try:
        add_missing(first_date=dt.date(start.year - 1, 1, 1), last_date=dt.date(start.year + 2, 1, 1))
    except TypeError:
        add_missing()
