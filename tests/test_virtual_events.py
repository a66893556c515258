"""Polaris virtual events: create, Polaris-owned edits, presenter / teacher tags (04 VS-5), VS-6 flags
after each edit, ownership (00 OWN-2, 04 PF-11/PF-15), cancellation reason (08 VOC-16), audit (07 AUD-1)
and district scope (07 CAP 🔒, AC-6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.db import utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import EventDistrict, EventParticipation, EventTeacher, VirtualSessionFlag
from tests.cap_cases_virtual import make_manual_event
from tests.factories import make_district, make_event, make_school
from tests.pathful_factories import make_pathful_event, make_volunteer
from tests.teacher_factories import make_teacher

PROBLEM = "application/problem+json"


def url(event_id: int, suffix: str = "") -> str:
    return f"/api/v1/events/{event_id}{suffix}"


async def flags(session: Any, event_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(VirtualSessionFlag.flag_type, VirtualSessionFlag.status)
        .where(VirtualSessionFlag.event_id == event_id)
        .order_by(VirtualSessionFlag.id)
    )
    return [tuple(row) for row in rows.all()]


async def audit_entries(session: Any, action: str) -> list[AuditEntry]:
    return list((await session.execute(select(AuditEntry).where(AuditEntry.action == action))).scalars())


# --------------------------------------------------------------------------------------
# Create


async def test_vs_5_create_virtual_event_defaults_naive_time_local_and_audit(client, admin, session):
    district = await make_district(session, "Riverbend")
    await session.commit()
    response = await client.post(
        "/api/v1/events",
        headers=admin["headers"],
        json={
            "title": "  Careers in Aviation ",
            "start_date": "2031-01-15T09:00:00",
            "duration": 45,
            "district_ids": [district.id, district.id],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "Careers in Aviation"
    assert (body["type"], body["format"], body["source"], body["status"]) == (
        "virtual_session",
        "virtual",
        "manual",
        "draft",
    )
    # naive → America/Chicago (CST, UTC-6); end = start + duration
    assert dt.datetime.fromisoformat(body["start_date"]) == dt.datetime(2031, 1, 15, 15, 0, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(body["end_date"]) == dt.datetime(2031, 1, 15, 15, 45, tzinfo=dt.UTC)
    assert body["start_day"] == "2031-01-15"
    assert body["district_ids"] == [district.id]
    assert body["open_flags"] == ["missing_teacher"]
    entries = await audit_entries(session, "event.created")
    assert len(entries) == 1 and entries[0].entity_id == str(body["id"])
    assert entries[0].changes["title"] == {"old": None, "new": "Careers in Aviation"}
    assert entries[0].changes["districts"] == {"old": [], "new": [district.id]}

    aware = await client.post(
        "/api/v1/events",
        headers=admin["headers"],
        json={"title": "Aware", "start_date": "2031-07-01T10:00:00+00:00", "status": "PUBLISHED".lower()},
    )
    assert aware.status_code == 201
    assert dt.datetime.fromisoformat(aware.json()["start_date"]) == dt.datetime(2031, 7, 1, 10, tzinfo=dt.UTC)
    assert aware.json()["start_day"] == "2031-07-01"


@pytest.mark.parametrize(
    "patch",
    [
        {"status": "Published"},  # a label, not a value (VOC-1 exact match)
        {"status": "published "},
        {"type": "bogus"},
        {"title": ""},
        {"title": "x" * 501},
        {"duration": 0},
        {"duration": "sixty"},
        {"start_date": "not a date"},
        {"start_date": "0001-01-01T00:00:00Z"},
        {"start_date": "9999-12-31T23:59:59"},
        {"district_ids": [0]},
        {"district_ids": "1"},
        {"school_id": 2**40},
        {"cancellation_reason": "weather"},  # not a create field
        {"unknown": 1},
    ],
)
async def test_vs_5_create_rejects_bad_vocabulary_and_hostile_input(client, admin, patch):
    body = {"title": "Session", "start_date": "2031-01-15T09:00:00", **patch}
    response = await client.post("/api/v1/events", headers=admin["headers"], json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "validation_error"


async def test_vs_5_create_unknown_references_and_malformed_json(client, admin):
    response = await client.post(
        "/api/v1/events",
        headers=admin["headers"],
        json={"title": "S", "start_date": "2031-01-15T09:00:00", "district_ids": [987654]},
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_district"
    response = await client.post(
        "/api/v1/events",
        headers=admin["headers"],
        json={"title": "S", "start_date": "2031-01-15", "school_id": 5},
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_school"
    response = await client.post(
        "/api/v1/events",
        headers={**admin["headers"], "content-type": "application/json"},
        content=b'{"title": ',
    )
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM


# --------------------------------------------------------------------------------------
# Edit (PATCH /events/{id})


async def test_vs_5_patch_polaris_owned_fields_with_audit_old_new(client, admin, session):
    district = await make_district(session)
    event = await make_manual_event(session, dt.datetime(2031, 1, 15, 15, tzinfo=dt.UTC), title="Old title")
    await session.commit()
    response = await client.patch(
        url(event.id),
        headers=admin["headers"],
        json={"title": "New title", "duration": 90, "description": "About it", "district_ids": [district.id]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "New title" and body["description"] == "About it"
    assert dt.datetime.fromisoformat(body["end_date"]) == dt.datetime(2031, 1, 15, 16, 30, tzinfo=dt.UTC)
    assert body["district_ids"] == [district.id]
    [entry] = await audit_entries(session, "event.updated")
    assert entry.changes["title"] == {"old": "Old title", "new": "New title"}
    assert entry.changes["duration"] == {"old": 60, "new": 90}
    assert entry.changes["districts"] == {"old": [], "new": [district.id]}
    # null on a required field, unknown key, wrong types → 422; unknown event → 404
    for bad in (
        {"title": None},
        {"status": None},
        {"start_date": None},
        {"nope": 1},
        {"duration": -5},
        [],
        "x",
    ):
        response = await client.patch(url(event.id), headers=admin["headers"], json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == PROBLEM
    response = await client.patch(url(999_999), headers=admin["headers"], json={"title": "x"})
    assert response.status_code == 404


async def test_vs_5_patch_pathful_and_salesforce_owned_fields_409(client, admin, session):
    pathful = await make_pathful_event(session, "PF-1", start=dt.datetime(2031, 1, 15, 15, tzinfo=dt.UTC))
    sf_event = await make_event(session, title="SF fair")
    district = await make_district(session)
    await session.commit()
    for field, value in (("title", "Renamed"), ("start_date", "2031-02-01T10:00:00"), ("status", "draft")):
        response = await client.patch(url(pathful.id), headers=admin["headers"], json={field: value})
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "owned_by_pathful"
        assert response.json()["owner"] == "pathful"
    response = await client.patch(
        url(pathful.id), headers=admin["headers"], json={"description": "Polaris's"}
    )
    assert response.status_code == 200 and response.json()["description"] == "Polaris's"
    response = await client.patch(url(sf_event.id), headers=admin["headers"], json={"title": "x"})
    assert response.status_code == 409 and response.json()["code"] == "owned_by_salesforce"
    response = await client.patch(
        url(sf_event.id), headers=admin["headers"], json={"district_ids": [district.id]}
    )
    assert response.status_code == 409 and response.json()["code"] == "owned_by_publishing"


async def test_vs_5_cancellation_reason_only_while_cancelled_codes_and_notes_required(client, admin, session):
    event = await make_manual_event(session, dt.datetime(2031, 1, 15, 15, tzinfo=dt.UTC))
    await session.commit()
    headers = admin["headers"]
    response = await client.patch(url(event.id), headers=headers, json={"cancellation_reason": "weather"})
    assert response.status_code == 409 and response.json()["code"] == "not_cancelled"
    response = await client.patch(url(event.id), headers=headers, json={"cancellation_notes": "snow"})
    assert response.status_code == 409 and response.json()["code"] == "not_cancelled"

    response = await client.patch(url(event.id), headers=headers, json={"status": "cancelled"})
    assert response.status_code == 200 and "needs_reason" in response.json()["open_flags"]

    response = await client.patch(url(event.id), headers=headers, json={"cancellation_reason": "WEATHER"})
    assert response.status_code == 200
    assert response.json()["cancellation_reason"] == "weather"  # the code is normalised
    assert "needs_reason" not in response.json()["open_flags"]

    for bad in ("Weather", "weather ", "INCLEMENT WEATHER", "snow day", 3):
        response = await client.patch(url(event.id), headers=headers, json={"cancellation_reason": bad})
        assert response.status_code == 422 and response.json()["code"] == "validation_error", bad

    for body in (
        {"cancellation_reason": "OTHER"},
        {"cancellation_reason": "other", "cancellation_notes": "   "},
    ):
        response = await client.patch(url(event.id), headers=headers, json=body)
        assert response.status_code == 422 and response.json()["code"] == "notes_required", body
    response = await client.patch(
        url(event.id),
        headers=headers,
        json={"cancellation_reason": "OTHER", "cancellation_notes": "Power cut"},
    )
    assert response.status_code == 200
    assert (response.json()["cancellation_reason"], response.json()["cancellation_notes"]) == (
        "other",
        "Power cut",
    )
    # removing the notes of an `other` reason is refused too
    response = await client.patch(url(event.id), headers=headers, json={"cancellation_notes": None})
    assert response.status_code == 422 and response.json()["code"] == "notes_required"

    # clearing the reason reopens needs_reason as a new flag
    response = await client.patch(url(event.id), headers=headers, json={"cancellation_reason": None})
    assert response.status_code == 200 and "needs_reason" in response.json()["open_flags"]
    assert [f for f in await flags(session, event.id) if f[0] == "needs_reason"] == [
        ("needs_reason", "resolved"),
        ("needs_reason", "open"),
    ]
    # status and reason together in one request
    other = await make_manual_event(session, dt.datetime(2031, 1, 16, 15, tzinfo=dt.UTC))
    await session.commit()
    response = await client.patch(
        url(other.id), headers=headers, json={"status": "cancelled", "cancellation_reason": "LOW_ENROLLMENT"}
    )
    assert response.status_code == 200 and response.json()["cancellation_reason"] == "low_enrollment"
    assert "needs_reason" not in response.json()["open_flags"]
    entries = await audit_entries(session, "event.updated")
    assert any(e.changes.get("cancellation_reason") == {"old": None, "new": "weather"} for e in entries)


async def test_vs_5_district_user_cancellation_in_scope_ok_out_of_scope_and_other_fields_403(
    client, make_user, session
):
    mine = await make_district(session, "Mine")
    theirs = await make_district(session, "Theirs")
    my_school = await make_school(session, district=mine)
    start = dt.datetime(2031, 1, 15, 15, tzinfo=dt.UTC)
    linked = await make_manual_event(session, start, status="cancelled")
    session.add(EventDistrict(event_id=linked.id, district_id=mine.id))
    via_teacher = await make_manual_event(session, start, status="cancelled")
    teacher = await make_teacher(session, "Tess", "Garcia", school=my_school)
    session.add(EventTeacher(event_id=via_teacher.id, teacher_id=teacher.id, source="pathful"))
    via_school = await make_manual_event(session, start, status="cancelled", school_id=my_school.id)
    outside = await make_manual_event(session, start, status="cancelled")
    session.add(EventDistrict(event_id=outside.id, district_id=theirs.id))
    volunteer = await make_volunteer(session, "Pat", "Presenter")
    await session.commit()
    user = await make_user(level=2, districts=[mine.id])
    headers = user["headers"]

    for event in (linked, via_teacher, via_school):
        response = await client.patch(url(event.id), headers=headers, json={"cancellation_reason": "WEATHER"})
        assert response.status_code == 200, response.text
        assert response.json()["cancellation_reason"] == "weather"
        assert response.json()["teachers"] == [] and response.json()["presenters"] == []  # DV-1
    response = await client.patch(url(outside.id), headers=headers, json={"cancellation_reason": "WEATHER"})
    assert response.status_code == 403 and response.headers["content-type"] == PROBLEM
    in_person = await make_event(session, districts=[mine], status="cancelled", salesforce_id=None)
    await session.commit()
    response = await client.patch(url(in_person.id), headers=headers, json={"cancellation_reason": "WEATHER"})
    assert response.status_code == 403  # CAP: the cancellation reason of a *virtual* event
    for body in (
        {"title": "x"},
        {"status": "completed"},
        {"cancellation_reason": "weather", "description": "x"},
    ):
        response = await client.patch(url(linked.id), headers=headers, json=body)
        assert response.status_code == 403, body
    # codes, not_cancelled and notes_required apply to district users too
    response = await client.patch(url(linked.id), headers=headers, json={"cancellation_reason": "other"})
    assert response.status_code == 422 and response.json()["code"] == "notes_required"
    # everything else on virtual events is for global users only
    assert (
        await client.post("/api/v1/events", headers=headers, json={"title": "x", "start_date": "2031-01-01"})
    ).status_code == 403
    response = await client.post(
        url(linked.id, "/presenters"), headers=headers, json={"volunteer_id": volunteer.id}
    )
    assert response.status_code == 403
    response = await client.patch(
        url(via_teacher.id, f"/teachers/{teacher.id}"),
        headers=headers,
        json={"status": "attended", "notes": "x"},
    )
    assert response.status_code == 403


async def test_vs_5_district_user_without_districts_is_refused(client, make_user, session):
    event = await make_manual_event(session, dt.datetime(2031, 1, 15, 15, tzinfo=dt.UTC), status="cancelled")
    await session.commit()
    user = await make_user(level=0, districts=[])
    response = await client.patch(
        url(event.id), headers=user["headers"], json={"cancellation_reason": "WEATHER"}
    )
    assert response.status_code == 403


# --------------------------------------------------------------------------------------
# Presenter and teacher tags, flags after each edit


async def test_vs_5_presenter_tags_recompute_flags(client, admin, session):
    past = utcnow() - dt.timedelta(days=2)
    event = await make_manual_event(session, past, status="completed")
    teacher = await make_teacher(session, "Tess", "Garcia")
    session.add(EventTeacher(event_id=event.id, teacher_id=teacher.id, source="manual"))
    volunteer = await make_volunteer(session, "Pat", "Presenter")
    await session.commit()
    headers = admin["headers"]
    response = await client.patch(url(event.id), headers=headers, json={"description": "trigger recompute"})
    assert response.json()["open_flags"] == ["missing_presenter"]

    response = await client.post(
        url(event.id, "/presenters"), headers=headers, json={"volunteer_id": volunteer.id}
    )
    assert response.status_code == 201, response.text
    assert response.json()["presenters"] == [
        {"volunteer_id": volunteer.id, "status": "registered", "source": "manual"}
    ]
    assert response.json()["open_flags"] == []
    assert await flags(session, event.id) == [("missing_presenter", "resolved")]

    response = await client.post(
        url(event.id, "/presenters"), headers=headers, json={"volunteer_id": volunteer.id}
    )
    assert response.status_code == 409 and response.json()["code"] == "already_tagged"
    response = await client.post(
        url(event.id, "/presenters"), headers=headers, json={"volunteer_id": 999_999}
    )
    assert response.status_code == 404
    response = await client.post(
        url(999_999, "/presenters"), headers=headers, json={"volunteer_id": volunteer.id}
    )
    assert response.status_code == 404
    for bad in ({}, {"volunteer_id": "abc"}, {"volunteer_id": -1}, {"volunteer_id": 1, "x": 1}):
        response = await client.post(url(event.id, "/presenters"), headers=headers, json=bad)
        assert response.status_code == 422, bad

    response = await client.delete(url(event.id, f"/presenters/{volunteer.id}"), headers=headers)
    assert response.status_code == 200 and response.json() == {"event_id": event.id, "removed": True}
    assert await flags(session, event.id) == [
        ("missing_presenter", "resolved"),
        ("missing_presenter", "open"),
    ]
    response = await client.delete(url(event.id, f"/presenters/{volunteer.id}"), headers=headers)
    assert response.json()["removed"] is False
    actions = [e.action for e in await audit_entries(session, "event.presenter_added")] + [
        e.action for e in await audit_entries(session, "event.presenter_removed")
    ]
    assert actions == ["event.presenter_added", "event.presenter_removed"]
    [removed] = await audit_entries(session, "event.presenter_removed")
    assert removed.changes["presenters"] == {"old": volunteer.id, "new": None}


async def test_vs_5_delete_pathful_owned_rows_409(client, admin, session):
    event = await make_pathful_event(session, "PF-9", start=utcnow() + dt.timedelta(days=3))
    volunteer = await make_volunteer(session, "Pat", "Pathful")
    teacher = await make_teacher(session, "Tess", "Pathful")
    session.add(
        EventParticipation(
            event_id=event.id, volunteer_id=volunteer.id, participant_type="presenter", source="pathful"
        )
    )
    session.add(EventTeacher(event_id=event.id, teacher_id=teacher.id, source="pathful"))
    await session.commit()
    response = await client.delete(url(event.id, f"/presenters/{volunteer.id}"), headers=admin["headers"])
    assert response.status_code == 409 and response.json()["code"] == "owned_by_pathful"
    response = await client.delete(url(event.id, f"/teachers/{teacher.id}"), headers=admin["headers"])
    assert response.status_code == 409 and response.json()["code"] == "owned_by_pathful"
    assert await session.scalar(select(EventTeacher.id).where(EventTeacher.event_id == event.id)) is not None
    assert await session.scalar(select(EventParticipation.id).where(EventParticipation.event_id == event.id))


async def test_vs_5_teacher_tags_and_admin_correction(client, admin, session):
    event = await make_manual_event(session, utcnow() - dt.timedelta(days=1), status="completed")
    teacher = await make_teacher(session, "Tess", "Garcia")
    await session.commit()
    headers = admin["headers"]
    response = await client.patch(url(event.id), headers=headers, json={"description": "trigger recompute"})
    assert response.json()["open_flags"] == ["missing_presenter", "missing_teacher"]
    response = await client.post(url(event.id, "/teachers"), headers=headers, json={"teacher_id": teacher.id})
    assert response.status_code == 201, response.text
    [link] = response.json()["teachers"]
    assert (link["status"], link["source"], link["protected"]) == ("registered", "manual", False)
    assert "missing_teacher" not in response.json()["open_flags"]
    assert ("missing_teacher", "resolved") in await flags(session, event.id)
    response = await client.post(url(event.id, "/teachers"), headers=headers, json={"teacher_id": teacher.id})
    assert response.status_code == 409 and response.json()["code"] == "already_tagged"
    response = await client.post(url(event.id, "/teachers"), headers=headers, json={"teacher_id": 999_999})
    assert response.status_code == 404

    correction = url(event.id, f"/teachers/{teacher.id}")
    response = await client.patch(
        correction, headers=headers, json={"status": "attended", "notes": "Confirmed"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["attendance_confirmed_at"] is not None and response.json()["protected"] is True
    response = await client.patch(
        correction, headers=headers, json={"status": "no_show", "notes": "Was absent"}
    )
    assert response.json()["attendance_confirmed_at"] is None and response.json()["status"] == "no_show"
    response = await client.patch(correction, headers=headers, json={"notes": None})
    assert response.status_code == 200 and response.json()["protected"] is False
    assert response.json()["status"] == "no_show"
    for bad in (
        {"status": "attended"},
        {"status": "Attended", "notes": "x"},
        {"status": "attended", "notes": 5},
    ):
        response = await client.patch(correction, headers=headers, json=bad)
        assert response.status_code == 422, bad
    response = await client.patch(url(event.id, "/teachers/999999"), headers=headers, json={"notes": "x"})
    assert response.status_code == 404
    [entry, *_] = await audit_entries(session, "event_teacher.corrected")
    assert entry.changes["status"] == {"old": "registered", "new": "attended"}

    response = await client.delete(correction, headers=headers)
    assert response.status_code == 200 and response.json()["removed"] is True
    response = await client.patch(url(event.id), headers=headers, json={"description": "x"})
    assert "missing_teacher" in response.json()["open_flags"]
    assert len(await audit_entries(session, "event.teacher_removed")) == 1


async def test_vs_5_correction_hands_pathful_row_to_polaris(client, admin, session):
    """PF-15: a row with notes is the admin's (ownership registry), null notes give it back."""
    from polaris_api.ownership import Owner, owner_of

    event = await make_pathful_event(session, "PF-7", start=utcnow() - dt.timedelta(days=1))
    teacher = await make_teacher(session, "Tess", "Garcia")
    session.add(EventTeacher(event_id=event.id, teacher_id=teacher.id, source="pathful", status="no_show"))
    await session.commit()
    response = await client.patch(
        url(event.id, f"/teachers/{teacher.id}"),
        headers=admin["headers"],
        json={"status": "attended", "notes": "Zoom log"},
    )
    assert response.status_code == 200 and response.json()["source"] == "pathful"
    row = await session.scalar(
        select(EventTeacher)
        .where(EventTeacher.event_id == event.id)
        .execution_options(populate_existing=True)
    )
    assert row.notes == "Zoom log" and row.notes_updated_by_id == admin["id"]
    assert owner_of("event_teacher", "status", admin_annotated=row.notes is not None) == Owner.polaris
