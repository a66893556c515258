"""Teacher progress records outside the import (04 RO-14): a manual deactivation the roster
import never undoes (RO-6), and reactivation, which closes the record's
``protected_teacher_skipped`` flag. Both are audited and bump the reporting data version (06 P4).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NotesRequired, not_found
from polaris_api.imports.roster import PROTECTED_FLAG
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.sync import DataQualityFlag
from polaris_api.models.teachers import TeacherProgress
from polaris_api.services import audit


async def close_protected_flag(
    session: AsyncSession, record_id: int, actor: Principal, now: dt.datetime
) -> None:
    """RO-6: the record's open ``protected_teacher_skipped`` flag closes when it is reactivated."""
    flags = (
        await session.execute(
            select(DataQualityFlag).where(
                DataQualityFlag.code == PROTECTED_FLAG,
                DataQualityFlag.entity_type == "teacher_progress",
                DataQualityFlag.entity_id == record_id,
                DataQualityFlag.status == "open",
            )
        )
    ).scalars()
    for flag in flags:
        flag.status = "resolved"
        flag.resolved_at = now
        flag.resolved_by_id = actor.user_id
        flag.resolution_note = "record reactivated"


async def deactivate_record(
    session: AsyncSession,
    actor: Principal,
    record_id: int,
    reason: str,
    notes: str | None,
    *,
    now: dt.datetime | None = None,
) -> TeacherProgress:
    """RO-14: a manual deactivation (``manual_admin``), which the import then never undoes (RO-6).

    Deactivating a record that is already manually deactivated updates its reason and notes.
    """
    if reason == "other" and not notes:
        raise NotesRequired("Notes are required when the reason is 'other'.")
    record = await session.get(TeacherProgress, record_id)
    if record is None:
        raise not_found("teacher progress record")
    before = _lifecycle(record)
    already = not record.is_active and record.deactivation_source == "manual_admin"
    record.is_active = False
    record.deactivation_source = "manual_admin"
    if not already:
        record.deactivated_at = now or utcnow()
    record.deactivation_reason = reason
    record.deactivation_notes = notes
    record.deactivated_by_id = actor.user_id
    changes = audit.diff(before, _lifecycle(record))
    if changes:
        await audit.record(
            session,
            "teacher_progress.deactivated",
            actor=actor,
            entity_type="teacher_progress",
            entity_id=record.id,
            changes=changes,
            details={"source": "manual_admin"},
        )
        await bump_reporting_data_version(session)
    await session.flush()
    return record


async def reactivate_record(
    session: AsyncSession,
    actor: Principal,
    record_id: int,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> TeacherProgress:
    """RO-14: reactivate a record and close its ``protected_teacher_skipped`` flag (RO-6).

    Reactivating an active record changes nothing (idempotent).
    """
    record = await session.get(TeacherProgress, record_id)
    if record is None:
        raise not_found("teacher progress record")
    if record.is_active:
        return record
    now = now or utcnow()
    before = _lifecycle(record)
    record.is_active = True
    record.deactivation_source = None
    record.deactivated_at = None
    record.reactivated_at = now
    record.reactivation_reason = reason
    await close_protected_flag(session, record.id, actor, now)
    await audit.record(
        session,
        "teacher_progress.reactivated",
        actor=actor,
        entity_type="teacher_progress",
        entity_id=record.id,
        changes=audit.diff(before, _lifecycle(record)),
        details={"source": "manual"},
    )
    await bump_reporting_data_version(session)
    await session.flush()
    return record


def _lifecycle(record: TeacherProgress) -> dict[str, Any]:
    return {
        "is_active": record.is_active,
        "deactivation_source": record.deactivation_source,
        "deactivated_at": record.deactivated_at,
        "deactivation_reason": record.deactivation_reason,
        "deactivation_notes_set": record.deactivation_notes is not None,
        "reactivated_at": record.reactivated_at,
    }
