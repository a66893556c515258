"""04 PF-*: the Pathful Session Report import, its report, its queues and its limits.

The fixture file ``tests/data/pathful_worked_example.csv`` is the 04 §2 worked example, imported
against the §2 existing data (``tests.pathful_factories.seed_worked_example``) with
``mode=since&since=2025-08-01``. Uploads through the API run at the real clock; the checks that
depend on the example's clock (2026-03-01 12:00 local: what is "future", the current semester)
call the import service with that ``clock``.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text
from typer.testing import CliRunner

import polaris_api.imports.pathful.importer as pathful_service
from polaris_api.app import create_app
from polaris_api.cli import app as cli_app
from polaris_api.db import make_engine, utcnow
from polaris_api.errors import Problem
from polaris_api.imports.pathful.importer import cutoff_date
from polaris_api.imports.tabular import parse_table
from polaris_api.models.app_setting import REPORTING_DATA_VERSION, DataVersion
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import Event, EventParticipation, EventTeacher, VirtualSessionFlag
from polaris_api.models.imports import ColumnAlias, ImportRun, PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.models.teachers import AttendanceOverride
from polaris_api.routers.imports import get_sheet_reader
from polaris_api.schemas.pathful import (
    PathfulSessionReportRow,
    norm_name,
    parse_pathful_datetime,
    pathful_count,
    pathful_id,
    row_context,
)
from tests.conftest import DATABASE_URL, IS_POSTGRES, bind_app, dispose_app, make_settings
from tests.live_server import serve_in_thread
from tests.pathful_factories import (
    ZONE,
    local,
    make_pathful_event,
    make_progress,
    make_teacher,
    make_volunteer,
    seed_worked_example,
)

EXAMPLE = Path(__file__).parent / "data" / "pathful_worked_example.csv"
URL = "/api/v1/imports/pathful"
SINCE = {"mode": "since", "since": "2025-08-01"}
EXPECTED = {
    "rows_total": 14,
    "processed": 6,
    "created_events": 5,
    "updated_events": 1,
    "created_participations": 5,
    "updated_participations": 0,
    "unchanged": 1,
    "skipped_other_partner": 1,
    "skipped_role": 1,
    "skipped_before_cutoff": 1,
    "skipped_draft_no_date": 1,
    "queued_no_date": 1,
    "unmatched_teachers": 1,
    "unmatched_volunteers": 1,
    "invalid": 1,
}
BUCKETS = [
    key for key in EXPECTED if key not in ("rows_total", "processed", "created_events", "updated_events")
]
REIMPORT = {
    **EXPECTED,
    "created_events": 0,
    "updated_events": 0,
    "created_participations": 0,
    "updated_participations": 0,
    "unchanged": 6,
}


# ----------------------------------------------------------------------------------- helpers


CLOCK = local("2026-03-01", "12:00")  # the worked example's clock (04 §2)


@pytest.fixture
async def example(session):
    seeded = await seed_worked_example(session)
    await session.commit()
    return seeded


def example_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(EXAMPLE.read_text())))


def to_csv(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def to_xlsx(rows: list[list[Any]], sheet: str = "Session Report") -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def native_cells(rows: list[list[str]]) -> list[list[Any]]:
    """The example as a spreadsheet holds it: numbers and datetimes as native cells."""
    header, *body = rows
    result: list[list[Any]] = [header]
    for row in body:
        cells: list[Any] = []
        for name, value in zip(header, row, strict=True):
            if value == "":
                cells.append(None)
            elif name in ("Session ID", "User Auth Id") or (name.endswith("Count") or name == "Duration"):
                try:
                    cells.append(float(value))
                except ValueError:
                    cells.append(value)
            elif name == "Date":
                try:
                    cells.append(dt.datetime.fromisoformat(value))
                except ValueError:
                    cells.append(value)  # 2026-02-30: stays text, reported as bad_date
            else:
                cells.append(value)
        result.append(cells)
    return result


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], data: bytes, name: str = "report.csv", **form: Any
) -> httpx.Response:
    fields = {
        key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in form.items()
    }
    return await client.post(URL, headers=headers, files={"file": (name, data)}, data=fields)


async def import_at(session, data: bytes, clock: dt.datetime = CLOCK, **options: Any) -> dict[str, Any]:
    """The import service itself, at ``clock`` (an upload through the API runs at the real now)."""
    return await pathful_service.import_pathful_table(
        session, make_settings(), parse_table(data, "report.csv"), principal=None, clock=clock, **options
    )


async def import_started_at(session, import_id: int) -> dt.datetime:
    """The import's clock: its run row's ``started_at``."""
    await fresh(session)
    return (await session.execute(select(ImportRun.started_at).where(ImportRun.id == import_id))).scalar_one()


def counts_of(report: dict[str, Any]) -> dict[str, int]:
    return {key: report[key] for key in EXPECTED}


async def count(session, model, *where) -> int:
    await fresh(session)
    return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def fresh(session) -> None:
    """End the test session's read transaction and forget loaded rows: the next read sees the
    API's commits (``expire_on_commit`` is off). A commit, not a rollback: inside the test's
    rolled-back transaction the session's savepoint encloses the API's, and a rollback to it
    would discard them."""
    await session.commit()
    session.expire_all()


def _detached(session, row: Any) -> Any:
    """Keep a loaded row readable after later rollbacks (which expire attached objects)."""
    if row is not None:
        session.expunge(row)
    return row


async def event_of(session, session_id: str) -> Event | None:
    await fresh(session)
    return _detached(
        session,
        (
            await session.execute(select(Event).where(Event.pathful_session_id == session_id))
        ).scalar_one_or_none(),
    )


async def link_of(session, session_id: str, teacher_id: int) -> EventTeacher | None:
    await fresh(session)
    return _detached(
        session,
        (
            await session.execute(
                select(EventTeacher)
                .join(Event, Event.id == EventTeacher.event_id)
                .where(Event.pathful_session_id == session_id, EventTeacher.teacher_id == teacher_id)
            )
        ).scalar_one_or_none(),
    )


async def snapshot(session) -> dict[str, int]:
    """Row counts of everything an import may write."""
    result = {}
    for model in (
        Event,
        EventTeacher,
        EventParticipation,
        PathfulUnmatchedRecord,
        ImportRun,
        AuditEntry,
        VirtualSessionFlag,
        Teacher,
        Volunteer,
    ):
        result[model.__tablename__] = await count(session, model)
    await fresh(session)
    version = (
        await session.execute(select(DataVersion.version).where(DataVersion.name == REPORTING_DATA_VERSION))
    ).scalar_one_or_none()
    result["reporting_version"] = version or 0
    filled = await count(session, Teacher, Teacher.pathful_user_id.is_not(None))
    result["teacher_pathful_ids"] = filled
    return result


# ----------------------------------------------------------------------------------- worked example


async def test_pf_19_worked_example_csv_report_and_row_outcomes(client, admin, session, example):
    """PF-19 with PF-8 (rows grouped by Session ID) on the §2 worked example."""
    teachers_before = await count(session, Teacher)
    before = utcnow()
    response = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    assert response.status_code == 200, response.text
    report = response.json()

    # PF-19 report: the expected totals, and the invariant
    assert counts_of(report) == EXPECTED
    assert report["rows_total"] == report["processed"] + sum(
        report[key]
        for key in BUCKETS
        if key not in ("created_participations", "updated_participations", "unchanged")
    )
    assert report["invalid_rows"] == [
        {"row": 14, "session_id": "51960", "reason": "bad_date", "value": "2026-02-30 10:00:00"}
    ]
    assert report["kind"] == "pathful" and report["mode"] == "since" and report["cutoff_date"] == "2025-08-01"
    assert report["dry_run"] is False and isinstance(report["import_id"], int)

    # row 2: IDs → 51872 / 2203341; event created 15:30Z–16:15Z completed; T1 attended, confirmed
    e51872 = await event_of(session, "51872")
    assert e51872 is not None
    assert e51872.start_date == dt.datetime(2026, 2, 10, 15, 30, tzinfo=dt.UTC)
    assert e51872.end_date == dt.datetime(2026, 2, 10, 16, 15, tzinfo=dt.UTC)
    assert (e51872.status, e51872.type, e51872.format, e51872.source) == (
        "completed",
        "virtual_session",
        "virtual",
        "pathful",
    )
    assert e51872.start_day == dt.date(2026, 2, 10) and e51872.duration == 45
    # row 4 (Student) feeds the counts: 25/23, educator count 1
    assert (e51872.registered_student_count, e51872.attended_student_count) == (25, 23)
    assert e51872.attended_educator_count == 1
    assert (e51872.career_cluster, e51872.work_based_learning, e51872.series) == (
        "Health Science",
        "Career Exploration",
        "Healthcare Careers",
    )
    assert e51872.district_partner == "Riverbend USD"
    t1_link = await link_of(session, "51872", example.t1.id)
    assert t1_link is not None and t1_link.status == "attended" and t1_link.source == "pathful"
    # confirmed at the import's clock
    clock = await import_started_at(session, report["import_id"])
    assert before <= clock <= utcnow() and t1_link.attendance_confirmed_at == clock
    assert t1_link.last_import_id == report["import_id"]

    # row 3: V1 by ID → presenter, attended, 1 h
    presenter = (
        await session.execute(
            select(EventParticipation).where(
                EventParticipation.event_id == e51872.id, EventParticipation.volunteer_id == example.v1.id
            )
        )
    ).scalar_one()
    assert (presenter.participant_type, presenter.status, presenter.delivery_hours, presenter.source) == (
        "presenter",
        "attended",
        1.0,
        "pathful",
    )

    # row 5: partner case-insensitive; T2 by email; ID back-filled; 51905 at 19:00Z; no_show
    e51905 = await event_of(session, "51905")
    assert e51905 is not None and e51905.start_date == dt.datetime(2026, 2, 18, 19, 0, tzinfo=dt.UTC)
    t2_link = await link_of(session, "51905", example.t2.id)
    assert t2_link is not None and t2_link.status == "no_show" and t2_link.attendance_confirmed_at is None
    # row 6: T3 by name after dropping "Mr."; 52011 at 15:00Z (CDT); registered
    e52011 = await event_of(session, "52011")
    assert e52011 is not None and e52011.start_date == dt.datetime(2026, 3, 24, 15, 0, tzinfo=dt.UTC)
    assert (await link_of(session, "52011", example.t3.id)).status == "registered"  # type: ignore[union-attr]
    # row 7: the School picks T4 over T4b; 52015 cancelled; no_show
    e52015 = await event_of(session, "52015")
    assert e52015 is not None and e52015.status == "cancelled"
    assert (await link_of(session, "52015", example.t4.id)).status == "no_show"  # type: ignore[union-attr]
    assert await link_of(session, "52015", example.t4b.id) is None
    # PF-13 back-fills (steps 2-4), never for T1 (step 1)
    await fresh(session)
    pids = dict((await session.execute(select(Teacher.id, Teacher.pathful_user_id))).all())
    assert pids[example.t2.id] == "2210045"
    assert pids[example.t3.id] == "2215520"
    assert pids[example.t4.id] == "2216004"
    assert pids[example.t4b.id] is None
    assert pids[example.t1.id] == "2203341"

    # row 8: queued for 52019 (with its rows); row 9: nothing written
    await fresh(session)
    records = (
        (await session.execute(select(PathfulUnmatchedRecord).order_by(PathfulUnmatchedRecord.id)))
        .scalars()
        .all()
    )
    by_type = {record.type: _detached(session, record) for record in records}
    assert len(records) == 3
    no_date = by_type["no_date_session"]
    assert no_date.session_id == "52019" and no_date.status == "pending" and no_date.reason == "no_date"
    assert [row["_row"] for row in no_date.raw_data["rows"]] == [8]
    assert no_date.raw_data["rows"][0]["Name"] == "Dana Ruiz"
    assert await event_of(session, "52019") is None
    assert await event_of(session, "52020") is None

    # row 10: 51990 updated (completed, counts); T5 stays attended because of her notes
    e51990 = await event_of(session, "51990")
    assert e51990 is not None
    assert (e51990.status, e51990.registered_student_count, e51990.attended_student_count) == (
        "completed",
        26,
        25,
    )
    t5_link = await link_of(session, "51990", example.t5.id)
    assert (
        t5_link is not None and t5_link.status == "attended" and t5_link.attendance_confirmed_at is not None
    )
    manual = (
        await session.execute(
            select(EventParticipation).where(EventParticipation.volunteer_id == example.manual_presenter.id)
        )
    ).scalar_one()
    assert (manual.status, manual.source) == ("registered", "manual")

    # row 11: before the cutoff; row 14: bad date; row 15: other partner → no events
    for session_id in ("51700", "51960", "51999"):
        assert await event_of(session, session_id) is None

    # row 12: 51950 created; a teacher record stored; no teacher created
    assert await event_of(session, "51950") is not None
    teacher_record = by_type["teacher"]
    assert (teacher_record.session_id, teacher_record.user_auth_id, teacher_record.match_key) == (
        "51950",
        "2219999",
        "2219999",
    )
    assert teacher_record.attempted_name == "Jordan Blake"
    assert teacher_record.attempted_school == "Northgate Elementary"
    assert teacher_record.raw_data["_row"] == 12 and teacher_record.raw_data["Session ID"] == "51950"
    assert teacher_record.first_import_id == report["import_id"]
    assert await count(session, Teacher) == teachers_before
    # row 13: a volunteer record
    assert by_type["volunteer"].attempted_name == "Priya Shah"

    # the report is stored and replayed by GET /imports/{id}
    stored = await client.get(f"/api/v1/imports/{report['import_id']}", headers=admin["headers"])
    assert stored.status_code == 200
    assert {key: stored.json()[key] for key in EXPECTED} == EXPECTED
    assert stored.json()["invalid_rows"] == report["invalid_rows"]
    assert stored.json()["status"] == "succeeded"


async def test_pf_2_xlsx_gives_the_same_report(client, admin, session, example):
    """PF-2: the XLSX variant of the worked example reports as the CSV does (a dry run)."""
    rows = native_cells(example_rows())
    response = await upload(client, admin["headers"], to_xlsx(rows), "report.xlsx", dry_run=True, **SINCE)
    assert response.status_code == 200, response.text
    report = response.json()
    assert counts_of(report) == EXPECTED
    assert report["invalid_rows"] == [
        {"row": 14, "session_id": "51960", "reason": "bad_date", "value": "2026-02-30 10:00:00"}
    ]
    created = {change["session_id"] for change in report["event_changes"] if change["action"] == "created"}
    assert created == {"51872", "51905", "52011", "52015", "51950"}
    # PF-1: the worksheet named by `worksheet`
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["nothing here"])
    sheet = workbook.create_sheet("Report")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    second = await upload(
        client,
        admin["headers"],
        buffer.getvalue(),
        "two-sheets.xlsx",
        worksheet="Report",
        dry_run=True,
        **SINCE,
    )
    assert second.status_code == 200 and counts_of(second.json()) == EXPECTED
    missing = await upload(client, admin["headers"], buffer.getvalue(), "two-sheets.xlsx", worksheet="Nope")
    assert missing.status_code == 422 and missing.json()["code"] == "sheet_unavailable"


async def test_pf_21_reimport_changes_nothing(client, admin, session, example):
    first = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    assert first.status_code == 200
    before = await snapshot(session)
    second = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    assert second.status_code == 200
    assert counts_of(second.json()) == REIMPORT
    assert second.json()["event_changes"] == [] and second.json()["participation_changes"] == []
    after = await snapshot(session)
    # one more stored report and its own import audit entry (AUD-1); no entity change at all
    assert after.pop("import_run") == before.pop("import_run") + 1
    assert after.pop("audit_log") == before.pop("audit_log") + 1
    assert after.pop("reporting_version") == before.pop("reporting_version") + 1
    assert after == before
    await fresh(session)
    actions = (
        await session.execute(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1))
    ).scalar_one()
    assert actions == "import.pathful.completed"


async def test_pf_14_pf_15_corrected_reimport_flips_status_except_admin_notes(
    client, admin, session, example
):
    assert (await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)).status_code == 200
    rows = example_rows()
    header = rows[0]
    attended = header.index("Attended Educator Count")
    rows[1][attended] = "0"  # T1 on 51872: attended → no_show
    rows[4][attended] = "1"  # T2 on 51905: no_show → attended
    rows[9][attended] = "1"  # T5 on 51990: would be attended; she is, with notes
    response = await upload(client, admin["headers"], to_csv(rows), **SINCE)
    assert response.status_code == 200
    report = response.json()
    assert (report["updated_participations"], report["unchanged"], report["created_participations"]) == (
        2,
        4,
        0,
    )
    assert (await link_of(session, "51872", example.t1.id)).status == "no_show"  # type: ignore[union-attr]
    assert (await link_of(session, "51872", example.t1.id)).attendance_confirmed_at is None  # type: ignore[union-attr]
    t2_link = await link_of(session, "51905", example.t2.id)
    clock = await import_started_at(session, report["import_id"])
    assert t2_link is not None and t2_link.status == "attended" and t2_link.attendance_confirmed_at == clock

    # an admin note protects a row in either direction (PF-15, OWN-3)
    await session.execute(
        EventTeacher.__table__.update()
        .where(EventTeacher.id == t2_link.id)
        .values(notes="Teacher confirmed attendance by email.")
    )
    await session.commit()
    rows[4][attended] = "0"  # would flip T2 back to no_show
    rows[1][attended] = "1"  # flips T1 back to attended
    again = await upload(client, admin["headers"], to_csv(rows), **SINCE)
    assert again.json()["updated_participations"] == 1 and again.json()["unchanged"] == 5
    assert (await link_of(session, "51905", example.t2.id)).status == "attended"  # type: ignore[union-attr]
    assert (await link_of(session, "51872", example.t1.id)).status == "attended"  # type: ignore[union-attr]
    t5_link = await link_of(session, "51990", example.t5.id)
    assert t5_link is not None and t5_link.status == "attended" and t5_link.notes is not None

    # PF-15: a repeated pair in one file is judged against the state its earlier row left
    repeated = [header, rows[1], list(rows[1])]
    repeated[2][attended] = "0"
    third = await upload(client, admin["headers"], to_csv(repeated), **SINCE)
    assert (third.json()["unchanged"], third.json()["updated_participations"]) == (1, 1)
    assert (await link_of(session, "51872", example.t1.id)).status == "no_show"  # type: ignore[union-attr]


async def test_pf_4_missing_required_columns(client, admin, session, example):
    rows = example_rows()
    drop = {rows[0].index("SignUp Role"), rows[0].index("Partner")}
    trimmed = [[cell for index, cell in enumerate(row) if index not in drop] for row in rows]
    before = await snapshot(session)
    response = await upload(client, admin["headers"], to_csv(trimmed), **SINCE)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "missing_columns"
    assert body["details"]["missing"] == ["SignUp Role", "Partner"]
    assert "SignUp Role" in body["detail"] and "Partner" in body["detail"]
    after = await snapshot(session)
    # nothing is written except a failed import_run row (PF-4)
    assert after.pop("import_run") == before.pop("import_run") + 1
    assert after == before
    await fresh(session)
    failed = (await session.execute(select(ImportRun).where(ImportRun.status == "failed"))).scalar_one()
    assert (failed.status, failed.error_code) == ("failed", "missing_columns")
    stored = await client.get(f"/api/v1/imports/{failed.id}", headers=admin["headers"])
    assert stored.json()["status"] == "failed" and stored.json()["error_code"] == "missing_columns"


async def test_pf_6_bad_dates_with_row_numbers(client, admin, session, example):
    header = example_rows()[0]
    template = example_rows()[1]
    date, session_col = header.index("Date"), header.index("Session ID")

    def row(session_id: str, value: str) -> list[str]:
        cells = list(template)
        cells[session_col], cells[date] = session_id, value
        return cells

    data = to_csv(
        [
            header,
            row("60001", "02/10/2026 09:30:00"),  # MM/DD/YYYY HH:MM:SS
            [],  # a blank line: ignored, not counted, still a spreadsheet row
            row("60002", "02/11/2026"),  # MM/DD/YYYY
            row("60003", "13/45/2026"),
            row("60004", "2026-02-12T10:15:00"),
            row("60005", "tomorrow"),
            row("60006", "2026-02-13 08:05"),
        ]
    )
    response = await upload(client, admin["headers"], data, **SINCE)
    assert response.status_code == 200
    report = response.json()
    assert report["rows_total"] == 6
    assert report["invalid_rows"] == [
        {"row": 5, "session_id": "60003", "reason": "bad_date", "value": "13/45/2026"},
        {"row": 7, "session_id": "60005", "reason": "bad_date", "value": "tomorrow"},
    ]
    assert (await event_of(session, "60001")).start_date == dt.datetime(2026, 2, 10, 15, 30, tzinfo=dt.UTC)  # type: ignore[union-attr]
    assert (await event_of(session, "60002")).start_date == dt.datetime(2026, 2, 11, 6, 0, tzinfo=dt.UTC)  # type: ignore[union-attr]
    assert (await event_of(session, "60004")).start_date == dt.datetime(2026, 2, 12, 16, 15, tzinfo=dt.UTC)  # type: ignore[union-attr]
    assert (await event_of(session, "60006")).start_date == dt.datetime(2026, 2, 13, 14, 5, tzinfo=dt.UTC)  # type: ignore[union-attr]


async def test_pf_20_dry_run_reports_the_same_and_writes_nothing(client, admin, session, example):
    before = await snapshot(session)
    dry = await upload(client, admin["headers"], EXAMPLE.read_bytes(), dry_run=True, **SINCE)
    assert dry.status_code == 200
    assert await snapshot(session) == before
    real = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    dry_report, real_report = dry.json(), real.json()
    assert dry_report["dry_run"] is True and dry_report["import_id"] is None
    assert counts_of(dry_report) == counts_of(real_report) == EXPECTED
    assert dry_report["invalid_rows"] == real_report["invalid_rows"]
    assert dry_report["participation_changes"] == real_report["participation_changes"]

    def without_ids(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in change.items() if k != "event_id"} for change in changes]

    assert without_ids(dry_report["event_changes"]) == without_ids(real_report["event_changes"])
    # after the real import, a dry run of the same file predicts no change
    before = await snapshot(session)
    again = await upload(client, admin["headers"], EXAMPLE.read_bytes(), dry_run=True, **SINCE)
    assert counts_of(again.json()) == REIMPORT
    assert await snapshot(session) == before


# ----------------------------------------------------------------------------------- queues (PF-17/18)


async def test_pf_18_resolve_teacher_replays_row(client, admin, session, example):
    rows = example_rows()
    header = rows[0]
    # Jordan Blake (2219999) also signed up for 51951: a second pending record with the same ID
    extra = list(rows[11])
    extra[header.index("Session ID")] = "51951"
    extra[header.index("Attended Educator Count")] = "0"
    rows.append(extra)
    first = await upload(client, admin["headers"], to_csv(rows), **SINCE)
    assert first.json()["unmatched_teachers"] == 2
    await fresh(session)
    records = (
        (
            await session.execute(
                select(PathfulUnmatchedRecord).where(PathfulUnmatchedRecord.type == "teacher")
            )
        )
        .scalars()
        .all()
    )
    by_session = {record.session_id: record.id for record in records}
    jordan = (await make_teacher(session, "Jordan", "Blake", email="jordan.blake@riverbend.example")).id
    await session.commit()

    listed = await client.get(
        "/api/v1/imports/unmatched", params={"type": "teacher", "status": "pending"}, headers=admin["headers"]
    )
    assert listed.status_code == 200 and listed.json()["total"] == 2

    before = utcnow()
    response = await client.post(
        f"/api/v1/imports/unmatched/{by_session['51950']}/resolve",
        json={"teacher_id": jordan},
        headers=admin["headers"],
    )
    after = utcnow()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "created_participations"
    assert body["record"]["status"] == "resolved" and body["record"]["resolved_teacher_id"] == jordan
    assert [record["session_id"] for record in body["also_resolved"]] == ["51951"]
    link = await link_of(session, "51950", jordan)
    # confirmed when the replay ran (the resolution)
    assert link is not None and link.status == "attended"
    assert link.attendance_confirmed_at is not None and before <= link.attendance_confirmed_at <= after
    other = await link_of(session, "51951", jordan)
    assert other is not None and other.status == "no_show"
    await fresh(session)
    assert (await session.get(Teacher, jordan)).pathful_user_id == "2219999"  # type: ignore[union-attr]
    audit = (
        await session.execute(
            select(func.count()).where(AuditEntry.action == "pathful_unmatched_record.resolved")
        )
    ).scalar_one()
    assert audit == 2

    # resolving again with the same teacher replays the row: no change
    again = await client.post(
        f"/api/v1/imports/unmatched/{by_session['51950']}/resolve",
        json={"teacher_id": jordan},
        headers=admin["headers"],
    )
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    # … with someone else: 409
    conflict = await client.post(
        f"/api/v1/imports/unmatched/{by_session['51950']}/resolve",
        json={"teacher_id": example.t4b.id},
        headers=admin["headers"],
    )
    assert conflict.status_code == 409 and conflict.json()["code"] == "already_resolved"

    # the next import matches the row by its back-filled ID: unchanged, nothing unmatched
    reimport = await upload(client, admin["headers"], to_csv(rows), **SINCE)
    assert reimport.json()["unmatched_teachers"] == 0
    assert reimport.json()["unchanged"] == 8


async def test_pf_18_resolve_volunteer_and_errors(client, admin, session, example):
    await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    await fresh(session)
    records = {
        record.type: record.id
        for record in (await session.execute(select(PathfulUnmatchedRecord))).scalars().all()
    }
    priya = (await make_volunteer(session, "Priya", "Shah", email="priya@shah.example")).id
    orphan_record = PathfulUnmatchedRecord(
        type="teacher", session_id="99999", match_key="x1", user_auth_id="x1", raw_data={"_row": 2}
    )
    session.add(orphan_record)
    await session.flush()
    orphan = orphan_record.id
    await session.commit()
    headers = admin["headers"]

    resolved = await client.post(
        f"/api/v1/imports/unmatched/{records['volunteer']}/resolve",
        json={"volunteer_id": priya},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    e51950 = await event_of(session, "51950")
    part = (
        await session.execute(
            select(EventParticipation).where(
                EventParticipation.event_id == e51950.id,
                EventParticipation.volunteer_id == priya,  # type: ignore[union-attr]
            )
        )
    ).scalar_one()
    assert (part.participant_type, part.status, part.delivery_hours, part.source) == (
        "presenter",
        "attended",
        1.0,
        "pathful",
    )
    assert (await session.get(Volunteer, priya)).pathful_user_id == "2288888"  # type: ignore[union-attr]

    cases = [
        (orphan, {"teacher_id": example.t1.id}, 409, "event_missing"),
        (records["teacher"], {"volunteer_id": priya}, 422, "teacher_required"),
        (records["no_date_session"], {"teacher_id": example.t1.id}, 409, "wrong_record_type"),
        (records["teacher"], {"teacher_id": 999_999}, 404, "not_found"),
        (999_999, {"teacher_id": example.t1.id}, 404, "not_found"),
        (records["teacher"], {"teacher_id": 1, "volunteer_id": 1}, 422, "validation_error"),
    ]
    for record_id, body, status, code in cases:
        response = await client.post(
            f"/api/v1/imports/unmatched/{record_id}/resolve", json=body, headers=headers
        )
        assert (response.status_code, response.json()["code"]) == (status, code), body


async def test_pf_18_no_date_queue_dated_by_hand(client, admin, session, example):
    await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    await fresh(session)
    record = _detached(
        session,
        (
            await session.execute(
                select(PathfulUnmatchedRecord).where(PathfulUnmatchedRecord.type == "no_date_session")
            )
        ).scalar_one(),
    )
    queue = await client.get(
        "/api/v1/imports/unmatched", params={"type": "no_date_session"}, headers=admin["headers"]
    )
    assert [item["session_id"] for item in queue.json()["items"]] == ["52019"]
    bad = await client.post(
        f"/api/v1/imports/unmatched/{record.id}/date",
        json={"start": "next tuesday"},
        headers=admin["headers"],
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_start"
    response = await client.post(
        f"/api/v1/imports/unmatched/{record.id}/date",
        json={"start": "2026-04-02 10:00"},
        headers=admin["headers"],
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (
        report["kind"] == "undated_resolution" and report["mode"] == "full" and report["cutoff_date"] is None
    )
    assert (report["rows_total"], report["created_events"], report["unmatched_teachers"]) == (1, 1, 1)
    e52019 = await event_of(session, "52019")
    assert e52019 is not None and e52019.start_date == dt.datetime(2026, 4, 2, 15, 0, tzinfo=dt.UTC)
    assert e52019.status == "requested"
    await fresh(session)
    refreshed = await session.get(PathfulUnmatchedRecord, record.id)
    assert refreshed is not None and refreshed.status == "resolved"
    assert refreshed.resolved_import_id == report["import_id"] and refreshed.resolved_by_id == admin["id"]
    stored = await client.get(f"/api/v1/imports/{report['import_id']}", headers=admin["headers"])
    assert stored.json()["kind"] == "undated_resolution"
    # Dana Ruiz (no teacher) is now an unmatched teacher row of 52019
    dana = await client.get(
        "/api/v1/imports/unmatched",
        params={"session_id": "52019", "type": "teacher"},
        headers=admin["headers"],
    )
    assert dana.json()["items"][0]["attempted_name"] == "Dana Ruiz"


async def test_pf_17_ignore_and_bulk_ignore(client, admin, session, example):
    await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    await fresh(session)
    records = {
        record.type: record.id
        for record in (await session.execute(select(PathfulUnmatchedRecord))).scalars().all()
    }
    ignored = await client.post(
        f"/api/v1/imports/unmatched/{records['teacher']}/ignore",
        json={"reason": "guest teacher, not on a roster"},
        headers=admin["headers"],
    )
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    reimport = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    assert reimport.json()["unmatched_teachers"] == 1  # still counted
    await fresh(session)
    assert (await session.get(PathfulUnmatchedRecord, records["teacher"])).status == "ignored"  # type: ignore[union-attr]
    bulk = await client.post(
        "/api/v1/imports/unmatched/bulk-ignore",
        json={"ids": [records["volunteer"], records["no_date_session"]], "reason": "test data"},
        headers=admin["headers"],
    )
    assert bulk.status_code == 200
    assert sorted(bulk.json()["ignored"]) == sorted([records["volunteer"], records["no_date_session"]])
    too_many = await client.post(
        "/api/v1/imports/unmatched/bulk-ignore",
        json={"ids": list(range(1, 102)), "reason": "x"},
        headers=admin["headers"],
    )
    assert too_many.status_code == 422
    unknown = await client.post(
        "/api/v1/imports/unmatched/bulk-ignore",
        json={"ids": [987654], "reason": "x"},
        headers=admin["headers"],
    )
    assert unknown.status_code == 404


# ----------------------------------------------------------------------------------- sources and limits


async def test_pf_1_upload_limits_and_file_types(admin, session, db, example):
    application = bind_app(create_app(make_settings(upload_max_bytes=2000)), db)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            header = EXAMPLE.read_bytes().split(b"\n", 1)[0] + b"\n"
            body = header + b"51872,Careers,2026-02-10,Completed,45,1,Ann Lee,Educator,,,PREP-KC\n" * 40
            assert 2000 < len(body) < 2000 + 64 * 1024
            read_limit = await upload(http, admin["headers"], body)  # cut off while reading
            assert read_limit.status_code == 413 and read_limit.json()["code"] == "file_too_large"
            declared = await upload(http, admin["headers"], body * 100)  # refused before parsing
            assert declared.status_code == 413 and declared.json()["code"] == "file_too_large"
            for name in ("report.xls", "report.txt", "report"):
                refused = await upload(http, admin["headers"], header, name)
                assert refused.status_code == 415 and refused.json()["code"] == "unsupported_file_type"
            empty = await upload(http, admin["headers"], b"")
            assert empty.status_code == 422 and empty.json()["code"] == "empty_file"
            header_only = await upload(http, admin["headers"], header)
            assert header_only.status_code == 422 and header_only.json()["code"] == "empty_file"
    finally:
        await dispose_app(application, db)
    assert await count(session, Event) == 1 and await count(session, ImportRun) == 0  # the seeded event


async def test_pf_1_hostile_input(client, admin, session, example):
    headers = admin["headers"]
    rows = example_rows()
    header, template = rows[0], rows[1]
    before = await snapshot(session)

    def variant(column: str, value: str) -> list[list[str]]:
        row = list(template)
        row[header.index(column)] = value
        return [header, row]

    refused = [
        (bytes(range(256)) * 20, "garbage.csv", "unreadable_file"),
        (b"PK\x03\x04" + b"\x00\xff" * 500, "garbage.xlsx", "unreadable_file"),
        (to_csv(variant("Title", "A" * 10_000)), "long.csv", "cell_too_long"),
        (to_csv(variant("Session ID", "9" * 100)), "long-id.csv", "cell_too_long"),
        (to_csv(variant("Session ID", "=cmd|' /C calc'!A0")), "formula.csv", "formula_cell"),
        (to_csv(variant("Title", '=HYPERLINK("http://evil.example","x")')), "formula2.csv", "formula_cell"),
    ]
    for data, name, code in refused:
        response = await upload(client, headers, data, name, **SINCE)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
        assert response.headers["content-type"] == "application/problem+json"
        if code:
            assert response.json()["code"] == code, name
    assert await snapshot(session) == before

    # text that decodes (cp1252) but is not a report: rows are skipped or invalid, nothing written
    mixed = await upload(
        client,
        headers,
        to_csv([header, header]) + b"\xff\xfe" * 10 + b"\n",
        "mixed.csv",
        dry_run=True,
        **SINCE,
    )
    assert mixed.status_code == 200 and mixed.json()["processed"] == 0
    assert mixed.json()["rows_total"] == mixed.json()["skipped_other_partner"] + mixed.json()["invalid"]

    # XLSX formulas are read as their cached value (none here): the row is invalid, not executed
    workbook_rows: list[list[Any]] = [header, list(template)]
    workbook_rows[1][header.index("Session ID")] = "=1+1"
    response = await upload(client, headers, to_xlsx(workbook_rows), "formula.xlsx", dry_run=True, **SINCE)
    assert response.status_code == 200
    assert response.json()["invalid_rows"][0]["reason"] == "missing_session_id"

    # wrong types in cells follow PF-5: counts and duration become null, a bad date is invalid
    messy = list(template)
    for column, value in (
        ("Attended Educator Count", "lots"),
        ("Registered Student Count", "-3"),
        ("Attended Student Count", "2.5"),
        ("Duration", "forty-five"),
        ("Educator Email", "not-an-email"),
    ):
        messy[header.index(column)] = value
    response = await upload(client, headers, to_csv([header, messy]), dry_run=True, **SINCE)
    assert response.status_code == 200 and response.json()["processed"] == 1
    # an unusable User Auth Id is null: the name alone may not take T1, who has an ID (PF-12 step 3)
    messy[header.index("User Auth Id")] = "N/A"
    response = await upload(client, headers, to_csv([header, messy]), dry_run=True, **SINCE)
    assert response.status_code == 200 and response.json()["unmatched_teachers"] == 1

    # wrong types in the form are 422 validation problems
    for form in ({"mode": "sometimes"}, {"since": "yesterday"}, {"dry_run": "perhaps"}, {"mode": "since"}):
        response = await upload(client, headers, EXAMPLE.read_bytes(), **form)
        assert response.status_code == 422, form
    neither = await client.post(URL, headers=headers, data={"mode": "full"})
    assert neither.status_code == 422 and neither.json()["code"] == "source_required"
    assert await snapshot(session) == before


async def test_pf_3_headers_aliases_ambiguity(client, admin, session, example):
    rows = example_rows()
    rows[0] = [f"  {name.upper()}  " for name in rows[0]]
    rows[0][0] = "Session  Number"
    session.add(ColumnAlias(import_type="pathful", alias="session number", canonical="Session ID"))
    await session.commit()
    response = await upload(client, admin["headers"], to_csv(rows), dry_run=True, **SINCE)
    assert response.status_code == 200, response.text
    assert counts_of(response.json()) == EXPECTED
    # unknown headers are ignored and named as warnings
    extra = [row + ["x"] for row in example_rows()]
    extra[0][-1] = "Zoom Link"
    warned = await upload(client, admin["headers"], to_csv(extra), dry_run=True, **SINCE)
    assert warned.json()["warnings"] == ["column ignored: Zoom Link"]
    # two headers for one column
    doubled = [row + [row[1]] for row in example_rows()]
    doubled[0][-1] = "title"
    ambiguous = await upload(client, admin["headers"], to_csv(doubled), **SINCE)
    assert ambiguous.status_code == 422 and ambiguous.json()["code"] == "ambiguous_columns"
    assert ambiguous.json()["details"]["ambiguous"] == ["Title"]
    # the email column: first present of Email, Educator Email, Teacher Email, Login Email
    both = [row + [""] for row in example_rows()]
    both[0][-1] = "Login Email"
    both[4][-1] = "someone.else@riverbend.example"
    chosen = await upload(client, admin["headers"], to_csv(both), **SINCE)
    assert chosen.status_code == 200
    assert (await link_of(session, "51905", example.t2.id)) is not None  # Educator Email won


class FakeSheet:
    """Implements the SheetReader interface over in-memory rows."""

    def __init__(self, rows: list[list[str]] | None = None, error: Exception | None = None) -> None:
        self.rows = rows or []
        self.error = error
        self.calls: list[tuple[str, str | None]] = []

    def read(self, sheet_id: str, worksheet: str | None = None) -> list[list[str]]:
        self.calls.append((sheet_id, worksheet))
        if self.error:
            raise self.error
        return self.rows


async def test_pf_1_google_sheet_source(app, client, admin, session, example):
    """PF-1: the worked example read from a Google Sheet (a dry run); unconfigured → 422."""
    form = {"sheet_id": "1AbC-dEf_sheet", "worksheet": "Report", "dry_run": "true", **SINCE}
    unconfigured = await client.post(URL, headers=admin["headers"], data=form)
    assert unconfigured.status_code == 422 and unconfigured.json()["code"] == "sheets_not_configured"

    sheet = FakeSheet(example_rows())
    app.dependency_overrides[get_sheet_reader] = lambda: sheet
    try:
        response = await client.post(URL, headers=admin["headers"], data=form)
        assert response.status_code == 200, response.text
        assert counts_of(response.json()) == EXPECTED
        assert response.json()["source_type"] == "sheet"
        assert response.json()["source_name"] == "1AbC-dEf_sheet/Report"
        assert sheet.calls == [("1AbC-dEf_sheet", "Report")]
        app.dependency_overrides[get_sheet_reader] = lambda: FakeSheet(error=PermissionError("no access"))
        failing = await client.post(URL, headers=admin["headers"], data=form)
        assert failing.status_code == 422 and failing.json()["code"] == "sheet_unavailable"
        both = await client.post(
            URL, headers=admin["headers"], data=form, files={"file": ("r.csv", EXAMPLE.read_bytes())}
        )
        assert both.status_code == 422 and both.json()["code"] == "ambiguous_source"
    finally:
        app.dependency_overrides.clear()


@pytest.mark.committed_db  # the test's lock key is the engine's URL; another engine holds the lock
async def test_pf_22_one_import_at_a_time(client, admin, session, example, db):
    key = str(db.url)
    pathful_service._RUNNING.add(key)
    try:
        busy = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    finally:
        pathful_service._RUNNING.discard(key)
    assert busy.status_code == 409 and busy.json()["code"] == "import_in_progress"
    if IS_POSTGRES:  # another process holds the lock: the advisory lock answers
        other = make_engine(DATABASE_URL)
        async with other.connect() as connection:
            await connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": pathful_service.ADVISORY_LOCK_KEY}
            )
            locked = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": pathful_service.ADVISORY_LOCK_KEY}
            )
        await other.dispose()
        assert locked.status_code == 409 and locked.json()["code"] == "import_in_progress"
    assert await count(session, Event) == 1  # only the seeded event
    ok = await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    assert ok.status_code == 200


async def test_pf_10_modes_and_cutoffs(client, admin, session, example):
    today = dt.date(2026, 3, 1)
    assert cutoff_date("full", None, today) is None
    assert cutoff_date("current_semester", None, today) == dt.date(2026, 1, 1)
    assert cutoff_date("current_semester", None, dt.date(2026, 9, 3)) == dt.date(2026, 8, 1)
    assert cutoff_date("last_6_months", None, today) == dt.date(2025, 9, 2)
    assert cutoff_date("since", dt.date(2025, 8, 1), today) == dt.date(2025, 8, 1)
    # the default mode is current_semester, from the upload's local today
    default = await upload(client, admin["headers"], EXAMPLE.read_bytes(), dry_run=True)
    real_today = utcnow().astimezone(ZONE).date()
    assert default.json()["mode"] == "current_semester"
    assert default.json()["cutoff_date"] == cutoff_date("current_semester", None, real_today).isoformat()
    # at the example's clock: from 2026-01-01, so 51700 (2025-05-12) is skipped
    at_clock = await import_at(session, EXAMPLE.read_bytes(), dry_run=True)
    assert at_clock["mode"] == "current_semester" and at_clock["cutoff_date"] == "2026-01-01"
    assert at_clock["skipped_before_cutoff"] == 1
    full = await upload(client, admin["headers"], EXAMPLE.read_bytes(), dry_run=True, mode="full")
    assert full.json()["skipped_before_cutoff"] == 0 and full.json()["created_events"] == 6
    since = await upload(client, admin["headers"], EXAMPLE.read_bytes(), dry_run=True, since="2026-03-10")
    assert since.json()["created_events"] == 1  # 52011 on 2026-03-24
    # future sessions are always kept: 52011 is before a cutoff of 2026-04-01, but after the clock
    future = await import_at(session, EXAMPLE.read_bytes(), dry_run=True, since=dt.date(2026, 4, 1))
    assert future["created_events"] == 1 and future["skipped_before_cutoff"] == 9
    past = await import_at(
        session, EXAMPLE.read_bytes(), local("2026-04-01", "12:00"), dry_run=True, since=dt.date(2026, 4, 1)
    )
    assert past["created_events"] == 0 and past["skipped_before_cutoff"] == 10  # the clock moved past it


async def test_pf_16_roster_email_and_candidates(client, admin, session, example):
    pat_teacher = await make_teacher(session, "Pat", "Kim")
    pat = pat_teacher.id
    await make_progress(session, pat_teacher, example.riverbend, email="p.kim@roster.example")
    await make_teacher(session, "Lee", "Stone", school=None)
    await make_teacher(session, "Lee", "Stone", school=None)
    await session.commit()
    header = example_rows()[0]
    template = example_rows()[1]

    def educator(session_id: str, name: str, email: str = "", uid: str = "") -> list[str]:
        row = list(template)
        row[header.index("Session ID")] = session_id
        row[header.index("Name")] = name
        row[header.index("Educator Email")] = email
        row[header.index("User Auth Id")] = uid
        return row

    data = to_csv(
        [
            header,
            educator("70001", "P. Kim", "P.Kim@Roster.example", "3000001"),  # step 2 via the roster
            educator("70002", "Lee Stone", "", ""),  # two candidates, no school: unmatched
        ]
    )
    report = (await upload(client, admin["headers"], data, **SINCE)).json()
    assert (report["created_participations"], report["unmatched_teachers"]) == (1, 1)
    assert (await link_of(session, "70001", pat)) is not None
    await fresh(session)
    record = (
        await session.execute(
            select(PathfulUnmatchedRecord).where(PathfulUnmatchedRecord.session_id == "70002")
        )
    ).scalar_one()
    assert record.reason == "ambiguous" and record.match_key == "lee stone"
    assert sorted(candidate["name"] for candidate in record.candidates) == ["Lee Stone", "Lee Stone"]


async def test_pf_12_near_matches_never_linked(client, admin, session, example):
    await make_volunteer(session, "Priyanka", "Shah", email="priyanka@example.org")
    await session.commit()
    report = (await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)).json()
    assert report["unmatched_volunteers"] == 1
    await fresh(session)
    record = (
        await session.execute(
            select(PathfulUnmatchedRecord).where(PathfulUnmatchedRecord.type == "volunteer")
        )
    ).scalar_one()
    assert [candidate["name"] for candidate in record.candidates] == ["Priyanka Shah"]
    record_id = record.id
    e51950 = await event_of(session, "51950")
    assert await count(session, EventParticipation, EventParticipation.event_id == e51950.id) == 0  # type: ignore[union-attr]

    # PF-17: once the row matches (the volunteer now exists), the next import resolves the record
    priya = (await make_volunteer(session, "Priya", "Shah")).id
    await session.commit()
    again = (await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)).json()
    assert again["unmatched_volunteers"] == 0 and again["created_participations"] == 1
    assert again["resolved_unmatched"] == 1
    await fresh(session)
    resolved = await session.get(PathfulUnmatchedRecord, record_id)
    assert resolved is not None and resolved.status == "resolved"
    assert resolved.resolved_volunteer_id == priya and resolved.resolved_import_id == again["import_id"]
    assert resolved.resolution_note == f"resolved by import {again['import_id']}"
    assert (await session.get(Volunteer, priya)).pathful_user_id == "2288888"  # type: ignore[union-attr]


async def test_pf_23_flags_overrides_and_reporting_version(client, admin, session, example):
    # at the example's clock 52011 (2026-03-24, published) is in the future: no flag
    await import_at(session, EXAMPLE.read_bytes(), mode="since", since=dt.date(2025, 8, 1))
    await fresh(session)
    flags = (
        await session.execute(
            select(Event.pathful_session_id, VirtualSessionFlag.flag_type)
            .join(Event, Event.id == VirtualSessionFlag.event_id)
            .where(VirtualSessionFlag.status == "open")
        )
    ).all()
    assert sorted(flags) == [
        ("51905", "missing_presenter"),
        ("51950", "missing_presenter"),
        ("51950", "missing_teacher"),
        ("52015", "needs_reason"),
    ]
    version = (
        await session.execute(select(DataVersion.version).where(DataVersion.name == REPORTING_DATA_VERSION))
    ).scalar_one()
    assert version == 1

    # TP-7: T2's add override on 51905 closes once an import confirms the attendance
    e51905 = await event_of(session, "51905")
    assert e51905 is not None
    override = AttendanceOverride(
        teacher_progress_id=example.progress["t2"].id,
        event_id=e51905.id,
        action="add",
        reason="Teacher attended; Pathful missed it.",
    )
    session.add(override)
    await session.flush()
    override_id = override.id
    await session.commit()
    rows = example_rows()
    rows[4][rows[0].index("Attended Educator Count")] = "1"
    corrected = await upload(client, admin["headers"], to_csv(rows), **SINCE)
    assert corrected.status_code == 200
    await fresh(session)
    closed = await session.get(AttendanceOverride, override_id)
    assert closed is not None and closed.is_active is False and closed.reversed_by_id is None
    assert (
        closed.reversal_reason
        == f"auto-resolved: attendance imported by import {corrected.json()['import_id']}"
    )
    # the 51905 flag stays open (no presenter); a presenter tag later resolves it on the next import
    assert (
        await session.execute(select(DataVersion.version).where(DataVersion.name == REPORTING_DATA_VERSION))
    ).scalar_one() == 2


async def test_pf_11_writes_only_pathful_fields_and_audits_as_the_import(client, admin, session, example):
    # a Salesforce-linked session: its core fields are Salesforce's, only the Pathful fields change
    sf_event_row = await make_pathful_event(
        session,
        "51872",
        start=local("2026-02-11", "08:00"),
        title="SF title",
        status="confirmed",
        salesforce_id="a0B000000000001AAA",
        source="salesforce",
    )
    sf_event = sf_event_row.id
    await session.commit()
    report = (await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)).json()
    assert report["created_events"] == 4 and report["updated_events"] == 2
    await fresh(session)
    kept = await session.get(Event, sf_event)
    assert kept is not None
    assert (kept.title, kept.status, kept.start_date) == (
        "SF title",
        "confirmed",
        local("2026-02-11", "08:00"),
    )
    assert (kept.registered_student_count, kept.attended_student_count, kept.career_cluster) == (
        25,
        23,
        "Health Science",
    )
    entries = (
        (
            await session.execute(
                select(AuditEntry).where(
                    AuditEntry.entity_type == "event", AuditEntry.entity_id == str(sf_event)
                )
            )
        )
        .scalars()
        .all()
    )
    assert len(entries) == 1
    entry = entries[0]
    assert entry.action == "event.pathful_import.updated"
    assert (entry.actor_type, entry.actor_id, entry.actor_role) == (
        "import",
        report["import_id"],
        f"import:pathful:{report['import_id']}",
    )
    assert set(entry.changes) == {
        "registered_student_count",
        "attended_student_count",
        "attended_educator_count",
        "career_cluster",
        "work_based_learning",
        "series",
    }


async def test_scale_2_pathful_statements_do_not_grow(client, admin, session, example):
    """SCALE-2: preloaded lookups and bulk writes; no query per row."""
    from sqlalchemy import event as sa_event

    district = example.riverbend
    teachers = [
        await make_teacher(session, f"First{i}", f"Last{i}", pathful_user_id=f"80{i:04d}") for i in range(60)
    ]
    await make_progress(session, teachers[0], district)
    await session.commit()
    header = example_rows()[0]
    template = example_rows()[1]

    def file(n: int, offset: int) -> bytes:
        rows = [header]
        for i in range(n):
            row = list(template)
            row[header.index("Session ID")] = str(900000 + offset + i // 3)
            row[header.index("User Auth Id")] = f"80{i % 60:04d}"
            row[header.index("Name")] = f"First{i % 60} Last{i % 60}"
            rows.append(row)
        return to_csv(rows)

    statements = {"n": 0}
    engine = client._transport.app.state.engine.sync_engine  # type: ignore[attr-defined]

    def tally(*_: Any) -> None:
        statements["n"] += 1

    sa_event.listen(engine, "before_cursor_execute", tally)
    try:
        small = await upload(client, admin["headers"], file(30, 0), mode="full")
        small_count, statements["n"] = statements["n"], 0
        large = await upload(client, admin["headers"], file(900, 10_000), mode="full")
        large_count = statements["n"]
    finally:
        sa_event.remove(engine, "before_cursor_execute", tally)
    assert small.status_code == large.status_code == 200
    assert large.json()["created_participations"] == 900
    assert large_count - small_count <= 10, (small_count, large_count)


# ----------------------------------------------------------------------------------- transforms (PF-5/6)


def test_pf_5_cells_ids_counts_and_names():
    assert pathful_id("41872.0") == "41872" and pathful_id(41872.0) == "41872"
    for empty in (None, "", "nan", "NaN", "NaT", "None", "null", "  "):
        assert pathful_id(empty) is None and pathful_count(empty) is None
    assert pathful_id("=1+1") is None and pathful_id(12.5) is None and pathful_id("12.5") == "12.5"
    assert pathful_count("22") == 22 and pathful_count("22.0") == 22 and pathful_count(3.0) == 3
    for junk in ("n/a", "na", "-", "many", "-3", "2.5", True):
        assert pathful_count(junk) is None
    assert norm_name("  Mr.  Samuel   Okafor ") == "samuel okafor"
    assert norm_name("Dr Evelyn Park") == "evelyn park" and norm_name("Prof. X Y") == "x y"
    assert norm_name("Drew Barry") == "drew barry"
    context = row_context("America/Chicago", {"Wrapped Up": "completed"})
    row = PathfulSessionReportRow.model_validate(
        {"Session ID": "5", "Status": "Wrapped up", "Educator Email": " A@B.Example ", "Duration": "n/a"},
        context=context,
    )
    assert row.status == "completed" and row.email == "a@b.example" and row.duration is None
    unknown = PathfulSessionReportRow.model_validate(
        {"Session ID": "5", "Title": "t", "Status": "Rescheduled", "SignUp Role": "Student"}, context=context
    )
    assert unknown.invalid_reason == ("unknown_status", "Rescheduled")


def test_pf_6_dates_in_local_time():
    tz = ZONE
    assert parse_pathful_datetime("2026-02-10 09:30:00", tz) == dt.datetime(
        2026, 2, 10, 15, 30, tzinfo=dt.UTC
    )
    assert parse_pathful_datetime("2026-02-10", tz) == dt.datetime(2026, 2, 10, 6, 0, tzinfo=dt.UTC)
    assert parse_pathful_datetime("02/10/2026", tz) == dt.datetime(2026, 2, 10, 6, 0, tzinfo=dt.UTC)
    assert parse_pathful_datetime("2025-03-05T14:15:00.000+0000", tz) == dt.datetime(
        2025, 3, 5, 14, 15, tzinfo=dt.UTC
    )
    assert parse_pathful_datetime("2025-03-05T14:15:00Z", tz) == dt.datetime(
        2025, 3, 5, 14, 15, tzinfo=dt.UTC
    )
    # DST: 2026-11-01 01:30 happens twice; fold=0 picks the first (CDT)
    assert parse_pathful_datetime("2026-11-01 01:30", tz) == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)
    assert parse_pathful_datetime("NaT", tz) is None
    for bad in ("2026-02-30", "2026-13-01", "31/12/2026", "soon"):
        with pytest.raises(ValueError):
            parse_pathful_datetime(bad, tz)


# ----------------------------------------------------------------------------------- CLI


@pytest.mark.committed_db  # a live server thread
async def test_pf_cli_import_pathful_through_the_client(db, admin, session):
    await seed_worked_example(session)
    await session.commit()
    app = create_app(make_settings())
    token = admin["headers"]["Authorization"].split()[1]
    runner = CliRunner()

    def run() -> Any:
        with serve_in_thread(app) as base_url:
            return runner.invoke(
                cli_app,
                [
                    "import",
                    "pathful",
                    str(EXAMPLE),
                    "--dry-run",
                    "--mode",
                    "since",
                    "--since",
                    "2025-08-01",
                    "--url",
                    base_url,
                    "--token",
                    token,
                ],
            )

    result = await asyncio.to_thread(run)
    assert result.exit_code == 0, result.output
    assert "created_participations" in result.output and "dry run" in result.output
    assert await count(session, ImportRun) == 0
    missing = await asyncio.to_thread(
        runner.invoke, cli_app, ["import", "pathful", "/nonexistent.csv", "--url", "http://127.0.0.1:9"]
    )
    assert missing.exit_code != 0


async def test_pf_22_unexpected_error_rolls_back(client, admin, session, example) -> None:
    """PF-22: an unexpected error rolls everything back, is logged as failed, answers 500."""
    before = await snapshot(session)
    reached: list[int] = []

    async def explode(run: ImportRun, report: dict[str, Any]) -> None:
        # every write of the import is done (events, links, audit, run row) and not yet committed
        reached.append(report["processed"])
        raise RuntimeError("disk on fire")

    with pytest.raises(Problem) as failure:
        await import_at(
            session, EXAMPLE.read_bytes(), mode="since", since=dt.date(2025, 8, 1), before_commit=explode
        )
    assert reached == [EXPECTED["processed"]]
    assert failure.value.status == 500 and failure.value.code == "import_failed"
    after = await snapshot(session)
    assert after.pop("import_run") == before.pop("import_run") + 1
    assert after == before
    failed = (
        await session.execute(select(ImportRun).where(ImportRun.error_code == "import_failed"))
    ).scalar_one()
    assert failed.status == "failed"
