"""What a sync run is, below the services (09 §1, OPS-1..OPS-4): the kinds, what a runner gets.

A runner is an async function ``runner(ctx: RunContext) -> None`` (:class:`Runner`). It fills
``ctx.counts`` / ``ctx.add_error`` and raises
:class:`~polaris_api.sync.salesforce.client.SalesforceError` or :class:`RunFailed` to fail the run.
Which runner serves which kind is :mod:`polaris_api.sync.registry`; creating, executing and
reporting runs is :mod:`polaris_api.services.sync_runs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polaris_api.db import utcnow
from polaris_api.models.sync import SyncRun
from polaris_api.settings import Settings
from polaris_api.sync.salesforce.client import SalesforceConnector, Trigger

MAX_ERRORS = 100
TERMINAL_STATUSES = ("succeeded", "partial", "failed")
SUCCESS_STATUSES = ("succeeded", "partial")


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
        return SalesforceConnector.from_settings(self.settings, trigger=cast(Trigger, self.trigger))

    async def heartbeat(self) -> None:
        """Touch ``heartbeat_at`` now. Call it between transactions (SQLite has one writer)."""
        await touch_heartbeat(self.sessionmaker, self.run_id)


class Runner(Protocol):
    """The work of one sync kind."""

    def __call__(self, ctx: RunContext, /) -> Awaitable[None]: ...


async def touch_heartbeat(sessionmaker: async_sessionmaker[AsyncSession], run_id: int) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == "running")
            .values(heartbeat_at=utcnow())
        )
        await session.commit()
