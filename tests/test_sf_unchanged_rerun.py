"""09 SCALE-1 / issue 13 item 5: a full run over unchanged Salesforce data changes nothing.

Records whose SystemModstamp matches their live row (and whose references resolve to the same
rows) are set aside before they are parsed and nothing is written for them, not even
``sf_last_seen_run_id``: the full run keeps their ids and its SF-12 snapshot counts them as seen.
``updated_at`` and every value stay as they were, and the statements of a run do not grow with
the number of records. A changed record is still written, a record gone from Salesforce is still
soft-deleted by the snapshot."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect

from polaris_api.models.events import EventStudentParticipation
from polaris_api.models.people import Student
from polaris_api.models.sync import DataQualityFlag
from tests.sync_helpers import account_id, session_id, sf_session, sync

STUDENTS = "salesforce-students"
PARTICIPATIONS = "salesforce-student-participations"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=400)


def student(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": f"003{n:012d}AAA",
        "Contact_Type__c": "Student",
        "FirstName": "S",
        "LastName": f"Student{n}",
        "Current_Grade__c": "14" if n % 7 == 0 else str(n % 13),  # some invalid_grade flags
        "Gender__c": "Unlisted" if n % 5 == 0 else "Female",  # some unknown_picklist_value flags
        "npsp__Primary_Affiliation__c": account_id(1),
        **fields,
    }


def participant(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": f"a0P{n:012d}AAA",
        "Participant_Type__c": "Student",
        "Contact__c": f"003{n:012d}AAA",
        "Session__c": session_id(1),
        "Status__c": "Attended",
        "Delivery_Hours__c": 1.5,
        **fields,
    }


async def _snapshot(session, table: Any) -> dict[str, tuple[Any, ...]]:
    statement = select(table).execution_options(populate_existing=True)
    rows = (await session.execute(statement)).scalars().all()
    columns = [p.key for p in sa_inspect(table).column_attrs if p.key != "sf_last_seen_run_id"]
    return {row.salesforce_id: tuple(getattr(row, c) for c in columns) for row in rows}


@pytest.mark.committed_db  # counts the engine's own statements: no test savepoints in between
async def test_scale_1_issue_13_item_5_unchanged_full_rerun_writes_nothing(client, admin, sf, session, app):
    sf.admin.replace("Account", [{"Id": account_id(1), "Name": "Central", "Type": "School"}])
    sf.admin.replace("Session__c", [sf_session(1)])
    for kind in ("salesforce-districts-schools", "salesforce-events"):
        assert (await sync(client, admin["headers"], kind))["status"] == "succeeded"

    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "sync_run" not in statement:  # the run's status polling and heartbeats vary
            statements.append(" ".join(statement.split()).upper().replace('"', ""))

    cost: dict[tuple[str, int], int] = {}
    updates: dict[tuple[str, int], list[str]] = {}
    for size in (20, 300):
        sf.admin.replace("Contact", [student(n) for n in range(1, size + 1)])
        sf.admin.replace("Session_Participant__c", [participant(n) for n in range(1, size + 1)])
        for kind in (STUDENTS, PARTICIPATIONS):
            first = await sync(client, admin["headers"], kind, mode="full")
            assert first["status"] == "succeeded" and first["counts"]["created"] == size - (size == 300) * 20
        before = {t: await _snapshot(session, t) for t in (Student, EventStudentParticipation)}
        flags_before = {
            (f.code, f.record_key, f.field): (f.status, f.last_seen_at)
            for f in (await session.execute(select(DataQualityFlag))).scalars()
        }
        assert any(code == "invalid_grade" for code, _, _ in flags_before)
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        try:
            for kind in (STUDENTS, PARTICIPATIONS):
                statements.clear()
                run = await sync(client, admin["headers"], kind, mode="full")
                assert run["status"] == "succeeded", run
                counts = run["counts"]
                assert (counts["read"], counts["unchanged"]) == (size, size), counts
                assert counts["created"] == counts["updated"] == counts["deleted_in_source"] == 0
                cost[(kind, size)] = len(statements)
                updates[(kind, size)] = [s for s in statements if s.startswith("UPDATE")]
        finally:
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
        # nothing changed: values, updated_at, flags
        for table, rows in before.items():
            assert await _snapshot(session, table) == rows
        flags_after = {
            (f.code, f.record_key, f.field): (f.status, f.last_seen_at)
            for f in (await session.execute(select(DataQualityFlag))).scalars()
        }
        assert flags_after == flags_before
        # no row was written, not even its seen mark: each keeps the run that created it
        for table in (Student, EventStudentParticipation):
            seen = (await session.execute(select(table.sf_last_seen_run_id).distinct())).scalars().all()
            assert len(seen) == 1 and seen[0] is not None
    for kind in (STUDENTS, PARTICIPATIONS):
        # 15x the records, the same statements; the rows are marked seen by one UPDATE per batch
        assert cost[(kind, 300)] <= cost[(kind, 20)] + 2, cost
        assert cost[(kind, 300)] <= 20, cost
        # nothing is updated at all (the watermark does not move: no newer record)
        assert updates[(kind, 300)] == [], updates[(kind, 300)]

    # a changed record is written, a removed one soft-deleted by the full snapshot
    sf.admin.upsert("Contact", [student(3, LastName="Renamed")])
    kept = [r for r in sf.admin.records("Contact") if r["Id"] != student(4)["Id"]]
    sf.admin.replace("Contact", kept, keep_modstamps=True)
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert run["status"] == "succeeded"
    assert (run["counts"]["updated"], run["counts"]["deleted_in_source"]) == (1, 1), run["counts"]
    assert run["counts"]["unchanged"] == 298
    rows = {
        r.salesforce_id: r
        for r in (await session.execute(select(Student).execution_options(populate_existing=True))).scalars()
    }
    assert rows[student(3)["Id"]].last_name == "Renamed" and rows[student(4)["Id"]].is_deleted
    assert sum(r.is_deleted for r in rows.values()) == 1
