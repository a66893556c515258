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

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest

from tests import metrics_oracle as o
from tests.metrics_datasets import chicago

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


def test_oracle_06_9_worked_example_gives_the_listed_values() -> None:
    """06 §9: every listed figure, exactly (M30 serialised as 6.0)."""
    metrics = o.Oracle(worked_example()).metrics(SEPT)
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
