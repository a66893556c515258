"""Staff event reads (00 §5.1 ``GET /api/v1/events``, ``GET /api/v1/events/{id}``; 07 CAP, AC-6,
DV-1, DV-2): filters, order and pagination, the staff and district views, scoping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from polaris_api.schemas.events import DistrictEventDetail, DistrictEventListItem, EventDetail
from tests.factories import make_district, make_event, make_school
from tests.read_factories import make_participation, make_student_attendance, make_volunteer, tag_teacher

EVENTS = "/api/v1/events"
DAY = dt.date(2025, 3, 10)

# 07 DV-1: keys that would carry a person's identity or demographics.
DV1_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "middle_name",
        "full_name",
        "email",
        "emails",
        "phone",
        "phones",
        "gender",
        "race_ethnicity",
        "education",
        "age_group",
        "birthdate",
        "student_id",
        "students",
        "volunteer_id",
        "volunteers",
        "teachers",
        "note",
    }
)


def all_keys(value: Any) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        keys = set(value)
        for item in value.values():
            keys |= all_keys(item)
        return keys
    if isinstance(value, list):
        keys = set()
        for item in value:
            keys |= all_keys(item)
        return keys
    return set()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def world(session) -> dict[str, Any]:
    alpha = await make_district(session, "Alpha District")
    beta = await make_district(session, "Beta District")
    gamma = await make_district(session, "Gamma District")
    alpha_high = await make_school(session, "Alpha High", district=alpha)
    beta_high = await make_school(session, "Beta High", district=beta)
    gamma_middle = await make_school(session, "Gamma Middle", district=gamma)
    common = {"publishing": False, "salesforce_id": True}
    linked = await make_event(
        session,
        title="Career Fair at Alpha",
        start_day=DAY - dt.timedelta(days=10),
        status="completed",
        districts=[alpha],
        **common,
    )
    by_school = await make_event(
        session,
        title="Virtual Careers Beta",
        start_day=DAY - dt.timedelta(days=5),
        type="virtual_session",
        format="virtual",
        status="completed",
        school_id=beta_high.id,
        **common,
    )
    by_teacher = await make_event(
        session,
        title="Pathful Session Gamma",
        start_day=DAY - dt.timedelta(days=1),
        type="virtual_session",
        format="virtual",
        status="confirmed",
        location="Online",
        **common,
    )
    await tag_teacher(session, by_teacher, school=gamma_middle, first_name="Greta", last_name="Gammateacher")
    same_day_a = await make_event(
        session, title="Same Day A", start_day=DAY, school_id=alpha_high.id, **common
    )
    same_day_b = await make_event(session, title="Same Day B", start_day=DAY, districts=[beta], **common)
    undated = await make_event(session, title="Undated Idea", start_day=None, days_ahead=None, **common)
    deleted = await make_event(
        session, title="Deleted in SF", start_day=DAY, districts=[alpha], is_deleted=True, **common
    )
    # participants of the linked event: two volunteers, three students, one teacher
    ana = await make_volunteer(
        session, "Ana", "Lopez", email="ana.lopez@acme.example", phone="816-555-0101", gender="female"
    )
    bob = await make_volunteer(session, "Bob", "Smith", email="bob.smith@beacon.example")
    await make_participation(session, ana, linked, "attended", hours=2.5)
    await make_participation(session, bob, linked, "registered", hours=None)
    await make_student_attendance(session, linked, "attended")
    await make_student_attendance(session, linked, "attended")
    await make_student_attendance(session, linked, "no_show")
    await tag_teacher(session, linked, school=alpha_high, status="registered")
    await session.commit()
    return {
        "alpha": alpha.id,
        "beta": beta.id,
        "gamma": gamma.id,
        "beta_high": beta_high.id,
        "alpha_high": alpha_high.id,
        "linked": linked.id,
        "by_school": by_school.id,
        "by_teacher": by_teacher.id,
        "same_day_a": same_day_a.id,
        "same_day_b": same_day_b.id,
        "undated": undated.id,
        "deleted": deleted.id,
    }


async def test_events_list_newest_first_stable_without_deleted_and_filtered(client, admin, world):
    everything = await client.get(EVENTS, headers=admin["headers"])
    assert ids(everything) == [
        world["same_day_a"],
        world["same_day_b"],
        world["by_teacher"],
        world["by_school"],
        world["linked"],
        world["undated"],
    ]
    assert everything.json()["total"] == 6
    pages = []
    for page in (1, 2, 3):
        response = await client.get(EVENTS, headers=admin["headers"], params={"page": page, "page_size": 2})
        assert response.json()["total"] == 6
        pages.extend(ids(response))
    assert pages == ids(everything)
    assert ids(await client.get(EVENTS, headers=admin["headers"], params={"page": 4, "page_size": 2})) == []

    async def query(**params: Any) -> list[int]:
        return ids(await client.get(EVENTS, headers=admin["headers"], params=params))

    assert await query(format="virtual") == [world["by_teacher"], world["by_school"]]
    assert await query(event_type="virtual_session", status="confirmed") == [world["by_teacher"]]
    assert await query(status="completed") == [world["by_school"], world["linked"]]
    assert await query(
        start_date=(DAY - dt.timedelta(days=5)).isoformat(), end_date=(DAY - dt.timedelta(days=1)).isoformat()
    ) == [
        world["by_teacher"],
        world["by_school"],
    ]
    assert await query(start_date=DAY.isoformat()) == [world["same_day_a"], world["same_day_b"]]
    # an event's districts: its links, its school's district, its linked teachers' schools' districts
    assert await query(district_id=world["alpha"]) == [world["same_day_a"], world["linked"]]
    assert await query(district_id=world["beta"]) == [world["same_day_b"], world["by_school"]]
    assert await query(district_id=world["gamma"]) == [world["by_teacher"]]
    assert await query(school_id=world["beta_high"]) == [world["by_school"]]
    assert await query(q="career") == [world["by_school"], world["linked"]]
    assert await query(q="online") == [world["by_teacher"]]
    assert await query(q="100%_") == []
    assert await query(format="virtual", district_id=world["alpha"]) == []


async def test_event_detail_staff_view_has_participants_and_aggregates(client, admin, world):
    """Global staff (and a global admin's ``read`` key) see participants by name; deleted → 404."""
    response = await client.get(f"{EVENTS}/{world['linked']}", headers=admin["headers"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["view"] == "staff"
    assert body["title"] == "Career Fair at Alpha"
    assert [d["name"] for d in body["districts"]] == ["Alpha District"]
    assert body["participants"] == {
        "volunteer_participations": 2,
        "volunteers_attended": 1,
        "volunteer_hours": 2.5,
        "students_reached": 2,
        "teachers_tagged": 1,
        "teachers_attended": 0,
    }
    volunteers = {v["last_name"]: v for v in body["volunteers"]}
    assert set(volunteers) == {"Lopez", "Smith"}
    assert (
        volunteers["Lopez"]["attended"] is True and volunteers["Lopez"]["email"] == "ana.lopez@acme.example"
    )
    assert volunteers["Smith"]["status"] == "registered" and volunteers["Smith"]["attended"] is False
    assert [t["last_name"] for t in body["teachers"]] == ["Delgado"]
    gamma = (await client.get(f"{EVENTS}/{world['by_teacher']}", headers=admin["headers"])).json()
    assert [d["name"] for d in gamma["districts"]] == ["Gamma District"]
    listed = (
        await client.get(EVENTS, headers=admin["headers"], params={"district_id": world["alpha"]})
    ).json()
    assert {item["view"] for item in listed["items"]} == {"staff"}
    assert listed["items"][1]["participants"]["students_reached"] == 2
    assert "volunteers" not in listed["items"][1]  # names only in the detail
    for event_id in (world["deleted"], 999_999):
        response = await client.get(f"{EVENTS}/{event_id}", headers=admin["headers"])
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    created = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "bi", "scopes": ["read"]}
    )
    detail = await client.get(f"{EVENTS}/{world['linked']}", headers={"X-API-Key": created.json()["key"]})
    assert detail.status_code == 200 and detail.json()["view"] == "staff"


async def test_dv_1_district_user_sees_no_person_field_in_event_responses(client, make_user, world):
    user = await make_user(level=2, districts=[world["alpha"]])
    listed = await client.get(EVENTS, headers=user["headers"])
    assert ids(listed) == [world["same_day_a"], world["linked"]]  # restricted silently (AC-6)
    detail = await client.get(f"{EVENTS}/{world['linked']}", headers=user["headers"])
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["view"] == "district"
    assert body["participants"]["volunteers_attended"] == 1
    assert body["participants"]["students_reached"] == 2
    assert body["participants"]["volunteer_hours"] == 2.5
    for response in (listed, detail):
        leaked = all_keys(response.json()) & DV1_KEYS
        assert not leaked, f"DV-1 fields in a district response: {leaked}"
        for value in ("Lopez", "ana.lopez", "816-555", "Smith", "female", "Delgado"):
            assert value not in response.text


def test_dv_1_district_event_schemas_have_no_person_fields():
    """DV-1: not just empty values — the district models have no such property at all."""

    def properties(schema: Any) -> set[str]:
        if isinstance(schema, dict):
            found = set(schema.get("properties", {})) if isinstance(schema.get("properties"), dict) else set()
            for value in schema.values():
                found |= properties(value)
            return found
        if isinstance(schema, list):
            return set().union(*(properties(item) for item in schema)) if schema else set()
        return set()

    for model in (DistrictEventListItem, DistrictEventDetail):
        declared = properties(model.model_json_schema())
        assert "participants" in declared and "volunteers_attended" in declared
        leaked = declared & DV1_KEYS
        assert not leaked, f"{model.__name__} declares DV-1 fields {leaked}"
        assert model.model_config.get("extra") == "forbid"
    assert {"volunteers", "teachers", "note"} <= properties(EventDetail.model_json_schema())


async def test_ac_6_district_user_tampering_is_403_or_404(client, make_user, world):
    user = await make_user(level=0, districts=[world["alpha"]])
    outside = await client.get(EVENTS, headers=user["headers"], params={"district_id": world["beta"]})
    assert outside.status_code == 403
    assert outside.headers["content-type"] == "application/problem+json"
    own = await client.get(EVENTS, headers=user["headers"], params={"district_id": world["alpha"]})
    assert ids(own) == [world["same_day_a"], world["linked"]]
    # a school of another district is refused like its district (issue 10 item 2; was a silent [])
    other_school = await client.get(EVENTS, headers=user["headers"], params={"school_id": world["beta_high"]})
    assert other_school.status_code == 403
    for event_id in (world["by_school"], world["by_teacher"], world["undated"], world["deleted"], 999_999):
        response = await client.get(f"{EVENTS}/{event_id}", headers=user["headers"])
        assert response.status_code == 404, event_id
    nobody = await make_user(level=2, districts=[])  # AC-2: an empty scope sees nothing
    assert ids(await client.get(EVENTS, headers=nobody["headers"])) == []
    assert (await client.get(f"{EVENTS}/{world['linked']}", headers=nobody["headers"])).status_code == 404


HOSTILE: list[dict[str, Any]] = [
    {"format": "hybrid"},
    {"event_type": "' OR 1=1 --"},
    {"status": "Completed"},
    {"district_id": "abc"},
    {"district_id": "-1"},
    {"district_id": "0"},
    {"school_id": "99999999999999999999"},
    {"start_date": "2025-13-01"},
    {"start_date": "2025-03-10", "end_date": "2025-03-01"},
    {"q": "x" * 201},
    {"q": "bad\x00byte"},
    {"page_size": "1000"},
    {"page": "0"},
]


async def test_hostile_query_values_and_ids_are_4xx_problems(client, admin, make_user):
    district_user = await make_user(level=0, districts=[1])
    for headers in (admin["headers"], district_user["headers"]):
        for params in HOSTILE:
            response = await client.get(EVENTS, headers=headers, params=params)
            assert 400 <= response.status_code < 500, (params, response.text[:200])
            assert response.headers["content-type"] == "application/problem+json"
        for path in ("abc", "0", "-5", "99999999999999999999", "1.5", "1%00"):
            response = await client.get(f"{EVENTS}/{path}", headers=headers)
            assert 400 <= response.status_code < 500, path
            assert response.headers["content-type"] == "application/problem+json"


async def test_events_list_queries_do_not_grow_with_the_page(client, app, admin, session):
    district = await make_district(session, "Counting District")
    school = await make_school(session, "Counting High", district=district)

    async def add_events(count: int) -> None:
        for number in range(count):
            event = await make_event(session, publishing=False, start_day=DAY, districts=[district])
            volunteer = await make_volunteer(session, "Vol", f"Unteer{number}")
            await make_participation(session, volunteer, event)
            await tag_teacher(session, event, school=school)
        await session.commit()

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    await add_events(2)
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        await client.get(EVENTS, headers=admin["headers"])
        small = len(statements)
        await add_events(12)
        statements.clear()
        response = await client.get(EVENTS, headers=admin["headers"])
        assert len(response.json()["items"]) == 14
        assert len(statements) == small
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
