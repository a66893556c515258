"""04 TP-1..TP-4 and 06 §5: teacher progress computed on read, its window, count, status and views.

Service functions take ``now``; the tests fix it (2026-03-01 12:00 America/Chicago unless a test
needs a window edge). Endpoint tests use data relative to the real clock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event as sa_event

from polaris_api.db import utcnow
from polaris_api.models.teachers import TeacherProgress
from polaris_api.services import teacher_progress as tp
from tests.factories import make_district, make_school
from tests.teacher_factories import (
    ZONE,
    link_teacher,
    local,
    make_override,
    make_record,
    make_teacher,
    make_virtual_event,
)

NOW = local(2026, 3, 1, 12)


async def progress(session, record, now=NOW, academic_year=None):
    window = tp.window_for(academic_year or record.academic_year, ZONE)
    return await tp.record_progress(session, record.id, window, now)


async def _teacher_with_record(session, target=1, academic_year="2025-2026"):
    district = await make_district(session)
    teacher = await make_teacher(session, email="maria@riverbend.example")
    record = await make_record(
        session,
        district,
        "maria@riverbend.example",
        teacher=teacher,
        target_sessions=target,
        academic_year=academic_year,
    )
    return district, teacher, record


# --------------------------------------------------------------------------------------- TP-1


async def test_tp_1_status_is_derived_never_stored(session):
    assert "status" not in TeacherProgress.__table__.columns
    assert "attended_count" not in TeacherProgress.__table__.columns
    _, teacher, record = await _teacher_with_record(session)
    await session.commit()
    stamp = record.updated_at
    assert (await progress(session, record))["status"] == "not_started"
    await link_teacher(session, await make_virtual_event(session, local(2025, 10, 1, 9)), teacher)
    await session.commit()
    assert (await progress(session, record))["status"] == "achieved"  # no write to the record
    await session.refresh(record)
    assert record.updated_at == stamp


# --------------------------------------------------------------------------------------- TP-2


def test_tp_2_academic_year_window_is_aug_1_local():
    window = tp.window_for("2025-2026", ZONE)
    assert window.start == dt.datetime(2025, 8, 1, 5, 0, tzinfo=dt.UTC)  # 00:00 CDT
    assert window.end == dt.datetime(2026, 8, 1, 5, 0, tzinfo=dt.UTC)


def test_tp_2_default_year_is_the_one_containing_local_today():
    # 2025-08-01 04:59Z is still Jul 31 in Chicago
    assert tp.current_academic_year(ZONE, dt.datetime(2025, 8, 1, 4, 59, 59, tzinfo=dt.UTC)) == "2024-2025"
    assert tp.current_academic_year(ZONE, dt.datetime(2025, 8, 1, 5, 0, tzinfo=dt.UTC)) == "2025-2026"
    assert tp.current_academic_year(ZONE, local(2026, 1, 15)) == "2025-2026"
    assert tp.current_academic_year(ZONE, local(2026, 7, 31, 23, 59)) == "2025-2026"


async def test_tp_2_event_on_aug_1_and_jul_31_local_fall_in_their_years(session):
    district = await make_district(session)
    teacher = await make_teacher(session, email="edge@example.org")
    old = await make_record(session, district, "edge@example.org", teacher=teacher, academic_year="2024-2025")
    new = await make_record(session, district, "edge@example.org", teacher=teacher, academic_year="2025-2026")
    jul_31 = await make_virtual_event(session, local(2025, 7, 31, 23, 59, 59))
    await link_teacher(session, jul_31, teacher)
    await session.commit()
    assert (await progress(session, old))["attended_count"] == 1
    assert (await progress(session, new))["attended_count"] == 0
    aug_1 = await make_virtual_event(session, local(2025, 8, 1, 0, 0, 0))
    await link_teacher(session, aug_1, teacher)
    await session.commit()
    assert (await progress(session, old))["attended_count"] == 1
    assert (await progress(session, new))["attended_count"] == 1
    jul_31_next = await make_virtual_event(session, local(2026, 7, 31, 23, 59))
    aug_1_next = await make_virtual_event(session, local(2026, 8, 1, 0, 0))
    await link_teacher(session, jul_31_next, teacher)
    await link_teacher(session, aug_1_next, teacher)
    await session.commit()
    assert (await progress(session, new, now=local(2026, 9, 1)))["attended_count"] == 2


async def test_tp_2_invalid_academic_year_is_422(client, admin):
    for value in ("2025-2027", "2025", "25-26"):
        response = await client.get(
            "/api/v1/teacher-progress", params={"academic_year": value}, headers=admin["headers"]
        )
        assert response.status_code == 422, value


# --------------------------------------------------------------------------------------- TP-3


async def test_tp_3_counts_distinct_confirmed_virtual_events_in_window(session):
    _, teacher, record = await _teacher_with_record(session, target=10)
    other = await make_teacher(session, "Andre", "Wallace", email="andre@example.org")
    counted = await make_virtual_event(session, local(2025, 9, 10, 9))
    await link_teacher(session, counted, teacher)
    connector = await make_virtual_event(
        session, local(2025, 9, 11, 9), type="connector_session", format="in_person"
    )
    await link_teacher(session, connector, teacher)
    virtual_format = await make_virtual_event(session, local(2025, 9, 12, 9), type="career_talk")
    await link_teacher(session, virtual_format, teacher)
    # not counted: unconfirmed, in person, deleted event, deleted link, another teacher, another year
    unconfirmed = await make_virtual_event(session, local(2025, 9, 13, 9))
    await link_teacher(session, unconfirmed, teacher, "registered")
    attended_unconfirmed = await make_virtual_event(session, local(2025, 9, 13, 10))
    await link_teacher(session, attended_unconfirmed, teacher, "attended", confirmed=False)
    in_person = await make_virtual_event(
        session, local(2025, 9, 14, 9), type="career_fair", format="in_person"
    )
    await link_teacher(session, in_person, teacher)
    deleted = await make_virtual_event(session, local(2025, 9, 15, 9), is_deleted=True)
    await link_teacher(session, deleted, teacher)
    deleted_link = await make_virtual_event(session, local(2025, 9, 16, 9))
    await link_teacher(session, deleted_link, teacher, is_deleted=True)
    await link_teacher(session, await make_virtual_event(session, local(2025, 9, 17, 9)), other)
    await link_teacher(session, await make_virtual_event(session, local(2024, 9, 17, 9)), teacher)
    await session.commit()
    result = await progress(session, record)
    assert result["attended_count"] == 3
    assert result["status"] == "not_started"


async def test_tp_3_adds_removes_and_records_without_teacher(session):
    _, teacher, record = await _teacher_with_record(session, target=5)
    a, b, c, d = [await make_virtual_event(session, local(2025, 10, day, 9)) for day in (1, 2, 3, 4)]
    await link_teacher(session, a, teacher)
    await link_teacher(session, b, teacher)
    await make_override(session, record, b, "remove")  # counted → removed
    await make_override(session, record, c, "add")  # not counted → added
    await make_override(session, record, a, "add")  # already counted: not in adds
    await make_override(session, record, d, "remove")  # not counted: not in removes
    await make_override(session, record, d, "add", is_active=False)  # reversed: ignored
    outside = await make_virtual_event(session, local(2025, 7, 1, 9))
    await make_override(session, record, outside, "add")  # outside the window: ignored
    # P without a teacher: only adds count
    lone = await make_record(session, await make_district(session), "nobody@example.org")
    await make_override(session, lone, c, "add")
    await make_override(session, lone, a, "remove")
    await session.commit()
    assert (await progress(session, record))["attended_count"] == 2  # |{a,b}| + |{c}| - |{b}|
    lone_progress = await progress(session, lone)
    assert (lone_progress["attended_count"], lone_progress["status"]) == (1, "achieved")


# --------------------------------------------------------------------------------------- TP-4


async def test_tp_4_status_rules_at_their_boundaries(session):
    district = await make_district(session)
    n = iter(range(100))

    async def pair(target):
        i = next(n)
        teacher = await make_teacher(session, "T", f"Teacher{i}", email=f"t{i}@example.org")
        return teacher, await make_record(
            session, district, f"t{i}@example.org", teacher=teacher, target_sessions=target
        )

    soon = NOW + dt.timedelta(days=2)
    # target_sessions 2: one attended is not enough, two is achieved
    two_t, two = await pair(2)
    await link_teacher(session, await make_virtual_event(session, local(2025, 9, 1, 9)), two_t)
    # completion + a future signup → achieved (row 1 wins)
    done_t, done = await pair(1)
    await link_teacher(session, await make_virtual_event(session, local(2025, 9, 1, 9)), done_t)
    await link_teacher(
        session, await make_virtual_event(session, soon, status="confirmed"), done_t, "registered"
    )
    # a future signup one second ahead → in_progress
    next_t, upcoming = await pair(2)
    await link_teacher(
        session,
        await make_virtual_event(session, NOW + dt.timedelta(seconds=1), status="confirmed"),
        next_t,
        "registered",
    )
    # a future session in a later year still counts for row 2 (it has no window)
    later_t, later = await pair(1)
    await link_teacher(
        session,
        await make_virtual_event(session, local(2026, 9, 1, 9), status="confirmed"),
        later_t,
        "registered",
    )
    # no_show, cancelled links, cancelled / no-show / deleted future sessions, past registrations: never
    never_t, never = await pair(1)
    await link_teacher(
        session, await make_virtual_event(session, soon, status="confirmed"), never_t, "no_show"
    )
    await link_teacher(
        session, await make_virtual_event(session, soon, status="confirmed"), never_t, "cancelled"
    )
    await link_teacher(
        session, await make_virtual_event(session, soon, status="cancelled"), never_t, "registered"
    )
    await link_teacher(
        session, await make_virtual_event(session, soon, status="no_show"), never_t, "registered"
    )
    await link_teacher(
        session,
        await make_virtual_event(session, soon, status="confirmed"),
        never_t,
        "registered",
        is_deleted=True,
    )
    await link_teacher(
        session,
        await make_virtual_event(session, NOW - dt.timedelta(days=2), status="confirmed"),
        never_t,
        "registered",
    )
    await session.commit()

    async def state(record, now=NOW):
        result = await progress(session, record, now=now)
        return result["attended_count"], result["status"]

    assert await state(two) == (1, "not_started")
    assert await state(done) == (1, "achieved")
    assert await state(upcoming) == (0, "in_progress")
    assert await state(upcoming, now=NOW + dt.timedelta(seconds=1)) == (
        0,
        "not_started",
    )  # started: not future
    assert await state(later) == (0, "in_progress")
    assert await state(never) == (0, "not_started")
    await link_teacher(session, await make_virtual_event(session, local(2025, 9, 2, 9)), two_t)
    await session.commit()
    assert await state(two) == (2, "achieved")
    await link_teacher(session, await make_virtual_event(session, local(2025, 9, 3, 9)), two_t)
    await session.commit()
    assert await state(two) == (3, "achieved")  # above target


def test_tp_4_status_rule_on_plain_values():
    assert tp.status_of(2, 2, False) == "achieved"
    assert tp.status_of(2, 2, True) == "achieved"
    assert tp.status_of(1, 2, True) == "in_progress"
    assert tp.status_of(1, 2, False) == "not_started"


# --------------------------------------------------------------------------------------- endpoints


async def _current_year_setup(session):
    """Two districts, schools, records of the current academic year; events relative to now."""
    now = utcnow()
    year = tp.current_academic_year(ZONE, now)
    window = tp.window_for(year, ZONE)
    past = max(window.start + dt.timedelta(minutes=1), now - dt.timedelta(hours=2))
    north_d = await make_district(session, "Riverbend USD")
    south_d = await make_district(session, "Lakeview Schools")
    north = await make_school(session, "Northgate Elementary", district=north_d)
    west = await make_school(session, "Westport High School", district=north_d)
    lake = await make_school(session, "Lakeview Middle", district=south_d)
    maria = await make_teacher(session, "Maria", "Delgado", email="maria@example.org")
    andre = await make_teacher(session, "Andre", "Wallace", email="andre@example.org")
    sam = await make_teacher(session, "Samuel", "Okafor", email="sam@example.org")
    done = await make_virtual_event(session, past)
    await link_teacher(session, done, maria)
    future = await make_virtual_event(session, now + dt.timedelta(days=30), status="confirmed")
    await link_teacher(session, future, sam, "registered")
    records = {
        "maria": await make_record(
            session,
            north_d,
            "maria@example.org",
            name="Maria Delgado",
            teacher=maria,
            school=north,
            academic_year=year,
        ),
        "andre": await make_record(
            session,
            north_d,
            "andre@example.org",
            name="Andre Wallace",
            teacher=andre,
            school=west,
            academic_year=year,
        ),
        "sam": await make_record(
            session,
            north_d,
            "sam@example.org",
            name="Samuel Okafor",
            teacher=sam,
            building="Unknown Academy",
            academic_year=year,
        ),
        "inactive": await make_record(
            session,
            north_d,
            "gone@example.org",
            name="Gone Teacher",
            school=north,
            academic_year=year,
            is_active=False,
            deactivation_source="import_diff",
        ),
        "lake": await make_record(
            session, south_d, "lin@example.org", name="Grace Lin", school=lake, academic_year=year
        ),
    }
    await session.commit()
    return {
        "year": year,
        "districts": (north_d, south_d),
        "schools": (north, west, lake),
        "records": records,
        "done": done,
    }


async def test_tp_list_filters_statuses_and_pagination(client, session, admin):
    ctx = await _current_year_setup(session)
    north_d, south_d = ctx["districts"]
    headers = admin["headers"]
    body = (await client.get("/api/v1/teacher-progress", headers=headers)).json()
    assert body["total"] == 4
    statuses = {item["email"]: (item["attended_count"], item["status"]) for item in body["items"]}
    assert statuses == {
        "maria@example.org": (1, "achieved"),
        "andre@example.org": (0, "not_started"),
        "sam@example.org": (0, "in_progress"),
        "lin@example.org": (0, "not_started"),
    }
    assert body["meta"]["metrics_version"] == "1.1"
    assert body["meta"]["filters"]["academic_year"] == ctx["year"]
    assert body["meta"]["filters"]["timezone"] == "America/Chicago"
    assert set(body["items"][0]) >= {
        "id",
        "name",
        "email",
        "building",
        "school_id",
        "grade",
        "target_sessions",
        "attended_count",
        "status",
    }

    async def emails(**params):
        response = await client.get("/api/v1/teacher-progress", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["email"] for item in response.json()["items"]]

    assert await emails(district_id=south_d.id) == ["lin@example.org"]
    assert await emails(school_id=ctx["schools"][1].id) == ["andre@example.org"]
    assert sorted(await emails(status="not_started")) == ["andre@example.org", "lin@example.org"]
    assert await emails(status="in_progress") == ["sam@example.org"]
    assert await emails(q="DELGADO") == ["maria@example.org"]
    assert await emails(academic_year="2001-2002") == []
    page = (
        await client.get("/api/v1/teacher-progress", params={"page_size": 2, "page": 2}, headers=headers)
    ).json()
    assert (page["total"], len(page["items"]), page["page"]) == (4, 2, 2)
    assert (
        await client.get("/api/v1/teacher-progress", params={"status": "done"}, headers=headers)
    ).status_code == 422
    assert "gone@example.org" not in await emails(page_size=200)  # TP-1: inactive records are left out


async def test_tp_list_costs_a_fixed_number_of_queries(client, session, app, admin):
    """06 P1: one statement per page (plus count and meta), whatever the number of records."""
    ctx = await _current_year_setup(session)
    north_d = ctx["districts"][0]

    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa_event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
    try:
        await client.get("/api/v1/teacher-progress", headers=admin["headers"])
        few = len(statements)
        for n in range(25):
            teacher = await make_teacher(session, "T", f"Teacher{n}", email=f"t{n}@example.org")
            await link_teacher(session, ctx["done"], teacher)
            await make_record(
                session, north_d, f"t{n}@example.org", teacher=teacher, academic_year=ctx["year"]
            )
        await session.commit()
        statements.clear()
        response = await client.get("/api/v1/teacher-progress", headers=admin["headers"])
        assert response.json()["total"] == 29
        assert len(statements) == few
    finally:
        sa_event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)


async def test_tp_summary_counts(client, session, admin):
    ctx = await _current_year_setup(session)
    north_d, south_d = ctx["districts"]
    body = (await client.get("/api/v1/teacher-progress/summary", headers=admin["headers"])).json()
    assert body["academic_year"] == ctx["year"]
    assert [d["district"]["name"] for d in body["districts"]] == ["Lakeview Schools", "Riverbend USD"]
    river = body["districts"][1]
    assert (river["teachers"], river["achieved"], river["in_progress"], river["not_started"]) == (3, 1, 1, 1)
    assert river["schools"] == 2  # the Unknown group is not a school
    names = [row["school"]["name"] for row in river["by_school"]]
    assert names == ["Northgate Elementary", "Westport High School", "Unknown"]
    assert river["by_school"][-1]["school"]["id"] is None
    for district in body["districts"]:
        assert (
            district["achieved"] + district["in_progress"] + district["not_started"] == district["teachers"]
        )
        assert sum(row["teachers"] for row in district["by_school"]) == district["teachers"]
        for row in district["by_school"]:
            assert row["achieved"] + row["in_progress"] + row["not_started"] == row["teachers"]
    one = (
        await client.get(
            "/api/v1/teacher-progress/summary", params={"district_id": south_d.id}, headers=admin["headers"]
        )
    ).json()
    assert [d["district"]["id"] for d in one["districts"]] == [south_d.id]
    empty = await make_district(session, "Empty District")
    await session.commit()
    zero = (
        await client.get(
            "/api/v1/teacher-progress/summary", params={"district_id": empty.id}, headers=admin["headers"]
        )
    ).json()
    assert zero["districts"][0]["teachers"] == 0 and zero["districts"][0]["by_school"] == []


async def test_tp_detail_sessions_match_the_count(client, session, admin):
    ctx = await _current_year_setup(session)
    record = ctx["records"]["maria"]
    body = (await client.get(f"/api/v1/teacher-progress/{record.id}", headers=admin["headers"])).json()
    assert body["attended_count"] == 1 and body["status"] == "achieved"
    assert [(s["event_id"], s["counted"], s["source"]) for s in body["sessions"]] == [
        (ctx["done"].id, True, "import")
    ]
    assert body["overrides"] == []
    assert (await client.get("/api/v1/teacher-progress/999999", headers=admin["headers"])).status_code == 404


async def test_tp_district_user_sees_only_own_districts(client, session, make_user):
    ctx = await _current_year_setup(session)
    north_d, south_d = ctx["districts"]
    user = await make_user(level=0, districts=[north_d.id])
    headers = user["headers"]
    listing = (await client.get("/api/v1/teacher-progress", headers=headers)).json()
    assert {item["district_id"] for item in listing["items"]} == {north_d.id}
    summary = (await client.get("/api/v1/teacher-progress/summary", headers=headers)).json()
    assert [d["district"]["id"] for d in summary["districts"]] == [north_d.id]
    own = ctx["records"]["maria"].id
    other = ctx["records"]["lake"].id
    assert (await client.get(f"/api/v1/teacher-progress/{own}", headers=headers)).status_code == 200
    # AC-6: another district's id in the query or the path → 403
    for path, params in (
        ("/api/v1/teacher-progress", {"district_id": south_d.id}),
        ("/api/v1/teacher-progress/summary", {"district_id": south_d.id}),
        (f"/api/v1/teacher-progress/{other}", {}),
    ):
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 403, path
        assert response.headers["content-type"] == "application/problem+json"
    nobody = await make_user(level=0, districts=[])
    assert (await client.get("/api/v1/teacher-progress", headers=nobody["headers"])).json()["total"] == 0
