"""04 RO-12 (issue 11 item 13): after a roster import commits, pending ``teacher`` records of the
Pathful queue are matched again with PF-12; those that now match are replayed and resolved."""

from __future__ import annotations

from sqlalchemy import select

from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import EventTeacher
from polaris_api.models.imports import PathfulUnmatchedRecord
from polaris_api.models.people import Teacher
from polaris_api.models.reference import District
from tests.pathful_factories import seed_worked_example
from tests.teacher_factories import roster_csv, roster_row
from tests.test_pathful_import import EXAMPLE, SINCE, upload


async def _pending(session) -> list[PathfulUnmatchedRecord]:
    session.expire_all()
    statement = select(PathfulUnmatchedRecord).where(PathfulUnmatchedRecord.type == "teacher")
    return list((await session.execute(statement.order_by(PathfulUnmatchedRecord.id))).scalars())


async def _roster(client, headers, district_id: int, rows: list[list[str]]):
    return await client.post(
        "/api/v1/imports/roster",
        headers=headers,
        data={"district_id": str(district_id), "force": "true"},
        files={"file": ("roster.csv", roster_csv(rows))},
    )


async def test_ro_12_roster_import_rematches_pending_pathful_teachers(client, admin, session):
    await seed_worked_example(session)
    await session.commit()
    assert (await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)).status_code == 200
    [jordan_record] = await _pending(session)
    assert (jordan_record.status, jordan_record.session_id) == ("pending", "51950")
    riverbend = (
        await session.execute(select(District.id).where(District.name == "Riverbend USD"))
    ).scalar_one()

    # a roster without him changes nothing in the queue
    other = [roster_row("someone.else@riverbend.example", "Someone Else")]
    first = await _roster(client, admin["headers"], riverbend, other)
    assert first.status_code == 200, first.text[:300]
    assert [r.status for r in await _pending(session)] == ["pending"]

    rows = [*other, roster_row("jordan.blake@riverbend.example", "Jordan Blake")]
    response = await _roster(client, admin["headers"], riverbend, rows)
    assert response.status_code == 200, response.text
    [record] = await _pending(session)
    jordan = (await session.execute(select(Teacher).where(Teacher.last_name == "Blake"))).scalar_one()
    assert (record.status, record.resolved_teacher_id) == ("resolved", jordan.id)
    assert jordan.pathful_user_id == "2219999"  # PF-13 back-fill by the replay
    link = (
        await session.execute(select(EventTeacher).where(EventTeacher.teacher_id == jordan.id))
    ).scalar_one()
    assert link.status == "attended"
    entry = (
        await session.execute(
            select(AuditEntry).where(
                AuditEntry.action == "pathful_unmatched_record.resolved",
                AuditEntry.entity_id == str(record.id),
            )
        )
    ).scalar_one()
    assert entry.actor_type == "import"


async def test_ro_12_a_dry_run_rematches_nothing(client, admin, session):
    await seed_worked_example(session)
    await session.commit()
    await upload(client, admin["headers"], EXAMPLE.read_bytes(), **SINCE)
    riverbend = (
        await session.execute(select(District.id).where(District.name == "Riverbend USD"))
    ).scalar_one()
    response = await client.post(
        "/api/v1/imports/roster",
        headers=admin["headers"],
        data={"district_id": str(riverbend), "dry_run": "true", "force": "true"},
        files={
            "file": ("roster.csv", roster_csv([roster_row("jordan.blake@riverbend.example", "Jordan Blake")]))
        },
    )
    assert response.status_code == 200
    assert [r.status for r in await _pending(session)] == ["pending"]
