"""Pathful Session Report import and its queues (04 PF-1..PF-23).

Entry points:

* :func:`import_pathful_upload` / :func:`import_pathful_sheet` / :func:`import_pathful_table`:
  one import in one transaction (PF-22): headers (PF-3/PF-4), rows through
  :class:`~polaris_api.schemas.pathful.PathfulSessionReportRow`, the in-memory plan
  (:mod:`polaris_api.imports.pathful.planner`), bulk writes, PF-23, the ``import_run`` report;
* :func:`resolve_unmatched`, :func:`resolve_no_date`, :func:`ignore_unmatched`,
  :func:`bulk_ignore`: the PF-18 queue actions;
* :func:`get_import`: a stored report.

Only one Pathful import (or replay) runs at a time: a PostgreSQL advisory lock held by the
import's transaction, plus a per-process guard (SQLite) → 409 ``import_in_progress``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.clock import local_today
from polaris_api.db import utcnow
from polaris_api.errors import Problem, not_found
from polaris_api.imports.pathful.apply import Actor, AuditBuffer, apply_plan
from polaris_api.imports.pathful.columns import (
    canonical_rows,
    load_aliases,
    map_headers,
    missing_columns_problem,
)
from polaris_api.imports.pathful.lookups import (
    Lookups,
    TeacherInfo,
    VolunteerInfo,
    load_lookups,
    load_sessions,
)
from polaris_api.imports.pathful.planner import Planner, PlanOptions
from polaris_api.imports.pathful.post_import import after_import
from polaris_api.imports.sheets import SheetReader, read_sheet_table
from polaris_api.imports.tabular import Table, parse_table, read_upload_bytes
from polaris_api.models.events import Event
from polaris_api.models.imports import ImportRun, PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.schemas.pathful import (
    ImportMode,
    PathfulSessionReportRow,
    ResolveBody,
    parse_pathful_datetime,
    row_context,
)
from polaris_api.settings import Settings
from polaris_api.sync.problems import (
    AlreadyResolved,
    EmptyFile,
    EventMissing,
    ImportFailed,
    ImportInProgress,
    InvalidMode,
    InvalidStart,
    NoRows,
    SinceNotAllowed,
    SinceRequired,
    TeacherRequired,
    VolunteerRequired,
    WrongRecordType,
    check_file_name,
)

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x504154_48  # "PATH": one Pathful import at a time (PF-22)
_RUNNING: set[str] = set()


def now() -> dt.datetime:
    """The import clock."""
    return utcnow()


@dataclass(frozen=True)
class ImportSource:
    type: str  # file | sheet | queue
    name: str | None = None
    sha256: str | None = None


# ---------------------------------------------------------------------------------------------
# Modes (PF-10)


def resolve_mode(mode: str | None, since: dt.date | None) -> ImportMode:
    if mode is None:
        return "since" if since is not None else "current_semester"
    if mode == "since" and since is None:
        raise SinceRequired("mode=since needs a since date (YYYY-MM-DD).")
    if mode != "since" and since is not None:
        raise SinceNotAllowed("A since date goes with mode=since only.")
    if mode not in ("full", "current_semester", "last_6_months", "since"):
        raise InvalidMode("mode must be full, current_semester, last_6_months or since.")
    return mode  # type: ignore[return-value]


def cutoff_date(mode: ImportMode, since: dt.date | None, today: dt.date) -> dt.date | None:
    if mode == "full":
        return None
    if mode == "current_semester":
        return dt.date(today.year, 8, 1) if today.month >= 8 else dt.date(today.year, 1, 1)
    if mode == "last_6_months":
        return today - dt.timedelta(days=180)
    return since


# ---------------------------------------------------------------------------------------------
# One import at a time (PF-22)


def _database_key(session: AsyncSession) -> str:
    bind = session.bind
    return str(getattr(bind, "url", "default"))


@asynccontextmanager
async def exclusive_import(session: AsyncSession) -> AsyncIterator[None]:
    key = _database_key(session)
    if key in _RUNNING:
        raise _in_progress()
    _RUNNING.add(key)
    try:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            locked = (
                await session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
            ).scalar_one()
            if not locked:
                await session.rollback()
                raise _in_progress()
        yield
    finally:
        _RUNNING.discard(key)


def _in_progress() -> Problem:
    return ImportInProgress("Another Pathful import is running; try again when it has finished.")


# ---------------------------------------------------------------------------------------------
# Sources (PF-1)


async def import_pathful_upload(
    session: AsyncSession,
    settings: Settings,
    upload: UploadFile,
    *,
    principal: Principal | None,
    mode: str | None = None,
    since: dt.date | None = None,
    dry_run: bool = False,
    worksheet: str | None = None,
) -> dict[str, Any]:
    check_file_name(upload.filename)
    data = await read_upload_bytes(upload, settings.upload_max_bytes)
    table = parse_table(data, upload.filename, worksheet)
    source = ImportSource("file", (upload.filename or "")[:255], hashlib.sha256(data).hexdigest())
    del data
    return await import_pathful_table(
        session, settings, table, principal=principal, mode=mode, since=since, dry_run=dry_run, source=source
    )


async def import_pathful_sheet(
    session: AsyncSession,
    settings: Settings,
    reader: SheetReader | None,
    sheet_id: str,
    worksheet: str | None = None,
    *,
    principal: Principal | None,
    mode: str | None = None,
    since: dt.date | None = None,
    dry_run: bool = False,
    sync_run_id: int | None = None,
) -> dict[str, Any]:
    """The same import from a Google Sheet (form ``sheet_id``; the ``pathful-sheet`` sync kind)."""
    table = await read_sheet_table(reader, sheet_id, worksheet)
    name = f"{sheet_id}/{worksheet}" if worksheet else sheet_id
    return await import_pathful_table(
        session,
        settings,
        table,
        principal=principal,
        mode=mode,
        since=since,
        dry_run=dry_run,
        source=ImportSource("sheet", name[:255]),
        sync_run_id=sync_run_id,
    )


# ---------------------------------------------------------------------------------------------
# The import


BeforeCommit = Callable[[ImportRun, dict[str, Any]], Awaitable[None]]


async def import_pathful_table(
    session: AsyncSession,
    settings: Settings,
    table: Table,
    *,
    principal: Principal | None,
    mode: str | None = None,
    since: dt.date | None = None,
    dry_run: bool = False,
    source: ImportSource = ImportSource("file"),
    kind: str = "pathful",
    sync_run_id: int | None = None,
    before_commit: BeforeCommit | None = None,
    clock: dt.datetime | None = None,
) -> dict[str, Any]:
    """Run one import of ``table`` and return its PF-19 report (committed unless ``dry_run``).

    ``clock`` is the import time (default now): the cutoff's "today", which sessions are in the
    future (PF-10), confirmation and flag times."""
    effective_mode = resolve_mode(mode, since)
    clock = clock or now()
    if dry_run:
        try:
            return await _run(
                session,
                settings,
                table,
                principal,
                effective_mode,
                since,
                True,
                source,
                kind,
                sync_run_id,
                clock,
            )
        finally:
            await session.rollback()
    async with exclusive_import(session):
        try:
            return await _run(
                session,
                settings,
                table,
                principal,
                effective_mode,
                since,
                False,
                source,
                kind,
                sync_run_id,
                clock,
                before_commit,
            )
        except Problem as problem:
            await session.rollback()
            if problem.code == "missing_columns":  # PF-4: only a failed import_run row is written
                await _record_failure(
                    session, kind, effective_mode, since, source, principal, sync_run_id, clock, problem
                )
            raise
        except Exception:
            await session.rollback()
            # the formatters keep the frames and drop the message (PRIV-1: it can quote row values)
            log.exception("pathful import failed", extra={"kind": kind})
            failure = ImportFailed()
            await _record_failure(
                session, kind, effective_mode, since, source, principal, sync_run_id, clock, failure
            )
            raise failure from None


async def _record_failure(
    session: AsyncSession,
    kind: str,
    mode: str,
    since: dt.date | None,
    source: ImportSource,
    principal: Principal | None,
    sync_run_id: int | None,
    started_at: dt.datetime,
    problem: Problem,
) -> None:
    try:
        finished = now()
        session.add(
            ImportRun(
                kind=kind,
                mode=mode,
                since=since,
                dry_run=False,
                status="failed",
                source_type=source.type,
                source_name=source.name,
                source_sha256=source.sha256,
                requested_by_id=principal.user_id if principal else None,
                sync_run_id=sync_run_id,
                started_at=started_at,
                finished_at=finished,
                duration_s=(finished - started_at).total_seconds(),
                counts={},
                report={"missing": problem.extra.get("details", {}).get("missing")}
                if problem.code == "missing_columns"
                else {},
                error_code=problem.code,
                error_detail=problem.detail,
            )
        )
        await session.commit()
    except Exception as error:  # the failure row is best effort; never mask the original error
        log.error("could not record the failed import: %s", type(error).__name__)
        await session.rollback()


async def _run(
    session: AsyncSession,
    settings: Settings,
    table: Table,
    principal: Principal | None,
    mode: ImportMode,
    since: dt.date | None,
    dry_run: bool,
    source: ImportSource,
    kind: str,
    sync_run_id: int | None,
    clock: dt.datetime,
    before_commit: BeforeCommit | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    tz = settings.tz
    column_map = map_headers(table.headers, await load_aliases(session))
    if column_map.missing:
        raise missing_columns_problem(column_map.missing)
    if not table.rows:
        raise EmptyFile()
    cells = canonical_rows(table, column_map)
    context = row_context(tz, settings.pathful_status_aliases)
    rows = [PathfulSessionReportRow.model_validate(cell, context=context) for cell in cells]
    cutoff = cutoff_date(mode, since, local_today(tz, clock))

    run: ImportRun | None = None
    if not dry_run:
        run = ImportRun(
            kind=kind,
            mode=mode,
            since=since,
            cutoff_date=cutoff,
            dry_run=False,
            status="running",
            source_type=source.type,
            source_name=source.name,
            source_sha256=source.sha256,
            requested_by_id=principal.user_id if principal else None,
            sync_run_id=sync_run_id,
            started_at=clock,
            rows_total=len(rows),
        )
        session.add(run)
        await session.flush()
    import_id = run.id if run else None

    session_ids = list(dict.fromkeys(row.session_id for row in rows if row.session_id))
    lookups = await load_lookups(
        session,
        session_ids,
        teachers=any(row.role == "educator" for row in rows),
        volunteers=any(row.role == "professional" for row in rows),
    )
    planner = Planner(
        lookups,
        PlanOptions(
            tz=tz,
            now=clock,
            cutoff=cutoff,
            partner=settings.pathful_partner,
            default_duration=settings.pathful_default_duration_minutes,
            import_id=import_id,
        ),
    )
    planner.run(rows, cells)
    counts = planner.report_counts()
    warnings = [
        f"column ignored: {header}"
        for header in table.headers
        if header and header not in set(column_map.columns.values())
    ]
    report: dict[str, Any] = {
        "import_id": import_id,
        "kind": kind,
        "status": "succeeded",
        "mode": mode,
        "since": since.isoformat() if since else None,
        "cutoff_date": cutoff.isoformat() if cutoff else None,
        "dry_run": dry_run,
        "duration": 0.0,
        "source_type": source.type,
        "source_name": source.name,
        "rows_total": len(rows),
        **counts,
        "invalid_rows": planner.invalid_rows,
        "backfilled_ids": len(planner.plan.teacher_backfills) + len(planner.plan.volunteer_backfills),
        "resolved_unmatched": len(planner.plan.resolved_unmatched),
        "event_changes": planner.event_changes,
        "participation_changes": planner.participation_changes,
        "changes_truncated": planner.changes_truncated,
        "warnings": warnings[:50],
    }
    _check_invariant(report)
    if dry_run or run is None:
        report["duration"] = round(time.perf_counter() - started, 3)
        return report

    audit = AuditBuffer(Actor.for_import(import_id), clock)
    await apply_plan(session, planner.plan, lookups, import_id=import_id, now=clock, audit=audit)
    for change in report["event_changes"]:  # ids of the events created here
        change["event_id"] = lookups.events[change["session_id"]].id
    derived = await after_import(session, import_id=import_id, now=clock, tz=tz)
    report["duration"] = round(time.perf_counter() - started, 3)
    audit.add(
        f"import.{kind}.completed",
        "import_run",
        import_id,
        details={
            **{key: report[key] for key in ("mode", "cutoff_date", "rows_total", "processed")},
            "created_events": counts["created_events"],
            "updated_events": counts["updated_events"],
            "source_type": source.type,
            **derived,
        },
        actor=Actor.for_principal(principal),
    )
    await audit.flush(session)
    run.status = "succeeded"
    run.finished_at = now()
    run.duration_s = report["duration"]
    run.counts = {key: report[key] for key in ("rows_total", *counts)}
    run.report = report
    if before_commit is not None:
        await before_commit(run, report)
    await session.commit()
    return report


def _check_invariant(report: dict[str, Any]) -> None:
    """PF-19: every row lands in exactly one bucket."""
    total = report["processed"] + sum(
        report[key]
        for key in (
            "skipped_other_partner",
            "skipped_role",
            "skipped_before_cutoff",
            "skipped_draft_no_date",
            "queued_no_date",
            "unmatched_teachers",
            "unmatched_volunteers",
            "invalid",
        )
    )
    if total != report["rows_total"]:  # a bug, never a data problem
        raise RuntimeError(f"PF-19 invariant broken: {total} != {report['rows_total']}")


# ---------------------------------------------------------------------------------------------
# Reports


async def get_import(session: AsyncSession, import_id: int) -> dict[str, Any]:
    run = await session.get(ImportRun, import_id)
    if run is None:
        raise not_found("import")
    return {
        **(run.report or {}),
        "import_id": run.id,
        "kind": run.kind,
        "status": run.status,
        "dry_run": run.dry_run,
        "rows_total": run.rows_total,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error_code": run.error_code,
        "error_detail": run.error_detail,
    }


# ---------------------------------------------------------------------------------------------
# The queues (PF-17, PF-18)


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
    planner = Planner(
        lookups,
        PlanOptions(
            tz=settings.tz,
            now=clock,
            cutoff=None,
            partner=settings.pathful_partner,
            default_duration=settings.pathful_default_duration_minutes,
            import_id=record.last_import_id,
        ),
    )
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


__all__ = [
    "ImportSource",
    "bulk_ignore",
    "cutoff_date",
    "get_import",
    "ignore_unmatched",
    "import_pathful_sheet",
    "import_pathful_table",
    "import_pathful_upload",
    "now",
    "resolve_mode",
    "resolve_no_date",
    "resolve_unmatched",
    "unmatched_statement",
]
