"""Durable sync runs, one at a time per kind, with heartbeat, composites and health (09 OPS-1..OPS-4).

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

Runners are async functions ``runner(ctx: RunContext) -> None`` registered by kind in
:data:`RUNNERS`. They fill ``ctx.counts`` / ``ctx.add_error`` and raise
:class:`~polaris_api.sync.salesforce.client.SalesforceError` or :class:`RunFailed` to fail the run.
Kinds of the OPS table without a runner are listed in health with ``available=false``; triggering
one answers 501 ``kind_not_available``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import Problem
from polaris_api.models.sync import ACTIVE_SYNC_STATUSES, SyncRun
from polaris_api.schemas.sync import SyncHealth, SyncKindHealth, SyncRunOut, SyncRunSummary
from polaris_api.services import audit
from polaris_api.settings import Settings
from polaris_api.sync.salesforce.client import SalesforceConnector, SalesforceError

log = logging.getLogger(__name__)

MAX_ERRORS = 100
TERMINAL_STATUSES = ("succeeded", "partial", "failed")
SUCCESS_STATUSES = ("succeeded", "partial")
STATUS_RANK = {"succeeded": 0, "partial": 1, "failed": 2}
# A finished run changed something when one of these counts is positive (OPS-4 "no changes").
CHANGE_COUNTS = (
    "created",
    "updated",
    "archived",
    "reactivated",
    "deleted_in_source",
    "restored",
    "pending_resolved",
)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"

Runner = Callable[["RunContext"], Awaitable[None]]


# --------------------------------------------------------------------------------------
# Kinds (09 §1)


@dataclass(frozen=True)
class KindSpec:
    name: str
    description: str
    cadence: str
    stale_setting: str | None  # Settings attribute with the stale threshold in hours
    default_mode: str = "incremental"
    parts: tuple[str, ...] = ()  # composite: its parts in dependency order (02 SF-50)
    depends_on: frozenset[str] = frozenset()  # kinds holding required parents (02 SF-17)
    salesforce: bool = True

    @property
    def composite(self) -> bool:
        return bool(self.parts)


def _sf(
    name: str, what: str, cadence: str, stale: str, *depends: str, default_mode: str = "incremental"
) -> KindSpec:
    return KindSpec(
        f"salesforce-{name}",
        what,
        cadence,
        stale,
        default_mode=default_mode,
        depends_on=frozenset(f"salesforce-{d}" for d in depends),
    )


_DAILY_PARTS = (
    "organizations",
    "volunteers",
    "affiliations",
    "events",
    "volunteer-participations",
    "history",
)
_WEEKLY_PARTS = (
    "districts-schools",
    "organizations",
    "volunteers",
    "affiliations",
    "teachers",
    "classes",
    "students",
    "events",
    "volunteer-participations",
    "student-participations",
    "history",
)

KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        _sf(
            "publishing",
            "hourly publishing sync (02 SF-40, 03 PUB-1)",
            "hourly",
            "stale_hours_publishing",
            default_mode="full",
        ),
        _sf("districts-schools", "districts and schools", "weekly", "stale_hours_weekly"),
        _sf("organizations", "organizations", "daily", "stale_hours_daily"),
        _sf("volunteers", "volunteers", "daily", "stale_hours_daily"),
        _sf(
            "affiliations",
            "volunteer-organization links",
            "daily",
            "stale_hours_daily",
            "volunteers",
            "organizations",
            "districts-schools",
        ),
        _sf("teachers", "teachers", "weekly", "stale_hours_weekly"),
        _sf("classes", "classes", "weekly", "stale_hours_weekly"),
        _sf("students", "students", "weekly", "stale_hours_weekly"),
        _sf("events", "all sessions (non-draft)", "daily", "stale_hours_daily"),
        _sf(
            "volunteer-participations",
            "volunteer participations",
            "daily",
            "stale_hours_daily",
            "volunteers",
            "events",
        ),
        _sf(
            "student-participations",
            "student participations",
            "weekly",
            "stale_hours_weekly",
            "students",
            "events",
        ),
        _sf("history", "tasks and logged emails → communication history", "daily", "stale_hours_daily"),
        _sf(
            "signup-push",
            "optional write-back of website signups (03 SIGN-9)",
            "hourly",
            "stale_hours_publishing",
        ),
        KindSpec(
            "pathful-sheet",
            "Pathful session report from a configured Google Sheet",
            "manual or daily",
            "stale_hours_pathful",
            salesforce=False,
        ),
        KindSpec(
            "daily",
            "composite, in dependency order",
            "daily 02:00",
            None,
            parts=tuple(f"salesforce-{p}" for p in _DAILY_PARTS),
        ),
        KindSpec(
            "weekly",
            "composite: weekly kinds then daily kinds",
            "weekly",
            None,
            default_mode="full",
            parts=tuple(f"salesforce-{p}" for p in _WEEKLY_PARTS),
        ),
    )
}

RUNNERS: dict[str, Runner | str] = {
    "pathful-sheet": "polaris_api.sync.pathful.sheet_kind:run",
    "salesforce-publishing": "polaris_api.sync.salesforce.publishing:run",
    "salesforce-districts-schools": "polaris_api.sync.salesforce.districts_schools:run",
    "salesforce-organizations": "polaris_api.sync.salesforce.organizations:run",
    "salesforce-volunteers": "polaris_api.sync.salesforce.volunteers:run",
    "salesforce-events": "polaris_api.sync.salesforce.events:run",
    "salesforce-volunteer-participations": "polaris_api.sync.salesforce.volunteer_participations:run",
    "salesforce-history": "polaris_api.sync.salesforce.history:run",
    "salesforce-affiliations": "polaris_api.sync.salesforce.affiliations:run",
    "salesforce-teachers": "polaris_api.sync.salesforce.teachers:run",
    "salesforce-classes": "polaris_api.sync.salesforce.classes:run",
    "salesforce-students": "polaris_api.sync.salesforce.students:run",
    "salesforce-student-participations": "polaris_api.sync.salesforce.student_participations:run",
}
"""kind → runner, or ``"module:function"`` imported on first use. Kinds absent here are not available."""


def runner_for(kind: str) -> Runner | None:
    entry = RUNNERS.get(kind)
    if entry is None or callable(entry):
        return entry
    module_name, _, attribute = entry.partition(":")
    runner: Runner = getattr(importlib.import_module(module_name), attribute)
    RUNNERS[kind] = runner
    return runner


def is_available(kind: str) -> bool:
    spec = KINDS.get(kind)
    if spec is None:
        return False
    if spec.composite:
        return any(part in RUNNERS for part in spec.parts)
    return kind in RUNNERS


def get_kind(kind: str) -> KindSpec:
    """The kind, or 404 ``unknown_sync_kind``; 501 ``kind_not_available`` when it has no runner."""
    spec = KINDS.get(kind)
    if spec is None:
        raise Problem(
            404,
            "unknown_sync_kind",
            "There is no sync kind with this name; see GET /api/v1/sync/health for the list.",
        )
    if not is_available(kind):
        raise Problem(
            501,
            "kind_not_available",
            f"The sync kind '{kind}' is known but not available in this version.",
            title="Not Implemented",
            kind=kind,
        )
    return spec


# --------------------------------------------------------------------------------------
# What a runner works with


class RunFailed(Exception):
    """A runner's own failure (no Salesforce error): the run becomes ``failed`` with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class RunContext:
    run_id: int
    kind: str
    mode: str
    trigger: str
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    started_at: dt.datetime
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    partial: bool = False
    effective_mode: str | None = None
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    watermarks: dict[str, Any] | None = None

    def add_error(self, entry: Mapping[str, Any], *, partial: bool = True) -> None:
        """Record a record-level error (ids and field names only, never values); the run is partial."""
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(dict(entry))
        if partial:
            self.partial = True

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def connector(self) -> SalesforceConnector:
        """A new Salesforce connector for this run (SF-2); the trigger picks the retry policy (SF-60)."""
        return SalesforceConnector.from_settings(self.settings, trigger=self.trigger)  # type: ignore[arg-type]

    async def heartbeat(self) -> None:
        """Touch ``heartbeat_at`` now. Call it between transactions (SQLite has one writer)."""
        await touch_heartbeat(self.sessionmaker, self.run_id)


async def touch_heartbeat(sessionmaker: async_sessionmaker[AsyncSession], run_id: int) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == "running")
            .values(heartbeat_at=utcnow())
        )
        await session.commit()


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
    await session.commit()
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
    """Insert a ``queued`` run, or 409 ``sync_already_running`` naming the active run (OPS-2)."""
    spec = get_kind(kind)
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
        await session.commit()
    except IntegrityError:
        await session.rollback()
        running = await active_run_id(session, kind)
        raise Problem(
            409,
            "sync_already_running",
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
        await session.commit()
    return True


async def _work(ctx: RunContext, principal: Principal | None) -> tuple[str, str | None, str | None]:
    """The kind's work with its heartbeat; the outcome as (status, error code, message)."""
    beat = asyncio.create_task(
        _heartbeat_loop(ctx.sessionmaker, ctx.run_id, heartbeat_interval(ctx.settings))
    )
    try:
        if KINDS[ctx.kind].composite:
            return await _run_composite(ctx, principal), None, None
        runner = runner_for(ctx.kind)
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
        await session.commit()
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
        await session.commit()
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
        if not is_available(part):
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
# Background runs (POST /api/v1/sync/{kind} without wait)


class BackgroundRuns:
    """Strong references to running tasks (asyncio keeps only weak ones) and shutdown."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, coro: Awaitable[None], *, name: str | None = None) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        if name:
            task.set_name(name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def wait_all(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def stop(self, grace_s: float = 15) -> None:
        """Cancel every running task and wait: each marks its run ``failed`` (``cancelled``).

        A task blocked in a Salesforce call ends when that call returns (the worker thread cannot
        be interrupted); after ``timeout`` seconds it is left behind, and its run is recovered
        later as ``stale_heartbeat``. ``grace_s``: how long to wait."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            if pending:
                log.warning("%d sync run(s) did not stop within %ss", len(pending), grace_s)


def background_runs(app: Any) -> BackgroundRuns:
    runs = getattr(app.state, "sync_background_runs", None)
    if runs is None:
        runs = BackgroundRuns()
        app.state.sync_background_runs = runs
    return runs


async def stop_background_runs(app: Any) -> None:
    runs = getattr(app.state, "sync_background_runs", None)
    if runs is not None:
        await runs.stop()


# --------------------------------------------------------------------------------------
# Reading runs


def list_statement(
    *, kind: str | None = None, status: str | None = None, parent_run_id: int | None = None
) -> Select[tuple[SyncRun]]:
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
        raise Problem(404, "not_found", "The sync run does not exist.")
    return await run_out(session, run)


PUBLISHING_KIND = "salesforce-publishing"


async def current_sync_errors(session: AsyncSession) -> list[dict[str, Any]]:
    """Sessions the publishing sync could not publish, and why (03 PUB-3, SF-42).

    The errors of the newest publishing run that applied Salesforce data (``succeeded`` or
    ``partial``): a ``failed`` run read nothing and changed nothing (PUB-4), so the errors of the
    run before it still describe what is (not) published. Each item: ``run_id``,
    ``run_finished_at``, ``salesforce_id`` (or null), ``index``, ``code``, ``fields`` (the missing
    or unreadable SF fields) and ``missing_fields``. Bounded like every run's list (first 100).
    """
    run = (
        await session.execute(
            select(SyncRun)
            .where(SyncRun.kind == PUBLISHING_KIND, SyncRun.status.in_(SUCCESS_STATUSES))
            .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if run is None:
        return []
    items = []
    for error in run.errors or []:
        if not isinstance(error, Mapping):
            continue
        item = dict(error)
        item["run_id"] = run.id
        item["run_finished_at"] = run.finished_at
        item.setdefault("missing_fields", [])
        item["fields"] = list(item.get("missing_fields") or item.get("invalid_fields") or [])
        items.append(item)
    return items


# --------------------------------------------------------------------------------------
# Health (OPS-4)


def _changed(run: SyncRun) -> bool:
    counts = run.counts or {}
    return any(isinstance(counts.get(key), int) and counts[key] > 0 for key in CHANGE_COUNTS)


async def _latest_by_kind(session: AsyncSession, *conditions: Any) -> dict[str, SyncRun]:
    ids = select(func.max(SyncRun.id)).where(*conditions).group_by(SyncRun.kind)
    rows = (await session.execute(select(SyncRun).where(SyncRun.id.in_(ids)))).scalars().all()
    return {run.kind: run for run in rows}


async def health(session: AsyncSession, settings: Settings, now: dt.datetime | None = None) -> SyncHealth:
    now = now or utcnow()
    last_any = await _latest_by_kind(session)
    last_finished = await _latest_by_kind(session, SyncRun.status.in_(TERMINAL_STATUSES))
    last_failed = await _latest_by_kind(session, SyncRun.status == "failed")
    last_success_at = dict(
        (
            await session.execute(
                select(SyncRun.kind, func.max(SyncRun.finished_at))
                .where(SyncRun.status.in_(SUCCESS_STATUSES))
                .group_by(SyncRun.kind)
            )
        ).all()
    )
    active = dict(
        (
            await session.execute(
                select(SyncRun.kind, func.max(SyncRun.id))
                .where(SyncRun.status.in_(ACTIVE_SYNC_STATUSES))
                .group_by(SyncRun.kind)
            )
        ).all()
    )
    kinds: list[SyncKindHealth] = []
    overall = "ok"
    for spec in KINDS.values():
        finished = last_finished.get(spec.name)
        if finished is None:
            state = "never_run"
        elif finished.status == "failed":
            state = "failed"
        else:
            state = "ok" if _changed(finished) else "no_changes"
        success_at = last_success_at.get(spec.name)
        if success_at is not None and success_at.tzinfo is None:  # SQLite aggregate: naive UTC
            success_at = success_at.replace(tzinfo=dt.UTC)
        threshold = getattr(settings, spec.stale_setting) if spec.stale_setting else None
        stale = threshold is not None and (
            success_at is None or now - success_at > dt.timedelta(hours=float(threshold))
        )
        failure = last_failed.get(spec.name)
        available = is_available(spec.name)
        if available and not spec.composite:
            if state == "failed":
                overall = "failed"
            elif stale and overall == "ok":
                overall = "stale"
        last = last_any.get(spec.name)
        kinds.append(
            SyncKindHealth(
                kind=spec.name,
                description=spec.description,
                cadence=spec.cadence,
                available=available,
                composite=spec.composite,
                parts=list(spec.parts),
                state=state,  # type: ignore[arg-type]
                stale=stale,
                stale_after_hours=float(threshold) if threshold is not None else None,
                running_run_id=active.get(spec.name),
                last_run=SyncRunSummary.model_validate(last) if last else None,
                last_success_at=success_at,
                last_failure_at=failure.finished_at if failure else None,
                last_failure_reason=failure.error_code if failure else None,
                last_failure_message=failure.error_message if failure else None,
            )
        )
    return SyncHealth(status=overall, checked_at=now, kinds=kinds)  # type: ignore[arg-type]
