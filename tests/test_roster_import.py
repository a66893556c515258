"""04 RO-1..RO-14: the district roster import, manual deactivation, the teacher list and scoping."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from polaris_api.app import create_app
from polaris_api.cli import app as cli_app
from polaris_api.imports.roster import SchoolResolver, _school_key, norm_name, split_teacher_name
from polaris_api.models.audit import AuditEntry
from polaris_api.models.imports import ColumnAlias, ImportRun
from polaris_api.models.people import Teacher, TeacherEmail
from polaris_api.models.sync import DataQualityFlag
from polaris_api.models.teachers import TeacherProgress
from polaris_api.routers.imports import get_sheet_reader
from tests.conftest import bind_app, dispose_app, make_settings
from tests.factories import make_district, make_school
from tests.live_server import serve_in_thread
from tests.teacher_factories import (
    ROSTER_HEADERS,
    link_teacher,
    local,
    make_override,
    make_record,
    make_teacher,
    make_virtual_event,
    roster_csv,
    roster_row,
    roster_xlsx,
)

YEAR = "2025-2026"
URL = "/api/v1/imports/roster"


async def upload(
    client,
    headers,
    district_id,
    content: bytes,
    filename: str = "roster.csv",
    **form: Any,
):
    data = {"district_id": str(district_id)}
    data.update({key: str(value).lower() for key, value in form.items()})
    return await client.post(URL, data=data, files={"file": (filename, content)}, headers=headers)


def assert_invariant(report: dict[str, Any]) -> None:
    assert report["rows_total"] == (
        report["added"]
        + report["updated"]
        + report["unchanged"]
        + len(report["protected_skipped"])
        + report["skipped"]
    )


async def _district(session, name=None):
    district = await make_district(session, name)
    north = await make_school(session, "Northgate Elementary", district=district)
    await session.commit()
    return district, north


async def _records(session, district_id) -> dict[str, TeacherProgress]:
    rows = (
        await session.execute(
            select(TeacherProgress)
            .where(TeacherProgress.district_id == district_id)
            .order_by(TeacherProgress.id)  # one email in two years: the newest record wins
            .execution_options(populate_existing=True)
        )
    ).scalars()
    return {row.email: row for row in rows}


async def _count(session, model) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


THREE = [
    roster_row("maria@riverbend.example", "Maria Delgado"),
    roster_row("andre@riverbend.example", "Mr. Andre Wallace", target="2"),
    roster_row("sam@riverbend.example", "Samuel Okafor", grade=""),
]


# --------------------------------------------------------------------------------------- RO-1


async def test_ro_1_csv_import_adds_records_and_stores_the_report(client, session, admin):
    district, north = await _district(session)
    response = await upload(client, admin["headers"], district.id, roster_csv(THREE))
    assert response.status_code == 200, response.text
    report = response.json()
    assert_invariant(report)
    assert (report["added"], report["updated"], report["unchanged"], report["deactivated"]) == (3, 0, 0, 0)
    assert report["academic_year"] == YEAR and report["dry_run"] is False and report["forced"] is False
    assert report["teachers_created"] == 3
    records = await _records(session, district.id)
    assert set(records) == {"maria@riverbend.example", "andre@riverbend.example", "sam@riverbend.example"}
    andre = records["andre@riverbend.example"]
    assert (andre.name, andre.building, andre.school_id, andre.grade, andre.target_sessions) == (
        "Mr. Andre Wallace",
        "Northgate Elementary",
        north.id,
        "5",
        2,
    )
    assert andre.virtual_year == YEAR and andre.is_active and andre.last_import_id == report["import_id"]
    assert (
        records["sam@riverbend.example"].grade is None
        and records["sam@riverbend.example"].target_sessions == 1
    )
    run = await session.get(ImportRun, report["import_id"])
    assert (run.kind, run.status, run.district_id, run.academic_year, run.dry_run) == (
        "roster",
        "succeeded",
        district.id,
        YEAR,
        False,
    )
    assert run.counts["added"] == 3 and run.report["import_id"] == run.id and run.source_name == "roster.csv"
    entry = (
        await session.execute(select(AuditEntry).where(AuditEntry.action == "import.roster.completed"))
    ).scalar_one()
    assert entry.entity_id == str(run.id) and entry.actor_id == admin["id"]


async def test_ro_1_xlsx_sheet_and_imports_write_key(client, session, admin, app):
    district, _ = await _district(session)
    rows = [["x@riverbend.example", "X Person", "Northgate Elementary", 5, YEAR, YEAR, 2.0]]
    response = await upload(client, admin["headers"], district.id, roster_xlsx(rows), filename="roster.xlsx")
    assert response.status_code == 200, response.text
    record = (await _records(session, district.id))["x@riverbend.example"]
    assert (record.grade, record.target_sessions) == ("5", 2)

    # the same import from a Google Sheet (through the shared reader seam)
    class FakeSheet:
        def read(self, sheet_id: str, worksheet: str | None = None) -> list[list[str]]:
            assert (sheet_id, worksheet) == ("sheet-1", "Roster")
            return [
                list(ROSTER_HEADERS),
                ["x@riverbend.example", "X Person", "Northgate Elementary", "5", YEAR, YEAR, "2"],
                ["s@riverbend.example", "Sheet Row", "Northgate", "", YEAR, YEAR, ""],
            ]

    app.dependency_overrides[get_sheet_reader] = FakeSheet
    sheet = await client.post(
        URL,
        data={"district_id": str(district.id), "sheet_id": "sheet-1", "worksheet": "Roster"},
        headers=admin["headers"],
    )
    app.dependency_overrides.clear()
    assert sheet.status_code == 200, sheet.text
    assert (sheet.json()["added"], sheet.json()["unchanged"]) == (1, 1)
    run = await session.get(ImportRun, sheet.json()["import_id"])
    assert (run.source_type, run.source_name) == ("sheet", "sheet-1/Roster")
    # an API key with imports:write may import (07 CAP)
    created = await client.post(
        "/api/v1/api-keys", json={"name": "importer", "scopes": ["imports:write"]}, headers=admin["headers"]
    )
    key_rows = [
        roster_row("x@riverbend.example", "X Person", target="2"),
        roster_row("s@riverbend.example", "Sheet Row", "Northgate", grade=""),
    ]
    response = await upload(client, {"X-API-Key": created.json()["key"]}, district.id, roster_csv(key_rows))
    assert response.status_code == 200, response.text


async def test_ro_1_ro_2_ro_3_refusals_write_nothing(client, session, admin, db):
    """415 / 413 / 422 refusals (PF-1, PRIV-4, RO-2 missing and ambiguous columns, RO-3 no valid row)."""
    district, _ = await _district(session)
    headers = admin["headers"]
    content = roster_csv(THREE)
    xls = await upload(client, headers, district.id, content, filename="roster.xls")
    assert (xls.status_code, xls.json()["code"]) == (415, "unsupported_file_type")
    assert (await upload(client, headers, district.id, content, filename="roster.txt")).status_code == 415
    unknown = await upload(client, headers, 999_999, content)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_district")
    no_file = await client.post(URL, data={"district_id": str(district.id)}, headers=headers)
    assert (no_file.status_code, no_file.json()["code"]) == (422, "source_required")
    both = await upload(client, headers, district.id, content, sheet_id="abc")
    assert (both.status_code, both.json()["code"]) == (422, "ambiguous_source")
    unconfigured = await client.post(
        URL, data={"district_id": str(district.id), "sheet_id": "abc"}, headers=headers
    )
    assert (unconfigured.status_code, unconfigured.json()["code"]) == (422, "sheets_not_configured")
    empty = await upload(client, headers, district.id, roster_csv([]))
    assert (empty.status_code, empty.json()["code"]) == (422, "empty_file")
    assert (await client.post(URL, files={"file": ("r.csv", content)}, headers=headers)).status_code == 422
    small = bind_app(create_app(make_settings(upload_max_bytes=200)), db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://t") as http:
        content = roster_csv(THREE * 5)
        assert len(content) > 200
        response = await upload(http, headers, district.id, content)
    await dispose_app(small, db)
    assert (response.status_code, response.json()["code"]) == (413, "file_too_large")
    assert await _count(session, TeacherProgress) == 0
    partial = ("Teacher Email", "Teacher Name", "Grade", "Academic Year")
    content = roster_csv([["a@b.example", "A B", "5", YEAR]], headers=partial)
    response = await upload(client, headers, district.id, content)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "missing_columns"
    assert body["details"]["missing"] == ["School/Building", "Virtual Year"]
    assert "School/Building" in body["detail"] and "Virtual Year" in body["detail"]
    assert await _count(session, TeacherProgress) == 0 and await _count(session, ImportRun) == 0
    assert await _count(session, AuditEntry) == 0
    dup_headers = (*ROSTER_HEADERS, "School")
    content = roster_csv([[*roster_row("a@b.example", "A B"), "Other"]], headers=dup_headers)
    response = await upload(client, headers, district.id, content)
    assert (response.status_code, response.json()["code"]) == (422, "ambiguous_columns")
    response = await upload(client, headers, district.id, roster_csv([roster_row("bad", "Bad")]))
    assert (response.status_code, response.json()["code"]) == (422, "no_valid_rows")
    assert response.json()["warnings"][0]["row"] == 2
    assert await _count(session, ImportRun) == 0
    assert await _count(session, TeacherProgress) == 0 and await _count(session, ImportRun) == 0
    assert await _count(session, AuditEntry) == 0


@pytest.mark.committed_db  # PostgreSQL: the test holds the advisory lock on another connection
async def test_ro_1_one_import_per_district_at_a_time(client, session, admin):
    """Only one roster import per district runs at a time (409 import_in_progress)."""
    from polaris_api.imports import roster as roster_import
    from tests.conftest import IS_POSTGRES

    district, _ = await _district(session)
    district_id = district.id
    if IS_POSTGRES:
        from sqlalchemy import text

        await session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :d)"),
            {"ns": roster_import._LOCK_NAMESPACE, "d": district_id},
        )
        response = await upload(client, admin["headers"], district_id, roster_csv(THREE))
        await session.rollback()
    else:
        lock = roster_import._local_locks.setdefault(district_id, asyncio.Lock())
        async with lock:
            response = await upload(client, admin["headers"], district_id, roster_csv(THREE))
    assert (response.status_code, response.json()["code"]) == (409, "import_in_progress")
    assert (await upload(client, admin["headers"], district_id, roster_csv(THREE))).status_code == 200


# --------------------------------------------------------------------------------------- RO-2


async def test_ro_2_headers_match_loosely_and_through_column_aliases(client, session, admin):
    district, north = await _district(session)
    session.add(ColumnAlias(import_type="roster", alias="educator e-mail", canonical="Teacher Email"))
    await session.commit()
    headers = ("  EDUCATOR   e-mail ", "teacher name", "Building", "Academic  Year", "VIRTUAL YEAR", "Notes")
    content = roster_csv(
        [["a@b.example", "A  B", "Northgate Elementary", YEAR, YEAR, "ignored"]], headers=headers
    )
    response = await upload(client, admin["headers"], district.id, content)
    assert response.status_code == 200, response.text
    record = (await _records(session, district.id))["a@b.example"]
    assert (record.name, record.school_id, record.target_sessions) == ("A B", north.id, 1)


# --------------------------------------------------------------------------------------- RO-3 / RO-4


async def test_ro_3_bad_rows_are_skipped_with_row_numbers(client, session, admin):
    district, _ = await _district(session)
    rows = [
        roster_row("good@riverbend.example", "Good Row"),  # row 2
        roster_row("no-at-sign.example", "Bad Email"),  # 3
        roster_row("bad@nodot", "Bad Email Too"),  # 4
        roster_row("noname@riverbend.example", "  "),  # 5
        roster_row("year@riverbend.example", "Bad Year", year="2025-2027"),  # 6
        roster_row("vy@riverbend.example", "Virtual Mismatch", virtual_year="2024-2025"),  # 7
        roster_row("zero@riverbend.example", "Zero Target", target="0"),  # 8
        roster_row("abc@riverbend.example", "Text Target", target="abc"),  # 9
        roster_row("nobuilding@riverbend.example", "No Building", building=""),  # 10
        roster_row("other@riverbend.example", "Other Year", year="2024-2025"),  # 11
    ]
    content = roster_csv(rows)
    content = content.replace(b"\nno-at-sign", b"\n,,,,,,\nno-at-sign")  # a blank row keeps its number
    response = await upload(client, admin["headers"], district.id, content)
    assert response.status_code == 200, response.text
    report = response.json()
    assert_invariant(report)
    assert (report["rows_total"], report["added"], report["skipped"]) == (10, 1, 9)
    found = [(w["row"], w["code"], w.get("column"), w.get("reason")) for w in report["warnings"]]
    assert found == [
        (4, "invalid_row", "Teacher Email", "invalid_email"),
        (5, "invalid_row", "Teacher Email", "invalid_email"),
        (6, "invalid_row", "Teacher Name", "missing_value"),
        (7, "invalid_row", "Academic Year", "invalid_academic_year"),
        (8, "invalid_row", "Virtual Year", "virtual_year_mismatch"),
        (9, "invalid_row", "Target Sessions", "invalid_target_sessions"),
        (10, "invalid_row", "Target Sessions", "invalid_target_sessions"),
        (11, "invalid_row", "School/Building", "missing_value"),
        (12, "academic_year_mismatch", "Academic Year", "academic_year_mismatch"),
    ]
    assert all("riverbend.example" not in w["message"] for w in report["warnings"])  # no values echoed
    assert set(await _records(session, district.id)) == {"good@riverbend.example"}
    # the first valid row sets the year
    lake = await make_district(session)
    await session.commit()
    rows = [
        roster_row("bad", "Invalid First"),
        roster_row("a@riverbend.example", "Older Year", year="2024-2025"),
        roster_row("b@riverbend.example", "Current", year=YEAR),
    ]
    year_report = (await upload(client, admin["headers"], lake.id, roster_csv(rows))).json()
    assert year_report["academic_year"] == "2024-2025"
    assert [w["code"] for w in year_report["warnings"]] == ["invalid_row", "academic_year_mismatch"]


async def test_ro_4_duplicate_email_first_row_wins(client, session, admin):
    district, _ = await _district(session)
    rows = [
        roster_row("maria@riverbend.example", "Maria Delgado", grade="3"),
        roster_row("x@riverbend.example", "X"),
        roster_row(" MARIA@Riverbend.example ", "Maria Again", grade="4"),
    ]
    report = (await upload(client, admin["headers"], district.id, roster_csv(rows))).json()
    assert_invariant(report)
    assert (report["added"], report["skipped"]) == (2, 1)
    assert report["warnings"] == [
        {
            "row": 4,
            "code": "duplicate_email",
            "message": report["warnings"][0]["message"],
            "column": None,
            "reason": None,
            "first_row": 2,
        }
    ]
    record = (await _records(session, district.id))["maria@riverbend.example"]
    assert (record.name, record.grade) == ("Maria Delgado", "3")


# --------------------------------------------------------------------------------------- RO-5


async def test_ro_5_upsert_is_idempotent(client, session, admin):
    district, _ = await _district(session)
    first = (await upload(client, admin["headers"], district.id, roster_csv(THREE))).json()
    ids = {email: r.id for email, r in (await _records(session, district.id)).items()}
    teachers = await _count(session, Teacher)
    second = (await upload(client, admin["headers"], district.id, roster_csv(THREE))).json()
    assert_invariant(second)
    assert (second["added"], second["updated"], second["unchanged"], second["deactivated"]) == (0, 0, 3, 0)
    assert second["changes"] == [] and second["teachers_created"] == 0
    assert {email: r.id for email, r in (await _records(session, district.id)).items()} == ids
    assert await _count(session, Teacher) == teachers
    assert second["import_id"] != first["import_id"]
    # a changed field makes the row 'updated'
    await make_school(session, "Westport High School", district=district)
    await session.commit()
    rows = [
        roster_row("maria@riverbend.example", "Maria Delgado", building="Westport High School"),
        roster_row("andre@riverbend.example", "Mr. Andre Wallace", target="3"),
        roster_row("sam@riverbend.example", "Samuel Okafor", grade=""),
    ]
    report = (await upload(client, admin["headers"], district.id, roster_csv(rows))).json()
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 2, 1)
    changes = {c["email"]: c["fields"] for c in report["changes"]}
    assert changes == {
        "maria@riverbend.example": ["building", "school_id"],
        "andre@riverbend.example": ["target_sessions"],
    }


# --------------------------------------------------------------------------------------- RO-6 / RO-7 / RO-8


async def test_ro_6_manual_deactivation_is_protected(client, session, admin, make_user):
    district, _ = await _district(session)
    await upload(client, admin["headers"], district.id, roster_csv(THREE))
    maria = (await _records(session, district.id))["maria@riverbend.example"]
    manager = await make_user(level=2)
    response = await client.post(
        f"/api/v1/teacher-progress/{maria.id}/deactivate",
        json={"reason": "left_district", "notes": None},
        headers=manager["headers"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["deactivation_source"] == "manual_admin"
    changed = [roster_row("maria@riverbend.example", "Maria Renamed"), *THREE[1:]]
    for _ in range(2):  # twice: the flag is upserted, not duplicated
        report = (await upload(client, admin["headers"], district.id, roster_csv(changed))).json()
        assert_invariant(report)
        assert report["unchanged"] == 2 and report["updated"] == 0
        assert [
            (p["teacher_progress_id"], p["email"], p["deactivation_reason"])
            for p in report["protected_skipped"]
        ] == [(maria.id, "maria@riverbend.example", "left_district")]
    record = (await _records(session, district.id))["maria@riverbend.example"]
    assert (record.is_active, record.name, record.deactivation_source) == (
        False,
        "Maria Delgado",
        "manual_admin",
    )
    flags = (await session.execute(select(DataQualityFlag))).scalars().all()
    assert [(f.code, f.entity_type, f.entity_id, f.status) for f in flags] == [
        ("protected_teacher_skipped", "teacher_progress", maria.id, "open")
    ]
    reactivated = await client.post(
        f"/api/v1/teacher-progress/{maria.id}/reactivate",
        json={"reason": "came back"},
        headers=admin["headers"],
    )
    assert reactivated.status_code == 200 and reactivated.json()["is_active"] is True
    flag = (
        await session.execute(select(DataQualityFlag).execution_options(populate_existing=True))
    ).scalar_one()
    assert flag.status == "resolved" and flag.resolved_at is not None
    report = (await upload(client, admin["headers"], district.id, roster_csv(changed))).json()
    assert report["protected_skipped"] == [] and report["updated"] == 1


async def test_ro_7_and_ro_8_import_diff_deactivation_and_reactivation(client, session, admin):
    district, _ = await _district(session)
    other = await make_district(session)
    elsewhere = await make_record(session, other, "andre@riverbend.example")
    last_year = await make_record(session, district, "andre@riverbend.example", academic_year="2024-2025")
    four = [*THREE, roster_row("dana@riverbend.example", "Dana Fox")]
    await session.commit()
    await upload(client, admin["headers"], district.id, roster_csv(four))
    andre_id = (await _records(session, district.id))["andre@riverbend.example"].id
    without_andre = [THREE[0], THREE[2], four[3]]
    report = (await upload(client, admin["headers"], district.id, roster_csv(without_andre))).json()
    assert_invariant(report)
    assert report["deactivated"] == 1
    assert report["deactivated_records"] == [
        {"teacher_progress_id": andre_id, "email": "andre@riverbend.example", "name": "Mr. Andre Wallace"}
    ]
    records = await _records(session, district.id)
    andre = records["andre@riverbend.example"]
    assert (andre.is_active, andre.deactivation_source) == (False, "import_diff") and andre.deactivated_at
    await session.refresh(elsewhere)
    await session.refresh(last_year)
    assert elsewhere.is_active and last_year.is_active  # other districts and years untouched
    assert await _count(session, TeacherProgress) == 6  # nothing deleted
    back = (await upload(client, admin["headers"], district.id, roster_csv(four))).json()
    assert (back["updated"], back["unchanged"]) == (1, 3)
    assert back["changes"][0]["reactivated"] is True and back["changes"][0]["teacher_progress_id"] == andre_id
    andre = (await _records(session, district.id))["andre@riverbend.example"]
    assert (andre.id, andre.is_active, andre.deactivation_source) == (andre_id, True, None)
    # RO-8: an email on a skipped (invalid) row is not deactivated
    rows = [*THREE[:2], roster_row("sam@riverbend.example", "Samuel Okafor", target="zero"), four[3]]
    skip_report = (await upload(client, admin["headers"], district.id, roster_csv(rows))).json()
    assert (skip_report["skipped"], skip_report["deactivated"]) == (1, 0)
    assert (await _records(session, district.id))["sam@riverbend.example"].is_active


# --------------------------------------------------------------------------------------- RO-9


async def test_ro_9_guard_blocks_mass_deactivation_and_force_proceeds(client, session, admin, db):
    district, _ = await _district(session)
    four = [*THREE, roster_row("dana@riverbend.example", "Dana Fox")]
    await upload(client, admin["headers"], district.id, roster_csv(four))
    runs = await _count(session, ImportRun)
    audits = await _count(session, AuditEntry)
    # 2 of 4 (50 %) is allowed with the default share 0.5 ...
    half = (await upload(client, admin["headers"], district.id, roster_csv(four[:2]), dry_run=True)).json()
    assert half["deactivated"] == 2
    # ... 3 of 4 is not
    blocked = await upload(client, admin["headers"], district.id, roster_csv(four[:1]))
    assert blocked.status_code == 409
    body = blocked.json()
    assert body["code"] == "mass_deactivation_blocked"
    assert body["report"]["deactivated"] == 3 and body["report"]["active_before"] == 4
    assert body["report"]["import_id"] is None
    assert await _count(session, ImportRun) == runs and await _count(session, AuditEntry) == audits
    assert all(r.is_active for r in (await _records(session, district.id)).values())
    forced = await upload(client, admin["headers"], district.id, roster_csv(four[:1]), force=True)
    assert forced.status_code == 200, forced.text
    assert forced.json()["forced"] is True and forced.json()["deactivated"] == 3
    assert (await session.get(ImportRun, forced.json()["import_id"])).forced is True
    assert sum(r.is_active for r in (await _records(session, district.id)).values()) == 1
    # the share is a setting
    strict_district = await make_district(session, "Strict District")
    await session.commit()
    strict = bind_app(create_app(make_settings(roster_max_deactivation_share=0.2)), db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=strict), base_url="http://t") as http:
        await upload(http, admin["headers"], strict_district.id, roster_csv(THREE))
        response = await upload(http, admin["headers"], strict_district.id, roster_csv(THREE[:2]))
    await dispose_app(strict, db)
    assert response.status_code == 409  # 1 of 3 > 20 %


# --------------------------------------------------------------------------------------- RO-10


def test_ro_10_name_split_drops_the_honorific():
    assert split_teacher_name("Dr. Maria de la Cruz") == ("Maria", "de la Cruz")
    assert split_teacher_name("Mrs Grace Lin") == ("Grace", "Lin")
    assert split_teacher_name("Cher") == (None, "Cher")
    assert split_teacher_name("Mr. Okafor") == (None, "Okafor")
    assert norm_name("  Mr.  Samuel   OKAFOR ") == "samuel okafor"


async def test_ro_10_teacher_link_order(client, session, admin):
    district, north = await _district(session)
    sf_teacher = await make_teacher(
        session,
        "Andre",
        "Wallace",
        email="andre@riverbend.example",
        salesforce_id="003000000000001AAA",
        import_source="salesforce",
    )
    by_row = await make_teacher(session, "Sam", "Okafor", import_source="salesforce")
    session.add(
        TeacherEmail(
            teacher_id=by_row.id,
            email="Sam@Riverbend.example",
            email_normalized="sam@riverbend.example",
            source="manual",
        )
    )
    kept = await make_teacher(session, "Kept", "Teacher", email="other@example.org")
    await make_record(session, district, "maria@riverbend.example", teacher=kept)
    await session.commit()
    report = (await upload(client, admin["headers"], district.id, roster_csv(THREE))).json()
    teachers = {c["email"]: c["teacher"] for c in report["changes"]}
    assert teachers == {
        "maria@riverbend.example": "kept",
        "andre@riverbend.example": "linked",
        "sam@riverbend.example": "linked",
    }
    records = await _records(session, district.id)
    assert records["maria@riverbend.example"].teacher_id == kept.id
    assert records["andre@riverbend.example"].teacher_id == sf_teacher.id
    assert records["sam@riverbend.example"].teacher_id == by_row.id
    await session.refresh(sf_teacher)
    assert (sf_teacher.first_name, sf_teacher.last_name) == ("Andre", "Wallace")  # never renamed


async def test_ro_10_new_teacher_is_roster_owned_and_kept_in_step(client, session, admin):
    district, north = await _district(session)
    west = await make_school(session, "Westport High School", district=district)
    await session.commit()
    rows = [roster_row("maria@riverbend.example", "Dr. Maria de la Cruz")]
    await upload(client, admin["headers"], district.id, roster_csv(rows))
    record = (await _records(session, district.id))["maria@riverbend.example"]
    teacher = await session.get(Teacher, record.teacher_id)
    assert (teacher.first_name, teacher.last_name, teacher.email_normalized) == (
        "Maria",
        "de la Cruz",
        "maria@riverbend.example",
    )
    assert (teacher.import_source, teacher.school_id, teacher.district_id, teacher.salesforce_id) == (
        "roster",
        north.id,
        district.id,
        None,
    )
    rows = [roster_row("maria@riverbend.example", "Maria Delgado", building="Westport High School")]
    await upload(client, admin["headers"], district.id, roster_csv(rows))
    teacher = await session.get(Teacher, record.teacher_id, populate_existing=True)
    assert (teacher.first_name, teacher.last_name, teacher.school_id) == ("Maria", "Delgado", west.id)
    assert await _count(session, Teacher) == 1


async def test_ro_10_linking_a_teacher_auto_resolves_add_overrides(client, session, admin):
    """TP-7 after a roster import: the newly linked teacher's confirmed attendance now counts."""
    district, _ = await _district(session)
    teacher = await make_teacher(session, "Andre", "Wallace", email="tp7@riverbend.example")
    year = "2025-2026"
    record = await make_record(session, district, "tp7@riverbend.example", academic_year=year)
    event = await make_virtual_event(session, local(2025, 10, 1, 9))
    await link_teacher(session, event, teacher)
    override = await make_override(session, record, event, "add")
    await session.commit()
    rows = [roster_row("tp7@riverbend.example", "Andre Wallace")]
    report = (await upload(client, admin["headers"], district.id, roster_csv(rows))).json()
    await session.refresh(override)
    assert override.is_active is False
    assert override.reversal_reason == f"auto-resolved: attendance imported by import {report['import_id']}"


# --------------------------------------------------------------------------------------- RO-11


def _resolver(schools, district_id=1):
    return SchoolResolver([_school_key(i, d, names) for i, d, names in schools], district_id)


def test_ro_11_school_steps_and_district_first():
    resolver = _resolver(
        [
            (1, 1, ["Northgate Elementary"]),
            (2, 2, ["Northgate Elementary"]),  # same name in another district
            (3, 1, ["Westport High School"]),
            (4, 1, ["Lincoln Middle School", "Lincoln MS"]),
            (5, 2, ["Eastside Academy"]),
            (6, 1, ["Central Elementary"]),
            (7, 1, ["Central Middle School"]),
        ]
    )
    assert resolver.resolve("  NORTHGATE   elementary ") == (1, None)  # exact, the district's own
    assert resolver.resolve("Westport") == (3, None)  # starts with
    assert resolver.resolve("high school") == (3, None)  # substring
    assert resolver.resolve("lincoln ms") == (4, None)  # an alias key
    assert resolver.resolve("Middle Lincoln") == (4, None)  # every 3+ letter word is a word of the key
    assert resolver.resolve("Eastside") == (5, None)  # nothing in the district: all schools
    assert resolver.resolve("Central") == (None, "school_ambiguous")  # two in step 2: stop
    assert resolver.resolve("Nowhere School House") == (None, "school_unresolved")
    assert resolver.resolve("of") == (None, "school_unresolved")  # no 3-letter word: step 4 matches nothing


def test_ro_11_ambiguity_in_the_district_stops_the_search():
    resolver = _resolver([(1, 1, ["Lakeview East"]), (2, 1, ["Lakeview West"]), (3, 2, ["Lakeview"])])
    assert resolver.resolve("Lakeview") == (None, "school_ambiguous")


async def test_ro_11_warnings_and_the_row_is_still_imported(client, session, admin):
    district, north = await _district(session)
    other = await make_district(session)
    await make_school(session, "Northgate Elementary", district=other)
    await make_school(session, "Central Elementary", district=district)
    await make_school(session, "Central Middle", district=district)
    await session.commit()
    rows = [
        roster_row("a@riverbend.example", "A A", building="Northgate Elementary"),
        roster_row("b@riverbend.example", "B B", building="Central"),
        roster_row("c@riverbend.example", "C C", building="Moon Base"),
    ]
    report = (await upload(client, admin["headers"], district.id, roster_csv(rows))).json()
    assert report["added"] == 3
    assert [(w["row"], w["code"]) for w in report["warnings"]] == [
        (3, "school_ambiguous"),
        (4, "school_unresolved"),
    ]
    records = await _records(session, district.id)
    assert records["a@riverbend.example"].school_id == north.id
    assert (
        records["b@riverbend.example"].school_id is None
        and records["b@riverbend.example"].building == "Central"
    )


# --------------------------------------------------------------------------------------- dry run


async def _snapshot(session) -> dict[str, Any]:
    records = (
        (
            await session.execute(
                select(TeacherProgress).order_by(TeacherProgress.id).execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    return {
        "records": [
            (
                r.id,
                r.email,
                r.name,
                r.is_active,
                r.deactivation_source,
                r.teacher_id,
                r.school_id,
                r.target_sessions,
                r.last_import_id,
            )
            for r in records
        ],
        "teachers": await _count(session, Teacher),
        "runs": await _count(session, ImportRun),
        "audit": await _count(session, AuditEntry),
        "flags": await _count(session, DataQualityFlag),
    }


async def test_ro_dry_run_reports_exactly_and_writes_nothing(client, session, admin):
    district, _ = await _district(session)
    four = [*THREE, roster_row("dana@riverbend.example", "Dana Fox")]
    await upload(client, admin["headers"], district.id, roster_csv(four))
    dana = (await _records(session, district.id))["dana@riverbend.example"]
    await client.post(
        f"/api/v1/teacher-progress/{dana.id}/deactivate", json={"reason": "retired"}, headers=admin["headers"]
    )
    rows = [
        roster_row("maria@riverbend.example", "Maria Delgado", grade="6"),
        THREE[2],
        roster_row("new@riverbend.example", "New Person"),
        roster_row("dana@riverbend.example", "Dana Fox"),
        roster_row("bad", "Bad Row"),
    ]
    before = await _snapshot(session)
    dry = await upload(client, admin["headers"], district.id, roster_csv(rows), dry_run=True)
    assert dry.status_code == 200, dry.text
    assert await _snapshot(session) == before
    real = (await upload(client, admin["headers"], district.id, roster_csv(rows))).json()
    dry_report = dry.json()
    assert dry_report["dry_run"] is True and dry_report["import_id"] is None
    for key in (
        "added",
        "updated",
        "unchanged",
        "deactivated",
        "skipped",
        "protected_skipped",
        "warnings",
        "deactivated_records",
        "teachers_created",
        "rows_total",
        "active_before",
    ):
        assert dry_report[key] == real[key], key
    strip = [{k: v for k, v in c.items() if k != "teacher_progress_id"} for c in dry_report["changes"]]
    assert strip == [{k: v for k, v in c.items() if k != "teacher_progress_id"} for c in real["changes"]]
    assert (real["added"], real["updated"], real["deactivated"], len(real["protected_skipped"])) == (
        1,
        1,
        1,
        1,
    )
    # a dry run past the guard answers 409 as the real import would
    guarded = await make_district(session, "Guarded District")
    await session.commit()
    await upload(client, admin["headers"], guarded.id, roster_csv(THREE))
    before_guard = await _snapshot(session)
    response = await upload(client, admin["headers"], guarded.id, roster_csv(THREE[:1]), dry_run=True)
    assert (response.status_code, response.json()["code"]) == (409, "mass_deactivation_blocked")
    forced = await upload(
        client, admin["headers"], guarded.id, roster_csv(THREE[:1]), dry_run=True, force=True
    )
    assert forced.status_code == 200 and forced.json()["forced"] is True
    assert await _snapshot(session) == before_guard


# --------------------------------------------------------------------------------------- RO-14


async def test_ro_14_manual_deactivation_rules(client, session, admin, make_user):
    district, _ = await _district(session)
    record = await make_record(session, district, "x@riverbend.example")
    await session.commit()
    path = f"/api/v1/teacher-progress/{record.id}"
    other = await client.post(f"{path}/deactivate", json={"reason": "other"}, headers=admin["headers"])
    assert (other.status_code, other.json()["code"]) == (422, "notes_required")
    assert (
        await client.post(f"{path}/deactivate", json={"reason": "fired"}, headers=admin["headers"])
    ).status_code == 422
    ok = await client.post(
        f"{path}/deactivate", json={"reason": "other", "notes": "moved abroad"}, headers=admin["headers"]
    )
    assert ok.status_code == 200
    body = ok.json()
    assert (body["is_active"], body["deactivation_source"], body["deactivation_reason"]) == (
        False,
        "manual_admin",
        "other",
    )
    assert body["deactivated_by_id"] == admin["id"]
    again = await client.post(f"{path}/deactivate", json={"reason": "retired"}, headers=admin["headers"])
    assert again.json()["deactivation_reason"] == "retired"
    assert again.json()["deactivated_at"] == body["deactivated_at"]
    assert (
        await client.post(f"{path}/reactivate", json={"reason": ""}, headers=admin["headers"])
    ).status_code == 422
    back = await client.post(f"{path}/reactivate", json={"reason": "returned"}, headers=admin["headers"])
    assert back.json()["is_active"] is True and back.json()["reactivation_reason"] == "returned"
    assert (
        await client.post(
            "/api/v1/teacher-progress/999999/deactivate", json={"reason": "retired"}, headers=admin["headers"]
        )
    ).status_code == 404
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert (
        actions.count("teacher_progress.deactivated") == 2
        and actions.count("teacher_progress.reactivated") == 1
    )
    for user in (await make_user(level=1), await make_user(level=2, districts=[district.id])):
        response = await client.post(
            f"{path}/deactivate", json={"reason": "retired"}, headers=user["headers"]
        )
        assert response.status_code == 403


# --------------------------------------------------------------------------------------- access


async def test_ro_district_user_tampering_is_403(client, session, admin, make_user):
    district, _ = await _district(session)
    other = await make_district(session)
    other_record = await make_record(session, other, "o@lakeview.example")
    await session.commit()
    user = await make_user(level=2, districts=[district.id])
    headers = user["headers"]
    # body: district users may not import, not even for their own district
    for district_id in (district.id, other.id):
        response = await upload(client, headers, district_id, roster_csv(THREE))
        assert response.status_code == 403
    # query
    for path in ("/api/v1/teachers", "/api/v1/teacher-progress", "/api/v1/teacher-progress/summary"):
        assert (await client.get(path, params={"district_id": other.id}, headers=headers)).status_code == 403
        assert (
            await client.get(path, params={"district_id": district.id}, headers=headers)
        ).status_code == 200
    # path
    assert (
        await client.get(f"/api/v1/teacher-progress/{other_record.id}", headers=headers)
    ).status_code == 403
    assert await _count(session, ImportRun) == 0


# --------------------------------------------------------------------------------------- teachers


async def test_ro_teacher_list_filters_and_district_scope(client, session, admin, make_user):
    district, north = await _district(session)
    other = await make_district(session)
    lake = await make_school(session, "Lakeview Middle", district=other)
    await make_teacher(session, "Maria", "Delgado", email="maria@riverbend.example", school=north)
    await make_teacher(
        session, "Andre", "Wallace", email="andre@riverbend.example", district_id=district.id, is_active=False
    )
    linked = await make_teacher(session, "Sam", "Okafor", email="sam@example.org")
    await make_record(session, district, "sam@example.org", teacher=linked)
    await make_teacher(session, "Grace", "Lin", email="grace@lakeview.example", school=lake)
    await make_teacher(session, "Gone", "Teacher", is_deleted=True, school=north)
    await session.commit()

    async def names(headers=admin["headers"], **params):
        response = await client.get("/api/v1/teachers", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["last_name"] for item in response.json()["items"]]

    assert await names() == ["Delgado", "Lin", "Okafor", "Wallace"]
    assert await names(district_id=district.id) == ["Delgado", "Okafor", "Wallace"]
    assert await names(school_id=lake.id) == ["Lin"]
    assert await names(active=False) == ["Wallace"]
    assert await names(q="maria delg") == ["Delgado"]
    assert await names(q="LAKEVIEW.example") == ["Lin"]
    item = (await client.get("/api/v1/teachers", params={"q": "maria"}, headers=admin["headers"])).json()[
        "items"
    ][0]
    assert item["school_name"] == "Northgate Elementary" and item["email"] == "maria@riverbend.example"
    scoped = await make_user(level=0, districts=[other.id])
    assert await names(headers=scoped["headers"]) == ["Lin"]
    assert (
        await client.get("/api/v1/teachers", params={"district_id": district.id}, headers=scoped["headers"])
    ).status_code == 403


# --------------------------------------------------------------------------------------- CLI


@pytest.mark.committed_db  # a live server thread
async def test_ro_cli_import_roster_through_the_client(session, admin, tmp_path):
    district, _ = await _district(session)
    path = tmp_path / "roster.csv"
    path.write_bytes(roster_csv(THREE))
    token = admin["headers"]["Authorization"].split()[1]
    server_app = create_app(make_settings())
    runner = CliRunner()
    base = ["import", "roster", str(path), "--district-id", str(district.id), "--token", token]

    def run_all():
        with serve_in_thread(server_app) as url:
            return [
                runner.invoke(cli_app, [*base, "--url", url, "--dry-run"]),
                runner.invoke(cli_app, [*base, "--url", url]),
                runner.invoke(cli_app, [*base, "--url", url, "--district-id", "999999"]),
            ]

    dry, real, refused = await asyncio.to_thread(run_all)
    assert dry.exit_code == 0, dry.output
    added_3 = re.compile(r"│ added +│ +3 │")  # the report's table (issue 12 item 4)
    assert "dry run" in dry.output and added_3.search(dry.output)
    assert real.exit_code == 0, real.output
    assert "import #" in real.output and added_3.search(real.output)
    assert refused.exit_code == 1 and "unknown_district" in refused.output
    assert await _count(session, TeacherProgress) == 3
    assert await _count(session, ImportRun) == 1
