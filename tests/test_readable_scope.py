"""07 AC-6 through the readable statements (services/readable.py): a ``school_id`` filter of another
district is refused like a ``district_id`` outside the scope, on every scoped list taking one.

Before, ``GET /teacher-progress?school_id=<other district's school>`` answered 200 with an empty
list for a district user (and so did ``/events`` and ``/teachers``).
"""

from __future__ import annotations

import pytest

from polaris_api.services.teacher_progress import current_academic_year
from tests.factories import make_district, make_event, make_school
from tests.teacher_factories import ZONE, make_record, make_teacher

SCHOOL_FILTERED_LISTS = ("/api/v1/teacher-progress", "/api/v1/events", "/api/v1/teachers")


@pytest.fixture
async def two_districts(session):
    """District A with a school, a teacher, a roster record and an event; district B the same."""
    year = current_academic_year(ZONE)
    out = {}
    for key in ("a", "b"):
        district = await make_district(session)
        school = await make_school(session, district=district)
        teacher = await make_teacher(
            session, "Pat", key.upper(), email=f"pat-{key}@example.org", school=school
        )
        await make_record(
            session, district, f"pat-{key}@example.org", teacher=teacher, school=school, academic_year=year
        )
        await make_event(session, title=f"Event {key}", school_id=school.id)
        out[key] = {"district": district.id, "school": school.id}
    orphan = await make_school(session)  # a school without a district
    await session.commit()
    out["orphan"] = {"school": orphan.id}
    return out


@pytest.mark.parametrize("path", SCHOOL_FILTERED_LISTS)
async def test_ac_6_school_of_another_district_is_refused_like_its_district(
    client, make_user, two_districts, path
):
    user = await make_user(level=1, districts=[two_districts["a"]["district"]])
    other_district = await client.get(
        path, params={"district_id": two_districts["b"]["district"]}, headers=user["headers"]
    )
    other_school = await client.get(
        path, params={"school_id": two_districts["b"]["school"]}, headers=user["headers"]
    )
    assert other_district.status_code == 403, other_district.text
    assert other_school.status_code == 403, other_school.text
    assert other_school.json()["code"] == other_district.json()["code"] == "forbidden"
    no_district = await client.get(
        path, params={"school_id": two_districts["orphan"]["school"]}, headers=user["headers"]
    )
    assert no_district.status_code == 403  # a school of no district is in no district's scope


@pytest.mark.parametrize("path", SCHOOL_FILTERED_LISTS)
async def test_ac_6_own_school_filters_and_global_users_may_name_any_school(
    client, make_user, two_districts, path
):
    district_user = await make_user(level=1, districts=[two_districts["a"]["district"]])
    own = await client.get(
        path, params={"school_id": two_districts["a"]["school"]}, headers=district_user["headers"]
    )
    assert own.status_code == 200, own.text
    assert own.json()["total"] == 1
    unknown = await client.get(path, params={"school_id": 999_999}, headers=district_user["headers"])
    assert unknown.status_code == 200 and unknown.json()["total"] == 0  # nothing to refuse or leak
    global_user = await make_user(level=1)
    other = await client.get(
        path, params={"school_id": two_districts["b"]["school"]}, headers=global_user["headers"]
    )
    assert other.status_code == 200 and other.json()["total"] == 1


async def test_ac_6_metrics_school_of_another_district_is_refused(client, make_user, two_districts):
    """/metrics: a district user names one of their districts (metrics_scoped); a school of another
    district in ``school_id`` is refused the same way."""
    user = await make_user(level=1, districts=[two_districts["a"]["district"]])
    window = {"start_date": "2025-08-01", "end_date": "2026-07-31", "ids": "M10"}
    own = {**window, "district_id": two_districts["a"]["district"]}
    assert (await client.get("/api/v1/metrics", params=own, headers=user["headers"])).status_code == 200
    own_school = {**own, "school_id": two_districts["a"]["school"]}
    assert (
        await client.get("/api/v1/metrics", params=own_school, headers=user["headers"])
    ).status_code == 200
    other_school = {**own, "school_id": two_districts["b"]["school"]}
    response = await client.get("/api/v1/metrics", params=other_school, headers=user["headers"])
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


async def test_g7_district_user_sets_cancellation_of_a_connector_session_in_scope(client, make_user, session):
    """VS-5 / 07 CAP: a district user sets the cancellation reason of a *virtual* event of their
    districts. 06 G7: a ``connector_session`` is virtual whatever its format (Salesforce leaves a
    blank format ``in_person``); the VS-5 check used to know ``virtual_session`` only (403)."""
    district, other = await make_district(session), await make_district(session)
    connector = await make_event(
        session,
        type="connector_session",
        format="in_person",
        status="cancelled",
        salesforce_id=None,
        source="manual",
        districts=[district],
    )
    in_person = await make_event(session, status="cancelled", salesforce_id=None, districts=[district])
    elsewhere = await make_event(
        session, type="connector_session", status="cancelled", salesforce_id=None, districts=[other]
    )
    await session.commit()
    user = await make_user(level=1, districts=[district.id])
    body = {"cancellation_reason": "weather"}
    ok = await client.patch(f"/api/v1/events/{connector.id}", json=body, headers=user["headers"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["cancellation_reason"] == "weather"
    not_virtual = await client.patch(f"/api/v1/events/{in_person.id}", json=body, headers=user["headers"])
    assert not_virtual.status_code == 403
    outside = await client.patch(f"/api/v1/events/{elsewhere.id}", json=body, headers=user["headers"])
    assert outside.status_code == 403
