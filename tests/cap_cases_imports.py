"""Capability matrix rows for the Pathful import endpoints (07 CAP "upload Pathful files" and
"resolve unmatched import rows": global staff of any level; district users, API keys without
``imports:write`` and teachers refused). The roster upload has its own module."""

from __future__ import annotations

import datetime as dt
from typing import Any

from polaris_api.models.events import Event
from polaris_api.models.imports import ImportRun, PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, Volunteer
from tests.capability_matrix import Case, only

GLOBAL_STAFF = only("admin", "manager", "user")
HEADER = "Session ID,Title,Date,Status,Name,SignUp Role,Partner,Attended Educator Count\n"
ONE_ROW = HEADER + "880001,Careers in Flight,2026-02-10 09:30:00,Completed,Cap Teacher,Educator,PREP-KC,1\n"


async def _queues(ctx: dict[str, Any], session: Any) -> None:
    """An event, a teacher, a volunteer, a stored import and one record of each queue type."""
    start = dt.datetime(2026, 2, 10, 15, 30, tzinfo=dt.UTC)
    event = Event(
        title="Careers in Flight",
        type="virtual_session",
        format="virtual",
        source="pathful",
        status="completed",
        pathful_session_id="880001",
        start_date=start,
        start_day=start.date(),
        duration=60,
    )
    teacher = Teacher(first_name="Cap", last_name="Teacher")
    volunteer = Volunteer(first_name="Cap", last_name="Presenter")
    run = ImportRun(kind="pathful", mode="full", status="succeeded", report={"kind": "pathful"})
    session.add_all([event, teacher, volunteer, run])
    await session.flush()
    row = {"_row": 2, "Session ID": "880001", "Name": "Cap Teacher", "SignUp Role": "Educator"}
    records = {
        "teacher": PathfulUnmatchedRecord(
            type="teacher", session_id="880001", match_key="cap teacher", raw_data=row
        ),
        "ignore": PathfulUnmatchedRecord(
            type="volunteer", session_id="880001", match_key="cap presenter", raw_data=row
        ),
        "no_date": PathfulUnmatchedRecord(
            type="no_date_session",
            session_id="880002",
            match_key="",
            raw_data={
                "rows": [
                    {
                        **row,
                        "Session ID": "880002",
                        "Title": "Undated",
                        "Status": "Requested",
                        "Partner": "PREP-KC",
                    }
                ]
            },
        ),
    }
    session.add_all(records.values())
    await session.commit()
    ctx["pf"] = {
        "teacher_id": teacher.id,
        "import_id": run.id,
        **{name: record.id for name, record in records.items()},
    }


CASES: list[Case] = [
    Case(
        "POST",
        "/api/v1/imports/pathful",
        200,
        GLOBAL_STAFF,
        build=lambda ctx, role: {
            "files": {"file": ("report.csv", ONE_ROW.encode())},
            "data": {"mode": "full", "dry_run": "true"},
        },
    ),
    Case(
        "GET",
        "/api/v1/imports/{import_id}",
        200,
        GLOBAL_STAFF,
        url=lambda ctx: f"/api/v1/imports/{ctx['pf']['import_id']}",
        setup=_queues,
    ),
    Case("GET", "/api/v1/imports/unmatched", 200, GLOBAL_STAFF, setup=_queues),
    Case(
        "POST",
        "/api/v1/imports/unmatched/{record_id}/resolve",
        200,
        GLOBAL_STAFF,
        url=lambda ctx: f"/api/v1/imports/unmatched/{ctx['pf']['teacher']}/resolve",
        build=lambda ctx, role: {"json": {"teacher_id": ctx.get("pf", {}).get("teacher_id", 1)}},
        setup=_queues,
    ),
    Case(
        "POST",
        "/api/v1/imports/unmatched/{record_id}/date",
        200,
        GLOBAL_STAFF,
        url=lambda ctx: f"/api/v1/imports/unmatched/{ctx['pf']['no_date']}/date",
        build=lambda ctx, role: {"json": {"start": "2026-04-02 10:00"}},
        setup=_queues,
    ),
    Case(
        "POST",
        "/api/v1/imports/unmatched/{record_id}/ignore",
        200,
        GLOBAL_STAFF,
        url=lambda ctx: f"/api/v1/imports/unmatched/{ctx['pf']['ignore']}/ignore",
        build=lambda ctx, role: {"json": {"reason": f"checked by {role}"}},
        setup=_queues,
    ),
    Case(
        "POST",
        "/api/v1/imports/unmatched/bulk-ignore",
        200,
        GLOBAL_STAFF,
        build=lambda ctx, role: {"json": {"ids": [ctx.get("pf", {}).get("ignore", 1)], "reason": "bulk"}},
        setup=_queues,
    ),
]
