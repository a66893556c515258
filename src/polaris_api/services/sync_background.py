"""Sync runs in the background (POST /api/v1/sync/{kind} without ``wait``) and their shutdown.

The run itself is :func:`polaris_api.services.sync_runs.execute_run`; this module keeps the task
alive and cancels it when the server stops (the run then ends ``failed`` with ``cancelled``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)


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
