"""Metric inputs Polaris owns (06 §1, G3, M110, P4; 08 VOC-6; 07 CAP, AUD-1/2; 00 OWN-2): each
is settable through the API, audited with old and new values, bumps the reporting data version,
and refuses bad input (422 problem+json, nothing written) and callers without the right (403)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.locality import ZipPrefixes, derive_local_status, next_local_status, zip5
from polaris_api.models.app_setting import REPORTING_DATA_VERSION, DataVersion
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import EventAttendanceDetail
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import School
from polaris_api.ownership import Owner, owner_of
from polaris_api.settings import Settings
from tests.factories import make_district, make_event, make_school, sf_id
from tests.read_factories import make_volunteer

PROBLEM = "application/problem+json"


async def reporting_version(session) -> int:
    value = (
        await session.execute(
            select(DataVersion.version)
            .where(DataVersion.name == REPORTING_DATA_VERSION)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    return value or 0


async def audit_entries(session, action: str) -> list[AuditEntry]:
    rows = await session.execute(
        select(AuditEntry)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def fresh(session, model: type, row_id: int) -> Any:
    return (
        await session.execute(
            select(model).where(model.id == row_id).execution_options(populate_existing=True)
        )
    ).scalar_one()


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


# ---------------------------------------------------------------------------------------------
# Ownership registry: every input here is Polaris's (OWN-1/2)


@pytest.mark.parametrize(
    ("entity", "field"),
    [
        ("school", "level"),
        ("event_attendance_detail", "total_students"),
        ("event_attendance_detail", "num_classrooms"),
        ("event_attendance_detail", "rotations"),
        ("volunteer", "exclude_from_reports"),
        ("teacher", "exclude_from_reports"),
        ("student", "exclude_from_reports"),
        ("volunteer", "local_status"),
        ("volunteer", "local_status_source"),
    ],
)
def test_own_2_metric_inputs_are_polaris_owned(entity: str, field: str):
    assert owner_of(entity, field) is Owner.polaris
    assert owner_of(entity, field, sf_linked=False) is Owner.polaris


# ---------------------------------------------------------------------------------------------
# school.level (06 §6.5)


async def test_school_level_admin_sets_level_audited_and_bumps_version(client, admin, session):
    school = await make_school(session, "Wyandotte High", salesforce_id="0018X00000SCH0001A")
    await session.commit()
    before = await reporting_version(session)
    response = await client.patch(
        f"/api/v1/schools/{school.id}", headers=admin["headers"], json={"level": "high"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["level"] == "high"
    assert (await fresh(session, School, school.id)).level == "high"
    assert await reporting_version(session) == before + 1
    [entry] = await audit_entries(session, "school.level.updated")
    assert entry.entity_type == "school" and entry.entity_id == str(school.id)
    assert entry.changes == {"level": {"old": None, "new": "high"}}
    assert entry.actor_id == admin["id"]
    # the same value again: nothing to record, no bump
    again = await client.patch(
        f"/api/v1/schools/{school.id}", headers=admin["headers"], json={"level": "high"}
    )
    assert again.status_code == 200
    assert await reporting_version(session) == before + 1
    assert len(await audit_entries(session, "school.level.updated")) == 1
    # null clears it
    cleared = await client.patch(
        f"/api/v1/schools/{school.id}", headers=admin["headers"], json={"level": None}
    )
    assert cleared.json()["level"] is None
    assert await reporting_version(session) == before + 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"level": "college"}, 422),
        ({"level": "HIGH"}, 422),
        ({}, 422),
        ({"level": "high", "colour": "red"}, 422),
        ({"level": "high", "name": "Renamed"}, 409),  # SF-owned (OWN-2)
        ({"district_id": 3}, 409),
    ],
)
async def test_school_level_bad_input_writes_nothing(client, admin, session, body, status):
    school = await make_school(session, salesforce_id="0018X00000SCH0002A", level="middle")
    await session.commit()
    problem = assert_problem(
        await client.patch(f"/api/v1/schools/{school.id}", headers=admin["headers"], json=body), status
    )
    if status == 409:
        assert problem["code"] == "owned_by_salesforce" and problem["owner"] == "salesforce"
    refreshed = await fresh(session, School, school.id)
    assert (refreshed.level, refreshed.name) == ("middle", school.name)
    assert await reporting_version(session) == 0
    assert await audit_entries(session, "school.level.updated") == []


async def test_school_level_needs_an_admin(client, make_user, session):
    district = await make_district(session)
    school = await make_school(session, district=district)
    await session.commit()
    for user in (await make_user(level=2), await make_user(level=3, districts=[district.id])):
        assert_problem(
            await client.patch(
                f"/api/v1/schools/{school.id}", headers=user["headers"], json={"level": "high"}
            ),
            403,
        )
    assert (await fresh(session, School, school.id)).level is None
    missing = await client.patch(
        "/api/v1/schools/999999", headers=(await make_user(level=3))["headers"], json={}
    )
    assert_problem(missing, 404)


# ---------------------------------------------------------------------------------------------
# event_attendance_detail (06 M110)


async def test_m110_inputs_put_attendance_detail_audited_and_bumps_version(client, make_user, session):
    staff = await make_user(level=0)
    event = await make_event(session, days_ahead=-10)
    await session.commit()
    url = f"/api/v1/events/{event.id}/attendance-detail"
    empty = await client.get(url, headers=staff["headers"])
    assert empty.status_code == 200
    assert empty.json()["total_students"] is None and empty.json()["event_id"] == event.id
    response = await client.put(
        url, headers=staff["headers"], json={"total_students": 100, "num_classrooms": 4, "rotations": 3}
    )
    assert response.status_code == 200, response.text
    assert response.json() | {"updated_at": None} == {
        "event_id": event.id,
        "total_students": 100,
        "num_classrooms": 4,
        "rotations": 3,
        "updated_at": None,
        "updated_by_id": staff["id"],
    }
    detail = (
        await session.execute(select(EventAttendanceDetail).where(EventAttendanceDetail.event_id == event.id))
    ).scalar_one()
    assert (detail.total_students, detail.num_classrooms, detail.rotations) == (100, 4, 3)
    assert await reporting_version(session) == 1
    [entry] = await audit_entries(session, "event.attendance_detail.updated")
    assert entry.entity_type == "event" and entry.entity_id == str(event.id)
    assert entry.changes == {
        "total_students": {"old": None, "new": 100},
        "num_classrooms": {"old": None, "new": 4},
        "rotations": {"old": None, "new": 3},
    }
    # PUT replaces: an omitted key becomes null; only changed fields are audited
    second = await client.put(url, headers=staff["headers"], json={"total_students": 50, "num_classrooms": 4})
    assert second.json()["rotations"] is None
    entries = await audit_entries(session, "event.attendance_detail.updated")
    assert entries[-1].changes == {
        "total_students": {"old": 100, "new": 50},
        "rotations": {"old": 3, "new": None},
    }
    assert await reporting_version(session) == 2
    read = await client.get(url, headers=staff["headers"])
    assert (read.json()["total_students"], read.json()["rotations"]) == (50, None)


@pytest.mark.parametrize(
    "body",
    [
        {"total_students": -1},
        {"num_classrooms": "4"},
        {"rotations": 2.5},
        {"rotations": True},
        {"total_students": 10, "students": 10},
        [1, 2],
    ],
)
async def test_m110_inputs_bad_values_write_nothing(client, admin, session, body):
    event = await make_event(session, days_ahead=-3)
    await session.commit()
    problem = assert_problem(
        await client.put(f"/api/v1/events/{event.id}/attendance-detail", headers=admin["headers"], json=body),
        422,
    )
    assert problem["code"] == "validation_error"
    assert (await session.execute(select(EventAttendanceDetail))).first() is None
    assert await reporting_version(session) == 0


@pytest.mark.parametrize(
    "fields",
    [{"format": "virtual", "type": "career_speaker"}, {"format": "in_person", "type": "connector_session"}],
)
async def test_m110_inputs_virtual_event_is_refused(client, admin, session, fields):
    """06 M110 is in-person only; a virtual event (G7: format or type) → 422, nothing written."""
    event = await make_event(session, days_ahead=-3, **fields)
    await session.commit()
    problem = assert_problem(
        await client.put(
            f"/api/v1/events/{event.id}/attendance-detail",
            headers=admin["headers"],
            json={"total_students": 30, "num_classrooms": 1, "rotations": 1},
        ),
        422,
    )
    assert problem["code"] == "attendance_detail_in_person_only"
    assert (await session.execute(select(EventAttendanceDetail))).first() is None
    assert await reporting_version(session) == 0


async def test_m110_inputs_access(client, make_user, session):
    """Global staff only (like publishing controls): district users 403, also for their own district."""
    district = await make_district(session)
    event = await make_event(session, days_ahead=-3, districts=[district])
    await session.commit()
    url = f"/api/v1/events/{event.id}/attendance-detail"
    district_user = await make_user(level=3, districts=[district.id])
    assert_problem(await client.put(url, headers=district_user["headers"], json={"total_students": 1}), 403)
    assert_problem(await client.get(url, headers=district_user["headers"]), 403)
    assert_problem(await client.put(url, json={"total_students": 1}), 401)
    assert_problem(
        await client.put(
            "/api/v1/events/999999/attendance-detail", headers=(await make_user())["headers"], json={}
        ),
        404,
    )
    assert (await session.execute(select(EventAttendanceDetail))).first() is None


# ---------------------------------------------------------------------------------------------
# exclude_from_reports (06 G3) on volunteers, teachers and students


async def _person(session, kind: str) -> Any:
    if kind == "volunteers":
        return await make_volunteer(session)
    row = (
        Teacher(
            first_name="Tess",
            last_name="Teacher",
            email_normalized="tess@school.example.org",
            salesforce_id=sf_id("003"),
        )
        if kind == "teachers"
        else Student(first_name="Sam", last_name="Student", student_id="S-1001", salesforce_id=sf_id("003"))
    )
    session.add(row)
    await session.flush()
    return row


MODELS = {"volunteers": Volunteer, "teachers": Teacher, "students": Student}


@pytest.mark.parametrize("kind", ["volunteers", "teachers", "students"])
async def test_g3_exclude_from_reports_is_settable_audited_and_bumps_version(
    client, make_user, session, kind
):
    staff = await make_user(level=0)
    person = await _person(session, kind)
    await session.commit()
    response = await client.patch(
        f"/api/v1/{kind}/{person.id}", headers=staff["headers"], json={"exclude_from_reports": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == person.id and body["exclude_from_reports"] is True
    if kind != "volunteers":
        assert set(body) == {"id", "exclude_from_reports"}  # no person data at all (07 DV-1)
    assert (await fresh(session, MODELS[kind], person.id)).exclude_from_reports is True
    assert await reporting_version(session) == 1
    entity = kind.removesuffix("s")
    action = (
        "volunteer.reporting.updated" if kind == "volunteers" else f"{entity}.exclude_from_reports.updated"
    )
    [entry] = await audit_entries(session, action)
    assert (entry.entity_type, entry.entity_id, entry.actor_id) == (entity, str(person.id), staff["id"])
    assert entry.changes == {"exclude_from_reports": {"old": False, "new": True}}
    back = await client.patch(
        f"/api/v1/{kind}/{person.id}", headers=staff["headers"], json={"exclude_from_reports": False}
    )
    assert back.json()["exclude_from_reports"] is False
    assert await reporting_version(session) == 2


@pytest.mark.parametrize("kind", ["volunteers", "teachers", "students"])
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"exclude_from_reports": "yes"}, 422),
        ({"exclude_from_reports": None}, 422),
        ({"exclude_from_reports": True, "notes": 1}, 422),
        ({"exclude_from_reports": True, "last_name": "Renamed"}, 409),
    ],
)
async def test_g3_exclude_from_reports_bad_input_writes_nothing(client, admin, session, kind, body, status):
    person = await _person(session, kind)
    await session.commit()
    problem = assert_problem(
        await client.patch(f"/api/v1/{kind}/{person.id}", headers=admin["headers"], json=body), status
    )
    if status == 409:
        assert problem["owner"] == "salesforce" and problem["field"] == "last_name"
    refreshed = await fresh(session, MODELS[kind], person.id)
    assert refreshed.exclude_from_reports is False and refreshed.last_name == person.last_name
    assert await reporting_version(session) == 0
    assert (await session.execute(select(AuditEntry))).first() is None


@pytest.mark.parametrize("kind", ["volunteers", "teachers", "students"])
async def test_g3_exclude_from_reports_district_users_refused(client, make_user, session, kind):
    person = await _person(session, kind)
    district = await make_district(session)
    await session.commit()
    district_admin = await make_user(level=3, districts=[district.id])
    problem = assert_problem(
        await client.patch(
            f"/api/v1/{kind}/{person.id}",
            headers=district_admin["headers"],
            json={"exclude_from_reports": True},
        ),
        403,
    )
    assert "Sam" not in str(problem) and "S-1001" not in str(problem)
    assert (await fresh(session, MODELS[kind], person.id)).exclude_from_reports is False
    assert_problem(
        await client.patch(
            f"/api/v1/{kind}/999999",
            headers=(await make_user())["headers"],
            json={"exclude_from_reports": True},
        ),
        404,
    )


# ---------------------------------------------------------------------------------------------
# VOC-6 local_status: the derivation rule


PREFIXES = ZipPrefixes.of(["640", "641", "660", "661", "662"], ["644", "664", "66044"])


@pytest.mark.parametrize(
    ("postal_code", "country", "expected"),
    [
        ("64111", None, "local"),
        (" 64111-2345 ", None, "local"),
        ("641112345", None, "local"),
        ("66101", "USA", "local"),
        ("66044", None, "partial"),  # the longer partial prefix beats local 660
        ("66049", None, "local"),
        ("64401", None, "partial"),
        ("66403", "United States", "partial"),
        ("90210", None, "non_local"),
        ("64111", "Canada", "non_local"),
        ("M5V 2T6", None, "unknown"),
        ("641", None, "unknown"),
        ("", None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_voc_6_derivation_rule(postal_code, country, expected):
    assert derive_local_status(postal_code, PREFIXES, country=country) == expected


def test_voc_6_ties_go_to_local_and_zip5():
    assert derive_local_status("64111", ZipPrefixes.of(["641"], ["641"])) == "local"
    assert zip5("64111 2345") == "64111" and zip5("6411") is None


def test_voc_6_sources_manual_never_changes_self_reported_kept_without_address():
    assert next_local_status("partial", "manual", "64111", PREFIXES) == ("partial", "manual")
    assert next_local_status("local", "self_reported", None, PREFIXES) == ("local", "self_reported")
    assert next_local_status("local", "self_reported", "90210", PREFIXES) == ("non_local", "derived")
    assert next_local_status("local", "derived", None, PREFIXES) == ("unknown", "derived")


def test_voc_6_prefix_settings_parse_and_refuse_bad_values(monkeypatch):
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.local_zip_prefixes == ["640", "641", "660", "661", "662"]
    assert "644" in defaults.partial_zip_prefixes
    monkeypatch.setenv("POLARIS_LOCAL_ZIP_PREFIXES", " 641, 66101 ")
    monkeypatch.setenv("POLARIS_PARTIAL_ZIP_PREFIXES", "")
    configured = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (configured.local_zip_prefixes, configured.partial_zip_prefixes) == (["641", "66101"], [])
    monkeypatch.setenv("POLARIS_LOCAL_ZIP_PREFIXES", "641,KS")
    with pytest.raises(ValueError, match="ZIP prefixes"):
        Settings(_env_file=None)  # type: ignore[call-arg]


# ---------------------------------------------------------------------------------------------
# VOC-6 local_status: the manual override through the API


async def test_voc_6_manual_override_audited_and_clearing_derives_again(client, make_user, session):
    staff = await make_user(level=1)
    volunteer = await make_volunteer(session, mailing_postal_code="64111")
    await session.commit()
    url = f"/api/v1/volunteers/{volunteer.id}"
    response = await client.patch(url, headers=staff["headers"], json={"local_status": "partial"})
    assert response.status_code == 200, response.text
    assert (response.json()["local_status"], response.json()["local_status_source"]) == ("partial", "manual")
    assert response.json()["local_status_updated_at"] is not None
    [entry] = await audit_entries(session, "volunteer.reporting.updated")
    assert entry.changes == {
        "local_status": {"old": "unknown", "new": "partial"},
        "local_status_source": {"old": "derived", "new": "manual"},
    }
    assert await reporting_version(session) == 1
    profile = (await client.get(url, headers=staff["headers"])).json()
    assert (profile["local_status"], profile["local_status_source"]) == ("partial", "manual")
    assert profile["exclude_from_reports"] is False
    cleared = await client.patch(url, headers=staff["headers"], json={"local_status": None})
    assert (cleared.json()["local_status"], cleared.json()["local_status_source"]) == ("local", "derived")
    assert await reporting_version(session) == 2
    refreshed = await fresh(session, Volunteer, volunteer.id)
    assert (refreshed.local_status, refreshed.local_status_source) == ("local", "derived")


@pytest.mark.parametrize(
    "body", [{"local_status": "nearby"}, {"local_status": "LOCAL"}, {"local_status_source": "manual"}]
)
async def test_voc_6_manual_override_bad_input_writes_nothing(client, admin, session, body):
    volunteer = await make_volunteer(session)
    await session.commit()
    assert_problem(
        await client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin["headers"], json=body), 422
    )
    refreshed = await fresh(session, Volunteer, volunteer.id)
    assert (refreshed.local_status, refreshed.local_status_source) == ("unknown", "derived")
    assert await reporting_version(session) == 0
