"""The built-in scheduler (09 OPS-6, §1 cadences): ``polaris scheduler``.

Each entry of the ``POLARIS_SCHEDULE`` setting maps a sync kind to a cron expression (five
fields, evaluated in ``POLARIS_TIMEZONE``). At each fire time the scheduler asks the API to start
that kind, exactly as an external scheduler would: ``POST /api/v1/sync/{kind}?trigger=schedule``
with an API key holding ``sync:run``. Several scheduler processes are safe: the server's per-kind
run lock (OPS-2) answers 409 ``sync_already_running`` to every trigger but the first, and that
answer is logged, not retried. The special entry ``outbox`` runs one delivery pass of the email
outbox in this process (MAIL-4: rows are claimed with a lock, so a message is sent once).

APScheduler does the timing (cron parsing, DST, misfires); this module only wires it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

if TYPE_CHECKING:
    from polaris_client import PolarisClient
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from polaris_api.settings import Settings

__all__ = [
    "DEFAULT_SCHEDULE",
    "OUTBOX_ENTRY",
    "api_sync_trigger",
    "build_scheduler",
    "cron_trigger",
    "next_fire_times",
    "outbox_sweep",
    "run_until_stopped",
]

log = logging.getLogger("polaris_api.scheduler")

OUTBOX_ENTRY = "outbox"
"""Schedule entry that runs one outbox delivery pass instead of a sync kind."""

DEFAULT_SCHEDULE: Mapping[str, str] = {
    "salesforce-publishing": "0 * * * *",  # hourly (PUB-1)
    "daily": "0 2 * * 1-6",  # 02:00, except on the weekly day
    "weekly": "0 2 * * 0",  # Sunday 02:00: weekly kinds, then the daily ones
    OUTBOX_ENTRY: "*/5 * * * *",  # sweep for due retries beside the API's own worker
}
"""09 §1 cadences. ``weekly`` runs the daily kinds too, so ``daily`` skips its day."""

Action = Callable[[str], Awaitable[None]]


_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A five-field cron expression in ``zone``; ValueError when it is not one.

    Day-of-week numbers follow cron (0 or 7 = Sunday). APScheduler 3 counts from Monday, even in
    ``from_crontab``, so numbers are turned into day names first (``1-5`` → ``mon-fri``).
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    weekday = re.sub(r"(?<![/\d])\d+", lambda number: _CRON_DAY_NAMES[int(number[0]) % 7], weekday)
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=zone)


def next_fire_times(schedule: Mapping[str, str], zone: ZoneInfo, now: dt.datetime) -> dict[str, dt.datetime]:
    """The next fire time (aware UTC) of every scheduled entry after ``now``."""
    times: dict[str, dt.datetime] = {}
    for entry, expression in schedule.items():
        after = now.astimezone(zone) + dt.timedelta(seconds=1)  # strictly after ``now``
        fire = cron_trigger(expression, zone).get_next_fire_time(None, after)
        if fire is not None:
            times[entry] = fire.astimezone(dt.UTC)
    return times


def build_scheduler(
    schedule: Mapping[str, str], zone: ZoneInfo, *, trigger_sync: Action, sweep_outbox: Action
) -> AsyncIOScheduler:
    """One cron job per entry; an entry's runs never overlap within this process."""
    scheduler = AsyncIOScheduler(timezone=zone)
    for entry, expression in schedule.items():
        action = sweep_outbox if entry == OUTBOX_ENTRY else trigger_sync
        scheduler.add_job(
            _guarded(action),
            cron_trigger(expression, zone),
            args=[entry],
            id=entry,
            name=entry,
            max_instances=1,
            coalesce=True,  # after downtime, one catch-up run, not one per missed slot
            misfire_grace_time=15 * 60,
        )
    return scheduler


def _guarded(action: Action) -> Action:
    """A failing job is logged and the scheduler goes on with the next fire time."""

    async def run(entry: str) -> None:
        try:
            await action(entry)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a scheduler must outlive any one job
            log.error("scheduled %s failed: %s", entry, type(error).__name__)

    return run


def api_sync_trigger(client: PolarisClient) -> Action:
    """Start a kind through the API as the scheduler (OPS-6); a 409 means another process did."""
    from polaris_client import PolarisError, models

    async def trigger(kind: str) -> None:
        try:
            accepted = await asyncio.to_thread(client.trigger_sync, kind, trigger="schedule")
        except PolarisError as error:
            if error.status != 409:
                raise
            log.info("scheduled %s: already running as run %s", kind, error.problem.get("running_run_id"))
            return
        run_id = accepted.run_id if isinstance(accepted, models.SyncRunAccepted) else accepted.id
        log.info("scheduled %s: run %s %s", kind, run_id, accepted.status)

    return trigger


def outbox_sweep(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Action:
    """One pass over the due outbox messages in this process (MAIL-3 retries, MAIL-4 claims)."""
    from polaris_api.services.outbox import run_worker

    async def sweep(_entry: str) -> None:
        attempted = await run_worker(sessionmaker, settings, once=True)
        log.info("outbox sweep: %s message(s) attempted", attempted)

    return sweep


async def run_until_stopped(scheduler: AsyncIOScheduler, stop: asyncio.Event) -> None:
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("scheduled %s: next at %s", job.id, job.next_run_time)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
