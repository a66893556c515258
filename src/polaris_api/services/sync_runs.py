"""Creating and executing durable sync runs, one at a time per kind, with heartbeat and
composites (09 OPS-1..OPS-3).

Life of a run:

1. :func:`create_run` recovers stale runs of the kind (heartbeat older than
   ``sync_heartbeat_timeout_minutes`` → ``failed``, reason ``stale_heartbeat``), then inserts a
   ``queued`` row. The partial unique index ``uq_sync_run_active_kind`` allows one queued-or-running
   run per kind across every process (OPS-2): a second insert raises IntegrityError, answered with
   409 ``sync_already_running`` and ``running_run_id``.
2. :func:`execute_run` marks it ``running`` (audit ``sync.run.started``), keeps ``heartbeat_at``
   fresh from a side task while the kind's runner works, then writes the outcome — ``succeeded``,
   ``partial`` or ``failed`` with an error code (``sf_not_configured``, ``sf_unavailable``, ...,
   ``db_error``) — with counts, the first 100 errors and watermarks (audit ``sync.run.finished``).
3. Composites (``daily``, ``weekly``; 02 SF-50, OPS-3) run their available parts in order, each as
   its own run row with ``parent_run_id``; a part whose required parent kind failed is skipped;
   after an authentication failure the remaining parts fail with ``sf_auth_failed`` without calling
   Salesforce; the composite's status is the worst of its parts.

The kinds and what a runner gets are :mod:`polaris_api.sync.runs`; which runner serves which kind
is :mod:`polaris_api.sync.registry`. Each step commits its own transaction: a run outlives the
request that started it (a background job), and its state must be visible to other processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NotFound, Problem
from polaris_api.models.sync import ACTIVE_SYNC_STATUSES, SyncRun
from polaris_api.schemas.sync import SyncRunOut, SyncRunSummary
from polaris_api.services import audit
from polaris_api.settings import Settings
from polaris_api.sync.problems import KindNotAvailable, SyncAlreadyRunning, UnknownSyncKind
from polaris_api.sync.registry import RUNNERS, is_available
from polaris_api.sync.runs import KINDS, MAX_ERRORS, KindSpec, RunContext, RunFailed, touch_heartbeat
from polaris_api.sync.salesforce.client import SalesforceError

log = logging.getLogger(__name__)

STATUS_RANK = {"succeeded": 0, "partial": 1, "failed": 2}
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def get_kind(kind: str, settings: Settings) -> KindSpec:
    """The kind, or 404 ``unknown_sync_kind``; 501 ``kind_not_available`` when it has no runner
    or is an optional kind the settings leave off (SIGN-9 write-back)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise UnknownSyncKind(
            "There is no sync kind with this name; see GET /api/v1/sync/health for the list.",
        )
    if not is_available(kind, settings):
        off = kind in RUNNERS
        raise KindNotAvailable(
            f"The sync kind '{kind}' is known but "
            + ("not enabled by this server's settings." if off else "not available in this version."),
            title="Not Implemented",
            kind=kind,
        )
    return spec


def heartbeat_interval(settings: Settings) -> float:
    """Seconds between heartbeats: a quarter of the timeout, at most a minute."""
    return max(0.2, min(60.0, settings.sync_heartbeat_timeout_minutes * 60 / 4))


async def _heartbeat_loop(
    sessionmaker: async_sessionmaker[AsyncSession], run_id: int, interval: float
) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await touch_heartbeat(sessionmaker, run_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # a busy database must not kill the run; the next beat retries
            log.warning("sync run %s: heartbeat update failed", run_id, exc_info=True)


# --------------------------------------------------------------------------------------
# Creating runs (OPS-1, OPS-2)


async def recover_stale_runs(session: AsyncSession, settings: Settings, kind: str) -> list[int]:
    """Mark queued/running runs of ``kind`` whose heartbeat is too old as failed (OPS-2), and in
    the same transaction their queued/running parts (OPS-3): the process that died ran those too,
    and a part's last heartbeat may be a little younger than its composite's, so a retried
    composite would otherwise find the part's lock still held."""
    cutoff = utcnow() - dt.timedelta(minutes=settings.sync_heartbeat_timeout_minutes)
    stale = list(
        (
            await session.execute(
                select(SyncRun).where(
                    SyncRun.kind == kind,
                    SyncRun.status.in_(ACTIVE_SYNC_STATUSES),
                    func.coalesce(SyncRun.heartbeat_at, SyncRun.created_at) < cutoff,
                )
            )
        )
        .scalars()
        .all()
    )
    if not stale:
        return []
    parts = (
        (
            await session.execute(
                select(SyncRun).where(
                    SyncRun.parent_run_id.in_([run.id for run in stale]),
                    SyncRun.status.in_(ACTIVE_SYNC_STATUSES),
                )
            )
        )
        .scalars()
        .all()
    )
    now = utcnow()
    for run in [*stale, *parts]:
        run.status = "failed"
        run.finished_at = now
        run.error_code = "stale_heartbeat"
        run.error_message = (
            f"No heartbeat for more than {settings.sync_heartbeat_timeout_minutes} minutes "
            f"(worker {run.worker_id or 'unknown'}); the process running it is presumed dead."
            if run in stale
            else f"Its composite run {run.parent_run_id} stopped (no heartbeat); presumed dead with it."
        )
        await audit.record(
            session,
            "sync.run.finished",
            actor=None,
            entity_type="sync_run",
            entity_id=run.id,
            details={"kind": run.kind, "status": "failed", "error_code": "stale_heartbeat"},
        )
    await session.flush()
    log.warning("sync kind %s: marked %d stale run(s) and %d part(s) failed", kind, len(stale), len(parts))
    return [run.id for run in [*stale, *parts]]


async def active_run_id(session: AsyncSession, kind: str) -> int | None:
    return (
        await session.execute(
            select(SyncRun.id)
            .where(SyncRun.kind == kind, SyncRun.status.in_(ACTIVE_SYNC_STATUSES))
            .order_by(SyncRun.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _requested_by(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"requested_by_id": None, "requested_by_api_key_id": None}
    return {
        "requested_by_id": principal.user_id,
        "requested_by_api_key_id": principal.id if principal.kind == "api_key" else None,
    }


async def create_run(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    mode: str | None,
    trigger: str,
    principal: Principal | None,
    parent_run_id: int | None = None,
) -> SyncRun:
    """Insert a ``queued`` run, or 409 ``sync_already_running`` naming the active run (OPS-2).

    Flushed, not committed: the caller commits before the run starts (it runs in other sessions)."""
    spec = get_kind(kind, settings)
    await recover_stale_runs(session, settings, kind)
    now = utcnow()
    run = SyncRun(
        kind=kind,
        mode=mode or spec.default_mode,
        trigger=trigger,
        status="queued",
        parent_run_id=parent_run_id,
        created_at=now,
        heartbeat_at=now,
        counts={},
        errors=[],
        **_requested_by(principal),
    )
    session.add(run)
    try:
        await session.flush()
    except IntegrityError:  # only a live run holds the kind: the stale recovery found nothing to undo
        await session.rollback()
        running = await active_run_id(session, kind)
        raise SyncAlreadyRunning(
            f"A '{kind}' run is already queued or running; one run per kind at a time.",
            running_run_id=running,
        ) from None
    return run


# --------------------------------------------------------------------------------------
# Running


async def execute_run(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    run_id: int,
    principal: Principal | None,
) -> None:
    """Run a queued run to its end (also composites). Never raises for a failed run; on
    cancellation (server shutdown) the run ends ``failed`` with ``cancelled`` and the
    cancellation propagates."""
    ctx = RunContext(
        run_id=run_id,
        kind="",
        mode="",
        trigger="manual",
        settings=settings,
        sessionmaker=sessionmaker,
        started_at=utcnow(),
    )
    try:
        if not await _mark_running(ctx, principal):
            return
        status, code, message = await _work(ctx, principal)
    except asyncio.CancelledError:
        await _finish(
            sessionmaker,
            ctx,
            "failed",
            "cancelled",
            "The run was cancelled (the server shut down).",
            principal,
        )
        raise
    await _finish(sessionmaker, ctx, status, code, message, principal)


async def _mark_running(ctx: RunContext, principal: Principal | None) -> bool:
    async with ctx.sessionmaker() as session:
        run = await session.get(SyncRun, ctx.run_id)
        if run is None or run.status != "queued":
            log.warning("sync run %s is not queued (status %s); not started", ctx.run_id, run and run.status)
            return False
        run.status = "running"
        run.started_at = run.heartbeat_at = utcnow()
        run.worker_id = WORKER_ID
        ctx.kind, ctx.mode, ctx.trigger, ctx.started_at = run.kind, run.mode, run.trigger, run.started_at
        await audit.record(
            session,
            "sync.run.started",
            actor=principal,
            entity_type="sync_run",
            entity_id=run.id,
            details={
                "kind": run.kind,
                "mode": run.mode,
                "trigger": run.trigger,
                "parent_run_id": run.parent_run_id,
            },
        )
        await session.commit()  # sync run job: "running" is visible while the work goes on
    return True


async def _work(ctx: RunContext, principal: Principal | None) -> tuple[str, str | None, str | None]:
    """The kind's work with its heartbeat; the outcome as (status, error code, message)."""
    beat = asyncio.create_task(
        _heartbeat_loop(ctx.sessionmaker, ctx.run_id, heartbeat_interval(ctx.settings))
    )
    try:
        if KINDS[ctx.kind].composite:
            return await _run_composite(ctx, principal), None, None
        runner = RUNNERS.get(ctx.kind)
        if runner is None:  # pragma: no cover - guarded by create_run
            raise RunFailed("kind_not_available", f"no runner for {ctx.kind}")
        await runner(ctx)
        return ("partial" if ctx.partial else "succeeded"), None, None
    except SalesforceError as exc:
        return "failed", exc.code, exc.message
    except RunFailed as exc:
        return "failed", exc.code, exc.message
    except SQLAlchemyError as exc:
        log.exception("sync run %s (%s): database error", ctx.run_id, ctx.kind)
        return "failed", "db_error", f"database error ({type(exc).__name__})"
    except Exception as exc:
        log.exception("sync run %s (%s): unexpected error", ctx.run_id, ctx.kind)
        return "failed", "internal_error", f"unexpected error ({type(exc).__name__})"
    finally:
        beat.cancel()
        await asyncio.wait([beat])


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: RunContext,
    status: str,
    code: str | None,
    message: str | None,
    principal: Principal | None,
) -> None:
    counts = dict(ctx.counts)
    counts["errors"] = ctx.error_count
    async with sessionmaker() as session:
        run = await session.get(SyncRun, ctx.run_id)
        if run is None:  # pragma: no cover - rows are never deleted
            return
        run.status = status
        run.finished_at = utcnow()
        run.heartbeat_at = run.finished_at
        run.counts = counts
        run.errors = ctx.errors[:MAX_ERRORS]
        run.error_count = ctx.error_count
        run.error_code = code
        run.error_message = message
        run.effective_mode = ctx.effective_mode
        run.watermark_before = ctx.watermark_before
        run.watermark_after = ctx.watermark_after
        run.watermarks = ctx.watermarks
        await audit.record(
            session,
            "sync.run.finished",
            actor=principal,
            entity_type="sync_run",
            entity_id=run.id,
            details={"kind": run.kind, "status": status, "error_code": code, "counts": counts},
        )
        await session.commit()  # sync run job: the run's outcome
    log.info("sync run %s (%s) finished: %s%s", ctx.run_id, ctx.kind, status, f" ({code})" if code else "")


async def _insert_failed_part(
    ctx: RunContext, kind: str, principal: Principal | None, code: str, message: str
) -> SyncRun:
    """A part that did not run: recorded as its own failed row (no unique-index conflict)."""
    now = utcnow()
    async with ctx.sessionmaker() as session:
        run = SyncRun(
            kind=kind,
            mode=ctx.mode,
            trigger=ctx.trigger,
            status="failed",
            parent_run_id=ctx.run_id,
            created_at=now,
            started_at=now,
            finished_at=now,
            counts={},
            errors=[],
            error_code=code,
            error_message=message,
            **_requested_by(principal),
        )
        session.add(run)
        await session.flush()
        await audit.record(
            session,
            "sync.run.finished",
            actor=principal,
            entity_type="sync_run",
            entity_id=run.id,
            details={"kind": kind, "status": "failed", "error_code": code, "parent_run_id": ctx.run_id},
        )
        await session.commit()  # sync run job: a part that did not run
        return run


async def _run_composite(ctx: RunContext, principal: Principal | None) -> str:
    """OPS-3 / SF-50: parts in order, each its own run; returns the worst status of the parts."""
    spec = KINDS[ctx.kind]
    ctx.effective_mode = ctx.mode
    failed: set[str] = set()
    auth_failed = False
    worst = "succeeded"
    ran = 0
    for part in spec.parts:
        if not is_available(part, ctx.settings):
            ctx.count("parts_not_available")
            ctx.add_error({"kind": part, "code": "kind_not_available"}, partial=False)
            continue
        blocked_by = sorted(KINDS[part].depends_on & failed)
        if blocked_by:
            failed.add(part)
            ctx.count("parts_skipped")
            ctx.add_error({"kind": part, "code": "dependency_failed", "depends_on": blocked_by})
            worst = "failed"
            continue
        if auth_failed:
            child = await _insert_failed_part(
                ctx,
                part,
                principal,
                "sf_auth_failed",
                "Not run: an earlier part of this composite failed to authenticate with Salesforce.",
            )
        else:
            try:
                async with ctx.sessionmaker() as session:
                    child = await create_run(
                        session,
                        ctx.settings,
                        kind=part,
                        mode=ctx.mode,
                        trigger=ctx.trigger,
                        principal=principal,
                        parent_run_id=ctx.run_id,
                    )
                    await session.commit()  # sync run job: the part's row, before it runs
            except Problem as exc:
                child = await _insert_failed_part(ctx, part, principal, exc.code, exc.detail or exc.code)
            else:
                await execute_run(ctx.sessionmaker, ctx.settings, child.id, principal)
                await touch_heartbeat(ctx.sessionmaker, ctx.run_id)
        async with ctx.sessionmaker() as session:
            finished = await session.get(SyncRun, child.id)
            assert finished is not None
            part_status, part_code = finished.status, finished.error_code
        ran += 1
        ctx.count(f"parts_{part_status}")
        if part_status == "failed":
            failed.add(part)
            ctx.add_error({"kind": part, "code": part_code or "failed", "run_id": child.id})
            if part_code == "sf_auth_failed":
                auth_failed = True
        if STATUS_RANK.get(part_status, 2) > STATUS_RANK[worst]:
            worst = part_status
    ctx.counts["parts_run"] = ran
    return worst


# --------------------------------------------------------------------------------------
# Reading runs


def list_statement(
    *, kind: str | None = None, status: str | None = None, parent_run_id: int | None = None
) -> Select[SyncRun]:
    statement = select(SyncRun)
    if kind:
        statement = statement.where(SyncRun.kind == kind)
    if status:
        statement = statement.where(SyncRun.status == status)
    if parent_run_id is not None:
        statement = statement.where(SyncRun.parent_run_id == parent_run_id)
    return statement.order_by(SyncRun.id.desc())


async def run_out(session: AsyncSession, run: SyncRun) -> SyncRunOut:
    out = SyncRunOut.model_validate(run)
    if KINDS.get(run.kind) is not None and KINDS[run.kind].composite:
        parts = (
            (
                await session.execute(
                    select(SyncRun).where(SyncRun.parent_run_id == run.id).order_by(SyncRun.id)
                )
            )
            .scalars()
            .all()
        )
        out.parts = [SyncRunSummary.model_validate(part) for part in parts]
    return out


async def get_run(session: AsyncSession, run_id: int) -> SyncRunOut:
    run = await session.get(SyncRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound("The sync run does not exist.")
    return await run_out(session, run)
