"""Unit tests of the 06 §2 building blocks in ``polaris_api.services.metrics.sql`` (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventDistrict, EventParticipation
from polaris_api.models.people import Volunteer
from polaris_api.models.reference import District, School
from polaris_api.services.metrics import sql as m

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.UTC


def test_g1_window_bounds_are_chicago_midnights_across_dst() -> None:
    """G1: CDT (UTC-5) at the start, CST (UTC-6) after the November change, aware UTC."""
    lo, hi = m.window_bounds(dt.date(2024, 9, 1), dt.date(2024, 11, 30), CHICAGO)
    assert lo == dt.datetime(2024, 9, 1, 5, tzinfo=UTC)
    assert hi == dt.datetime(2024, 12, 1, 6, tzinfo=UTC)
    # §9: the window ending 2024-09-30 includes 2024-10-01 03:30Z (22:30 Chicago on the 30th)
    lo, hi = m.window_bounds(dt.date(2024, 9, 1), dt.date(2024, 9, 30), CHICAGO)
    assert lo <= dt.datetime(2024, 10, 1, 3, 30, tzinfo=UTC) < hi
    assert hi == dt.datetime(2024, 10, 1, 5, tzinfo=UTC)
    # spring forward: the day of the change starts at 06:00Z, the next at 05:00Z
    lo, hi = m.window_bounds(dt.date(2025, 3, 9), dt.date(2025, 3, 9), CHICAGO)
    assert (lo, hi) == (dt.datetime(2025, 3, 9, 6, tzinfo=UTC), dt.datetime(2025, 3, 10, 5, tzinfo=UTC))


def test_rounding_and_pct_round_half_up() -> None:
    """06 §1 pct: round half up, 0.0 when b = 0; hours to 2 decimals."""
    assert m.pct(1, 8) == 12.5
    assert m.pct(1, 16) == 6.3  # 6.25 -> 6.3 (banker's rounding would give 6.2)
    assert m.pct(3, 0) == 0.0
    assert m.round_hours(2.675) == 2.68
    assert m.round_hours(None) == 0.0


START = dt.datetime(2024, 9, 12, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delivery_hours", "duration", "end_minutes", "expected"),
    [
        (2.5, 60, None, 2.5),  # delivery_hours wins
        (0.0, 60, None, 0.0),  # an explicit 0 stays 0
        (-1.0, 90, None, 1.5),  # negative counts as NULL -> duration / 60
        (None, 90, None, 1.5),
        (None, 0, 150, 2.5),  # duration 0 -> end - start
        (None, None, 45, 1.0),  # floor of 1.0
        (None, None, 0, 0.0),  # end == start -> 0.0
        (None, None, -30, 0.0),  # end before start -> 0.0
        (None, None, None, 0.0),
    ],
)
async def test_hours_fallbacks(
    session: AsyncSession,
    delivery_hours: float | None,
    duration: int | None,
    end_minutes: int | None,
    expected: float,
) -> None:
    """06 §2 hours(p, e), one expression on both dialects."""
    end = START + dt.timedelta(minutes=end_minutes) if end_minutes is not None else None
    event = Event(
        title="E", type="career_fair", status="completed", start_date=START, end_date=end, duration=duration
    )
    volunteer = Volunteer(last_name="V", email_normalized="v@example.org")
    session.add_all([event, volunteer])
    await session.flush()
    session.add(
        EventParticipation(
            event_id=event.id, volunteer_id=volunteer.id, status="attended", delivery_hours=delivery_hours
        )
    )
    await session.flush()
    value = (
        await session.execute(
            select(m.hours(EventParticipation, Event)).join(Event, Event.id == EventParticipation.event_id)
        )
    ).scalar_one()
    assert value == pytest.approx(expected)


async def test_m50_attribution_steps(session: AsyncSession) -> None:
    """M50: links win over the name, a unique name over the school, ambiguous names fall through,
    deleted districts/schools are unknown (one row with a NULL district); one construct for
    every caller."""
    d1, d2, d3 = District(name="Alpha"), District(name="Beta"), District(name="Gamma")
    dup1, dup2 = District(name="Twin", slug="twin-1"), District(name=" twin ", slug="twin-2")
    gone = District(name="Gone", is_deleted=True)
    session.add_all([d1, d2, d3, dup1, dup2, gone])
    await session.flush()
    s3 = School(name="S3", district_id=d3.id)
    s_deleted = School(name="Closed", district_id=d3.id, is_deleted=True)
    session.add_all([s3, s_deleted])
    await session.flush()

    def event(**fields: object) -> Event:
        return Event(title="E", status="completed", start_date=START, **fields)

    linked = event(district_partner="beta", school_id=s3.id)  # links: d1 and d2
    named = event(district_partner=" ALPHA ", school_id=s3.id)  # name -> d1
    ambiguous = event(district_partner="twin", school_id=s3.id)  # two names -> school -> d3
    by_school = event(school_id=s3.id)
    deleted_link = event(school_id=s_deleted.id)  # only link is a deleted district; deleted school
    nothing = event(district_partner="nowhere")
    session.add_all([linked, named, ambiguous, by_school, deleted_link, nothing])
    await session.flush()
    session.add_all(
        [
            EventDistrict(event_id=linked.id, district_id=d1.id),
            EventDistrict(event_id=linked.id, district_id=d2.id),
            EventDistrict(event_id=deleted_link.id, district_id=gone.id),
        ]
    )
    await session.flush()
    attr = m.event_district_attr()
    rows = set((await session.execute(select(attr.c.event_id, attr.c.district_id))).all())
    assert rows == {
        (linked.id, d1.id),
        (linked.id, d2.id),
        (named.id, d1.id),
        (ambiguous.id, d3.id),
        (by_school.id, d3.id),
        (deleted_link.id, None),  # step 4: Unknown
        (nothing.id, None),
    }
    windowed = m.event_district_attr(START, START + dt.timedelta(seconds=1))
    assert set((await session.execute(select(windowed.c.event_id, windowed.c.district_id))).all()) == rows
    school = (
        await session.execute(select(m.attr_school(Event)).where(Event.id == deleted_link.id))
    ).scalar_one()
    assert school is None


P3_INDEXES = {
    "event": [["start_date"], ["status"], ["type"], ["school_id"]],
    "event_district": [["district_id", "event_id"]],
    "event_participation": [["event_id"], ["volunteer_id"]],
    "event_student_participation": [["event_id"], ["student_id"]],
    "event_teacher": [["event_id"], ["teacher_id"]],
    "teacher": [["school_id"], ["email_normalized"]],
    "school": [["district_id"]],
    "volunteer": [["email_normalized"]],
    "student": [["student_id"]],
}


async def test_p3_minimum_indexes_exist_in_the_migrated_database(session: AsyncSession) -> None:
    """06 P3: every listed index exists after the migrations (an index whose leading columns are
    the listed ones serves too)."""

    def indexed_columns(sync_session: Any) -> dict[str, list[list[str]]]:
        inspector = inspect(sync_session.connection())
        found: dict[str, list[list[str]]] = {}
        for table in P3_INDEXES:
            found[table] = [list(ix["column_names"]) for ix in inspector.get_indexes(table)]
            found[table] += [list(uq["column_names"]) for uq in inspector.get_unique_constraints(table)]
        return found

    found = await session.run_sync(indexed_columns)
    for table, wanted in P3_INDEXES.items():
        for columns in wanted:
            assert any(ix[: len(columns)] == columns for ix in found[table]), (table, columns)
