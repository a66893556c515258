"""Differential tests of the metrics (06 §2-§4) and of the year-end ``enhanced`` block (06 §6.4)
against the oracle in ``tests/metrics_oracle.py`` (issue 9 acceptance, "Differential test").

1. The oracle itself is checked on the 06 §9 worked example, and on the "wrong answers a test
   should catch": each wrong variant of a rule, run through the same oracle, gives the listed
   wrong figure, so a comparison with the oracle would flag it.
2. Hypothesis data sets (``tests/metrics_datasets.py``) are written into the real database; every
   metric from ``GET /api/v1/metrics`` (ungrouped with each G9/G10 filter, and grouped by district
   and by school) and every ``enhanced`` figure of ``GET /api/v1/reports/districts/{id}/year-end``
   must equal the oracle's. Derandomised, with a fixed budget, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
from dataclasses import replace
from fractions import Fraction
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests import metrics_oracle as o
from tests.metrics_datasets import EVENT_TYPES, SCHOOL_YEARS, chicago, clear, datasets, insert, windows

# --------------------------------------------------------------------------------------
# 06 §9 worked example

SEPT = o.Filters(dt.date(2024, 9, 1), dt.date(2024, 9, 30))


def worked_example(*, normalise: bool = True) -> o.DataSet:
    """06 §9, row for row. ``normalise=False`` stores the emails as typed (a wrong variant)."""

    def email(raw: str) -> str:
        return raw.strip().lower() if normalise else raw

    def event(id_: int, type_: str, format_: str, status: str, start: dt.datetime, **fields: Any) -> o.Event:
        return o.Event(id_, f"E{id_}", type_, format_, status, start, **fields)

    s1 = 1
    return o.DataSet(
        districts=[o.District(1, "D1")],
        schools=[o.School(s1, "S1", 1, "high")],
        events=[
            event(
                1,
                "career_speaker",
                "in_person",
                "completed",
                chicago("2024-08-20", "10:00"),
                duration=60,
                school_id=s1,
            ),
            event(
                2,
                "career_jumping",
                "in_person",
                "completed",
                chicago("2024-09-05", "14:00"),
                duration=90,
                school_id=s1,
            ),
            event(
                3,
                "career_fair",
                "in_person",
                "completed",
                chicago("2024-09-12", "09:00"),
                end_date=chicago("2024-09-12", "11:30"),
                school_id=s1,
            ),
            event(
                4,
                "career_speaker",
                "in_person",
                "cancelled",
                chicago("2024-09-18", "10:00"),
                duration=60,
                school_id=s1,
            ),
            event(5, "virtual_session", "virtual", "completed", chicago("2024-09-20", "13:00"), duration=60),
            event(
                6,
                "virtual_session",
                "virtual",
                "completed",
                chicago("2024-09-30", "22:30"),
                end_date=chicago("2024-09-30", "23:15"),
            ),
            event(
                7,
                "career_speaker",
                "in_person",
                "completed",
                chicago("2024-10-01", "09:00"),
                duration=60,
                school_id=s1,
            ),
            event(8, "career_speaker", "in_person", "confirmed", chicago("2024-09-25", "10:00"), duration=60),
        ],
        volunteers=[
            o.Volunteer(1, email("Ana.Ruiz@Acme.org"), "Acme"),
            o.Volunteer(2, email("ana.ruiz@acme.org"), "Acme"),
            o.Volunteer(3, email("ben@beta.org"), "Beta"),
            o.Volunteer(4, email("cara@example.com"), None),
        ],
        students=[o.Student(1, "1001"), o.Student(2, "1002"), o.Student(3, "1003")],
        teachers=[
            o.Teacher(1, "t1@school.org"),
            o.Teacher(2, "t2@school.org"),
            o.Teacher(3, "t3@school.org"),
        ],
        volunteer_participations=[
            o.VolunteerParticipation(1, 1, "attended", 2.0),
            o.VolunteerParticipation(2, 2, "attended", None),
            o.VolunteerParticipation(3, 1, "attended", 2.5),
            o.VolunteerParticipation(3, 3, "no_show", 2.5),
            o.VolunteerParticipation(5, 3, "successfully_completed", 1.0),
            o.VolunteerParticipation(6, 4, "completed", None),
        ],
        student_participations=[
            o.StudentParticipation(2, 1, "attended"),
            o.StudentParticipation(2, 2, "no_show"),
            o.StudentParticipation(3, 1, "attended"),
            o.StudentParticipation(4, 3, "attended"),
        ],
        teacher_participations=[
            o.TeacherParticipation(5, 1, "attended", o_confirmed()),
            o.TeacherParticipation(5, 2, "registered", None),
            o.TeacherParticipation(6, 1, "attended", o_confirmed()),
            o.TeacherParticipation(6, 3, "attended", o_confirmed()),
        ],
    )


def o_confirmed() -> dt.datetime:
    return dt.datetime(2024, 10, 2, 12, 0, tzinfo=dt.UTC)


WORKED_EXPECTED = {
    "M10": 1,
    "M20": 3,
    "M30": 6.0,
    "M40": 2,
    "M60": 5,
    "M61": 2,
    "M62": 3,
    "M63": 1,
    "M70": 2,
    "M73": 50,
    "M92": 2,
}


@pytest.mark.parametrize("stored", [False, True], ids=["as-written", "as-stored"])
def test_oracle_06_9_worked_example_gives_the_listed_values(stored: bool) -> None:
    """06 §9: every listed figure, exactly (M30 serialised as 6.0)."""
    metrics = o.Oracle(worked_example_as_stored() if stored else worked_example()).metrics(SEPT)
    assert {k: metrics[k] for k in WORKED_EXPECTED} == WORKED_EXPECTED
    assert metrics["M61"] + metrics["M62"] == metrics["M60"]  # M62
    assert metrics["M71"] == metrics["M70"] and metrics["M72"] >= metrics["M70"]  # M71, M72


class UtcDateWindow(o.Oracle):
    """Wrong G1: the window on the UTC date of start_date."""

    @staticmethod
    def in_window(e: o.Event, start: dt.date, end: dt.date) -> bool:
        return e.start_date is not None and start <= e.start_date.date() <= end

    def history_keys(self, start: dt.date) -> set[str]:
        keys = set()
        for p in self.data.volunteer_participations:
            e = next(x for x in self.data.events if x.id == p.event_id)
            v = self.volunteers[p.volunteer_id]
            if (
                e.start_date is not None
                and e.start_date.date() < start
                and o.code(p.status) in o.VOL_ATTENDED
            ):
                keys.add(o.vkey(v))
        return keys


class NullHoursAsZero(o.Oracle):
    """Wrong §2 hours(): NULL delivery_hours counted as 0."""

    def hours(self, p: o.VolunteerParticipation, e: o.Event) -> Fraction:
        return Fraction(0) if p.delivery_hours is None else o.hours(p, e)


@pytest.mark.parametrize(
    ("variant", "wrong"),
    [
        pytest.param(
            lambda: o.Oracle(worked_example(normalise=False)),
            {"M20": 4, "M92": 3},
            id="no-email-normalisation",
        ),
        pytest.param(
            lambda: UtcDateWindow(worked_example()),
            {"M60": 4, "M61": 1, "M20": 2, "M30": 5.0, "M70": 1, "M73": 25, "M92": 1},
            id="window-on-utc-date",
        ),
        pytest.param(lambda: NullHoursAsZero(worked_example()), {"M30": 3.5}, id="null-hours-as-zero"),
    ],
)
def test_oracle_06_9_wrong_answers_differ_from_the_oracle(variant: Any, wrong: dict[str, Any]) -> None:
    """06 §9 "wrong answers a test should catch": each wrong rule gives exactly the listed wrong
    figures, and each differs from the oracle, so the differential comparison flags it."""
    right = o.Oracle(worked_example()).metrics(SEPT)
    got = variant().metrics(SEPT)
    assert {k: got[k] for k in wrong} == wrong
    assert all(right[k] != wrong[k] for k in wrong)


def test_oracle_06_9_window_bounds_are_chicago_midnights() -> None:
    """G1: E6 (22:30 Chicago on 09-30 = 10-01 03:30Z) is in September, and the UTC bounds of the
    window are Chicago midnights on both sides of the DST change (CDT -5 h, CST -6 h)."""
    e6 = worked_example().events[5]
    assert e6.start_date == dt.datetime(2024, 10, 1, 3, 30, tzinfo=dt.UTC)
    assert o.Oracle.in_window(e6, SEPT.start, SEPT.end)
    assert chicago("2024-11-03", "00:00") == dt.datetime(2024, 11, 3, 5, 0, tzinfo=dt.UTC)
    assert chicago("2024-11-04", "00:00") == dt.datetime(2024, 11, 4, 6, 0, tzinfo=dt.UTC)
    assert chicago("2024-11-03", "01:30", fold=1) - chicago("2024-11-03", "01:30") == dt.timedelta(hours=1)


def test_oracle_hours_fallbacks_and_m110_examples() -> None:
    """§2 hours(): negative = NULL, explicit 0 stays 0, duration/60, end-start with a 1.0 floor,
    end before start = 0.0; M110 (100, 4, 3) -> 75 and (50, 3, 2) -> 33; pct rounds half up."""
    start = chicago("2024-09-12", "09:00")

    def e(**fields: Any) -> o.Event:
        return o.Event(1, "E", "career_fair", "in_person", "completed", start, **fields)

    def p(h: float | None) -> o.VolunteerParticipation:
        return o.VolunteerParticipation(1, 1, "attended", h)

    assert o.hours(p(0.0), e(duration=60)) == 0
    assert o.hours(p(-1.0), e(duration=90)) == Fraction(3, 2)
    assert o.hours(p(None), e(duration=0, end_date=start + dt.timedelta(minutes=45))) == 1
    assert o.hours(p(None), e(end_date=start + dt.timedelta(minutes=150))) == Fraction(5, 2)
    assert o.hours(p(None), e(end_date=start - dt.timedelta(minutes=30))) == 0
    in_person_2 = o.Event(2, "F", "career_fair", "in_person", "completed", start)
    virtual = o.Event(3, "V", "virtual_session", "virtual", "completed", start)
    oracle = o.Oracle(
        o.DataSet(
            events=[e(), in_person_2, virtual],
            attendance_details=[
                o.AttendanceDetail(1, 100, 4, 3),
                o.AttendanceDetail(2, 50, 3, 2),
                o.AttendanceDetail(3, 50, 3, 2),
            ],
        )
    )
    assert [oracle.m110(x) for x in oracle.data.events] == [75, 33, None]  # virtual: no M110
    window = o.Filters(dt.date(2024, 9, 12), dt.date(2024, 9, 12))
    assert oracle.metrics(window)["M111"] == 54.0  # round_half_up((75 + 33) / 2, 1)
    assert o.pct(1, 8) == 12.5 and o.pct(1, 16) == 6.3 and o.pct(0, 0) == 0.0
    assert o.round_half_up(Fraction(9, 4), 1) == 2.3


# --------------------------------------------------------------------------------------
# Differential: the HTTP endpoints against the oracle on generated data sets

# CI budget: 40 derandomised examples per test. POLARIS_DIFF_EXAMPLES=500 runs a deeper local hunt.
DIFFERENTIAL = settings(
    max_examples=int(os.environ.get("POLARIS_DIFF_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[o.DataSet, o.Filters]:
    """A data set and one G9/G10 filter combination that refers to its rows."""
    data = draw(datasets())
    start, end = draw(windows)
    live_districts = [d.id for d in data.districts if not d.is_deleted]
    live_schools = [s.id for s in data.schools if not s.is_deleted]
    kind = draw(st.sampled_from(["none", "none", "none", "district", "school", "type", "format", "host"]))
    f = o.Filters(start, end)
    if kind == "district":
        f = replace(f, district_id=draw(st.sampled_from(live_districts)))
    elif kind == "school" and live_schools:
        f = replace(f, school_id=draw(st.sampled_from(live_schools)))
    elif kind == "type":
        types = [t for t in EVENT_TYPES if t is not None]
        f = replace(
            f, event_types=tuple(draw(st.lists(st.sampled_from(types), min_size=1, max_size=2, unique=True)))
        )
    elif kind == "format":
        f = replace(f, event_format=draw(st.sampled_from(["in_person", "virtual"])))
    elif kind == "host":
        f = replace(f, host_filter="prepkc")
    return data, f


def metric_params(f: o.Filters, **extra: str) -> list[tuple[str, str]]:
    params = [
        ("start_date", f.start.isoformat()),
        ("end_date", f.end.isoformat()),
        ("host_filter", f.host_filter),
    ]
    if f.district_id is not None:
        params.append(("district_id", str(f.district_id)))
    if f.school_id is not None:
        params.append(("school_id", str(f.school_id)))
    params += [("event_type", t) for t in f.event_types]
    if f.event_format is not None:
        params.append(("event_format", f.event_format))
    return params + list(extra.items())


def comparable(metric_id: str, value: Any) -> Any:
    """The API's serialisation of one metric, in the oracle's shape."""
    if metric_id == "M110" and isinstance(value, list):  # [{event_id, value}] rows
        return {row["event_id"]: row["value"] for row in value if row.get("value") is not None}
    if metric_id == "M110" and isinstance(value, dict):
        return {int(k): v for k, v in value.items() if v is not None}
    return value


def differences(api: dict[str, Any], oracle: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{metric: (oracle, api)} for every metric that differs."""
    return {
        k: (v, api.get(k, "<missing>"))
        for k, v in oracle.items()
        if comparable(k, api.get(k, "<missing>")) != v
    }


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (``events.total``, ``event_types.career_fair``)."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def flat_differences(api: dict[str, Any], oracle: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{dotted key: (oracle, api)} over the keys of both sides (an empty object has no keys)."""
    a, b = flatten(api), flatten(oracle)
    return {
        k: (b.get(k, "<missing>"), a.get(k, "<missing>")) for k in a.keys() | b.keys() if a.get(k) != b.get(k)
    }


def describe(data: o.DataSet, f: o.Filters | None = None) -> str:
    return f"filters={f!r}\ndata={data!r}"


async def get_json(client: httpx.AsyncClient, path: str, params: Any, headers: dict[str, str]) -> Any:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def metrics_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["metrics"]


def groups_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["groups"]


def assert_grouped(
    rows: list[dict[str, Any]], oracle: o.Oracle, f: o.Filters, group_by: str, context: str
) -> None:
    """§4: each API row equals the oracle for its group; rows the API leaves out are empty groups;
    rows are ordered by name then id with Unknown last."""
    expected_rows = oracle.grouped(f, group_by)
    for row in rows:
        expected = oracle.group_row(f, group_by, row["group"]["id"])
        assert row["group"] == expected["group"], context
        diff = differences(row["metrics"], expected["metrics"])
        assert not diff, f"group {row['group']}: (oracle, api) {diff}\n{context}"
    shown = [row["group"]["id"] for row in rows]
    for expected in expected_rows:
        if expected["group"]["id"] not in shown:
            assert o.empty_metrics(expected["metrics"]), f"missing group {expected['group']}\n{context}"
    names = {row["group"]["id"]: row["group"]["name"] for row in rows}
    assert shown == sorted(shown, key=lambda i: (i is None, names[i], i or 0)), context


def worked_example_as_stored() -> o.DataSet:
    """06 §9 as the database can hold it: V1 and V2 share a normalised email, and 00 R2 makes
    them one volunteer record, so row 2 (V2 @ E2) is V1's; every listed figure is unchanged."""
    data = worked_example()
    rows = [replace(p, volunteer_id=1) if p.volunteer_id == 2 else p for p in data.volunteer_participations]
    return replace(
        data,
        volunteers=[v for v in data.volunteers if v.id != 2],
        volunteer_participations=rows,
    )


def presenter_world() -> o.DataSet:
    """Virtual sessions with local / of-colour presenters (M81-M84), a two-district event, an
    event named after two same-name districts, one after a deleted district's name."""
    day = chicago("2024-10-15", "10:00")

    def event(id_: int, type_: str, format_: str, **fields: Any) -> o.Event:
        return o.Event(id_, f"E{id_}", type_, format_, "completed", day, duration=60, **fields)

    return o.DataSet(
        districts=[
            o.District(1, "Alpha"),
            o.District(2, "alpha "),
            o.District(3, "Beta"),
            o.District(4, "Gamma", True),
        ],
        schools=[o.School(1, "North High", 3, "high"), o.School(2, "Old School", 1, None, True)],
        events=[
            event(1, "virtual_session", "virtual", district_ids=(1, 3)),
            event(2, "connector_session", "in_person", district_partner=" ALPHA "),
            event(3, "career_speaker", "virtual", district_partner="gamma", school_id=1),
            event(4, "career_fair", "in_person", school_id=2, session_host="PREPKC"),
        ],
        volunteers=[
            o.Volunteer(1, "ana@acme.org", "Acme", True, "local"),
            o.Volunteer(2, None, "ACME", False, "partial"),
            o.Volunteer(3, "cara@example.com", " Acme ", None, "local", exclude_from_reports=True),
        ],
        teachers=[
            o.Teacher(1, "t1@school.org", 1),
            o.Teacher(2, "t1@school.org", 1),
            o.Teacher(3, None, None),
        ],
        students=[o.Student(1, " 1001"), o.Student(2, "1001"), o.Student(3, "  ")],
        volunteer_participations=[
            o.VolunteerParticipation(1, 1, "attended", None, "presenter"),
            o.VolunteerParticipation(1, 2, "attended", 0.0, "volunteer"),
            o.VolunteerParticipation(2, 2, "completed", -1.0, "presenter"),
            o.VolunteerParticipation(3, 3, "attended", 1.25, "presenter"),
            o.VolunteerParticipation(3, 1, "no_show", 2.5, "presenter"),
            o.VolunteerParticipation(4, 1, "attended", 2.5, "volunteer"),
            o.VolunteerParticipation(4, 1, "attended", 0.5, "presenter"),
        ],
        student_participations=[
            o.StudentParticipation(4, 1, "attended"),
            o.StudentParticipation(4, 2, "attended"),
            o.StudentParticipation(4, 3, "attended"),
            o.StudentParticipation(1, 3, "attended"),
        ],
        teacher_participations=[
            o.TeacherParticipation(1, 1, "attended", o_confirmed()),
            o.TeacherParticipation(2, 2, "registered", o_confirmed()),
            o.TeacherParticipation(3, 3, "cancelled", None),
        ],
        attendance_details=[o.AttendanceDetail(4, 50, 3, 2), o.AttendanceDetail(2, 100, 4, 3)],
    )


OCTOBER = o.Filters(dt.date(2024, 10, 1), dt.date(2024, 10, 31))


@DIFFERENTIAL
@example(scenario=(worked_example_as_stored(), SEPT))
@example(scenario=(presenter_world(), OCTOBER))
@example(scenario=(presenter_world(), replace(OCTOBER, district_id=3)))
@given(scenario=scenarios())
async def test_metrics_match_the_oracle_ungrouped_and_grouped(
    db: AsyncEngine | AsyncConnection,
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    scenario: tuple[o.DataSet, o.Filters],
) -> None:
    """06 §2-§4: every metric of GET /metrics equals the oracle's, with the drawn G9/G10 filter,
    and grouped by district and by school."""
    data, f = scenario
    await clear(db)
    await insert(db, data)
    oracle = o.Oracle(data)
    headers = admin["headers"]
    body = await get_json(client, "/api/v1/metrics", metric_params(f), headers)
    diff = differences(metrics_of(body), oracle.metrics(f))
    assert not diff, f"(oracle, api) {diff}\n{describe(data, f)}"
    # grouped: the type/format/host filters apply too; which rows a district_id or school_id
    # filter leaves in a grouped answer is not specified (§4), so grouped calls drop those two
    window = replace(f, district_id=None, school_id=None)
    for group_by in ("district", "school"):
        body = await get_json(client, "/api/v1/metrics", metric_params(window, group_by=group_by), headers)
        assert_grouped(groups_of(body), oracle, window, group_by, describe(data, window))


@DIFFERENTIAL
@example(data=presenter_world(), school_year="2425", host="all")
@given(data=datasets(), school_year=st.sampled_from(SCHOOL_YEARS), host=st.sampled_from(["all", "prepkc"]))
async def test_year_end_enhanced_matches_the_oracle(
    db: AsyncEngine | AsyncConnection,
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    data: o.DataSet,
    school_year: str,
    host: str,
) -> None:
    """06 §6.2-6.4: the ``enhanced`` block of every live district's year-end report equals the
    oracle's (B(d) with the teacher-school exception, connector sessions as virtual)."""
    await clear(db)
    await insert(db, data)
    oracle = o.Oracle(data)
    start, end = o.school_year_window(school_year)
    for district in data.districts:
        if district.is_deleted:
            continue
        params = {"school_year": school_year, "host_filter": host}
        body = await get_json(
            client, f"/api/v1/reports/districts/{district.id}/year-end", params, admin["headers"]
        )
        diff = flat_differences(body["enhanced"], oracle.enhanced(district.id, start, end, host))
        assert not diff, (
            f"district {district.id} {school_year} {host}: (oracle, api) {diff}\n{describe(data)}"
        )


async def test_g8_setting_n_drives_m73_and_the_year_end_estimate(
    db: AsyncEngine | AsyncConnection, client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    """G8: with virtual_students_per_teacher = 7, M73 (ungrouped and grouped) and the year-end
    ``students.virtual``/``total`` equal the oracle's with N = 7, and meta echoes it."""
    data = presenter_world()
    await clear(db)
    await insert(db, data)
    response = await client.put(
        "/api/v1/settings/reporting", json={"virtual_students_per_teacher": 7}, headers=admin["headers"]
    )
    assert response.status_code == 200, response.text
    oracle = o.Oracle(data, n=7)
    body = await get_json(client, "/api/v1/metrics", metric_params(OCTOBER), admin["headers"])
    assert body["meta"]["parameters"]["virtual_students_per_teacher"] == 7
    assert not differences(metrics_of(body), oracle.metrics(OCTOBER))
    assert metrics_of(body)["M73"] == 7 * metrics_of(body)["M70"] > 0
    body = await get_json(
        client, "/api/v1/metrics", metric_params(OCTOBER, group_by="district"), admin["headers"]
    )
    assert_grouped(groups_of(body), oracle, OCTOBER, "district", describe(data, OCTOBER))
    start, end = o.school_year_window("2425")
    for district_id in (1, 3):
        path = f"/api/v1/reports/districts/{district_id}/year-end"
        body = await get_json(client, path, {"school_year": "2425"}, admin["headers"])
        assert not flat_differences(body["enhanced"], oracle.enhanced(district_id, start, end))
    assert oracle.enhanced(3, start, end)["students"]["virtual"] == 7


# --------------------------------------------------------------------------------------
# 07 DV-1: nothing personal in what a district user gets from metrics and year-end reports

DV1_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "middle_name",
        "full_name",
        "email",
        "emails",
        "email_normalized",
        "phone",
        "phones",
        "race_ethnicity",
        "gender",
        "education",
        "age_group",
        "birthdate",
        "is_people_of_color",
        "student_id",
        "student_ids",
        "attendance",
        "participants",
        "volunteer_names",
    }
)
# values that only a DV-1 field could carry: volunteer/student names, emails, school-issued ids
DV1_MARKERS = ("Volunteer1", "Volunteer2", "Student1", "Student2", "dv1.secret", "SID-DV1")


def dv1_world() -> o.DataSet:
    """One district with an in-person event (2 volunteers, 2 students) and a virtual session (a
    teacher of the district), in September 2024 (school year 2425)."""
    in_person = o.Event(
        1,
        "Career Fair",
        "career_fair",
        "in_person",
        "completed",
        chicago("2024-09-12", "09:00"),
        duration=60,
        school_id=1,
    )
    virtual = o.Event(
        2,
        "Virtual",
        "virtual_session",
        "virtual",
        "completed",
        chicago("2024-09-20", "13:00"),
        district_ids=(1,),
    )
    return o.DataSet(
        districts=[o.District(1, "Alpha"), o.District(2, "Beta")],
        schools=[o.School(1, "North High", 1, "high")],
        events=[in_person, virtual],
        volunteers=[
            o.Volunteer(1, "dv1.secret.one@acme.org", "Acme", True, "local"),
            o.Volunteer(2, "dv1.secret.two@beta.org", "Beta", False, "partial"),
        ],
        students=[o.Student(1, "SID-DV1-0001"), o.Student(2, "SID-DV1-0002")],
        teachers=[o.Teacher(1, "teacher@school.org", 1)],
        volunteer_participations=[
            o.VolunteerParticipation(1, 1, "attended", 2.0),
            o.VolunteerParticipation(2, 2, "attended", 1.0, "presenter"),
        ],
        student_participations=[
            o.StudentParticipation(1, 1, "attended"),
            o.StudentParticipation(1, 2, "attended"),
        ],
        teacher_participations=[o.TeacherParticipation(2, 1, "attended", o_confirmed())],
    )


def dv1_violations(value: Any, path: str = "$") -> list[str]:
    """Recursive scan of a JSON value: DV-1 keys anywhere, personal values anywhere."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in DV1_KEYS:
                found.append(f"key {path}.{key}")
            found += dv1_violations(key, f"{path}.<key>") + dv1_violations(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += dv1_violations(item, f"{path}[{index}]")
    elif isinstance(value, str) and any(marker.lower() in value.lower() for marker in DV1_MARKERS):
        found.append(f"value {path}={value!r}")
    return found


def export_cells(response: httpx.Response) -> Any:
    """An export as JSON-like data: CSV rows, or every XLSX sheet's rows, plus the meta header."""
    content_type = response.headers["content-type"]
    if "csv" in content_type:
        rows: Any = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        meta = response.headers.get("x-report-meta")
        decoded = json.loads(base64.urlsafe_b64decode(meta + "=" * (-len(meta) % 4))) if meta else None
        return {
            "rows": rows,
            "meta": decoded,
            "header_keys": {cell: None for cell in rows[0]} if rows else {},
        }
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    sheets = {}
    for sheet in workbook.worksheets:
        values = [[cell for cell in row if cell is not None] for row in sheet.iter_rows(values_only=True)]
        sheets[sheet.title] = {"rows": [[str(c) for c in row] for row in values]}
        if values:
            sheets[sheet.title]["header_keys"] = {str(c): None for c in values[0]}
    return sheets


async def test_dv1_district_user_sees_no_personal_field_in_metrics_reports_or_exports(
    db: AsyncEngine | AsyncConnection, client: httpx.AsyncClient, make_user: Any
) -> None:
    """07 DV-1/DV-3: a district user's /metrics (own district_id, ungrouped and grouped), year-end
    body and every CSV/XLSX export carry no DV-1 key and no volunteer/student name, email or id
    (recursive scan); another district's id is 403 (AC-6)."""
    await clear(db)
    await insert(db, dv1_world())
    user = await make_user(level=0, districts=[1])
    headers = user["headers"]
    sept = [("start_date", "2024-09-01"), ("end_date", "2024-09-30"), ("district_id", "1")]
    checked: dict[str, Any] = {}
    for extra in ([], [("group_by", "school")], [("group_by", "district")]):
        body = await get_json(client, "/api/v1/metrics", sept + extra, headers)
        checked[f"metrics {extra}"] = body
        if not extra:
            assert metrics_of(body)["M20"] == 2  # the data is really there
    year_end = "/api/v1/reports/districts/1/year-end"
    body = await get_json(client, year_end, {"school_year": "2425"}, headers)
    assert body["enhanced"]["volunteers"]["unique_total"] == 2
    checked["year-end"] = body
    exports = [
        ("/api/v1/metrics", [*sept, ("format", "csv")]),
        ("/api/v1/metrics", [*sept, ("format", "xlsx")]),
        ("/api/v1/metrics", [*sept, ("group_by", "school"), ("format", "csv")]),
        ("/api/v1/metrics", [*sept, ("group_by", "school"), ("format", "xlsx")]),
        (year_end, [("school_year", "2425"), ("format", "csv"), ("part", "timeline")]),
        (year_end, [("school_year", "2425"), ("format", "csv"), ("part", "by_school")]),
        (year_end, [("school_year", "2425"), ("format", "xlsx")]),
    ]
    for path, params in exports:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, params, response.text)
        checked[f"{path} {params}"] = export_cells(response)
    violations = {name: found for name, value in checked.items() if (found := dv1_violations(value))}
    assert not violations, violations
    for path, params in [
        ("/api/v1/metrics", [("start_date", "2024-09-01"), ("end_date", "2024-09-30"), ("district_id", "2")]),
        ("/api/v1/reports/districts/2/year-end", [("school_year", "2425")]),
    ]:
        assert (await client.get(path, params=params, headers=headers)).status_code == 403
