"""Issue 11 item 12: merge duplicate teachers (07 CAP "merge duplicate teachers", admin only;
AUD-1 merges are audited), ``POST /api/v1/teachers/{teacher_id}/merge``.

The scene: a Salesforce teacher (the survivor) and the teacher a roster import created for the
same person under another address (the duplicate), each with session links, roster records,
overrides, a magic link, a communication, a data issue and a resolved Pathful record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from polaris_api.db import Base, utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.comms import Communication
from polaris_api.models.events import EventTeacher
from polaris_api.models.imports import PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, TeacherEmail, TeacherPhone
from polaris_api.models.teachers import AttendanceOverride, DataIssue, MagicLink, TeacherProgress
from polaris_api.services.teacher_merge import REFERENCES
from tests.factories import make_district
from tests.sync_helpers import sync
from tests.teacher_factories import (
    link_teacher,
    make_override,
    make_record,
    make_teacher,
    make_virtual_event,
    roster_csv,
    roster_row,
)

YEAR = "2025-2026"
SF_ID = "003000000000001AAA"
START = dt.datetime(2025, 10, 1, 15, tzinfo=dt.UTC)


def _url(teacher_id: int) -> str:
    return f"/api/v1/teachers/{teacher_id}/merge"


async def _scene(session) -> dict[str, Any]:
    d1, d2 = await make_district(session, "District A"), await make_district(session, "District B")
    survivor = await make_teacher(
        session, "Maria", "Delgado", email="maria.delgado@school.org", salesforce_id=SF_ID
    )
    dup = await make_teacher(
        session,
        "Maria",
        "Delgado",
        email="mdelgado@district-b.org",
        import_source="roster",
        district_id=d2.id,
    )
    dup.pathful_user_id = "PF-77"
    earlier = await make_teacher(session, "M.", "Delgado", email="old@example.org")
    earlier.merged_into_id = dup.id
    earlier.is_active = False
    earlier.deactivation_source = "merged"
    session.add(
        TeacherEmail(
            teacher_id=dup.id,
            email="MDelgado@District-B.org",
            email_normalized="mdelgado@district-b.org",
            kind="work",
            source="salesforce",
        )
    )
    session.add(
        TeacherEmail(
            teacher_id=dup.id,
            email="maria.delgado@school.org",
            email_normalized="maria.delgado@school.org",
            kind="personal",
            source="salesforce",
        )
    )
    session.add(TeacherPhone(teacher_id=dup.id, number="816 555 0101", kind="work", source="salesforce"))
    events = [await make_virtual_event(session, START + dt.timedelta(days=n)) for n in range(7)]
    e = {n: event.id for n, event in enumerate(events)}
    # e0: only the duplicate; e1: both, the duplicate attended; e2: both, the survivor attended;
    # e3: both, the duplicate's link carries an admin note; e4: only the survivor
    await link_teacher(session, events[0], dup, "attended")
    await link_teacher(session, events[1], survivor, "registered")
    await link_teacher(session, events[1], dup, "attended")
    await link_teacher(session, events[2], survivor, "attended")
    await link_teacher(session, events[2], dup, "no_show")
    await link_teacher(session, events[3], survivor, "attended")
    await link_teacher(session, events[3], dup, "no_show", notes="teacher was absent, per the school")
    await link_teacher(session, events[4], survivor, "registered")
    # roster: district A lists only the duplicate's address; district B lists both addresses
    only_dup = await make_record(session, d1, "mdelgado@district-b.org", teacher=dup, academic_year=YEAR)
    kept = await make_record(session, d2, "maria.delgado@school.org", teacher=survivor, academic_year=YEAR)
    twin = await make_record(session, d2, "mdelgado@district-b.org", teacher=dup, academic_year=YEAR)
    old_year = await make_record(
        session, d2, "mdelgado@district-b.org", teacher=dup, academic_year="2024-2025"
    )
    moved_override = await make_override(session, twin, events[5], "add")
    await make_override(session, kept, events[6], "add")
    clashing = await make_override(session, twin, events[6], "add")
    now = utcnow()
    unused = MagicLink(
        teacher_progress_id=twin.id,
        email=twin.email,
        token_hash="a" * 64,
        expires_at=now + dt.timedelta(hours=1),
    )
    used = MagicLink(
        teacher_progress_id=twin.id, email=twin.email, token_hash="b" * 64, expires_at=now, used_at=now
    )
    session.add_all([unused, used])
    session.add(
        Communication(
            salesforce_activity_id="00T000000000001AAA", teacher_id=dup.id, match_status="matched_teacher"
        )
    )
    session.add(
        DataIssue(
            teacher_progress_id=only_dup.id,
            teacher_id=dup.id,
            category="missing_data",
            note="a session is missing",
        )
    )
    session.add(
        PathfulUnmatchedRecord(
            type="teacher", session_id="S-1", match_key="pf-77", status="resolved", resolved_teacher_id=dup.id
        )
    )
    await session.commit()
    return {
        "d1": d1.id,
        "d2": d2.id,
        "survivor": survivor.id,
        "dup": dup.id,
        "earlier": earlier.id,
        "e": e,
        "only_dup": only_dup.id,
        "kept": kept.id,
        "twin": twin.id,
        "old_year": old_year.id,
        "moved_override": moved_override.id,
        "clashing": clashing.id,
        "unused": unused.id,
        "used": used.id,
    }


async def _snapshot(session) -> dict[str, Any]:
    """Every row of the tables a merge may touch, as plain values."""
    out: dict[str, Any] = {}
    for model in (
        Teacher,
        TeacherEmail,
        TeacherPhone,
        EventTeacher,
        TeacherProgress,
        AttendanceOverride,
        MagicLink,
        Communication,
        DataIssue,
        PathfulUnmatchedRecord,
        AuditEntry,
    ):
        rows = (await session.execute(select(model).execution_options(populate_existing=True))).scalars()
        columns = [a.key for a in model.__mapper__.column_attrs if not a.key.startswith("_")]
        out[model.__tablename__] = sorted(tuple(str(getattr(row, c)) for c in columns) for row in rows)
    return out


def test_issue_11_item_12_every_foreign_key_to_teacher_is_handled_by_the_merge():
    """A new table (or column) referencing ``teacher.id`` fails here until the merge decides
    what happens to it (``services/teacher_merge.REFERENCES``)."""
    references = {
        (table.name, fk.parent.name)
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "teacher"
    }
    assert references == set(REFERENCES)


async def test_cap_teacher_merge_dry_run_reports_the_plan_and_writes_nothing(client, admin, session):
    scene = await _scene(session)
    before = await _snapshot(session)
    response = await client.post(
        _url(scene["dup"]),
        headers=admin["headers"],
        json={"into_teacher_id": scene["survivor"], "dry_run": True},
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["dry_run"] is True
    assert await _snapshot(session) == before
    e = scene["e"]
    assert preview["event_links"] == [
        {"event_id": e[0], "outcome": "moved", "status": "attended", "dropped_status": None},
        {"event_id": e[1], "outcome": "kept_merged", "status": "attended", "dropped_status": "registered"},
        {"event_id": e[2], "outcome": "kept_survivor", "status": "attended", "dropped_status": "no_show"},
        {"event_id": e[3], "outcome": "kept_merged", "status": "no_show", "dropped_status": "attended"},
    ]
    roster = {(r["teacher_progress_id"], r["outcome"]) for r in preview["roster_records"]}
    assert roster == {
        (scene["only_dup"], "relinked"),
        (scene["old_year"], "relinked"),
        (scene["kept"], "kept"),
        (scene["twin"], "deactivated_duplicate"),
    }
    assert preview["overrides"] == [
        {"override_id": scene["moved_override"], "event_id": e[5], "outcome": "moved"},
        {"override_id": scene["clashing"], "event_id": e[6], "outcome": "reversed_duplicate"},
    ]
    assert preview["magic_links_invalidated"] == 1
    assert preview["emails_added"] == ["mdelgado@district-b.org"]
    assert preview["pathful_user_id"] == "moved"
    assert (preview["communications"], preview["data_issues"], preview["unmatched_records"]) == (1, 1, 1)
    assert preview["merged_teachers"] == [scene["earlier"]]
    assert preview["district_id_filled"] is True

    # the real run does exactly what the preview said
    done = await client.post(
        _url(scene["dup"]), headers=admin["headers"], json={"into_teacher_id": scene["survivor"]}
    )
    assert done.status_code == 200, done.text
    assert done.json() == preview | {"dry_run": False}


async def test_cap_teacher_merge_moves_everything_to_the_survivor_without_duplicates(client, admin, session):
    scene = await _scene(session)
    survivor_id, dup_id, e = scene["survivor"], scene["dup"], scene["e"]
    response = await client.post(
        _url(dup_id), headers=admin["headers"], json={"into_teacher_id": survivor_id}
    )
    assert response.status_code == 200, response.text

    async def rows(model, *where):
        statement = select(model).where(*where).execution_options(populate_existing=True)
        return list((await session.execute(statement)).scalars())

    links = {link.event_id: link for link in await rows(EventTeacher)}
    assert {event_id: (link.teacher_id, link.status) for event_id, link in links.items()} == {
        e[0]: (survivor_id, "attended"),
        e[1]: (survivor_id, "attended"),
        e[2]: (survivor_id, "attended"),
        e[3]: (survivor_id, "no_show"),
        e[4]: (survivor_id, "registered"),
    }
    assert links[e[3]].notes == "teacher was absent, per the school"  # the admin's correction survives

    dup = (await rows(Teacher, Teacher.id == dup_id))[0]
    survivor = (await rows(Teacher, Teacher.id == survivor_id))[0]
    earlier = (await rows(Teacher, Teacher.id == scene["earlier"]))[0]
    assert (dup.merged_into_id, dup.is_active, dup.deactivation_source, dup.is_deleted) == (
        survivor_id,
        False,
        "merged",
        False,
    )
    assert (dup.pathful_user_id, survivor.pathful_user_id) == (None, "PF-77")
    assert survivor.is_active and survivor.merged_into_id is None and survivor.district_id == scene["d2"]
    assert earlier.merged_into_id == survivor_id

    records = {r.id: r for r in await rows(TeacherProgress)}
    assert {r.teacher_id for r in records.values()} == {survivor_id}
    twin = records[scene["twin"]]
    assert (twin.is_active, twin.deactivation_source, twin.deactivation_reason) == (
        False,
        "manual_admin",
        "data_entry_error",
    )
    assert records[scene["kept"]].is_active and records[scene["only_dup"]].is_active
    active = [
        (o.teacher_progress_id, o.event_id)
        for o in await rows(AttendanceOverride, AttendanceOverride.is_active)
    ]
    assert sorted(active) == sorted([(scene["kept"], e[5]), (scene["kept"], e[6])])
    clashing = (await rows(AttendanceOverride, AttendanceOverride.id == scene["clashing"]))[0]
    assert clashing.reversed_at is not None and clashing.reversed_by_id == admin["id"]
    links_by_id = {m.id: m for m in await rows(MagicLink)}
    assert links_by_id[scene["unused"]].invalidated_at is not None
    assert links_by_id[scene["used"]].invalidated_at is None

    assert [c.teacher_id for c in await rows(Communication)] == [survivor_id]
    assert [d.teacher_id for d in await rows(DataIssue)] == [survivor_id]
    assert [u.resolved_teacher_id for u in await rows(PathfulUnmatchedRecord)] == [survivor_id]
    emails = {(m.teacher_id, m.email_normalized) for m in await rows(TeacherEmail)}
    assert (survivor_id, "mdelgado@district-b.org") in emails
    assert (survivor_id, "maria.delgado@school.org") not in emails  # already the survivor's primary address
    assert (dup_id, "mdelgado@district-b.org") in emails  # the duplicate keeps its own rows
    phones = {(p.teacher_id, p.number, p.source) for p in await rows(TeacherPhone)}
    assert (survivor_id, "816 555 0101", "manual") in phones

    entry = (await rows(AuditEntry, AuditEntry.action == "teacher.merged"))[0]
    assert (entry.entity_type, entry.entity_id, entry.actor_id) == ("teacher", str(dup_id), admin["id"])
    assert entry.changes["_details"]["into_teacher_id"] == survivor_id
    assert entry.changes["_details"]["event_links"]["kept_merged"] == [e[1], e[3]]
    assert entry.changes["merged_into_id"] == {"old": None, "new": survivor_id}

    listed = await client.get("/api/v1/teachers", headers=admin["headers"], params={"active": "false"})
    assert {t["id"]: t["merged_into_id"] for t in listed.json()["items"]}[dup_id] == survivor_id


async def test_cap_teacher_merge_refusals_are_named_and_write_nothing(client, admin, make_user, session):
    scene = await _scene(session)
    survivor_id, dup_id = scene["survivor"], scene["dup"]
    before = await _snapshot(session)

    async def merge(teacher_id: int, into: Any, headers=admin["headers"]) -> tuple[int, str | None]:
        response = await client.post(_url(teacher_id), headers=headers, json={"into_teacher_id": into})
        assert response.headers["content-type"] == "application/problem+json", response.text
        return response.status_code, response.json().get("code")

    assert await merge(dup_id, dup_id) == (422, "same_teacher")
    assert await merge(999_999, survivor_id) == (404, "not_found")
    assert await merge(dup_id, 999_999) == (422, "unknown_teacher")
    assert await merge(dup_id, "x") == (422, "validation_error")
    assert await merge(scene["earlier"], survivor_id) == (409, "teacher_already_merged")
    assert await merge(dup_id, scene["earlier"]) == (409, "teacher_already_merged")
    assert await merge(survivor_id, dup_id) == (409, "salesforce_teacher_must_survive")
    manager = await make_user(level=2)
    assert await merge(dup_id, survivor_id, manager["headers"]) == (403, "forbidden")
    assert await _snapshot(session) == before

    first = await client.post(_url(dup_id), headers=admin["headers"], json={"into_teacher_id": survivor_id})
    assert first.status_code == 200
    assert await merge(dup_id, survivor_id) == (409, "teacher_already_merged")  # a repeat changes nothing


async def test_cap_teacher_merge_later_roster_imports_follow_the_survivor(client, admin, session):
    """After the merge, a roster listing the duplicate's address links to the survivor (its
    records keep their teacher, RO-10; a new record finds the survivor through the address it
    gained), and the duplicate stays merged."""
    scene = await _scene(session)
    merged = await client.post(
        _url(scene["dup"]), headers=admin["headers"], json={"into_teacher_id": scene["survivor"]}
    )
    assert merged.status_code == 200
    d3 = await make_district(session, "District C")
    await session.commit()
    for district_id in (scene["d1"], d3.id):
        upload = await client.post(
            "/api/v1/imports/roster",
            headers=admin["headers"],
            data={"district_id": str(district_id)},
            files={
                "file": (
                    "roster.csv",
                    roster_csv([roster_row("mdelgado@district-b.org", "Ms. Maria Delgado", year=YEAR)]),
                )
            },
        )
        assert upload.status_code == 200, upload.text
    records = (
        await session.execute(
            select(TeacherProgress.district_id, TeacherProgress.teacher_id)
            .where(TeacherProgress.email == "mdelgado@district-b.org", TeacherProgress.academic_year == YEAR)
            .execution_options(populate_existing=True)
        )
    ).all()
    assert {district_id: teacher_id for district_id, teacher_id in records}[d3.id] == scene["survivor"]
    assert {district_id: teacher_id for district_id, teacher_id in records}[scene["d1"]] == scene["survivor"]
    teachers = await session.scalar(select(func.count()).select_from(Teacher))
    assert teachers == 3  # no teacher created for the address


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


async def test_cap_teacher_merge_salesforce_sync_does_not_bring_the_duplicate_back(
    client, admin, sf, session
):
    """Two Salesforce contacts for one teacher: after the merge a full teacher sync updates both
    rows' Salesforce fields but the duplicate stays merged and inactive (merged_into_id and
    is_active are Polaris-owned). A task logged on the duplicate's contact is associated with the
    survivor (SF-36 association follows merged_into_id)."""
    survivor = await make_teacher(
        session, "Maria", "Delgado", email="maria@school.org", salesforce_id="003000000000001AAA"
    )
    dup = await make_teacher(
        session, "Maria", "Delgado", email="maria@home.org", salesforce_id="003000000000002AAA"
    )
    await session.commit()
    survivor_id, dup_id = survivor.id, dup.id
    merged = await client.post(_url(dup_id), headers=admin["headers"], json={"into_teacher_id": survivor_id})
    assert merged.status_code == 200, merged.text
    contact = {"Contact_Type__c": "Teacher", "FirstName": "Maria", "LastName": "Delgado-Ruiz"}
    sf.admin.replace(
        "Contact",
        [
            contact | {"Id": "003000000000001AAA", "Email": "maria@school.org"},
            contact | {"Id": "003000000000002AAA", "Email": "maria@home.org"},
        ],
    )
    run = await sync(client, admin["headers"], "salesforce-teachers", mode="full")
    assert run["status"] == "succeeded", run
    rows = {
        row.id: row
        for row in (
            await session.execute(select(Teacher).execution_options(populate_existing=True))
        ).scalars()
    }
    assert len(rows) == 2
    assert rows[dup_id].last_name == "Delgado-Ruiz"  # Salesforce still owns its fields
    assert (rows[dup_id].merged_into_id, rows[dup_id].is_active) == (survivor_id, False)
    assert rows[survivor_id].is_active
    sf.admin.replace(
        "Task",
        [
            {
                "Id": "00T000000000009AAA",
                "WhoId": "003000000000002AAA",
                "Subject": "Call",
                "Type": "Call",
                "Status": "Completed",
                "ActivityDate": "2025-03-04",
                "CreatedDate": "2025-03-04T14:00:00.000+0000",
            }
        ],
    )
    history = await sync(client, admin["headers"], "salesforce-history", mode="full")
    assert history["status"] == "succeeded", history
    logged = (
        await session.execute(select(Communication).execution_options(populate_existing=True))
    ).scalar_one()
    assert (logged.teacher_id, logged.match_status) == (survivor_id, "matched_teacher")


PATHFUL_HEADER = (
    "Session ID,Title,Date,Status,Duration,User Auth Id,Name,SignUp Role,School,Partner,"
    "Attended Educator Count,Educator Email"
)


async def test_cap_teacher_merge_pathful_rows_of_the_duplicate_go_to_the_survivor(client, admin, session):
    """Both teachers have a Pathful id: the survivor keeps its own, the duplicate keeps its id and
    a later Pathful import (PF-12 step 1 by id, step 2 by the duplicate's address) links the
    sessions to the survivor; no unmatched record, no link to the duplicate."""
    survivor = await make_teacher(
        session, "Maria", "Delgado", email="maria@school.org", pathful_user_id="2203341"
    )
    dup = await make_teacher(session, "Maria", "Delgado", email="mdelgado@b.org", pathful_user_id="2209999")
    await session.commit()
    survivor_id, dup_id = survivor.id, dup.id
    merged = await client.post(_url(dup_id), headers=admin["headers"], json={"into_teacher_id": survivor_id})
    assert merged.json()["pathful_user_id"] == "kept_survivor"
    rows = [
        PATHFUL_HEADER,
        "90001,Careers in Nursing,2025-10-01 09:30:00,Completed,45,2209999,Maria Delgado,Educator,,PREP-KC,1,",
        "90002,Careers in Law,2025-10-02 09:30:00,Completed,45,,Maria Delgado,Educator,,PREP-KC,1,mdelgado@b.org",
    ]
    upload = await client.post(
        "/api/v1/imports/pathful",
        headers=admin["headers"],
        files={"file": ("report.csv", "\n".join(rows).encode())},
        data={"mode": "since", "since": "2025-08-01"},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["unmatched_teachers"] == 0
    links = (
        await session.execute(select(EventTeacher.teacher_id).execution_options(populate_existing=True))
    ).scalars()
    assert sorted(links) == [survivor_id, survivor_id]
