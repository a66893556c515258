"""District year-end report (06 §6): school years, B(d), connector split, enhanced, program
breakdown, timeline, card list, manual inputs, access (07 AC-6, DV-1) and exports (§7, PRIV-3).

One data set (``_world``) is hand-computed below; most tests read parts of its report.

District D1 (schools HS level high, MS level middle), district D2 (school S2). School year 2425.

| event | type / format | status | Chicago start | attribution | content |
|---|---|---|---|---|---|
| E11 | career_speaker / in_person | completed | 2024-08-01 00:30 | link D1 | - |
| E12 | career_speaker / in_person | completed | 2024-07-31 23:30 (UTC Aug 1) | link D1 | outside |
| E1 | career_fair / in_person | completed | 2024-09-10 | school HS | St a, b; v1 2.0 h (Acme), v2 NULL h (blank org, 60 min) |
| E2 | career_fair / in_person | completed | 2024-10-01 | school MS | St a (another record, same school-issued id) |
| E3 | career_speaker / in_person | simulcast | 2024-11-05 | link D1, no school | St c; v1 1.5 h; v4 no-show (Delta) |
| E4 | virtual_session / virtual | completed | 2025-01-15 | none | T1 (HS, confirmed), T2 (S2, confirmed), T3 (HS, registered); v3 1.0 h (Beta) |
| E5 | connector_session / virtual | completed | 2025-03-03 | none | T1 confirmed, T4 (MS) confirmed |
| E6 | career_speaker | cancelled | 2024-12-01 | link D1 | St d (ignored) |
| E7 | career_speaker | confirmed | 2024-12-02 | link D1 | not delivered |
| E8 | career_speaker / in_person | completed | 2024-12-03 | link D2 | - |
| E9 | math_relays / in_person | completed | 2025-04-01 | district_partner " d1 name " | - |
| E10 | career_speaker / in_person | completed | 2025-08-01 00:30 | link D1 | next year |
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from polaris_api.app import create_app
from polaris_api.cli import app as cli_app
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import (
    Event,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.people import Student, Teacher
from polaris_api.models.reference import District, School
from polaris_api.models.reports import MANUAL_INPUT_TYPES, DistrictManualInput
from polaris_api.schemas.reports import YearEndReport
from polaris_api.services.metrics.school_year import parse_school_year
from tests.conftest import make_settings
from tests.factories import make_district, make_event, make_school
from tests.live_server import serve_in_thread
from tests.read_factories import make_participation, make_volunteer
from tests.teacher_factories import make_teacher

YEAR = "2425"
DV1_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "middle_name",
        "email",
        "email_normalized",
        "phone",
        "gender",
        "race_ethnicity",
        "education",
        "age_group",
        "birthdate",
        "is_people_of_color",
        "student_id",
        "student_name",
        "volunteer_name",
    }
)


# ------------------------------------------------------------------------------------ data


async def make_ev(
    session: AsyncSession,
    title: str,
    day: str,
    *,
    type_: str = "career_speaker",
    format_: str = "in_person",
    status: str = "completed",
    hour: int = 10,
    minute: int = 0,
    school: School | None = None,
    districts: tuple[District, ...] = (),
    **fields: Any,
) -> Event:
    """A non-publishing event starting at ``hour:minute`` Chicago time on ``day``."""
    return await make_event(
        session,
        title=title,
        publishing=False,
        salesforce_id=None,
        start_day=dt.date.fromisoformat(day),
        start_time=dt.time(hour, minute),
        type=type_,
        format=format_,
        status=status,
        duration=60,
        school_id=school.id if school else None,
        source="manual",
        districts=districts,
        **fields,
    )


async def attend_teacher(
    session: AsyncSession,
    event: Event,
    teacher: Teacher,
    *,
    confirmed: bool = True,
    status: str = "attended",
) -> None:
    session.add(
        EventTeacher(
            event_id=event.id,
            teacher_id=teacher.id,
            status=status,
            attendance_confirmed_at=event.start_date if confirmed else None,
        )
    )
    await session.flush()


async def student_at(session: AsyncSession, event: Event, school_issued_id: str) -> None:
    """A new student record with this school-issued id (records sharing it are one student, G5)."""
    student = Student(first_name="Sam", last_name="Student", student_id=school_issued_id)
    session.add(student)
    await session.flush()
    session.add(EventStudentParticipation(event_id=event.id, student_id=student.id, status="attended"))
    await session.flush()


@dataclass
class World:
    d1: District
    d2: District
    hs: School
    ms: School
    events: dict[str, Event]


async def _world(session: AsyncSession) -> World:
    d1 = await make_district(session, "Alpha District")
    d2 = await make_district(session, "Beta District")
    hs = await make_school(session, "Alpha High", district=d1, level="high")
    ms = await make_school(session, "Alpha Middle", district=d1, level="middle")
    s2 = await make_school(session, "Beta Elementary", district=d2)
    e: dict[str, Event] = {}
    e["E11"] = await make_ev(session, "E11", "2024-08-01", hour=0, minute=30, districts=(d1,))
    e["E12"] = await make_ev(session, "E12", "2024-07-31", hour=23, minute=30, districts=(d1,))
    e["E1"] = await make_ev(session, "E1", "2024-09-10", type_="career_fair", school=hs)
    e["E2"] = await make_ev(session, "E2", "2024-10-01", type_="career_fair", school=ms)
    e["E3"] = await make_ev(session, "E3", "2024-11-05", status="simulcast", districts=(d1,))
    e["E4"] = await make_ev(session, "E4", "2025-01-15", type_="virtual_session", format_="virtual")
    e["E5"] = await make_ev(session, "E5", "2025-03-03", type_="connector_session", format_="virtual")
    e["E6"] = await make_ev(session, "E6", "2024-12-01", status="cancelled", districts=(d1,))
    e["E7"] = await make_ev(session, "E7", "2024-12-02", status="confirmed", districts=(d1,))
    e["E8"] = await make_ev(session, "E8", "2024-12-03", districts=(d2,))
    e["E9"] = await make_ev(
        session, "E9", "2025-04-01", type_="math_relays", district_partner=" alpha district "
    )
    e["E10"] = await make_ev(session, "E10", "2025-08-01", hour=0, minute=30, districts=(d1,))

    for event, sid in ((e["E1"], "a"), (e["E1"], "b"), (e["E2"], "a"), (e["E3"], "c"), (e["E6"], "d")):
        await student_at(session, event, sid)
    v1 = await make_volunteer(session, email="ana@acme.org", organization_name="Acme")
    v4 = await make_volunteer(session, email="dan@acme.org", organization_name="Delta")
    v2 = await make_volunteer(session, email="ben@example.org", organization_name="  ")
    v3 = await make_volunteer(session, email="cara@beta.org", organization_name="Beta")
    await session.flush()
    await make_participation(session, v1, e["E1"], hours=2.0)
    await make_participation(session, v2, e["E1"], hours=None)
    await make_participation(session, v1, e["E3"], hours=1.5)
    await make_participation(session, v3, e["E4"], hours=1.0)
    await make_participation(session, v4, e["E3"], "no_show", hours=3.0)
    t1 = await make_teacher(session, email="t1@alpha.example", school=hs)
    t2 = await make_teacher(session, email="t2@beta.example", school=s2)
    t3 = await make_teacher(session, email="t3@alpha.example", school=hs)
    t4 = await make_teacher(session, email="t4@alpha.example", school=ms)
    await attend_teacher(session, e["E4"], t1)
    await attend_teacher(session, e["E4"], t2)
    await attend_teacher(session, e["E4"], t3, confirmed=False, status="registered")
    await attend_teacher(session, e["E5"], t1)
    await attend_teacher(session, e["E5"], t4)
    await session.commit()
    return World(d1=d1, d2=d2, hs=hs, ms=ms, events=e)


async def _report(client: Any, headers: dict[str, str], district_id: int, **params: Any) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/reports/districts/{district_id}/year-end",
        params={"school_year": YEAR, **params},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _keys(value: Any) -> set[str]:
    """Every key of every nested object."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


# ------------------------------------------------------------------------------------ §6.1


def test_6_1_school_year_code_window_and_label():
    today = dt.date(2026, 12, 4)
    year = parse_school_year("2425", today)
    assert (year.code, year.label) == ("2425", "2024-2025")
    assert (year.start_date, year.end_date) == (dt.date(2024, 8, 1), dt.date(2025, 7, 31))
    assert parse_school_year("2021", today).label == "2020-2021"  # first accepted code
    assert parse_school_year("2728", today).label == "2027-2028"  # one after the current 2627
    assert parse_school_year("2627", dt.date(2026, 8, 1)).label == "2026-2027"  # Aug: the new year
    assert parse_school_year("2627", dt.date(2026, 7, 31)).label == "2026-2027"  # current 2526 + 1


@pytest.mark.parametrize("code", ["1920", "2829", "2426", "24-25", "2024", "abcd", "242", "9900", "٢٤٢٥"])
def test_6_1_school_year_codes_out_of_range_or_malformed_are_refused(code):
    from polaris_api.services.metrics.school_year import InvalidSchoolYear

    with pytest.raises(InvalidSchoolYear):
        parse_school_year(code, dt.date(2026, 12, 4))


async def test_6_1_bad_school_year_is_a_422_problem_on_every_endpoint(client, admin, session):
    district = await make_district(session)
    await session.commit()
    too_late = f"{(dt.date.today().year + 3) % 100:02d}{(dt.date.today().year + 4) % 100:02d}"
    for path in (
        "/api/v1/reports/year-end",
        f"/api/v1/reports/districts/{district.id}/year-end",
    ):
        for code in ("2426", too_late, "1920"):
            response = await client.get(path, params={"school_year": code}, headers=admin["headers"])
            assert response.status_code == 422, (path, code)
            assert response.json()["code"] == "invalid_school_year"
    response = await client.put(
        f"/api/v1/reports/districts/{district.id}/year-end/manual-inputs",
        params={"school_year": "2426"},
        json={"holland_visits": 1},
        headers=admin["headers"],
    )
    assert response.status_code == 422
    assert await _count(session, DistrictManualInput) == 0


async def test_g10_bad_host_filter_is_422(client, admin, session):
    district = await make_district(session)
    await session.commit()
    response = await client.get(
        f"/api/v1/reports/districts/{district.id}/year-end",
        params={"school_year": YEAR, "host_filter": "other"},
        headers=admin["headers"],
    )
    assert response.status_code == 422


async def _count(session: AsyncSession, model: Any) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


# ------------------------------------------------------------------------------------ §6.2-6.6


async def test_6_9_full_report_of_the_world(client, admin, session):
    """Every figure of the hand-computed data set (module docstring), N = 25."""
    w = await _world(session)
    body = await _report(client, admin["headers"], w.d1.id)
    assert body["district"] == {"id": w.d1.id, "name": "Alpha District"}
    assert (body["school_year"], body["school_year_label"], body["host_filter"]) == (YEAR, "2024-2025", "all")
    enhanced = body["enhanced"]
    # S = E11 E1 E2 E3 E9 (in person), E4 E5 (virtual); E12/E10 outside, E6 cancelled, E7 not delivered
    assert enhanced["events"] == {
        "total": 7,
        "in_person": 5,
        "virtual": 2,
        "in_person_pct": 71.4,
        "virtual_pct": 28.6,
    }
    # attendances (E1,a) (E1,b) (E2,a) (E3,c); DT = {T1, T4}: T2's school is in D2, T3 unconfirmed
    assert enhanced["students"] == {
        "total": 54,
        "in_person": 4,
        "virtual": 50,
        "unique_total": 3,
        "unique_in_person": 3,
        "unique_virtual": 0,
    }
    assert enhanced["volunteers"] == {
        "total": 4,
        "in_person": 3,
        "virtual": 1,
        "unique_total": 3,
        "unique_in_person": 2,
        "unique_virtual": 1,
        "hours_total": 5.5,
        "hours_in_person": 4.5,
        "hours_virtual": 1.0,
        "hours_in_person_pct": 81.8,
        "hours_virtual_pct": 18.2,
    }
    assert enhanced["organizations"] == {
        "unique_total": 2,
        "unique_in_person": 1,
        "unique_virtual": 1,
        "volunteer_hours_total": 4.5,
        "volunteer_hours_in_person": 3.5,
        "volunteer_hours_virtual": 1.0,
    }
    assert enhanced["virtual_sessions"] == {
        "classrooms_reached": 2,
        "unique_teachers": 2,
        "confirmed_teachers": 2,
        "registered_teachers": 3,  # T1, T3 (registered), T4
    }
    assert enhanced["event_types"] == {
        "career_speaker": 2,
        "career_fair": 2,
        "math_relays": 1,
        "virtual_session": 1,
        "connector_session": 1,
    }
    assert enhanced["event_types_by_format"] == {
        "in_person": {"career_speaker": 2, "career_fair": 2, "math_relays": 1},
        "virtual": {"virtual_session": 1, "connector_session": 1},
    }
    breakdown = body["program_breakdown"]
    assert breakdown["in_person_students"] == {"total": 4, "unique": 3}
    assert breakdown["career_speakers_students"] == {"total": 1, "unique": 1}
    assert breakdown["career_jumping_students"] == {"total": 0, "unique": 0}
    assert breakdown["math_relays_count"] == 1
    assert breakdown["connector_sessions"] == {
        "session_count": 2,
        "teachers_engaged": {"total": 3, "unique": 2},  # (E4,T1) (E5,T1) (E5,T4)
        "students_participated": {"total": 50, "unique": None},
    }
    assert set(body["manual_inputs"]) == set(MANUAL_INPUT_TYPES)
    assert all(value is None for value in body["manual_inputs"].values())


async def test_6_3_connector_sessions_are_virtual_in_enhanced_but_not_in_the_timeline(client, admin, session):
    w = await _world(session)
    body = await _report(client, admin["headers"], w.d1.id)
    titles = [row["title"] for row in body["timeline"]["events"]]
    assert titles == ["E11", "E1", "E2", "E3", "E4", "E9"]  # by start_date, E5 (connector) left out
    assert body["enhanced"]["event_types_by_format"]["virtual"]["connector_session"] == 1
    march = next(m for m in body["timeline"]["events_by_month"] if m["month"] == "2025-03")
    assert march["events"] == 0  # E5 is in March


async def test_6_4_teacher_school_exception_for_the_virtual_estimate(client, admin, session):
    """E4 has no attribution: it is in B(D1) and B(D2) through their teachers' schools; each
    district's estimate counts its own teachers only."""
    w = await _world(session)
    d1 = await _report(client, admin["headers"], w.d1.id)
    d2 = await _report(client, admin["headers"], w.d2.id)
    e4_d1 = next(row for row in d1["timeline"]["events"] if row["title"] == "E4")
    e4_d2 = next(row for row in d2["timeline"]["events"] if row["title"] == "E4")
    assert e4_d1["students"] == 25  # T1 only: T2 teaches in D2, T3 is not confirmed
    assert e4_d2["students"] == 25  # T2 only
    assert d2["enhanced"]["events"] == {
        "total": 2,
        "in_person": 1,
        "virtual": 1,
        "in_person_pct": 50.0,
        "virtual_pct": 50.0,
    }
    assert d2["enhanced"]["virtual_sessions"]["confirmed_teachers"] == 1
    assert d2["enhanced"]["students"]["virtual"] == 25
    # a virtual event attributed to D2 by a link, with only a D1 teacher: in B(D2) (M50) but
    # its teacher does not count for D2's estimate; it is in B(D1) through the teacher
    extra = await make_ev(
        session, "E13", "2025-02-02", type_="virtual_session", format_="virtual", districts=(w.d2,)
    )
    t5 = await make_teacher(session, email="t5@alpha.example", school=w.hs)
    await attend_teacher(session, extra, t5)
    await session.commit()
    d2_after = await _report(client, admin["headers"], w.d2.id)
    d1_after = await _report(client, admin["headers"], w.d1.id)
    assert d2_after["enhanced"]["events"]["virtual"] == 2
    assert d2_after["enhanced"]["virtual_sessions"]["confirmed_teachers"] == 1
    assert d1_after["enhanced"]["virtual_sessions"]["confirmed_teachers"] == 3
    assert d1_after["enhanced"]["events"]["virtual"] == 3


async def test_6_5_career_and_college_fair_bucket_counts_high_schools_only(client, admin, session):
    """E1 at HS (level 'high') counts; E2 at MS does not; a fair at a soft-deleted high school or
    with no school (unknown) does not either."""
    w = await _world(session)
    gone = await make_school(session, "Old High", district=w.d1, level="high", is_deleted=True)
    fair = await make_ev(
        session, "E14", "2025-05-05", type_="college_application_fair", school=gone, districts=(w.d1,)
    )
    unknown = await make_ev(session, "E15", "2025-05-06", type_="career_fair", districts=(w.d1,))
    upper = await make_ev(session, "E16", "2025-05-07", type_="college_application_fair", school=w.hs)
    await student_at(session, fair, "e")
    await student_at(session, unknown, "f")
    await student_at(session, upper, "a")
    await session.commit()
    body = await _report(client, admin["headers"], w.d1.id)
    assert body["program_breakdown"]["career_college_fair_hs_students"] == {"total": 3, "unique": 2}
    assert body["program_breakdown"]["in_person_students"] == {"total": 7, "unique": 5}


async def test_6_6_events_by_month_has_12_entries_august_to_july(client, admin, session):
    w = await _world(session)
    body = await _report(client, admin["headers"], w.d1.id)
    months = body["timeline"]["events_by_month"]
    assert [m["month"] for m in months] == [
        "2024-08",
        "2024-09",
        "2024-10",
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
        "2025-03",
        "2025-04",
        "2025-05",
        "2025-06",
        "2025-07",
    ]
    # E11 at 00:30 Chicago on Aug 1 is August; E12 (Chicago Jul 31, UTC Aug 1) is outside
    assert [m["events"] for m in months] == [1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0]


async def test_6_6_timeline_rows_and_by_school(client, admin, session):
    w = await _world(session)
    body = await _report(client, admin["headers"], w.d1.id)
    rows = {row["title"]: row for row in body["timeline"]["events"]}
    assert rows["E1"] == {
        "event_id": w.events["E1"].id,
        "title": "E1",
        "start_date": "2024-09-10T15:00:00Z",
        "type": "career_fair",
        "format": "in_person",
        "school": {"id": w.hs.id, "name": "Alpha High"},
        "students": 2,
        "volunteers": 2,
        "volunteer_hours": 3.0,
    }
    assert rows["E3"]["school"] is None and rows["E3"]["volunteer_hours"] == 1.5
    assert rows["E4"]["format"] == "virtual" and rows["E4"]["volunteers"] == 1
    by_school = body["timeline"]["by_school"]
    assert [group["school"]["name"] for group in by_school] == ["Alpha High", "Alpha Middle"]
    assert [row["title"] for row in by_school[0]["events"]] == ["E1"]
    assert by_school[0]["students"] == 2 and by_school[1]["students"] == 1
    assert by_school[0]["volunteer_hours"] == 3.0


async def test_6_2_host_filter_prepkc_applies_to_every_part(client, admin, session):
    w = await _world(session)
    w.events["E1"].session_host = "PREPKC Staff"
    w.events["E4"].session_host = "Partner"
    session.add(w.events["E1"])
    session.add(w.events["E4"])
    await session.commit()
    body = await _report(client, admin["headers"], w.d1.id, host_filter="prepkc")
    assert body["host_filter"] == "prepkc"
    assert body["enhanced"]["events"]["total"] == 1
    assert body["enhanced"]["students"] == {
        "total": 2,
        "in_person": 2,
        "virtual": 0,
        "unique_total": 2,
        "unique_in_person": 2,
        "unique_virtual": 0,
    }
    assert [row["title"] for row in body["timeline"]["events"]] == ["E1"]
    assert body["meta"]["filters"]["host_filter"] == "prepkc"


async def test_p1_report_query_count_does_not_grow_with_events(client, admin, session, app):
    """06 P1: a fixed number of statements, whatever the number of events and districts."""
    w = await _world(session)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        await _report(client, admin["headers"], w.d1.id)
        await client.get("/api/v1/reports/year-end", params={"school_year": YEAR}, headers=admin["headers"])
        small = len(statements)
        for i in range(8):
            event = await make_ev(session, f"X{i}", "2025-02-10", school=w.hs, districts=(w.d1, w.d2))
            await student_at(session, event, f"x{i}")
            await make_district(session, f"Extra {i}")
        await session.commit()
        statements.clear()
        await _report(client, admin["headers"], w.d1.id)
        await client.get("/api/v1/reports/year-end", params={"school_year": YEAR}, headers=admin["headers"])
        assert len(statements) == small
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


async def test_p2_report_body_is_exactly_the_documented_model(client, admin, session):
    """06 P2: the report is encoded without response-model validation, so the body must already
    be the documented ``YearEndReport``: validating it and dumping it again changes nothing (no
    extra, missing or re-typed key; timestamps as the model writes them)."""
    w = await _world(session)
    body = await _report(client, admin["headers"], w.d1.id)
    assert body["timeline"]["events"] and body["timeline"]["by_school"]
    assert YearEndReport.model_validate(body).model_dump(mode="json") == body
    dumped = YearEndReport.model_validate(body).model_dump(mode="json")
    assert json.dumps(dumped, sort_keys=True) == json.dumps(body, sort_keys=True)


# ------------------------------------------------------------------------------------ §6.7


async def test_6_7_cards_equal_the_full_reports(client, admin, session):
    await _world(session)
    gone = await make_district(session, "Gone District", is_deleted=True)
    await make_ev(session, "G1", "2024-09-09", districts=(gone,))
    await session.commit()
    response = await client.get(
        "/api/v1/reports/year-end", params={"school_year": YEAR}, headers=admin["headers"]
    )
    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["page"], page["school_year"], page["school_year_label"]) == (
        2,
        1,
        YEAR,
        "2024-2025",
    )
    assert [card["district"]["name"] for card in page["items"]] == ["Alpha District", "Beta District"]
    for card in page["items"]:
        full = (await _report(client, admin["headers"], card["district"]["id"]))["enhanced"]
        assert card == {
            "district": card["district"],
            "events_total": full["events"]["total"],
            "students_total": full["students"]["total"],
            "volunteer_hours_total": full["volunteers"]["hours_total"],
            "unique_volunteers": full["volunteers"]["unique_total"],
        }
    assert page["items"][0]["events_total"] == 7 and page["items"][0]["students_total"] == 54
    second = await client.get(
        "/api/v1/reports/year-end",
        params={"school_year": YEAR, "page": 2, "page_size": 1},
        headers=admin["headers"],
    )
    assert [card["district"]["name"] for card in second.json()["items"]] == ["Beta District"]
    assert page["meta"]["filters"]["school_year"] == YEAR
    assert page["meta"]["filters"]["start_date"] == "2024-08-01"
    assert page["meta"]["filters"]["end_date"] == "2025-07-31"


# ------------------------------------------------------------------------------------ access


async def test_ac_6_district_user_sees_own_district_only(client, session, make_user):
    w = await _world(session)
    scoped = await make_user(level=2, districts=[w.d1.id])
    own = await _report(client, scoped["headers"], w.d1.id)
    assert own["enhanced"]["events"]["total"] == 7
    for spelling in (str(w.d2.id), f"00{w.d2.id}", f"+{w.d2.id}"):
        response = await client.get(
            f"/api/v1/reports/districts/{spelling}/year-end",
            params={"school_year": YEAR},
            headers=scoped["headers"],
        )
        assert response.status_code in (403, 422), spelling
        assert response.status_code != 200
    response = await client.get(
        f"/api/v1/reports/districts/{w.d2.id}/year-end",
        params={"school_year": YEAR},
        headers=scoped["headers"],
    )
    assert response.status_code == 403
    cards = await client.get(
        "/api/v1/reports/year-end", params={"school_year": YEAR}, headers=scoped["headers"]
    )
    assert [card["district"]["id"] for card in cards.json()["items"]] == [w.d1.id]
    nobody = await make_user(level=3, districts=[])
    empty = await client.get(
        "/api/v1/reports/year-end", params={"school_year": YEAR}, headers=nobody["headers"]
    )
    assert empty.json()["total"] == 0 and empty.json()["items"] == []
    export = await client.get(
        f"/api/v1/reports/districts/{w.d2.id}/year-end",
        params={"school_year": YEAR, "format": "csv"},
        headers=scoped["headers"],
    )
    assert export.status_code == 403


async def test_ac_6_unauthenticated_401_and_unknown_district_404(client, admin, session):
    w = await _world(session)
    anonymous = await client.get(
        f"/api/v1/reports/districts/{w.d1.id}/year-end", params={"school_year": YEAR}
    )
    assert anonymous.status_code == 401
    assert (await client.get("/api/v1/reports/year-end")).status_code == 401
    missing = await client.get("/api/v1/reports/districts/999999/year-end", headers=admin["headers"])
    assert missing.status_code == 404
    w.d2.is_deleted = True
    session.add(w.d2)
    await session.commit()
    deleted = await client.get(f"/api/v1/reports/districts/{w.d2.id}/year-end", headers=admin["headers"])
    assert deleted.status_code == 404


async def test_dv_1_no_personal_field_in_any_body_or_export(client, session, make_user):
    w = await _world(session)
    scoped = await make_user(level=0, districts=[w.d1.id])
    body = await _report(client, scoped["headers"], w.d1.id)
    cards = (
        await client.get("/api/v1/reports/year-end", params={"school_year": YEAR}, headers=scoped["headers"])
    ).json()
    assert not (_keys(body) | _keys(cards)) & DV1_KEYS
    csv_timeline = await client.get(
        f"/api/v1/reports/districts/{w.d1.id}/year-end",
        params={"school_year": YEAR, "format": "csv"},
        headers=scoped["headers"],
    )
    header = csv_timeline.text.splitlines()[0].split(",")
    assert not set(header) & DV1_KEYS
    xlsx = await client.get(
        f"/api/v1/reports/districts/{w.d1.id}/year-end",
        params={"school_year": YEAR, "format": "xlsx"},
        headers=scoped["headers"],
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    for sheet in book.worksheets:
        first = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
        assert not {str(v) for v in first} & DV1_KEYS, sheet.title
    for forbidden in ("ana@acme.org", "Maria", "Delgado", "t1@alpha.example"):
        assert forbidden not in json.dumps(body) and forbidden not in csv_timeline.text


# ------------------------------------------------------------------------------------ §6.8


async def _put(client: Any, headers: dict[str, str], district_id: int, body: Any, **params: Any) -> Any:
    return await client.put(
        f"/api/v1/reports/districts/{district_id}/year-end/manual-inputs",
        params={"school_year": YEAR, **params},
        json=body,
        headers=headers,
    )


async def test_6_8_manual_inputs_partial_update_exact_key_no_fallback(client, admin, session):
    w = await _world(session)
    first = await _put(
        client, admin["headers"], w.d1.id, {"math_relays_hs": 12, "college_credits_total": 40.5}
    )
    assert first.status_code == 200, first.text
    assert first.json()["manual_inputs"]["math_relays_hs"] == 12
    second = await _put(client, admin["headers"], w.d1.id, {"holland_visits": 3})
    assert second.json()["manual_inputs"]["math_relays_hs"] == 12  # absent keys stay
    report = await _report(client, admin["headers"], w.d1.id)
    assert report["manual_inputs"] == {
        **dict.fromkeys(MANUAL_INPUT_TYPES),
        "math_relays_hs": 12,
        "college_credits_total": 40.5,
        "holland_visits": 3,
    }
    # never mixed into computed figures
    assert report["program_breakdown"]["math_relays_count"] == 1
    # exact host filter: nothing for prepkc, and prepkc values do not show under all
    prepkc = await _report(client, admin["headers"], w.d1.id, host_filter="prepkc")
    assert all(value is None for value in prepkc["manual_inputs"].values())
    await _put(client, admin["headers"], w.d1.id, {"data_science": 7}, host_filter="prepkc")
    assert (await _report(client, admin["headers"], w.d1.id))["manual_inputs"]["data_science"] is None
    prepkc = await _report(client, admin["headers"], w.d1.id, host_filter="prepkc")
    assert prepkc["manual_inputs"]["data_science"] == 7 and prepkc["manual_inputs"]["holland_visits"] is None
    # other school year, other district: separate sets
    other_year = await _report(client, admin["headers"], w.d1.id, school_year="2324")
    assert other_year["manual_inputs"]["math_relays_hs"] is None
    assert (await _report(client, admin["headers"], w.d2.id))["manual_inputs"]["math_relays_hs"] is None
    # null deletes
    deleted = await _put(client, admin["headers"], w.d1.id, {"math_relays_hs": None})
    assert deleted.json()["manual_inputs"]["math_relays_hs"] is None
    assert await _count(session, DistrictManualInput) == 3  # college credits, holland, prepkc data science


async def test_6_8_manual_inputs_bad_values_are_422_and_write_nothing(client, admin, session):
    w = await _world(session)
    for body in (
        {"unknown_key": 1},
        {"math_relays_hs": -1},
        {"math_relays_hs": 2.5},
        {"math_relays_hs": "3"},
        {"math_relays_hs": True},
        {"college_credits_total": -0.5},
        {"holland_visits": 1, "not_a_type": 2},
        [1, 2],
    ):
        response = await _put(client, admin["headers"], w.d1.id, body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await _count(session, DistrictManualInput) == 0
    assert (await _put(client, admin["headers"], 999999, {"holland_visits": 1})).status_code == 404


async def test_6_8_manual_inputs_are_audited(client, admin, session):
    w = await _world(session)
    await _put(client, admin["headers"], w.d1.id, {"cna_students": 4})
    await _put(client, admin["headers"], w.d1.id, {"cna_students": None, "cma_students": 2})
    entries = (
        (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "year_end.manual_inputs.updated")
            )
        )
        .scalars()
        .all()
    )
    assert len(entries) == 2
    latest = max(entries, key=lambda e: e.id)
    assert latest.entity_type == "district" and latest.entity_id == str(w.d1.id)
    assert latest.actor_id == admin["id"]
    assert latest.changes["cna_students"] == {"old": 4, "new": None}
    assert latest.changes["cma_students"] == {"old": None, "new": 2}
    assert latest.changes["_details"] == {"school_year": YEAR, "host_filter": "all"}


async def test_6_8_who_may_write_manual_inputs(client, session, make_user):
    """Global staff users write; district users (even their own district) and API keys → 403."""
    w = await _world(session)
    global_user = await make_user(level=0)
    scoped = await make_user(level=3, districts=[w.d1.id])
    assert (await _put(client, global_user["headers"], w.d1.id, {"p2t_completed": 1})).status_code == 200
    assert (await _put(client, scoped["headers"], w.d1.id, {"p2t_completed": 2})).status_code == 403
    assert (await _put(client, {}, w.d1.id, {"p2t_completed": 2})).status_code == 401
    assert (await _report(client, global_user["headers"], w.d1.id))["manual_inputs"]["p2t_completed"] == 1


# ------------------------------------------------------------------------------------ exports


def _meta_header(response: Any) -> dict[str, Any]:
    raw = response.headers["x-report-meta"]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


async def test_7_exports_csv_parts_and_xlsx_sheets_with_metadata(client, admin, session):
    w = await _world(session)
    w.events["E1"].title = '=HYPERLINK("http://x")'
    session.add(w.events["E1"])
    await session.commit()
    base = f"/api/v1/reports/districts/{w.d1.id}/year-end"
    timeline = await client.get(base, params={"school_year": YEAR, "format": "csv"}, headers=admin["headers"])
    assert timeline.status_code == 200
    assert timeline.headers["content-type"].startswith("text/csv")
    meta = _meta_header(timeline)
    assert meta["metrics_version"] == "1.1" and meta["filters"]["district_id"] == w.d1.id
    lines = timeline.text.strip().splitlines()
    assert len(lines) == 1 + 6  # header + E11 E1 E2 E3 E4 E9
    assert "'=HYPERLINK" in timeline.text  # PRIV-3
    by_school = await client.get(
        base, params={"school_year": YEAR, "format": "csv", "part": "by_school"}, headers=admin["headers"]
    )
    assert by_school.status_code == 200
    assert "Alpha High" in by_school.text and "Alpha Middle" in by_school.text
    xlsx = await client.get(base, params={"school_year": YEAR, "format": "xlsx"}, headers=admin["headers"])
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert {"timeline", "by_school", "metadata"} <= set(book.sheetnames)
    assert book["timeline"].max_row == 1 + 6
    exported = (
        (await session.execute(select(AuditEntry).where(AuditEntry.action.like("%export%")))).scalars().all()
    )
    assert len(exported) == 3


async def test_7_meta_block_of_the_year_end_report(client, admin, session):
    w = await _world(session)
    body = await _report(client, admin["headers"], w.d1.id)
    meta = body["meta"]
    assert meta["metrics_version"] == "1.1" and meta["cached"] is False
    assert meta["filters"]["school_year"] == YEAR
    assert (meta["filters"]["start_date"], meta["filters"]["end_date"]) == ("2024-08-01", "2025-07-31")
    assert meta["filters"]["district_id"] == w.d1.id
    assert meta["parameters"] == {"virtual_students_per_teacher": 25}
    assert set(meta["data_freshness"]["salesforce"]) == {
        "events",
        "schools",
        "districts",
        "volunteers",
        "volunteer_participations",
        "students",
        "student_participations",
        "teachers",
    }
    assert "pathful" in meta["data_freshness"]
    assert meta["computed_at"].endswith("Z")


# ------------------------------------------------------------------------------------ CLI


@pytest.mark.committed_db  # a live server thread
async def test_cli_report_year_end_prints_tables_and_writes_xlsx(session, admin, tmp_path):
    w = await _world(session)
    token = admin["headers"]["Authorization"].split()[1]
    server_app = create_app(make_settings())
    runner = CliRunner()
    out = tmp_path / "report.xlsx"
    base = ["report", "year-end", "--district-id", str(w.d1.id), "--school-year", YEAR, "--token", token]

    def run_all() -> list[Any]:
        with serve_in_thread(server_app) as url:
            return [
                runner.invoke(cli_app, [*base, "--url", url]),
                runner.invoke(cli_app, [*base, "--url", url, "--format", "xlsx", "--output", str(out)]),
                runner.invoke(cli_app, [*base, "--url", url, "--school-year", "2426"]),
                runner.invoke(
                    cli_app, ["report", "year-end", "--school-year", YEAR, "--token", token, "--url", url]
                ),
            ]

    shown, written, refused, cards = await asyncio.to_thread(run_all)
    assert shown.exit_code == 0, shown.output
    assert "Alpha District" in shown.output and "2024-2025" in shown.output
    assert "54" in shown.output  # students total
    assert written.exit_code == 0, written.output
    assert "metadata" in load_workbook(out).sheetnames
    assert refused.exit_code == 1 and "invalid_school_year" in refused.output
    assert cards.exit_code == 0, cards.output
    assert "Alpha District" in cards.output and "Beta District" in cards.output


@pytest.mark.committed_db
async def test_cli_metrics_prints_a_table_and_json(session, admin):
    """issue 9 item 11: ``polaris metrics`` through the client, ungrouped and by district."""
    await _world(session)
    token = admin["headers"]["Authorization"].split()[1]
    server_app = create_app(make_settings())
    runner = CliRunner()
    base = ["metrics", "--from", "2024-08-01", "--to", "2025-07-31", "--token", token]

    def run_all() -> list[Any]:
        with serve_in_thread(server_app) as url:
            return [
                runner.invoke(cli_app, [*base, "--url", url, "--ids", "M60,M61"]),
                runner.invoke(cli_app, [*base, "--url", url, "--group-by", "district", "--ids", "M60"]),
                runner.invoke(cli_app, [*base, "--url", url, "--ids", "M60", "--json"]),
                runner.invoke(cli_app, [*base, "--url", url, "--ids", "M999"]),
            ]

    table, grouped, as_json, refused = await asyncio.to_thread(run_all)
    assert table.exit_code == 0, table.output
    assert "M60" in table.output and "M61" in table.output
    assert grouped.exit_code == 0, grouped.output
    assert "Alpha District" in grouped.output and "Beta District" in grouped.output
    assert "Unknown" in grouped.output  # E4, E5 have no attribution (06 G4)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["metrics"]["M60"] == 9  # EV: S(D1) + E8 + E7 (not cancelled)
    assert refused.exit_code == 1 and "unknown_metric" in refused.output
