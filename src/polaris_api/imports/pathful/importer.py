"""Pathful Session Report import (04 PF-1..PF-23); the queues are :mod:`.unmatched`.

Entry points:

* :func:`import_pathful_upload` / :func:`import_pathful_sheet` / :func:`import_pathful_table`:
  one import in one transaction (PF-22): headers (PF-3/PF-4), rows validated as they are read
  (the values of :class:`~polaris_api.schemas.pathful.PathfulSessionReportRow`, kept as compact
  :class:`~polaris_api.schemas.pathful.ReportRow` tuples, issue 13 item 4), the in-memory plan
  (:mod:`polaris_api.imports.pathful.planner`), bulk writes, PF-23, the ``import_run`` report;
* :func:`get_import`: a stored report.

Only one Pathful import (or replay) runs at a time: a PostgreSQL advisory lock held by the
import's transaction, plus a per-process guard (SQLite) → 409 ``import_in_progress``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.clock import local_today
from polaris_api.db import utcnow
from polaris_api.errors import Problem, not_found
from polaris_api.imports.pathful.apply import Actor, AuditBuffer, apply_plan
from polaris_api.imports.pathful.columns import (
    ColumnMap,
    canonical_columns,
    iter_canonical,
    load_aliases,
    map_headers,
    missing_columns_problem,
)
from polaris_api.imports.pathful.lookups import (
    load_lookups,
)
from polaris_api.imports.pathful.planner import Planner, PlanOptions, RowCollector
from polaris_api.imports.pathful.post_import import after_import
from polaris_api.imports.sheets import SheetReader, read_sheet_table
from polaris_api.imports.tabular import (
    ReadLimits,
    RowSource,
    RowStream,
    TableError,
    open_table,
    read_upload_bytes,
)
from polaris_api.models.imports import ImportRun
from polaris_api.schemas.pathful import (
    ImportMode,
    row_context,
    row_validator,
)
from polaris_api.settings import Settings
from polaris_api.sync.problems import (
    EmptyFile,
    ImportFailed,
    ImportInProgress,
    InvalidMode,
    SinceNotAllowed,
    SinceRequired,
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
async def exclusive_import(session: AsyncSession, *, rollback_when_busy: bool = True) -> AsyncIterator[None]:
    """PF-22. ``rollback_when_busy=False``: a caller with its own work in the transaction (RO-12
    after a roster import) keeps it when another import holds the lock."""
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
                if rollback_when_busy:
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
    # issue 11 item 3: the bounds check and calamine's read are CPU work, off the event loop
    table, digest = await asyncio.to_thread(_open_upload, data, worksheet, ReadLimits.of(settings))
    source = ImportSource("file", (upload.filename or "")[:255], digest)
    del data
    return await import_pathful_table(
        session, settings, table, principal=principal, mode=mode, since=since, dry_run=dry_run, source=source
    )


def _open_upload(data: bytes, worksheet: str | None, limits: ReadLimits) -> tuple[RowStream, str]:
    return open_table(data, worksheet, limits), hashlib.sha256(data).hexdigest()


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
    table = await read_sheet_table(reader, sheet_id, worksheet, ReadLimits.of(settings))
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
    table: RowSource,
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

    ``table`` is a :class:`~polaris_api.imports.tabular.Table` or a
    :class:`~polaris_api.imports.tabular.RowStream` (an upload, read once while its rows are
    validated in a worker thread).

    ``clock`` is the import time (default now): the cutoff's "today", which sessions are in the
    future (PF-10), confirmation and flag times."""
    effective_mode = resolve_mode(mode, since)
    clock = clock or now()
    with collection_paused():
        return await _import(
            session,
            settings,
            table,
            principal,
            effective_mode,
            since,
            dry_run,
            source,
            kind,
            sync_run_id,
            before_commit,
            clock,
        )


_PAUSES = {"depth": 0, "was_enabled": False}


@contextmanager
def collection_paused() -> Iterator[None]:
    """Automatic garbage collection paused for the duration of an import (issue 11 item 3).

    A full collection walks every live object and holds the GIL meanwhile: with a 30,000-row
    import's rows alive, each took 0.1 to 0.55 s on the development machine (seven in one
    import), and the event loop stopped answering for as long. Reference counting still frees
    everything acyclic; the rows are freed when the import returns, and the next automatic
    collection is short again. Nested pauses (a replay inside a request) keep the outer state."""
    if _PAUSES["depth"] == 0:
        _PAUSES["was_enabled"] = gc.isenabled()
        gc.disable()
    _PAUSES["depth"] += 1
    try:
        yield
    finally:
        _PAUSES["depth"] -= 1
        if _PAUSES["depth"] == 0 and _PAUSES["was_enabled"]:
            gc.enable()


async def _import(
    session: AsyncSession,
    settings: Settings,
    table: RowSource,
    principal: Principal | None,
    effective_mode: ImportMode,
    since: dt.date | None,
    dry_run: bool,
    source: ImportSource,
    kind: str,
    sync_run_id: int | None,
    before_commit: BeforeCommit | None,
    clock: dt.datetime,
) -> dict[str, Any]:
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
        except TableError:  # a streamed file found unreadable or over a bound while read
            await session.rollback()
            raise
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
    table: RowSource,
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
    context = row_context(tz, settings.pathful_status_aliases)
    # issue 11 item 3: reading (a RowStream parses as it goes) and validating 30,000 rows is CPU
    # work; a worker thread keeps the event loop answering other requests meanwhile
    rows = await asyncio.to_thread(_collect_rows, table, column_map, context, settings.pathful_partner)
    if not rows.rows_total:
        raise EmptyFile()
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
            rows_total=rows.rows_total,
        )
        session.add(run)
        await session.flush()
    import_id = run.id if run else None

    lookups = await load_lookups(
        session, list(rows.session_ids), teachers=rows.educators, volunteers=rows.professionals
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
    # pure computation over the preloaded lookups; frees the rows as it plans them
    await asyncio.to_thread(planner.run_collected, rows)
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
        "rows_total": rows.rows_total,
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


def _collect_rows(
    table: RowSource, column_map: ColumnMap, context: dict[str, Any], partner: str
) -> RowCollector:
    """Read, check and validate every data row, one at a time, into the planner's first pass
    (a worker thread runs this). Each row is kept once, as its cells and a
    :class:`~polaris_api.schemas.pathful.ReportRow` (the values of a
    :class:`~polaris_api.schemas.pathful.PathfulSessionReportRow`, without a model per row); rows
    the import will not use are dropped as they are read (issue 13 item 4)."""
    validate = row_validator(canonical_columns(column_map), context)
    collector = RowCollector(partner)
    add = collector.add
    for cells in iter_canonical(table, column_map):
        add(validate(cells.in_order), cells)
    return collector


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


__all__ = [
    "ImportSource",
    "cutoff_date",
    "get_import",
    "import_pathful_sheet",
    "import_pathful_table",
    "import_pathful_upload",
    "now",
    "resolve_mode",
]
