"""What the ``polaris`` commands that talk to a server print (issue 12 item 4).

People get rich tables and, for long runs, a live progress bar with counts (on stderr, so that
stdout stays clean); scripts get ``--json`` (the server's JSON, unchanged, on stdout) and exit
codes: ``0`` success, ``1`` a problem answer, a failed run or unhealthy syncs, ``3`` a sync run
that finished ``partial``, ``2`` a usage error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table

if TYPE_CHECKING:
    from polaris_client import PolarisClient, PolarisError, models

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 3

FINISHED_STATUSES = {"succeeded", "partial", "failed"}
RUN_EXIT = {"succeeded": EXIT_OK, "partial": EXIT_PARTIAL, "failed": EXIT_FAILED}

ROSTER_BUCKETS = (
    "rows_total",
    "added",
    "updated",
    "unchanged",
    "deactivated",
    "skipped",
    "teachers_created",
)
PATHFUL_BUCKETS = (
    "rows_total",
    "processed",
    "created_events",
    "updated_events",
    "created_participations",
    "updated_participations",
    "unchanged",
    "skipped_other_partner",
    "skipped_role",
    "skipped_before_cutoff",
    "skipped_draft_no_date",
    "queued_no_date",
    "unmatched_teachers",
    "unmatched_volunteers",
    "resolved_unmatched",
    "invalid",
)
ROW_LIMIT = 50


PIPED_WIDTH = 160


def fit(*consoles: Console) -> None:
    """Output that is not a terminal (a log, a pipe, a test) gets ``COLUMNS`` or 160 columns
    rather than rich's 80, so tables keep every column readable instead of cutting them."""
    for console in consoles:
        if not console.is_terminal:
            columns = os.environ.get("COLUMNS", "")
            console.width = int(columns) if columns.isdigit() else PIPED_WIDTH


def as_json(value: BaseModel | Any) -> str:
    """The server's JSON: fields it did not send stay absent (``exclude_unset``)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return json.dumps(value, indent=2, ensure_ascii=False)


def when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M")


def counts_text(counts: Mapping[str, Any], *, nonzero: bool = False) -> str:
    """``{"created": 3, "events": {"updated": 1}}`` → ``created 3, events.updated 1``."""
    parts: list[str] = []
    for key, value in counts.items():
        if isinstance(value, Mapping):
            parts += [f"{key}.{item}" for item in counts_text(value, nonzero=nonzero).split(", ") if item]
        elif not (nonzero and value in (0, None)):
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def problem_lines(error: PolarisError) -> list[str]:
    """The problem's status, code and detail, then its field errors, for stderr."""
    lines = [f"error {error.status} {error.code}" + (f": {error.detail}" if error.detail else "")]
    for item in error.problem.get("errors") or []:
        if isinstance(item, Mapping):
            where = ".".join(str(part) for part in item.get("loc") or []) or item.get("field") or ""
            lines.append(f"  {where}: {item.get('msg') or item.get('message') or item.get('code')}")
    missing = (error.problem.get("details") or {}).get("missing")
    if missing:
        lines.append(f"  missing columns: {', '.join(missing)}")
    return lines


# ------------------------------------------------------------------------------------- sync


def health_table(health: models.SyncHealth) -> Table:
    table = titled(f"Sync health: {health.status} (checked {when(health.checked_at)} UTC)")
    for column in (
        "kind",
        "state",
        "stale",
        "last run",
        "last success",
        "last failure",
        "next scheduled",
        "running",
    ):
        table.add_column(column, no_wrap=column == "kind")
    for kind in health.kinds:
        last = kind.last_run
        state = kind.state if kind.available else f"{kind.state} (not available)"
        table.add_row(
            kind.kind,
            state,
            "[red]yes[/red]" if kind.stale else "no",
            f"#{last.id} {last.status} ({last.mode})" if last else "—",
            when(kind.last_success_at),
            when(kind.last_failure_at)
            + (f" {kind.last_failure_reason}" if kind.last_failure_at and kind.last_failure_reason else ""),
            when(kind.next_scheduled_at),
            f"#{kind.running_run_id}" if kind.running_run_id else "—",
        )
    return table


def runs_table(page: models.PageSyncRunSummary) -> Table:
    table = titled(f"Sync runs (times UTC): page {page.page}, {len(page.items)} of {page.total}")
    for column in ("id", "kind", "mode", "trigger", "status", "started", "finished", "errors", "counts"):
        table.add_column(
            column, justify="right" if column in ("id", "errors") else "left", no_wrap=column == "kind"
        )
    for run in page.items:
        table.add_row(
            str(run.id),
            run.kind,
            run.mode,
            run.trigger,
            _status(run.status),
            when(run.started_at),
            when(run.finished_at),
            str(run.error_count),
            counts_text(run.counts, nonzero=True) or "—",
        )
    return table


def titled(title: str) -> Table:
    """A table whose title stays on one line (rich wraps a title to the table's width)."""
    return Table(title=title, title_justify="left", min_width=len(title) + 2)


def _status(status: str) -> str:
    colour = {"succeeded": "green", "partial": "yellow", "failed": "red"}.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def run_table(run: models.SyncRunOut) -> Table:
    table = titled(f"Sync run #{run.id} {run.kind} ({run.mode}): {run.status}")
    table.add_column("part")
    table.add_column("status")
    table.add_column("errors", justify="right")
    table.add_column("counts")
    table.add_row(run.kind, _status(run.status), str(run.error_count), counts_text(run.counts, nonzero=True))
    for part in run.parts or []:
        table.add_row(
            f"  {part.kind}",
            _status(part.status),
            str(part.error_count),
            counts_text(part.counts, nonzero=True),
        )
    return table


def errors_table(run: models.SyncRunOut) -> Table | None:
    if not run.errors:
        return None
    table = titled(f"First errors ({len(run.errors)} of {run.error_count})")
    keys = list(dict.fromkeys(key for error in run.errors[:ROW_LIMIT] for key in error))
    for key in keys:
        table.add_column(key)
    for error in run.errors[:ROW_LIMIT]:
        table.add_row(*(str(error.get(key, "")) for key in keys))
    return table


def follow_run(
    client: PolarisClient, run_id: int, kind: str, console: Console, poll_seconds: float
) -> models.SyncRunOut:
    """Poll the run until it finishes, with one live bar per run and part and their counts."""
    columns = (
        SpinnerColumn(finished_text="✓"),
        TextColumn("{task.description}", table_column=Column(no_wrap=True)),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}", table_column=Column(overflow="fold", ratio=1)),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {"": progress.add_task(f"{kind} #{run_id} queued", total=None, counts="")}
        while True:
            run = client.get_sync_run(run_id)
            done = run.status in FINISHED_STATUSES
            progress.update(
                tasks[""],
                description=f"{kind} #{run_id} {run.status}",
                counts=counts_text(run.counts, nonzero=True),
                total=1 if done else None,
                completed=1 if done else 0,
            )
            parts = run.parts or []
            for part in parts:
                key = str(part.id)
                if key not in tasks:
                    tasks[key] = progress.add_task("", total=None, counts="")
                finished = part.status in FINISHED_STATUSES
                progress.update(
                    tasks[key],
                    description=f"  {part.kind} {part.status}",
                    counts=counts_text(part.counts, nonzero=True),
                    total=1 if finished else None,
                    completed=1 if finished else 0,
                )
            if done:
                return run
            time.sleep(poll_seconds)


# ----------------------------------------------------------------------------------- imports


class _CountingReader:
    """A file whose reads advance a progress bar (httpx streams multipart files in chunks)."""

    def __init__(self, handle: IO[bytes], advance: Callable[[int], None]) -> None:
        self._handle = handle
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._advance(len(chunk))
        return chunk

    def fileno(self) -> int:
        return self._handle.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


class UploadProgress:
    """``with UploadProgress(path, console) as upload: client.import_x(file=upload.file)``: a bar
    of the bytes sent, then a spinner while the server imports."""

    def __init__(self, path: Path, console: Console) -> None:
        self.path = path
        self._progress = Progress(
            SpinnerColumn(finished_text="✓"),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> UploadProgress:
        self._progress.start()
        size = self.path.stat().st_size
        self._task = self._progress.add_task(f"uploading {self.path.name}", total=size)
        self._handle = self.path.open("rb")
        return self

    @property
    def file(self) -> tuple[str, Any]:
        assert self._handle is not None
        return (self.path.name, _CountingReader(self._handle, self._advance))

    def _advance(self, sent: int) -> None:
        self._progress.advance(self._task, sent)
        task = self._progress.tasks[0]
        if task.total is not None and task.completed >= task.total:
            self._progress.update(self._task, description=f"importing {self.path.name} on the server")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.update(
            self._task,
            description=f"imported {self.path.name}" if kind is None else f"{self.path.name}: not imported",
        )
        if self._handle is not None:
            self._handle.close()
        self._progress.stop()


def _buckets(title: str, report: BaseModel, keys: Iterable[str]) -> Table:
    table = titled(title)
    table.add_column("bucket")
    table.add_column("rows", justify="right")
    for key in keys:
        table.add_row(key, str(getattr(report, key, "—")))
    return table


def roster_tables(report: models.RosterReport, prefix: str = "") -> list[Table]:
    label = "dry run" if report.dry_run else f"import #{report.import_id}"
    title = f"{prefix}Roster {label}, district {report.district_id}, {report.academic_year or 'no year'}" + (
        " (forced)" if report.forced else ""
    )
    buckets = _buckets(title, report, ROSTER_BUCKETS)
    buckets.add_row("protected (kept)", str(len(report.protected_skipped)))
    tables = [buckets]
    if report.warnings:
        warnings = titled(f"Warnings ({len(report.warnings)})")
        for column in ("row", "code", "message"):
            warnings.add_column(column, justify="right" if column == "row" else "left")
        for warning in report.warnings[:ROW_LIMIT]:
            warnings.add_row(str(warning.row or "—"), warning.code, warning.message)
        tables.append(warnings)
    if report.protected_skipped:
        protected = titled("Manually deactivated, left as they are")
        protected.add_column("teacher progress record", justify="right")
        for skipped in report.protected_skipped[:ROW_LIMIT]:
            protected.add_row(str(skipped.teacher_progress_id))
        tables.append(protected)
    return tables


def pathful_tables(report: models.PathfulImportReport) -> list[Table]:
    label = "dry run" if report.dry_run else f"import #{report.import_id}"
    title = f"Pathful {label} ({report.mode}, cutoff {report.cutoff_date or 'none'})"
    tables = [_buckets(title, report, PATHFUL_BUCKETS)]
    if report.invalid_rows:
        invalid = titled(f"Invalid rows ({len(report.invalid_rows)})")
        for column in ("row", "session", "reason", "value"):
            invalid.add_column(column, justify="right" if column == "row" else "left")
        for row in report.invalid_rows[:ROW_LIMIT]:
            invalid.add_row(str(row.row), row.session_id or "—", row.reason, row.value or "")
        tables.append(invalid)
    return tables


# ----------------------------------------------------------------------------------- metrics


def _metrics_cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items()) or "—"
    return "—" if value is None else str(value)


def metrics_table(result: models.MetricsResponse, date_from: dt.date, date_to: dt.date) -> Table:
    """One row per metric; one column per group with ``--group-by`` (the value column without)."""
    columns: list[tuple[str, dict[str, Any]]] = (
        [(g.group.name, g.metrics.model_dump(exclude_unset=True)) for g in result.groups]
        if result.groups is not None
        else [("value", result.metrics.model_dump(exclude_unset=True) if result.metrics else {})]
    )
    table = titled(f"Metrics {date_from} .. {date_to}")
    table.add_column("metric")
    for name, _ in columns:
        table.add_column(name, justify="right")
    metric_ids = sorted(
        dict.fromkeys(key for _, values in columns for key in values),
        key=lambda key: (len(key), key),  # M10, M20, ..., M120
    )
    for metric_id in metric_ids:
        table.add_row(metric_id, *(_metrics_cell(values.get(metric_id)) for _, values in columns))
    return table


def freshness_line(meta: models.ReportMeta) -> str:
    """06 §7 in one line: when computed, the definitions, and per source the oldest arrival."""
    sources = []
    for source, value in (meta.data_freshness or {}).items():
        times = [stamp for _, stamp in _leaves("", value)]
        known = sorted(str(stamp) for stamp in times if stamp)
        oldest = _short(known[0]) if known else "never"
        if len(times) > 1:
            oldest += f" (oldest of {len(times)})"
        sources.append(f"{source} {oldest}")
    return (
        f"computed {_short(str(meta.computed_at))} UTC (definitions {meta.metrics_version}); data as of: "
        + (", ".join(sources) or "—")
    )


def _short(stamp: str) -> str:
    try:
        return when(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    except ValueError:
        return stamp


def _leaves(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [
            leaf
            for key, item in value.items()
            for leaf in _leaves(f"{prefix}.{key}" if prefix else key, item)
        ]
    return [(prefix, value)]
