"""04 TP-7 after a Pathful import (PF-23): the one auto-resolution rule, the same as TP-3 counts.

TP-7 used to exist twice (teacher-progress service and the Pathful post-import step) and the two
disagreed; each test below is a case where the Pathful copy answered differently from TP-3.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import EventTeacher
from polaris_api.models.teachers import AttendanceOverride
from polaris_api.services import teacher_progress as tp
from tests.factories import make_district
from tests.teacher_factories import ZONE, link_teacher, local, make_override, make_record, make_teacher
from tests.teacher_factories import make_virtual_event as make_event
from tests.test_pathful_import import CLOCK, EXAMPLE, example, fresh, import_at  # noqa: F401  (example: the worked example's fixture)


async def _record_with_add_override(session, event):
    """A 2025-2026 record whose teacher has a confirmed attendance on ``event`` and an active
    ``add`` override for it (the override predates the import that confirmed the attendance)."""
    district = await make_district(session)
    teacher = await make_teacher(session, "Tp", "Seven", email=f"tp7-{event.id}@example.org")
    record = await make_record(session, district, f"tp7-{event.id}@example.org", teacher=teacher)
    override = await make_override(session, record, event, "add")
    await link_teacher(session, event, teacher)
    await session.commit()
    return record, override


async def _after_pathful_import(session, override_id: int) -> tuple[AttendanceOverride, int]:
    report = await import_at(session, EXAMPLE.read_bytes(), mode="since", since=dt.date(2025, 8, 1))
    await fresh(session)
    override = await session.get(AttendanceOverride, override_id)
    assert override is not None
    return override, report["import_id"]


@pytest.mark.usefixtures("example")
async def test_tp_7_connector_session_override_is_auto_resolved_by_pathful_import(session):
    """06 G7: a ``connector_session`` is virtual whatever its format (Salesforce leaves a blank
    format ``in_person``, SF-32), so its confirmed attendance counts (TP-3) and the add override
    closes. The Pathful copy only knew format ``virtual`` or type ``virtual_session``."""
    event = await make_event(session, local(2025, 10, 1, 9), type="connector_session", format="in_person")
    record, override = await _record_with_add_override(session, event)
    record_id, override_id = record.id, override.id
    window = tp.window_for("2025-2026", ZONE)
    before = await tp.record_progress(session, record_id, window, CLOCK)
    assert before["attended_count"] == 1  # counted once: the import's attendance, the add not twice

    closed, import_id = await _after_pathful_import(session, override_id)

    assert closed.is_active is False and closed.reversed_by_id is None
    assert closed.reversal_reason == f"auto-resolved: attendance imported by import {import_id}"
    entry = (
        await session.execute(
            select(AuditEntry).where(
                AuditEntry.action == "attendance_override.auto_resolved",
                AuditEntry.entity_id == str(override_id),
            )
        )
    ).scalar_one()
    assert entry.actor_type == "system"
    after = await tp.record_progress(session, record_id, window, CLOCK)
    assert after["attended_count"] == before["attended_count"]  # TP-7: the count does not change


@pytest.mark.usefixtures("example")
async def test_tp_7_soft_deleted_event_override_stays_active_after_pathful_import(session):
    """TP-3 leaves soft-deleted events out of ``counted`` (06 G3), so an add override on one is
    not "now counted" and stays active. The Pathful copy closed it."""
    event = await make_event(session, local(2025, 10, 2, 9))
    _, override = await _record_with_add_override(session, event)
    event.is_deleted = True
    event_id, override_id = event.id, override.id
    await session.commit()

    still, _ = await _after_pathful_import(session, override_id)

    assert still.is_active is True and still.reversal_reason is None
    link = (await session.execute(select(EventTeacher).where(EventTeacher.event_id == event_id))).scalar_one()
    assert link.attendance_confirmed_at is not None  # the attendance is there; the event is not
