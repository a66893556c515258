"""The Pathful queues (04 PF-17, PF-18): staff resolve an unmatched teacher or volunteer by hand
(the stored row is back-filled and replayed through PF-13..PF-16), date a no-date session, or
ignore records one by one or in bulk. A replay holds the import lock like an import does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.errors import Problem, not_found
from polaris_api.imports.pathful.apply import Actor, AuditBuffer, apply_plan
from polaris_api.imports.pathful.importer import ImportSource, exclusive_import, import_pathful_table, now
from polaris_api.imports.pathful.lookups import (
    Lookups,
    TeacherInfo,
    VolunteerInfo,
    load_sessions,
    load_teachers,
)
from polaris_api.imports.pathful.planner import Planner, PlanOptions
from polaris_api.imports.pathful.post_import import after_import
from polaris_api.imports.tabular import Table
from polaris_api.models.events import Event
from polaris_api.models.imports import ImportRun, PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.schemas.pathful import (
    PathfulSessionReportRow,
    ResolveBody,
    parse_pathful_datetime,
    row_context,
)
from polaris_api.settings import Settings
from polaris_api.sync.problems import (
    AlreadyResolved,
    EventMissing,
    InvalidStart,
    NoRows,
    TeacherRequired,
    VolunteerRequired,
    WrongRecordType,
)


def unmatched_statement(
    *, type: str | None = None, status: str | None = None, session_id: str | None = None
) -> Select[PathfulUnmatchedRecord]:
    statement = select(PathfulUnmatchedRecord)
    if type:
        statement = statement.where(PathfulUnmatchedRecord.type == type)
    if status:
        statement = statement.where(PathfulUnmatchedRecord.status == status)
    if session_id:
        statement = statement.where(PathfulUnmatchedRecord.session_id == session_id)
    return statement.order_by(PathfulUnmatchedRecord.id)


async def _record(session: AsyncSession, record_id: int) -> PathfulUnmatchedRecord:
    record = await session.get(PathfulUnmatchedRecord, record_id)
    if record is None:
        raise not_found("unmatched record")
    return record


async def resolve_unmatched(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    record_id: int,
    body: ResolveBody,
) -> dict[str, Any]:
    """PF-18: link a teacher / volunteer record by hand, back-fill, replay its row (PF-14/15, PF-16)."""
    async with exclusive_import(session):
        try:
            result = await _resolve(session, settings, principal, record_id, body)
        except BaseException:
            await session.rollback()
            raise
    return result


async def _resolve(
    session: AsyncSession, settings: Settings, principal: Principal, record_id: int, body: ResolveBody
) -> dict[str, Any]:
    record = await _record(session, record_id)
    if record.type == "no_date_session":
        raise WrongRecordType(
            "A no-date session is resolved with POST /api/v1/imports/unmatched/{id}/date.",
        )
    if record.type == "teacher" and body.teacher_id is None:
        raise TeacherRequired("A teacher record is resolved with a teacher_id.")
    if record.type == "volunteer" and body.volunteer_id is None:
        raise VolunteerRequired("A volunteer record is resolved with a volunteer_id.")
    target_id = body.teacher_id if record.type == "teacher" else body.volunteer_id
    assert target_id is not None
    if record.type == "teacher":
        teacher = await session.get(Teacher, target_id)
        if teacher is None:
            raise not_found("teacher")
        while teacher.merged_into_id is not None and teacher.merged_into_id != teacher.id:
            survivor = await session.get(Teacher, teacher.merged_into_id)
            if survivor is None:
                break
            teacher = survivor
        target_id = teacher.id
    elif await session.get(Volunteer, target_id) is None:
        raise not_found("volunteer")
    current = record.resolved_teacher_id if record.type == "teacher" else record.resolved_volunteer_id
    if record.status == "resolved" and current not in (None, target_id):
        raise AlreadyResolved("This record is already resolved to someone else.")

    clock = now()
    audit = AuditBuffer(Actor.for_principal(principal), clock)
    outcome, event_id = await _replay(session, settings, record, target_id, clock, audit)
    previous = record.status
    _mark_resolved(record, target_id, principal, clock, body.note)
    audit.add(
        "pathful_unmatched_record.resolved",
        "pathful_unmatched_record",
        record.id,
        {"status": (previous, "resolved")},
        {f"{record.type}_id": target_id, "outcome": outcome},
    )
    also: list[PathfulUnmatchedRecord] = []
    if record.user_auth_id:
        others = (
            (
                await session.execute(
                    select(PathfulUnmatchedRecord)
                    .where(
                        PathfulUnmatchedRecord.type == record.type,
                        PathfulUnmatchedRecord.user_auth_id == record.user_auth_id,
                        PathfulUnmatchedRecord.status == "pending",
                        PathfulUnmatchedRecord.id != record.id,
                    )
                    .order_by(PathfulUnmatchedRecord.id)
                )
            )
            .scalars()
            .all()
        )
        for other in others:
            try:
                other_outcome, _ = await _replay(session, settings, other, target_id, clock, audit)
            except Problem as problem:
                if problem.code == "event_missing":
                    continue  # stays pending until its session is imported
                raise
            _mark_resolved(other, target_id, principal, clock, f"also resolved with record {record.id}")
            audit.add(
                "pathful_unmatched_record.resolved",
                "pathful_unmatched_record",
                other.id,
                {"status": ("pending", "resolved")},
                {f"{record.type}_id": target_id, "outcome": other_outcome, "with_record": record.id},
            )
            also.append(other)
    await session.flush()
    await after_import(session, import_id=record.last_import_id, now=clock, tz=settings.tz)
    await audit.flush(session)
    await session.commit()
    return {"record": record, "outcome": outcome, "event_id": event_id, "also_resolved": also}


def _mark_resolved(
    record: PathfulUnmatchedRecord, target_id: int, principal: Principal, clock: dt.datetime, note: str | None
) -> None:
    record.status = "resolved"
    if record.type == "teacher":
        record.resolved_teacher_id = target_id
    else:
        record.resolved_volunteer_id = target_id
    record.resolved_by_id = principal.user_id
    record.resolved_at = clock
    record.resolution_note = note or f"resolved by hand ({principal.role})"


def _planner(lookups: Lookups, settings: Settings, clock: dt.datetime, import_id: int | None) -> Planner:
    """A planner for one stored row outside an import (no cutoff)."""
    options = PlanOptions(
        tz=settings.tz,
        now=clock,
        cutoff=None,
        partner=settings.pathful_partner,
        default_duration=settings.pathful_default_duration_minutes,
        import_id=import_id,
    )
    return Planner(lookups, options)


async def _replay(
    session: AsyncSession,
    settings: Settings,
    record: PathfulUnmatchedRecord,
    target_id: int,
    clock: dt.datetime,
    audit: AuditBuffer,
) -> tuple[str, int]:
    """Back-fill (PF-13) and run the stored row through PF-14/15 (teacher) or PF-16 (volunteer)."""
    lookups = Lookups()
    await load_sessions(session, lookups, [record.session_id])
    event = lookups.events.get(record.session_id)
    if event is None or event.id is None:
        raise EventMissing("The session of this record has no event yet; import it first.")
    row = PathfulSessionReportRow.model_validate(
        dict(record.raw_data or {}), context=row_context(settings.tz, settings.pathful_status_aliases)
    )
    db_event = await session.get(Event, event.id)
    assert db_event is not None
    status = db_event.status if (db_event.salesforce_id is None and db_event.status) else row.status
    duration = db_event.duration or settings.pathful_default_duration_minutes
    planner = _planner(lookups, settings, clock, record.last_import_id)
    session_class = {"completed": "C", "simulcast": "C", "count": "C", "cancelled": "X", "no_show": "X"}.get(
        status or "", "R"
    )
    uid = record.user_auth_id
    if record.type == "teacher":
        teacher = await session.get(Teacher, target_id)
        assert teacher is not None
        lookups.teachers[target_id] = TeacherInfo(target_id, "", teacher.pathful_user_id, frozenset(), None)
        if uid and teacher.pathful_user_id is None:
            holder = (
                await session.execute(select(Teacher.id).where(Teacher.pathful_user_id == uid))
            ).scalar_one_or_none()
            if holder is not None:
                lookups.teacher_by_pid[uid] = holder
        planner.backfill_teacher(target_id, uid)
        new_status = Planner.teacher_status(session_class, row.attended_educator_count)
        outcome = planner.upsert_teacher_link(record.session_id, target_id, new_status, row.row)
    else:
        volunteer = await session.get(Volunteer, target_id)
        assert volunteer is not None
        lookups.volunteers[target_id] = VolunteerInfo(target_id, "", volunteer.pathful_user_id, "", "")
        if uid and volunteer.pathful_user_id is None:
            holder = (
                await session.execute(select(Volunteer.id).where(Volunteer.pathful_user_id == uid))
            ).scalar_one_or_none()
            if holder is not None:
                lookups.volunteer_by_pid[uid] = holder
        planner.backfill_volunteer(target_id, uid)
        outcome = planner.upsert_presenter(
            record.session_id, target_id, Planner.presenter_status(status, session_class), duration, row.row
        )
    await apply_plan(session, planner.plan, lookups, import_id=record.last_import_id, now=clock, audit=audit)
    return outcome, event.id


async def rematch_pending_teachers(
    session: AsyncSession, settings: Settings, *, roster_import_id: int | None
) -> list[int]:
    """RO-12: after a roster import, pending ``teacher`` records are matched again with PF-12
    (the roster may have added the teacher or the email); each that now matches is replayed
    (PF-13..PF-15) and resolved, audited as the roster import. Returns the resolved record ids;
    a record whose session has no event yet stays pending."""
    records = list(
        (
            await session.execute(
                select(PathfulUnmatchedRecord)
                .where(PathfulUnmatchedRecord.type == "teacher", PathfulUnmatchedRecord.status == "pending")
                .order_by(PathfulUnmatchedRecord.id)
            )
        ).scalars()
    )
    if not records:
        return []
    clock = now()
    lookups = Lookups()
    await load_teachers(session, lookups)
    matcher = _planner(lookups, settings, clock, None)
    context = row_context(settings.tz, settings.pathful_status_aliases)
    audit = AuditBuffer(Actor("import", roster_import_id, f"import:roster:{roster_import_id}"), clock)
    resolved: list[int] = []
    for record in records:
        row = PathfulSessionReportRow.model_validate(dict(record.raw_data or {}), context=context)
        teacher_id, step, _candidates, _reason = matcher.match_teacher(row)
        if teacher_id is None:
            continue
        try:
            outcome, _event_id = await _replay(session, settings, record, teacher_id, clock, audit)
        except EventMissing:
            continue
        record.status, record.resolved_teacher_id, record.resolved_at = "resolved", teacher_id, clock
        record.resolution_note = f"matched again after roster import {roster_import_id} (PF-12 step {step})"
        audit.add(
            "pathful_unmatched_record.resolved",
            "pathful_unmatched_record",
            record.id,
            {"status": ("pending", "resolved")},
            {"teacher_id": teacher_id, "outcome": outcome, "roster_import_id": roster_import_id},
        )
        resolved.append(record.id)
    if resolved:
        await session.flush()
        await after_import(session, import_id=None, now=clock, tz=settings.tz)
        await audit.flush(session)
    return resolved


def parse_start(value: str, tz: dt.tzinfo) -> dt.datetime:
    """PF-18 ``start``: local ``YYYY-MM-DD HH:MM`` or ISO-8601 with an offset."""
    try:
        start = parse_pathful_datetime(value.strip(), tz)
    except (ValueError, OverflowError):
        start = None
    if start is None:
        raise InvalidStart(
            "start must be a local 'YYYY-MM-DD HH:MM' or an ISO-8601 time with an offset.",
        )
    return start


async def resolve_no_date(
    session: AsyncSession, settings: Settings, principal: Principal, record_id: int, start_text: str
) -> dict[str, Any]:
    """PF-18: date an undated session; its stored rows run as a one-session import, no cutoff."""
    record = await _record(session, record_id)
    if record.type != "no_date_session":
        raise WrongRecordType("Only no-date session records take a date.")
    start = parse_start(start_text, settings.tz)
    stored = [row for row in (record.raw_data or {}).get("rows", []) if isinstance(row, dict)]
    if not stored:
        raise NoRows("This record holds no rows to import.")
    headers = sorted({key for row in stored for key in row if key != "_row"} | {"Date"})
    rows = []
    numbers = []
    for index, row in enumerate(stored):
        cells = {key: (None if value is None else str(value)) for key, value in row.items() if key != "_row"}
        cells["Date"] = start.isoformat()
        rows.append(cells)
        number = row.get("_row")
        numbers.append(number if isinstance(number, int) else index + 2)
    table = Table(headers=headers, rows=rows, source_format="queue", row_numbers=numbers)
    record_key = record.id
    session_id = record.session_id

    async def finish(run: ImportRun, report: dict[str, Any]) -> None:
        fresh = await session.get(PathfulUnmatchedRecord, record_key)
        assert fresh is not None
        fresh.status = "resolved"
        fresh.resolved_import_id = run.id
        fresh.resolved_by_id = principal.user_id
        fresh.resolved_at = run.started_at
        fresh.resolution_note = f"dated {start.isoformat()} by hand; import {run.id}"
        fresh.last_import_id = run.id
        audit = AuditBuffer(Actor.for_principal(principal), run.started_at)
        audit.add(
            "pathful_unmatched_record.dated",
            "pathful_unmatched_record",
            record_key,
            {"status": ("pending", "resolved")},
            {"session_id": session_id, "start": start, "import_id": run.id},
        )
        await audit.flush(session)

    session.expunge(record)
    return await import_pathful_table(
        session,
        settings,
        table,
        principal=principal,
        mode="full",
        kind="undated_resolution",
        source=ImportSource("queue", f"pathful_unmatched_record {record_key}"),
        before_commit=finish,
    )


async def ignore_unmatched(
    session: AsyncSession, principal: Principal, record_id: int, reason: str
) -> PathfulUnmatchedRecord:
    record = await _record(session, record_id)
    if record.status == "resolved":
        raise AlreadyResolved("A resolved record cannot be ignored.")
    _ignore(session, record, principal, reason)
    await _flush_audit(session, principal, [(record.id, reason)])
    await session.commit()
    await session.refresh(record)
    return record


def _ignore(session: AsyncSession, record: PathfulUnmatchedRecord, principal: Principal, reason: str) -> None:
    record.status = "ignored"
    record.ignored_reason = reason.strip()
    record.resolved_by_id = principal.user_id
    record.resolved_at = now()


async def _flush_audit(session: AsyncSession, principal: Principal, items: list[tuple[int, str]]) -> None:
    audit = AuditBuffer(Actor.for_principal(principal), now())
    for record_id, _reason in items:
        audit.add(
            "pathful_unmatched_record.ignored",
            "pathful_unmatched_record",
            record_id,
            {"status": (None, "ignored")},
        )
    await audit.flush(session)


async def bulk_ignore(
    session: AsyncSession, principal: Principal, ids: list[int], reason: str
) -> dict[str, list[int]]:
    wanted = list(dict.fromkeys(ids))
    records = (
        (await session.execute(select(PathfulUnmatchedRecord).where(PathfulUnmatchedRecord.id.in_(wanted))))
        .scalars()
        .all()
    )
    if len(records) != len(wanted):
        raise not_found("unmatched record")
    ignored, skipped = [], []
    for record in sorted(records, key=lambda r: r.id):
        if record.status == "resolved":
            skipped.append(record.id)
            continue
        _ignore(session, record, principal, reason)
        ignored.append(record.id)
    await _flush_audit(session, principal, [(record_id, reason) for record_id in ignored])
    await session.commit()
    return {"ignored": ignored, "skipped": skipped}
