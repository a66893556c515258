"""What the sync runs say about the data: health per kind (09 OPS-4) and the publishing sync's
current errors (03 PUB-3, SF-42)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.db import utcnow
from polaris_api.models.sync import ACTIVE_SYNC_STATUSES, SyncRun
from polaris_api.schemas.sync import SyncHealth, SyncKindHealth, SyncRunSummary
from polaris_api.settings import Settings
from polaris_api.sync.registry import is_available
from polaris_api.sync.runs import KINDS, SUCCESS_STATUSES, TERMINAL_STATUSES

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
        available = is_available(spec.name, settings)
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
