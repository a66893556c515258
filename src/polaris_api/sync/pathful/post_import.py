"""What follows every committed Pathful import or replay (04 PF-23).

* VS-6: the virtual-session flags of every ``virtual_session`` event are recomputed (set-based:
  one query for the conditions, one for the open flags, then bulk inserts / updates);
* TP-7: active ``add`` overrides whose event is now counted for the record are closed;
* 06 P4: ``reporting_data_version`` is bumped.

They run in the import's own transaction, after its writes, so the import and what is derived
from it commit (or roll back) together. A dry run calls none of them (PF-20).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import and_, exists, false, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.app_setting import REPORTING_DATA_VERSION, DataVersion
from polaris_api.models.events import Event, EventParticipation, EventTeacher, VirtualSessionFlag
from polaris_api.models.teachers import AttendanceOverride, TeacherProgress
from polaris_api.sync.pathful.apply import AuditBuffer

PENDING_STATUSES = frozenset({"draft", "requested", "confirmed", "published"})


def desired_flags(
    status: str | None,
    start_date: dt.datetime | None,
    cancellation_reason: str | None,
    has_teacher: bool,
    has_presenter: bool,
    now: dt.datetime,
) -> set[str]:
    """VS-6: the flags that should be open for one virtual session."""
    flags = set()
    if status in PENDING_STATUSES and start_date is not None and start_date < now:
        flags.add("needs_attention")
    if not has_teacher:
        flags.add("missing_teacher")
    if status == "completed" and not has_presenter:
        flags.add("missing_presenter")
    if status == "cancelled" and cancellation_reason is None:
        flags.add("needs_reason")
    return flags


async def recompute_virtual_session_flags(
    session: AsyncSession, now: dt.datetime, event_ids: Collection[int] | None = None
) -> dict[str, int]:
    """VS-6 for every virtual session, or only for ``event_ids`` (one event after a VS-5 edit)."""
    has_teacher = exists().where(EventTeacher.event_id == Event.id, EventTeacher.is_deleted == false())
    has_presenter = exists().where(
        EventParticipation.event_id == Event.id,
        EventParticipation.participant_type == "presenter",
        EventParticipation.is_deleted == false(),
    )
    rows = (
        await session.execute(
            select(
                Event.id,
                Event.status,
                Event.start_date,
                Event.cancellation_reason,
                has_teacher.label("has_teacher"),
                has_presenter.label("has_presenter"),
            ).where(
                Event.type == "virtual_session",
                Event.is_deleted == false(),
                *([Event.id.in_(sorted(event_ids))] if event_ids is not None else []),
            )
        )
    ).all()
    wanted: set[tuple[int, str]] = set()
    for row in rows:
        for flag in desired_flags(
            row.status,
            row.start_date,
            row.cancellation_reason,
            bool(row.has_teacher),
            bool(row.has_presenter),
            now,
        ):
            wanted.add((row.id, flag))
    open_flags = {
        (row.event_id, row.flag_type): row.id
        for row in (
            await session.execute(
                select(
                    VirtualSessionFlag.id, VirtualSessionFlag.event_id, VirtualSessionFlag.flag_type
                ).where(
                    VirtualSessionFlag.status == "open",
                    *([VirtualSessionFlag.event_id.in_(sorted(event_ids))] if event_ids is not None else []),
                )
            )
        ).all()
    }
    to_resolve = [flag_id for key, flag_id in open_flags.items() if key not in wanted]
    to_open = sorted(key for key in wanted if key not in open_flags)
    for start in range(0, len(to_resolve), 500):
        await session.execute(
            update(VirtualSessionFlag)
            .where(VirtualSessionFlag.id.in_(to_resolve[start : start + 500]))
            .values(status="resolved", resolved_at=now)
        )
    if to_open:
        await session.execute(
            insert(VirtualSessionFlag),
            [{"event_id": e, "flag_type": f, "status": "open", "opened_at": now} for e, f in to_open],
        )
    return {"flags_opened": len(to_open), "flags_resolved": len(to_resolve)}


def _academic_year_bounds(academic_year: str, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime] | None:
    """04 §0: Aug 1 00:00 local of the first year up to the next Aug 1."""
    try:
        first = int(academic_year[:4])
    except ValueError:
        return None
    return (
        dt.datetime(first, 8, 1, tzinfo=tz).astimezone(dt.UTC),
        dt.datetime(first + 1, 8, 1, tzinfo=tz).astimezone(dt.UTC),
    )


async def auto_resolve_overrides(
    session: AsyncSession, *, import_id: int | None, now: dt.datetime, tz: dt.tzinfo, audit: AuditBuffer
) -> int:
    """TP-7: close active ``add`` overrides whose event now counts for the record (TP-3)."""
    rows = (
        await session.execute(
            select(AttendanceOverride.id, TeacherProgress.academic_year, Event.start_date)
            .join(TeacherProgress, TeacherProgress.id == AttendanceOverride.teacher_progress_id)
            .join(Event, Event.id == AttendanceOverride.event_id)
            .join(
                EventTeacher,
                and_(
                    EventTeacher.event_id == AttendanceOverride.event_id,
                    EventTeacher.teacher_id == TeacherProgress.teacher_id,
                ),
            )
            .where(
                AttendanceOverride.is_active.is_(True),
                AttendanceOverride.action == "add",
                EventTeacher.attendance_confirmed_at.is_not(None),
                EventTeacher.is_deleted == false(),
                (Event.format == "virtual") | (Event.type == "virtual_session"),
            )
        )
    ).all()
    closing: list[int] = []
    for override_id, academic_year, start in rows:
        bounds = _academic_year_bounds(academic_year, tz)
        if bounds and start is not None and bounds[0] <= start < bounds[1]:
            closing.append(override_id)
    if not closing:
        return 0
    reason = f"auto-resolved: attendance imported by import {import_id}"
    values: dict[str, Any] = {
        "is_active": False,
        "reversed_by_id": None,
        "reversed_at": now,
        "reversal_reason": reason,
    }
    for start in range(0, len(closing), 500):
        await session.execute(
            update(AttendanceOverride)
            .where(AttendanceOverride.id.in_(closing[start : start + 500]))
            .values(**values)
        )
    for override_id in closing:
        audit.add(
            "attendance_override.auto_resolved",
            "attendance_override",
            override_id,
            {"is_active": (True, False), "reversal_reason": (None, reason)},
        )
    return len(closing)


async def bump_reporting_version(session: AsyncSession, now: dt.datetime) -> None:
    """06 P4: ``reporting_data_version`` + 1, in the transaction of the writes it tracks."""
    result = await session.execute(
        update(DataVersion)
        .where(DataVersion.name == REPORTING_DATA_VERSION)
        .values(version=DataVersion.version + 1, updated_at=now)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            insert(DataVersion).values(name=REPORTING_DATA_VERSION, version=1, updated_at=now)
        )


async def after_import(
    session: AsyncSession, *, import_id: int | None, now: dt.datetime, tz: dt.tzinfo, audit: AuditBuffer
) -> dict[str, int]:
    counts = await recompute_virtual_session_flags(session, now)
    counts["overrides_auto_resolved"] = await auto_resolve_overrides(
        session, import_id=import_id, now=now, tz=tz, audit=audit
    )
    await bump_reporting_version(session, now)
    return counts
