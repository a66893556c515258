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

from sqlalchemy import exists, false, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.attendance import auto_resolve_overrides
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.events import Event, EventParticipation, EventTeacher, VirtualSessionFlag

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


async def after_import(
    session: AsyncSession, *, import_id: int | None, now: dt.datetime, tz: dt.tzinfo
) -> dict[str, int]:
    """PF-23 in order: VS-6 flags, TP-7 (the one implementation, :mod:`polaris_api.attendance`),
    then the 06 P4 bump."""
    counts = await recompute_virtual_session_flags(session, now)
    closed = await auto_resolve_overrides(session, import_id, zone=tz, now=now)
    counts["overrides_auto_resolved"] = len(closed)
    await bump_reporting_data_version(session, now)
    return counts
