"""Kind ``salesforce-student-participations`` (02 SF-34), through
``POST /api/v1/sync/salesforce-student-participations?wait=true``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.events import EventStudentParticipation
from polaris_api.models.sync import DataQualityFlag, SfPendingRecord
from tests.sync_helpers import contact_id, session_id, sf_session, sync

KIND = "salesforce-student-participations"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def participant_id(n: int) -> str:
    return f"a0P{n:012d}AAA"


def student(n: int) -> dict[str, Any]:
    return {"Id": contact_id(n), "Contact_Type__c": "Student", "FirstName": "S", "LastName": f"L{n}"}


def participant(n: int, student_n: int, session_n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "Id": participant_id(n),
        "Participant_Type__c": "Student",
        "Contact__c": contact_id(student_n),
        "Session__c": session_id(session_n),
        "Status__c": "Attended",
        "Delivery_Hours__c": 1,
        "Age_Group__c": "Middle school",
        **fields,
    }


async def _setup(client, admin, sf, students=(1, 2, 3)) -> None:
    sf.admin.replace("Contact", [student(n) for n in students])
    sf.admin.replace("Session__c", [sf_session(1)])
    assert (await sync(client, admin["headers"], "salesforce-students"))["status"] == "succeeded"
    assert (await sync(client, admin["headers"], "salesforce-events"))["status"] == "succeeded"


async def _rows(session) -> dict[str, EventStudentParticipation]:
    statement = select(EventStudentParticipation).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_34_import_duplicates_merge_by_voc_14_and_pending_student(client, admin, sf, session):
    await _setup(client, admin, sf, students=(1, 2))
    sf.admin.replace(
        "Session_Participant__c",
        [
            participant(1, 1),
            participant(2, 2, Status__c="Registered"),
            participant(3, 2, Status__c="No Show"),  # same pair: no_show outranks registered
            participant(4, 3),  # student 3 not imported yet
            participant(5, 1) | {"Participant_Type__c": "Volunteer"},
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 2 and run["counts"]["pending"] == 1
    rows = await _rows(session)
    assert set(rows) == {participant_id(1), participant_id(3)}
    assert (rows[participant_id(1)].status, rows[participant_id(1)].delivery_hours) == ("attended", 1.0)
    assert rows[participant_id(3)].status == "no_show"
    flag = (await session.execute(select(DataQualityFlag))).scalar_one()
    assert flag.code == "duplicate_participation"
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert again["counts"]["created"] == 0 and len(await _rows(session)) == 2

    sf.admin.upsert("Contact", [student(3)])
    await sync(client, admin["headers"], "salesforce-students")
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["pending_resolved"] == 1
    assert participant_id(4) in await _rows(session)
    assert (await session.execute(select(SfPendingRecord.status))).scalar_one() == "resolved"

    sf.admin.delete("Session_Participant__c", participant_id(1))
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["deleted_in_source"] == 1 and (await _rows(session))[participant_id(1)].is_deleted


async def test_sf_9_failure_mid_run_then_resumed(client, admin, sf, session):
    await _setup(client, admin, sf, students=tuple(range(1, 8)))
    sf.admin.set_page_size(2)
    sf.admin.replace("Session_Participant__c", [participant(n, n) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [participant_id(n) for n in range(1, 8)]


async def test_scale_1_students_and_participations_cost_fixed_statements_per_batch(
    app, client, admin, sf, monkeypatch
):
    """09 SCALE-1 for a mirrored table (students, through ``MirrorWriter``) and a link table
    (student participations): a batch of 300 new records costs the statements of a batch of 20."""
    from sqlalchemy import event

    monkeypatch.setattr(app.state.settings, "salesforce_batch_size", 400)  # one batch per run
    statements = 0

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        nonlocal statements
        statements += "sync_run" not in statement  # the run's status polling and heartbeats vary

    sf.admin.replace("Session__c", [sf_session(1)])
    assert (await sync(client, admin["headers"], "salesforce-events"))["status"] == "succeeded"
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
    cost: dict[tuple[str, int], int] = {}
    try:
        for size, first in ((5, 1), (20, 101), (300, 1001)):  # the first run is full, the others incremental
            numbers = range(first, first + size)
            sf.admin.upsert("Contact", [{**student(n), "Gender__c": "Unlisted"} for n in numbers])
            sf.admin.upsert(
                "Session_Participant__c", [participant(n, n, Status__c="Sideways") for n in numbers]
            )
            for kind in ("salesforce-students", KIND):
                statements = 0
                run = await sync(client, admin["headers"], kind)
                assert run["status"] == "succeeded" and run["counts"]["created"] == size, run
                cost[(kind, size)] = statements
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
    for kind in ("salesforce-students", KIND):
        assert cost[(kind, 300)] <= cost[(kind, 20)] + 5, cost
