"""GET /api/v1/metrics (06 §2-§4, §7, §9; 07 access, DV-1, PRIV-3, AUD-1) on both databases."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.app_setting import VIRTUAL_STUDENTS_PER_TEACHER, AppSetting
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import (
    Event,
    EventAttendanceDetail,
    EventDistrict,
    EventParticipation,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import District, School
from tests.test_metrics_differential import WORKED_EXPECTED  # 06 §9 table, one copy

CHICAGO = ZoneInfo("America/Chicago")
URL = "/api/v1/metrics"
SEPT = {"start_date": "2024-09-01", "end_date": "2024-09-30"}
CONFIRMED = dt.datetime(2024, 10, 2, 12, 0, tzinfo=dt.UTC)
DV1_KEYS = {
    "first_name",
    "last_name",
    "name_first",
    "email",
    "email_normalized",
    "phone",
    "race_ethnicity",
    "gender",
    "education",
    "age_group",
    "birthdate",
    "student_id",
    "student_name",
}


def chicago(day: str, time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=CHICAGO).astimezone(dt.UTC)


class World:
    """Rows built for one test; ``add`` flushes so ids are set."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Any) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def district(self, name: str, **fields: Any) -> District:
        row = District(name=name, slug=name.lower().replace(" ", "-"), **fields)
        await self.add(row)
        return row

    async def school(self, name: str, district: District | None, **fields: Any) -> School:
        row = School(name=name, district_id=district.id if district else None, **fields)
        await self.add(row)
        return row

    async def event(
        self,
        type_: str,
        status: str,
        start: dt.datetime,
        *,
        format_: str | None = None,
        school: School | None = None,
        districts: tuple[District, ...] = (),
        **fields: Any,
    ) -> Event:
        virtual = type_ in ("virtual_session", "connector_session")
        row = Event(
            title=f"{type_} {start:%Y-%m-%d}",
            type=type_,
            format=format_ or ("virtual" if virtual else "in_person"),
            status=status,
            start_date=start,
            school_id=school.id if school else None,
            **fields,
        )
        await self.add(row)
        if districts:
            await self.add(*(EventDistrict(event_id=row.id, district_id=d.id) for d in districts))
        return row

    async def volunteer(self, email: str | None, org: str | None = None, **fields: Any) -> Volunteer:
        row = Volunteer(
            last_name="V",
            email_normalized=email.strip().lower() if email else None,
            organization_name=org,
            **fields,
        )
        await self.add(row)
        return row

    async def vp(
        self,
        volunteer: Volunteer,
        event: Event,
        status: str = "attended",
        hours: float | None = None,
        **fields: Any,
    ) -> None:
        await self.add(
            EventParticipation(
                event_id=event.id, volunteer_id=volunteer.id, status=status, delivery_hours=hours, **fields
            )
        )

    async def student(self, student_id: str | None, **fields: Any) -> Student:
        row = Student(last_name="S", student_id=student_id, **fields)
        await self.add(row)
        return row

    async def sp(self, student: Student, event: Event, status: str = "attended", **fields: Any) -> None:
        await self.add(
            EventStudentParticipation(event_id=event.id, student_id=student.id, status=status, **fields)
        )

    async def teacher(self, email: str | None, school: School | None = None, **fields: Any) -> Teacher:
        row = Teacher(
            last_name="T", email_normalized=email, school_id=school.id if school else None, **fields
        )
        await self.add(row)
        return row

    async def tp(self, teacher: Teacher, event: Event, confirmed: bool = True, **fields: Any) -> None:
        await self.add(
            EventTeacher(
                event_id=event.id,
                teacher_id=teacher.id,
                status="attended" if confirmed else "registered",
                attendance_confirmed_at=CONFIRMED if confirmed else None,
                **fields,
            )
        )


async def get(client: httpx.AsyncClient, user: dict[str, Any], **params: Any) -> httpx.Response:
    return await client.get(URL, headers=user["headers"], params={**SEPT, **params})


async def metrics(client: httpx.AsyncClient, user: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = await get(client, user, **params)
    assert response.status_code == 200, response.text
    return response.json()["metrics"]


def keys_of(value: Any) -> set[str]:
    """Every key of every nested object (DV-1 scan)."""
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in keys_of(item)}
    if isinstance(value, list):
        return {k for item in value for k in keys_of(item)}
    return set()


# ---------------------------------------------------------------------------------------------
# 06 §9 worked example


async def worked_example(session: AsyncSession) -> dict[str, Any]:
    """06 §9 row for row. V1 and V2 (same email up to case) are one ``volunteer`` row: R2 keys
    volunteers on ``email_normalized`` (unique), so Salesforce contacts with those two spellings
    are one record; rows 1 and 2 are that record's participations."""
    w = World(session)
    d1 = await w.district("D1")
    s1 = await w.school("S1", d1, level="high")
    e1 = await w.event("career_speaker", "completed", chicago("2024-08-20", "10:00"), duration=60, school=s1)
    e2 = await w.event("career_jumping", "completed", chicago("2024-09-05", "14:00"), duration=90, school=s1)
    e3 = await w.event(
        "career_fair",
        "completed",
        chicago("2024-09-12", "09:00"),
        end_date=chicago("2024-09-12", "11:30"),
        school=s1,
    )
    e4 = await w.event("career_speaker", "cancelled", chicago("2024-09-18", "10:00"), duration=60, school=s1)
    e5 = await w.event("virtual_session", "completed", chicago("2024-09-20", "13:00"), duration=60)
    e6 = await w.event(
        "virtual_session",
        "completed",
        chicago("2024-09-30", "22:30"),
        end_date=chicago("2024-09-30", "23:15"),
    )
    e7 = await w.event("career_speaker", "completed", chicago("2024-10-01", "09:00"), duration=60, school=s1)
    e8 = await w.event("career_speaker", "confirmed", chicago("2024-09-25", "10:00"), duration=60)
    v1 = await w.volunteer("Ana.Ruiz@Acme.org", "Acme")
    v3 = await w.volunteer("ben@beta.org", "Beta")
    v4 = await w.volunteer("cara@example.com", None)
    await w.vp(v1, e1, hours=2.0)  # 1
    await w.vp(v1, e2, hours=None)  # 2 (V2)
    await w.vp(v1, e3, hours=2.5)  # 3
    await w.vp(v3, e3, "no_show", hours=2.5)  # 4
    await w.vp(v3, e5, "successfully_completed", hours=1.0)  # 5
    await w.vp(v4, e6, "completed", hours=None)  # 6
    st1, st2, st3 = [await w.student(sid) for sid in ("1001", "1002", "1003")]
    await w.sp(st1, e2)  # 7
    await w.sp(st2, e2, "no_show")  # 8
    await w.sp(st1, e3)  # 9
    await w.sp(st3, e4)  # 10
    t1, t2, t3 = [await w.teacher(f"t{i}@school.org") for i in (1, 2, 3)]
    await w.tp(t1, e5)  # 11
    await w.tp(t2, e5, confirmed=False)  # 12
    await w.tp(t1, e6)  # 13
    await w.tp(t3, e6)  # 14
    await session.commit()
    return {"d1": d1, "s1": s1, "events": [e1, e2, e3, e4, e5, e6, e7, e8]}


async def test_metrics_worked_example_06_s9(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """06 §9: exactly the listed values, plus the invariants M61 + M62 = M60, M71 = M70 <= M72,
    M120 sums to M60, and the §7 meta block."""
    world = await worked_example(session)
    response = await get(client, admin)
    assert response.status_code == 200
    body = response.json()
    got = body["metrics"]
    assert {k: got[k] for k in WORKED_EXPECTED} == WORKED_EXPECTED
    assert got["M61"] + got["M62"] == got["M60"]
    assert got["M71"] == got["M70"] and got["M72"] >= got["M70"]
    assert got["M80"] == 3  # T1@E5, T1@E6, T3@E6
    assert got["M120"] == {"career_fair": 1, "career_jumping": 1, "career_speaker": 1, "virtual_session": 2}
    assert sum(got["M120"].values()) == got["M60"]
    assert got["M100"] == 1 and got["M110"] == {} and got["M111"] is None
    assert set(got) == set(WORKED_EXPECTED) | {
        "M71", "M72", "M80", "M81", "M82", "M83", "M84", "M90", "M91", "M100", "M110", "M111", "M120",
    }  # fmt: skip
    meta = body["meta"]
    assert meta["metrics_version"] == "1.1" and meta["cached"] is False
    assert meta["computed_at"].endswith("Z")
    assert meta["parameters"] == {"virtual_students_per_teacher": 25}
    assert meta["filters"] == {
        "start_date": "2024-09-01",
        "end_date": "2024-09-30",
        "timezone": "America/Chicago",
        "school_year": None,
        "virtual_year": None,
        "district_id": None,
        "school_id": None,
        "event_types": [],
        "event_format": None,
        "host_filter": "all",
        "group_by": None,
        "metric_ids": list(body["metrics"]),
    }
    assert set(meta["data_freshness"]["salesforce"]) == {
        "events", "schools", "districts", "volunteers", "volunteer_participations",
        "students", "student_participations", "teachers",
    }  # fmt: skip
    assert "pathful" in meta["data_freshness"]
    # M73 follows the G8 setting
    session.add(AppSetting(key=VIRTUAL_STUDENTS_PER_TEACHER, value=30))
    await session.commit()
    again = (await get(client, admin, ids="M73")).json()
    assert again["metrics"] == {"M73": 60} and again["meta"]["parameters"] == {
        "virtual_students_per_teacher": 30
    }
    assert world["d1"].id  # the district attributed by school (step 3)
    by_district = await metrics(client, admin, district_id=world["d1"].id, ids="M60,M62,M10")
    assert by_district == {"M10": 1, "M60": 2, "M62": 2}  # E2, E3 (by school); E8 has no school


async def test_metrics_06_s9_wrong_answers_are_caught(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """06 §9 "wrong answers a test should catch", each pinned to the rule that prevents it:

    - window on the UTC date (M60 = 4, M61 = 1, M20 = 2, M30 = 5.0, M70 = 1, M73 = 25, M92 = 1):
      E6 at 2024-10-01 03:30Z is in the September window (Chicago date 09-30) and E1/E7 are not;
    - NULL hours as 0 (M30 = 3.5): row 2 falls back to 90/60 and row 6 to the 1.0 floor;
    - no email normalisation (M20 = 4, M92 = 3): the key is the stored normalised email, so a
      differently-cased spelling is the same volunteer (and teachers dedupe by ``tkey``)."""
    world = await worked_example(session)
    e6 = world["events"][5]
    assert e6.start_date == dt.datetime(2024, 10, 1, 3, 30, tzinfo=dt.UTC)
    only_e6 = await metrics(
        client, admin, start_date="2024-09-30", end_date="2024-09-30", ids="M60,M61,M30,M70"
    )
    assert only_e6 == {"M60": 1, "M61": 1, "M30": 1.0, "M70": 2}  # E6 alone; 0.75 h floored to 1.0
    october_first = await metrics(
        client, admin, start_date="2024-10-01", end_date="2024-10-01", ids="M60,M62"
    )
    assert october_first == {"M60": 1, "M62": 1}  # E7 only: E6 is not on its UTC date
    got = await metrics(client, admin, ids="M20,M30,M60,M61,M70,M73,M92")
    assert got == {"M20": 3, "M30": 6.0, "M60": 5, "M61": 2, "M70": 2, "M73": 50, "M92": 2}
    # email spelled differently on two teacher records: one person (G5)
    w = World(session)
    e5 = world["events"][4]
    twin = await w.teacher("t1@school.org")  # stored normalised, like T1
    await w.tp(twin, e5)
    await session.commit()
    assert await metrics(client, admin, ids="M70,M72,M80") == {"M70": 2, "M72": 2, "M80": 3}


# ---------------------------------------------------------------------------------------------
# Rules and filters


async def test_g3_g6_exclusions_and_dedupe(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """G3: deleted events/rows/persons and excluded persons count nowhere (M92 history too);
    G5: students by school-issued id (trimmed), a blank id stands alone; G6 status sets."""
    w = World(session)
    day = chicago("2024-09-10", "10:00")
    before = chicago("2024-08-10", "10:00")
    event = await w.event("career_fair", "completed", day, duration=60)
    deleted_event = await w.event("career_fair", "completed", day, duration=60, is_deleted=True)
    old = await w.event("career_fair", "completed", before, duration=60)
    live = await w.volunteer("live@x.org", "Org")
    excluded = await w.volunteer("excluded@x.org", "Org2", exclude_from_reports=True)
    returning = await w.volunteer("back@x.org")
    await w.vp(live, event, hours=1.0)
    await w.vp(live, deleted_event, hours=5.0)
    await w.vp(excluded, event, hours=3.0)
    await w.vp(returning, event, "attended", hours=1.0)
    await w.vp(returning, old, "registered", hours=1.0)  # not attended: no history
    deleted_row = await w.volunteer("gone@x.org")
    await w.vp(deleted_row, event, hours=4.0, is_deleted=True)
    a, b = await w.student(" 77 "), await w.student("77")
    blank1, blank2 = await w.student(""), await w.student(None)
    for s in (a, b, blank1, blank2):
        await w.sp(s, event)
    hidden = await w.student("88", exclude_from_reports=True)
    await w.sp(hidden, event)
    await session.commit()
    got = await metrics(client, admin, ids="M10,M20,M30,M40,M60,M92")
    assert got == {"M10": 3, "M20": 2, "M30": 2.0, "M40": 1, "M60": 1, "M92": 2}


async def test_g9_g10_filters(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """G9: district by link > name > school, multi-district events once; school (M51); event_type
    repeatable; event_format via G7; G10 prepkc (NULL host fails); teacher metrics by the
    teacher's school."""
    w = World(session)
    d1, d2, d3 = await w.district("North"), await w.district("South"), await w.district("East")
    s1, s3 = await w.school("N1", d1), await w.school("E1", d3)
    day = chicago("2024-09-10", "10:00")
    both = await w.event(
        "career_fair", "completed", day, districts=(d1, d2), district_partner="East", school=s3
    )
    named = await w.event("career_speaker", "completed", day, district_partner=" south ", school=s1)
    schooled = await w.event("career_speaker", "completed", day, school=s3, session_host="PREPKC team")
    virtual = await w.event("virtual_session", "completed", day, session_host=None)
    typed_virtual = await w.event(
        "career_speaker", "completed", day, format_="virtual", session_host="prepkc"
    )
    teacher = await w.teacher("t@x.org", school=s1)
    other = await w.teacher("u@x.org", school=s3)
    await w.tp(teacher, virtual)
    await w.tp(other, virtual)
    await session.commit()
    assert (await metrics(client, admin, ids="M60"))["M60"] == 5
    assert (await metrics(client, admin, district_id=d1.id, ids="M60"))["M60"] == 1  # both (link wins)
    assert (await metrics(client, admin, district_id=d2.id, ids="M60"))["M60"] == 2  # both + named
    assert (await metrics(client, admin, district_id=d3.id, ids="M60"))["M60"] == 1  # schooled
    assert (await metrics(client, admin, school_id=s3.id, ids="M60,M100"))["M60"] == 2
    types = await get(client, admin, event_type=["career_fair", "virtual_session"], ids="M60,M120")
    assert types.json()["metrics"] == {"M60": 2, "M120": {"career_fair": 1, "virtual_session": 1}}
    assert types.json()["meta"]["filters"]["event_types"] == ["career_fair", "virtual_session"]
    assert (await metrics(client, admin, event_format="virtual", ids="M60,M61"))["M61"] == 2
    assert (await metrics(client, admin, event_format="in_person", ids="M60,M62")) == {"M60": 3, "M62": 3}
    assert (await metrics(client, admin, host_filter="prepkc", ids="M60"))["M60"] == 2  # NULL host fails
    # G9: the teacher's school decides for M70-M73/M80, not the (school-less) event
    assert (await metrics(client, admin, district_id=d1.id, ids="M70,M72,M80,M61")) == {
        "M61": 0,
        "M70": 1,
        "M72": 1,
        "M80": 1,
    }
    assert (await metrics(client, admin, school_id=s3.id, ids="M70"))["M70"] == 1
    assert typed_virtual.id and both.id and named.id and schooled.id


async def test_s4_grouped_output(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """§4: rows by name then id, Unknown last; a multi-district event counts in each of its
    groups and once in the total; M92 keeps the global history in every group."""
    w = World(session)
    zed, alpha = await w.district("Zed"), await w.district("Alpha")
    alpha_school = await w.school("A School", alpha)
    day = chicago("2024-09-10", "10:00")
    shared = await w.event("career_fair", "completed", day, districts=(zed, alpha), duration=60)
    alone = await w.event("career_fair", "completed", day, school=alpha_school, duration=120)
    nowhere = await w.event("career_speaker", "cancelled", day)
    history = await w.event("career_fair", "completed", chicago("2024-01-10", "10:00"), districts=(zed,))
    old_hand, newcomer = await w.volunteer("old@x.org"), await w.volunteer("new@x.org")
    await w.vp(old_hand, history)
    await w.vp(old_hand, alone)
    await w.vp(newcomer, shared)
    await session.commit()
    response = await get(client, admin, group_by="district", ids="M60,M63,M20,M30,M92")
    body = response.json()
    assert "metrics" not in body and body["meta"]["filters"]["group_by"] == "district"
    assert body["groups"] == [
        {
            "group": {"id": alpha.id, "name": "Alpha"},
            "metrics": {"M20": 2, "M30": 3.0, "M60": 2, "M63": 0, "M92": 1},
        },
        {
            "group": {"id": zed.id, "name": "Zed"},
            "metrics": {"M20": 1, "M30": 1.0, "M60": 1, "M63": 0, "M92": 1},
        },
        {
            "group": {"id": None, "name": "Unknown"},
            "metrics": {"M20": 0, "M30": 0.0, "M60": 0, "M63": 1, "M92": 0},
        },
    ]
    total = await metrics(client, admin, ids="M60,M20")
    assert total == {"M60": 2, "M20": 2}  # the shared event once
    schools = (await get(client, admin, group_by="school", ids="M60")).json()["groups"]
    assert schools == [
        {"group": {"id": alpha_school.id, "name": "A School"}, "metrics": {"M60": 1}},
        {"group": {"id": None, "name": "Unknown"}, "metrics": {"M60": 1}},
    ]
    assert nowhere.id


async def test_m81_m84_m90_m91_m110_m111(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """M81-M84 (has_presenter on delivered virtual sessions), M90/M91 by key, M110 exact floor,
    M111 average half up."""
    w = World(session)
    day = chicago("2024-09-10", "10:00")
    s1 = await w.event("virtual_session", "completed", day)
    s2 = await w.event("virtual_session", "simulcast", day)
    s3 = await w.event("virtual_session", "confirmed", day)  # not delivered: not in D
    local_poc = await w.volunteer("lp@x.org", local_status="local", is_people_of_color=True)
    partial = await w.volunteer("p@x.org", local_status="partial")
    await w.vp(local_poc, s1, participant_type="presenter")
    await w.vp(partial, s2, participant_type="presenter")
    await w.vp(local_poc, s3, participant_type="presenter")
    e1 = await w.event("career_fair", "completed", day)
    e2 = await w.event("career_fair", "completed", day)
    e3 = await w.event("career_fair", "completed", day)
    await w.add(
        EventAttendanceDetail(event_id=e1.id, total_students=100, num_classrooms=4, rotations=3),
        EventAttendanceDetail(event_id=e2.id, total_students=50, num_classrooms=3, rotations=2),
        EventAttendanceDetail(event_id=e3.id, total_students=1, num_classrooms=49, rotations=49),
        EventAttendanceDetail(event_id=s1.id, total_students=10, num_classrooms=1, rotations=1),
    )
    await session.commit()
    got = await metrics(client, admin, ids="M81,M82,M83,M84,M90,M91,M110,M111")
    assert got == {
        "M81": 1,  # s1: local presenter; s3 is not delivered
        "M82": 1,
        "M83": 50.0,  # D = {s1, s2}
        "M84": 50.0,
        "M90": 1,
        "M91": 1,  # partial does not count
        "M110": {str(e1.id): 75, str(e2.id): 33, str(e3.id): 1},  # exact: 1/49*49 in floats is 0.99...
        "M111": 36.3,  # (75 + 33 + 1) / 3 = 36.33
    }


# ---------------------------------------------------------------------------------------------
# Errors and access


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start_date": "2024-09-30", "end_date": "2024-09-01"}, "invalid_window"),
        ({"ids": "M10,M999"}, "unknown_metric"),
        ({"ids": "M50"}, "unknown_metric"),
        ({"host_filter": "pathful"}, "validation_error"),
        ({"group_by": "teacher"}, "validation_error"),
        ({"event_format": "hybrid"}, "validation_error"),
        ({"event_type": "Career Fair"}, "validation_error"),
        ({"start_date": "2024-13-01"}, "validation_error"),
    ],
)
async def test_invalid_parameters_422(
    client: httpx.AsyncClient, admin: dict[str, Any], params: dict[str, str], code: str
) -> None:
    response = await get(client, admin, **params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_07_access(client: httpx.AsyncClient, make_user: Any, session: AsyncSession) -> None:
    """Global staff see everything; district users only with one of their district ids (another
    district or none: 403); their district groups are their own; no DV-1 key in any body."""
    w = World(session)
    mine, theirs = await w.district("Mine"), await w.district("Theirs")
    await w.event("career_fair", "completed", chicago("2024-09-10", "10:00"), districts=(mine, theirs))
    await session.commit()
    assert (await client.get(URL, params=SEPT)).status_code == 401
    district_user = await make_user(level=2, districts=[mine.id])
    assert (await get(client, district_user)).status_code == 403
    assert (await get(client, district_user, district_id=theirs.id)).status_code == 403
    assert (await metrics(client, district_user, district_id=mine.id, ids="M60")) == {"M60": 1}
    grouped = (await get(client, district_user, district_id=mine.id, group_by="district")).json()
    assert [row["group"]["id"] for row in grouped["groups"]] == [mine.id]
    global_user = await make_user(level=0)
    body = (await get(client, global_user, group_by="district")).json()
    assert [row["group"]["name"] for row in body["groups"]] == ["Mine", "Theirs"]
    assert not keys_of(body) & DV1_KEYS and not keys_of(grouped) & DV1_KEYS


# ---------------------------------------------------------------------------------------------
# Exports


async def test_exports_csv_xlsx_meta_priv3_audit(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession
) -> None:
    """§7: CSV carries X-Report-Meta (base64url JSON), XLSX a metadata sheet; PRIV-3 neutralises
    a group name starting with '='; AUD-1 records who, what, filters and row count."""
    w = World(session)
    evil = await w.district("=HYPERLINK(1)")
    await w.event("career_fair", "completed", chicago("2024-09-10", "10:00"), districts=(evil,))
    await w.event("career_fair", "completed", chicago("2024-09-11", "10:00"))
    await session.commit()
    csv_response = await get(client, admin, group_by="district", ids="M60,M120", format="csv")
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    meta = json.loads(base64.urlsafe_b64decode(csv_response.headers["x-report-meta"]))
    assert meta["metrics_version"] == "1.1" and meta["filters"]["group_by"] == "district"
    lines = csv_response.text.splitlines()
    assert lines[0] == "group_id,group_name,M60,M120"
    assert lines[1].startswith(f"{evil.id},'=HYPERLINK(1),1,")
    assert lines[2].startswith(",Unknown,1,")
    xlsx = await get(client, admin, ids="M60,M61", format="xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["metrics", "metadata"]
    assert [list(r) for r in book["metrics"].iter_rows(values_only=True)] == [["M60", "M61"], [2, 0]]
    metadata = dict(book["metadata"].iter_rows(min_row=2, values_only=True))
    assert metadata["metrics_version"] == "1.1" and metadata["filters.start_date"] == "2024-09-01"
    entries = (
        (await session.execute(select(AuditEntry).where(AuditEntry.action == "metrics.exported")))
        .scalars()
        .all()
    )
    details = sorted((e.changes["_details"]["format"], e.changes["_details"]["row_count"]) for e in entries)
    assert details == [("csv", 2), ("xlsx", 1)]
    assert all(e.actor_id == admin["id"] for e in entries)
    assert entries[0].changes["_details"]["filters"]["start_date"] == "2024-09-01"
    for row in book["metrics"].iter_rows(values_only=True):
        assert not set(map(str, row)) & DV1_KEYS


async def test_p1_statements_per_request_do_not_grow_with_data(
    client: httpx.AsyncClient, admin: dict[str, Any], session: AsyncSession, app: Any
) -> None:
    """06 P1: each /metrics request runs the same number of statements whatever the number of
    events, districts, schools and participations (ungrouped, grouped by district and by school,
    district filter): every figure is a set-based aggregate, nothing runs per event or group."""
    from sqlalchemy import event as sa_event

    shapes = [{}, {"group_by": "district"}, {"group_by": "school"}]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async def counts(district_id: int) -> list[int]:
        result = []
        for params in [*shapes, {"district_id": district_id}]:
            statements.clear()
            response = await get(client, admin, **params)
            assert response.status_code == 200, response.text
            result.append(len(statements))
        return result

    world = await worked_example(session)
    engine = app.state.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        small = await counts(world["d1"].id)
        w = World(session)
        for i in range(6):
            district = await w.district(f"More {i}")
            school = await w.school(f"More School {i}", district, level="high")
            teacher = await w.teacher(f"more{i}@school.org", school)
            for j in range(4):
                day = chicago(f"2024-09-{10 + j:02d}", "10:00")
                event = await w.event("career_fair", "completed", day, school=school, duration=60)
                online = await w.event("virtual_session", "completed", day, districts=(district,))
                await w.add(
                    EventAttendanceDetail(event_id=event.id, total_students=40, num_classrooms=2, rotations=1)
                )
                await w.vp(await w.volunteer(f"v{i}-{j}@x.org", f"Org {j}"), event, hours=1.5)
                await w.vp(await w.volunteer(None), online, participant_type="presenter")
                await w.sp(await w.student(f"s{i}-{j}"), event)
                await w.tp(teacher, online)
        await session.commit()
        larger = await counts(world["d1"].id)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert larger == small
    assert max(small) <= 16, small  # auth, settings, meta, group names, one per metric family
