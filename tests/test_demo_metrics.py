"""Issue 9 item 12: the `polaris serve --demo` data gives non-zero figures for every metric of
06 §3 and a year-end report for at least two districts, in the past and the current school year.

The demo is built exactly as `serve --demo` builds it (tests/test_cli.py runs that command end to
end): the demo Salesforce fixtures are loaded into the test double and synced through the real
runs, districts are linked, the roster and Pathful report are imported, and the Polaris-owned
inputs are set through their services. Built once per database engine for the module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import and_, distinct, func, or_, select

from polaris_api.demo.fixtures import demo_fixtures, school_year_start
from polaris_api.demo.seed import (
    link_demo_districts,
    run_demo_syncs,
    seed_demo_metric_inputs,
    seed_demo_virtual,
)
from polaris_api.models.events import (
    Event,
    EventAttendanceDetail,
    EventParticipation,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.people import Volunteer
from polaris_api.models.reference import School

VIRTUAL = or_(Event.format == "virtual", Event.type.in_(("virtual_session", "connector_session")))
DELIVERED = Event.status.in_(("completed", "simulcast"))
VOL_ATTENDED = EventParticipation.status.in_(("attended", "completed", "successfully_completed"))


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


def school_years(today: dt.date) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """UTC bounds (G1) of the past and the current school year."""
    current = school_year_start(today)
    bounds = {}
    for label, start in (("past", current.replace(year=current.year - 1)), ("current", current)):
        end = start.replace(year=start.year + 1)
        zone = dt.timezone(dt.timedelta(hours=-6))  # Chicago in August is -5; a day of slack is harmless
        bounds[label] = (
            dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC),
            dt.datetime.combine(end, dt.time(), zone).astimezone(dt.UTC),
        )
    return bounds


async def build_demo(sf, settings, admin_id: int) -> dt.date:
    today = dt.datetime.now(settings.tz).date()
    fixtures = demo_fixtures(today, settings.tz)
    for name, records in fixtures["objects"].items():
        sf.admin.replace(name, records)
    statuses = await run_demo_syncs(settings)
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert await link_demo_districts(settings, fixtures) > 0
    virtual = await seed_demo_virtual(settings, admin_id)
    assert virtual["roster_rows_added"] == 6
    inputs = await seed_demo_metric_inputs(settings, admin_id)
    assert inputs["attendance_details"] > 0 and inputs["school_levels"] > 0
    return today


async def figures(session, lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    """The raw material of each metric in one window (the rows they count, not the SQL of 06 §3)."""
    live = and_(
        Event.is_deleted.is_(False),
        func.coalesce(Event.status, "") != "cancelled",
        Event.start_date >= lo,
        Event.start_date < hi,
    )

    async def scalar(statement: Any) -> Any:
        return (await session.execute(statement)).scalar_one()

    volunteers = (
        select(func.count(distinct(Volunteer.id)))
        .select_from(EventParticipation)
        .join(Event, Event.id == EventParticipation.event_id)
        .join(Volunteer, Volunteer.id == EventParticipation.volunteer_id)
        .where(live, VOL_ATTENDED, Volunteer.is_deleted.is_(False))
    )
    first_attended = (
        select(EventParticipation.volunteer_id, func.min(Event.start_date).label("first"))
        .join(Event, Event.id == EventParticipation.event_id)
        .where(Event.is_deleted.is_(False), func.coalesce(Event.status, "") != "cancelled", VOL_ATTENDED)
        .group_by(EventParticipation.volunteer_id)
        .subquery()
    )
    presenters = (
        select(func.count(distinct(Event.id)))
        .join(EventParticipation, EventParticipation.event_id == Event.id)
        .join(Volunteer, Volunteer.id == EventParticipation.volunteer_id)
        .where(live, VIRTUAL, DELIVERED, EventParticipation.participant_type == "presenter", VOL_ATTENDED)
    )
    teachers = (
        select(func.count(distinct(EventTeacher.teacher_id)))
        .join(Event, Event.id == EventTeacher.event_id)
        .where(live, VIRTUAL, DELIVERED, EventTeacher.attendance_confirmed_at.is_not(None))
    )
    return {
        "M10": await scalar(
            select(func.count(distinct(EventStudentParticipation.student_id)))
            .join(Event, Event.id == EventStudentParticipation.event_id)
            .where(live, ~VIRTUAL, EventStudentParticipation.status == "attended")
        ),
        "M20": await scalar(volunteers),
        "M30": await scalar(
            select(func.sum(EventParticipation.delivery_hours))
            .join(Event, Event.id == EventParticipation.event_id)
            .where(live, VOL_ATTENDED)
        ),
        "M40": await scalar(volunteers.with_only_columns(func.count(distinct(Volunteer.organization_name)))),
        "M90": await scalar(volunteers.where(Volunteer.is_people_of_color.is_(True))),
        "M91": await scalar(volunteers.where(Volunteer.local_status == "local")),
        "M92 first-timers": await scalar(
            select(func.count())
            .select_from(first_attended)
            .where(first_attended.c.first >= lo, first_attended.c.first < hi)
        ),
        "M92 returning": await scalar(
            volunteers.where(
                EventParticipation.volunteer_id.in_(
                    select(first_attended.c.volunteer_id).where(first_attended.c.first < lo)
                )
            )
        ),
        "M60": await scalar(select(func.count(Event.id)).where(live)),
        "M61": await scalar(select(func.count(Event.id)).where(live, VIRTUAL)),
        "M62": await scalar(select(func.count(Event.id)).where(live, ~VIRTUAL)),
        "M63": await scalar(
            select(func.count(Event.id)).where(
                Event.status == "cancelled",
                Event.is_deleted.is_(False),
                Event.start_date >= lo,
                Event.start_date < hi,
            )
        ),
        "M70-M73, M80": await scalar(teachers),
        "M81, M83": await scalar(presenters.where(Volunteer.local_status == "local")),
        "M82, M84": await scalar(presenters.where(Volunteer.is_people_of_color.is_(True))),
        "M100": await scalar(select(func.count(distinct(Event.school_id))).where(live)),
        "M110, M111": await scalar(
            select(func.count(EventAttendanceDetail.id))
            .join(Event, Event.id == EventAttendanceDetail.event_id)
            .where(
                live,
                ~VIRTUAL,
                EventAttendanceDetail.total_students.is_not(None),
                EventAttendanceDetail.num_classrooms > 0,
                EventAttendanceDetail.rotations > 0,
            )
        ),
        "M120 types": await scalar(select(func.count(distinct(Event.type))).where(live)),
        "year-end districts (in-person, delivered)": await scalar(
            select(func.count(distinct(School.district_id)))
            .join(Event, Event.school_id == School.id)
            .where(live, DELIVERED, ~VIRTUAL)
        ),
        "high schools (6.5 fair bucket)": await scalar(
            select(func.count(distinct(School.id)))
            .join(Event, Event.school_id == School.id)
            .where(live, DELIVERED, School.level == "high")
        ),
    }


async def test_demo_data_gives_every_metric_in_both_school_years(client, admin, sf, settings, session):
    today = await build_demo(sf, settings, admin["id"])
    for label, (lo, hi) in school_years(today).items():
        found = await figures(session, lo, hi)
        if label == "past":
            found.pop("M92 returning")  # nothing before the past year: all its volunteers are new
        zero = [name for name, value in found.items() if not value]
        assert not zero, f"{label} school year: no data for {zero} ({found})"
        assert found["year-end districts (in-person, delivered)"] >= 2
        assert found["M81, M83"] < found["M61"] and found["M82, M84"] < found["M61"]  # percentages below 100
