"""04 TP-5..TP-8: attendance overrides, reversal and auto-resolution (07 CAP: admin, global manager+)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from polaris_api.db import utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.teachers import AttendanceOverride
from polaris_api.services import teacher_progress as tp
from tests.factories import make_district
from tests.teacher_factories import (
    ZONE,
    link_teacher,
    local,
    make_override,
    make_record,
    make_teacher,
    make_virtual_event,
)


async def _setup(session, target=1):
    """A record of the current academic year; a started event and a not-yet-started one in it."""
    now = utcnow()
    year = tp.current_academic_year(ZONE, now)
    window = tp.window_for(year, ZONE)
    district = await make_district(session)
    teacher = await make_teacher(session, "Andre", "Wallace", email="andre@example.org")
    record = await make_record(
        session, district, "andre@example.org", teacher=teacher, academic_year=year, target_sessions=target
    )
    started = await make_virtual_event(
        session, max(window.start + dt.timedelta(seconds=30), now - dt.timedelta(hours=2)), title="Started"
    )
    upcoming = await make_virtual_event(
        session, min(window.end - dt.timedelta(seconds=30), now + dt.timedelta(hours=2)), status="confirmed"
    )
    await session.commit()
    return {"record": record, "teacher": teacher, "started": started, "upcoming": upcoming, "window": window}


async def _progress(client, headers, record_id):
    response = await client.get(f"/api/v1/teacher-progress/{record_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _override(
    client, headers, record_id, event_id, action="add", reason="Teacher attended, roster typo"
):
    return await client.post(
        f"/api/v1/teacher-progress/{record_id}/overrides",
        json={"event_id": event_id, "action": action, "reason": reason},
        headers=headers,
    )


async def test_tp_5_add_override_counts_at_once(client, session, make_user):
    ctx = await _setup(session)
    manager = await make_user(level=2)
    record = ctx["record"]
    assert (await _progress(client, manager["headers"], record.id))["status"] == "not_started"
    response = await _override(client, manager["headers"], record.id, ctx["started"].id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["action"] == "add" and body["is_active"] is True and body["created_by_id"] == manager["id"]
    progress = await _progress(client, manager["headers"], record.id)  # TP-8: next read
    assert (progress["attended_count"], progress["status"]) == (1, "achieved")
    assert [(s["event_id"], s["counted"], s["source"]) for s in progress["sessions"]] == [
        (ctx["started"].id, True, "override")
    ]
    assert progress["overrides"][0]["id"] == body["id"]
    entry = (
        await session.execute(select(AuditEntry).where(AuditEntry.action == "attendance_override.created"))
    ).scalar_one()
    assert entry.entity_id == str(body["id"]) and entry.actor_id == manager["id"]


async def test_tp_5_add_refusals(client, session, admin):
    ctx = await _setup(session)
    record, headers = ctx["record"], admin["headers"]
    await link_teacher(session, ctx["started"], ctx["teacher"])
    in_person = await make_virtual_event(
        session, ctx["started"].start_date, type="career_fair", format="in_person"
    )
    other_year = await make_virtual_event(session, ctx["window"].start - dt.timedelta(days=30))
    await session.commit()
    already = await _override(client, headers, record.id, ctx["started"].id)
    assert (already.status_code, already.json()["code"]) == (409, "already_counted")
    not_started = await _override(client, headers, record.id, ctx["upcoming"].id)
    assert (not_started.status_code, not_started.json()["code"]) == (409, "event_not_started")
    not_virtual = await _override(client, headers, record.id, in_person.id)
    assert (not_virtual.status_code, not_virtual.json()["code"]) == (422, "event_not_virtual")
    outside = await _override(client, headers, record.id, other_year.id)
    assert (outside.status_code, outside.json()["code"]) == (422, "event_outside_academic_year")
    unknown = await _override(client, headers, record.id, 999_999)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_event")
    assert (await _override(client, headers, 999_999, ctx["started"].id)).status_code == 404
    for reason in ("", "   ", "x" * 2001):
        assert (
            await _override(client, headers, record.id, ctx["started"].id, reason=reason)
        ).status_code == 422
    assert (
        await _override(client, headers, record.id, ctx["started"].id, action="delete")
    ).status_code == 422
    assert (await session.execute(select(AttendanceOverride))).scalars().all() == []


async def test_tp_5_remove_override_and_its_refusals(client, session, admin):
    ctx = await _setup(session, target=1)
    record, headers = ctx["record"], admin["headers"]
    not_counted = await _override(client, headers, record.id, ctx["started"].id, action="remove")
    assert (not_counted.status_code, not_counted.json()["code"]) == (409, "not_counted")
    await link_teacher(session, ctx["started"], ctx["teacher"])
    await session.commit()
    assert (await _progress(client, headers, record.id))["status"] == "achieved"
    removed = await _override(client, headers, record.id, ctx["started"].id, action="remove")
    assert removed.status_code == 201, removed.text
    progress = await _progress(client, headers, record.id)
    assert (progress["attended_count"], progress["status"]) == (0, "not_started")
    assert [(s["counted"], s["source"]) for s in progress["sessions"]] == [(False, "import")]
    again = await _override(client, headers, record.id, ctx["started"].id, action="remove")
    assert (again.status_code, again.json()["code"]) == (409, "override_exists")


async def test_tp_5_one_active_override_per_record_and_event_reason_up_to_2000(client, session, admin):
    ctx = await _setup(session)
    record, headers = ctx["record"], admin["headers"]
    assert (
        await _override(client, headers, record.id, ctx["started"].id, reason="x" * 2000)
    ).status_code == 201
    second = await _override(client, headers, record.id, ctx["started"].id)
    assert (second.status_code, second.json()["code"]) == (409, "override_exists")


async def test_tp_6_reverse_an_add_and_a_remove(client, session, admin):
    ctx = await _setup(session, target=1)
    record, headers = ctx["record"], admin["headers"]
    added = (await _override(client, headers, record.id, ctx["started"].id)).json()
    assert (await _progress(client, headers, record.id))["attended_count"] == 1
    reversed_ = await client.post(
        f"/api/v1/overrides/{added['id']}/reverse", json={"reason": "wrong teacher"}, headers=headers
    )
    assert reversed_.status_code == 200, reversed_.text
    body = reversed_.json()
    assert body["is_active"] is False and body["reversed_by_id"] == admin["id"]
    assert body["reversal_reason"] == "wrong teacher" and body["reversed_at"]
    assert (await _progress(client, headers, record.id))["attended_count"] == 0
    twice = await client.post(
        f"/api/v1/overrides/{added['id']}/reverse", json={"reason": "again"}, headers=headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_reversed")

    # the other direction: a remove, reversed, counts the event again
    await link_teacher(session, ctx["started"], ctx["teacher"])
    await session.commit()
    removed = (await _override(client, headers, record.id, ctx["started"].id, action="remove")).json()
    assert (await _progress(client, headers, record.id))["attended_count"] == 0
    assert (
        await client.post(
            f"/api/v1/overrides/{removed['id']}/reverse", json={"reason": "did attend"}, headers=headers
        )
    ).status_code == 200
    progress = await _progress(client, headers, record.id)
    assert (progress["attended_count"], progress["status"]) == (1, "achieved")
    assert [o["is_active"] for o in progress["overrides"]] == [False, False]  # never deleted
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("attendance_override.reversed") == 2
    # refusals
    added = (await _override(client, headers, record.id, ctx["started"].id, action="remove")).json()
    assert (
        await client.post("/api/v1/overrides/999999/reverse", json={"reason": "x"}, headers=admin["headers"])
    ).status_code == 404
    assert (
        await client.post(
            f"/api/v1/overrides/{added['id']}/reverse", json={"reason": ""}, headers=admin["headers"]
        )
    ).status_code == 422
    assert (
        await client.post(f"/api/v1/overrides/{added['id']}/reverse", json={}, headers=admin["headers"])
    ).status_code == 422


async def test_tp_5_tp_6_access_is_admin_or_global_manager(client, session, make_user):
    ctx = await _setup(session)
    record = ctx["record"]
    for user in (
        await make_user(level=0),
        await make_user(level=1),
        await make_user(level=2, districts=[record.district_id]),
    ):
        response = await _override(client, user["headers"], record.id, ctx["started"].id)
        assert response.status_code == 403
    override = await make_override(session, record, ctx["started"], "add")
    await session.commit()
    district_manager = await make_user(level=2, districts=[record.district_id])
    response = await client.post(
        f"/api/v1/overrides/{override.id}/reverse", json={"reason": "x"}, headers=district_manager["headers"]
    )
    assert response.status_code == 403
    assert (
        await client.post(f"/api/v1/overrides/{override.id}/reverse", json={"reason": "x"})
    ).status_code == 401


async def test_tp_7_auto_resolve_closes_adds_now_counted(session):
    district = await make_district(session)
    teacher = await make_teacher(session, email="t@example.org")
    record = await make_record(session, district, "t@example.org", teacher=teacher, academic_year="2025-2026")
    imported = await make_virtual_event(session, local(2025, 10, 1, 9))
    still_missing = await make_virtual_event(session, local(2025, 10, 2, 9))
    other_year = await make_virtual_event(session, local(2024, 10, 2, 9))
    add = await make_override(session, record, imported, "add")
    keep = await make_override(session, record, still_missing, "add")
    keep_other_year = await make_override(session, record, other_year, "add")
    remove = await make_override(session, record, imported, "remove", is_active=False)
    await session.commit()
    now = local(2026, 3, 1, 12)
    before = await tp.record_progress(session, record.id, tp.window_for("2025-2026", ZONE), now)
    assert before["attended_count"] == 2
    # the import confirms the attendance the override asserted
    await link_teacher(session, imported, teacher)
    await link_teacher(session, other_year, teacher)  # counted, but not in the record's year
    await session.commit()
    closed = await tp.auto_resolve_overrides(session, 42, zone=ZONE, now=now)
    await session.commit()
    assert closed == [add.id]
    await session.refresh(add)
    assert add.is_active is False and add.reversed_by_id is None and add.reversed_at is not None
    assert add.reversal_reason == "auto-resolved: attendance imported by import 42"
    for untouched in (keep, keep_other_year, remove):
        await session.refresh(untouched)
    assert keep.is_active and keep_other_year.is_active
    after = await tp.record_progress(session, record.id, tp.window_for("2025-2026", ZONE), now)
    assert after["attended_count"] == before["attended_count"] == 2  # the count does not change
    entry = (
        await session.execute(
            select(AuditEntry).where(AuditEntry.action == "attendance_override.auto_resolved")
        )
    ).scalar_one()
    assert entry.actor_type == "system" and entry.entity_id == str(add.id)
    assert await tp.auto_resolve_overrides(session, 43, zone=ZONE, now=now) == []  # idempotent
